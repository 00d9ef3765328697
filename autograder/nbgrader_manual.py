"""nbgrader's side of the written questions: formgrader's scores as a sheet `merge-manual` takes.

The exported notebook (`blockgrade export nbgrader`) carries each written question as a
manually graded answer cell (a markdown cell with `solution` and `grade` set, its `grade_id`
the question's id: autograder.questions). Graders score those cells in formgrader; then, in
the course folder,

    nbgrader export --exporter=autograder.nbgrader_manual.ManualScores --to written.csv

writes one row per student and question (`student_id, assignment, question, points, score,
comment`), read from nbgrader's gradebook through its own API. `blockgrade merge-manual DIR
written.csv` merges it into the gradebook `blockgrade grade` wrote for the collected notebooks
(graded as `submitted/*/<assignment>`, each submission is named `<student>_<assignment>`, or
the student's id: either is recognised). An answer no one has scored yet is written with an
empty score, which the merge reports.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

COLUMNS = ("student_id", "assignment", "question", "points", "score", "comment")
DEFAULT_FILE = "written.csv"


def _number(value) -> str:
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def manual_rows(gradebook: Gradebook, assignments=(), students=()) -> list[dict]:
    """Every written (markdown) grade cell of every submitted notebook: its score once a grader
    gave one (or nbgrader's own 0 for an answer left blank), and the comment on it."""
    rows = []
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for notebook in assignment.notebooks:
            written = [cell for cell in notebook.grade_cells if cell.cell_type == "markdown"]
            for submitted in sorted(notebook.submissions, key=lambda s: s.student.id):
                student = submitted.student.id
                if students and student not in students:
                    continue
                for cell in written:
                    grade = gradebook.find_grade(cell.name, notebook.name, assignment.name, student)
                    scored = grade.manual_score is not None or grade.auto_score is not None
                    try:
                        comment = gradebook.find_comment(cell.name, notebook.name, assignment.name, student).comment
                    except MissingEntry:
                        comment = None
                    rows.append(
                        {
                            "student_id": student,
                            "assignment": assignment.name,
                            "question": cell.name,
                            "points": _number(cell.max_score),
                            "score": _number(grade.score) if scored else "",
                            "comment": comment or "",
                        }
                    )
    return rows


class ManualScores(ExportPlugin):
    """`nbgrader export --exporter=autograder.nbgrader_manual.ManualScores [--to FILE]`."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or DEFAULT_FILE
        rows = manual_rows(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student])
        self.log.info("Exporting %d written answer(s) to %s", len(rows), dest)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
