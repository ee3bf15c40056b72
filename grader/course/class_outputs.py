"""grade-class's outputs, written from the state file and the per-job reports: grades.csv, grades.json,
students/<student>.html and an index.html.

Everything a learner named is untrusted text: every HTML string goes through html_escape, every CSV cell through
csv_cell (no cell a spreadsheet would run as a formula, no control character); JSON keeps the raw names (JSON
escapes them). A folder the run did not grade (roster.Skipped) is listed in all of them, with the reason.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.course.roster import Job, Skipped, slug
from grader.reporters.sanitize import csv_cell, html_escape

__all__ = ["STATE_NAME", "SKIPPED_STATUS", "read_state", "write_outputs"]

STATE_NAME = "state.jsonl"
#: The status of a skipped folder's row in grades.csv.
SKIPPED_STATUS = "skipped"

Row = tuple[Job, dict[str, Any] | None]


def read_state(path: Path) -> dict[str, dict[str, Any]]:
    """Finished jobs by key; a line cut short by a crash is ignored (that job is graded again)."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            done[f"{entry['student']}/{entry['exercise']}"] = entry
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _reports(jobs: Sequence[Job], output: Path) -> list[Row]:
    state = read_state(output / STATE_NAME)
    rows = []
    for job in jobs:
        path = output / "reports" / slug(job.student) / f"{job.exercise}.json"
        fresh = state.get(job.key, {}).get("digest") == job.digest
        rows.append((job, json.loads(path.read_text()) if fresh and path.exists() else None))
    return rows


def _csv_rows(rows: list[Row], skipped: Sequence[Skipped]) -> list[list[object]]:
    check_ids: list[str] = []
    for _, report in rows:
        for check in (report or {}).get("checks", []):
            if check["id"] not in check_ids:
                check_ids.append(check["id"])
    table: list[list[object]] = [["student", "exercise", "status", "score", "max_score", "percent", "error",
                                  *check_ids]]
    for job, report in rows:
        if report is None:
            table.append([job.student, job.exercise, "not graded yet", "", "", "", "", *[""] * len(check_ids)])
            continue
        points = {c["id"]: c["points"] for c in report.get("checks", [])}
        error = report.get("error")
        table.append([job.student, job.exercise, "could not grade" if error else "graded", report["score"],
                      report["max_score"], report["percent"], f"{error['kind']}: {error['message']}"
                      if error else "", *[points.get(i, "") for i in check_ids]])
    for entry in skipped:
        table.append([entry.name, "", SKIPPED_STATUS, "", "", "", entry.reason, *[""] * len(check_ids)])
    return table


def _student_page(student: str, entries: list[Row], output: Path) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html_escape(student)}</title>",
             f"<h1>Docker Diet Workshop: {html_escape(student)}</h1><ul>"]
    for job, report in entries:
        line = (f"{report['score']:g}/{report['max_score']:g} ({report['percent']:g}%)" if report and not
                report.get("error") else "could not grade" if report else "not graded yet")
        parts.append(f"<li>{html_escape(job.exercise)}: {line}</li>")
    parts.append("</ul>")
    for job, report in entries:
        fragment = output / "reports" / slug(student) / f"{job.exercise}.html"
        if report is not None and fragment.exists():
            parts.append(fragment.read_text())
    return "\n".join(parts)


def _index_page(students: Sequence[str], skipped: Sequence[Skipped]) -> str:
    parts = ["<!doctype html><meta charset='utf-8'><title>Docker Diet Workshop: class</title>",
             "<h1>Docker Diet Workshop: class</h1><ul>"]
    parts += [f"<li><a href='students/{html_escape(slug(name))}.html'>{html_escape(name)}</a></li>"
              for name in students]
    parts.append("</ul>")
    if skipped:
        parts.append("<h2>Folders not graded</h2><ul>")
        parts += [f"<li><code>{html_escape(entry.name)}</code>: {html_escape(entry.reason)}</li>" for entry in skipped]
        parts.append("</ul>")
    return "\n".join(parts)


def write_outputs(jobs: Sequence[Job], output: Path, skipped: Sequence[Skipped] = ()) -> None:
    """grades.csv (one row per submission, points per check; one per skipped folder), grades.json,
    students/<student>.html (one file per student, even when names look alike) and index.html."""
    rows = _reports(jobs, output)
    with (output / "grades.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([csv_cell(cell) for cell in row] for row in _csv_rows(rows, skipped))
    entries: list[dict[str, Any]] = [{"student": job.student, "exercise": job.exercise, "report": report}
                                     for job, report in rows]
    entries += [{"student": entry.name, "exercise": None, "report": None, "skipped": entry.reason}
                for entry in skipped]
    (output / "grades.json").write_text(json.dumps(entries, indent=2))
    students = output / "students"
    students.mkdir(exist_ok=True)
    by_student: dict[str, list[Row]] = {}
    for job, report in rows:
        by_student.setdefault(job.student, []).append((job, report))
    for student, student_rows in by_student.items():
        (students / f"{slug(student)}.html").write_text(_student_page(student, student_rows, output))
    (output / "index.html").write_text(_index_page(list(by_student), skipped))
