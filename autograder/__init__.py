"""blockgrade: exercises and a sandboxed autograder for PyTorch building blocks.

Where things happen:
- a submission enters in `staging` (folder, zip, notebook -> module source),
- it runs sandboxed in `sandbox` (a forked child of a preloaded host process),
- it is judged in `judge_runner` (pytest, in the grader, on plain data only),
- results are written by `outputs` (results.json, feedback.md, gradebook.csv).
"""

__version__ = "0.1.0"
