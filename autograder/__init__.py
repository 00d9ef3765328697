"""blockgrade: exercises and a sandboxed autograder for PyTorch building blocks.

Where things happen:
- a submission enters in `staging` (folder, zip, notebook -> module source),
- it runs sandboxed in `sandbox` (a forked child of a preloaded host process),
- it is judged in `judge_runner` (pytest, in the grader, on plain data only),
- results are written by `outputs` (results.json, feedback.md, gradebook.csv).
"""

__version__ = "0.1.0"

import os as _os

# Ask torch whether a GPU exists through NVML, never through the CUDA driver: a process that
# calls torch.cuda.is_available() the default way can no longer fork children that use CUDA
# ("Cannot re-initialize CUDA in forked subprocess"), and both the sandbox host and the grader
# fork theirs. torch reads this at call time, so setting it here covers a torch imported first.
_os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
