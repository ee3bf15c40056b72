"""Outputs that cannot be turned against their reader: terminal, JUnit, HTML and grades.csv.

A learner controls build logs, container logs, file names in the image and so every message that quotes them.
Whatever they hold, the terminal gets no escape sequence, the JUnit file parses as XML, the HTML holds no control
character, and grades.csv has no cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import docker

from grader.api import GradeConfig, grade
from grader.course.classroom import STATE_NAME, Job, _slug, write_outputs
from grader.engine.buildlog import cause_lines, first_cause, log_excerpt
from grader.errors import BuildFailed
from grader.model import CheckResult, Report, Status
from grader.reporters import junit, notebook, terminal
from grader.reporters.json_report import to_dict
from grader.reporters.sanitize import csv_cell, strip_control

HOSTILE = ("".join(chr(c) for c in range(0x20)) + "\x7f\x9b31m\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://x\x1b\\link"
           "\x1b]8;;\x1b\\ \ud800\udfff \ufffe end")


def _hostile_report() -> Report:
    check = CheckResult(id="no-junk", title="t" + HOSTILE, status=Status.FAIL, points=0, max_points=5,
                        measured=[HOSTILE, "/app/\x1b[31mred"], threshold=HOSTILE, message="m" + HOSTILE,
                        hint="h" + HOSTILE, lesson="lessons/x" + HOSTILE)
    error = BuildFailed("failed " + HOSTILE, step="RUN x", line=2, log_tail=(HOSTILE, "\x1b[1mbold\x1b[0m"))
    return Report(exercise="fastapi", checks=(check,), error=error)


def _no_controls(text: str, hostile: bool = True) -> None:
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f
           or 0xD800 <= ord(c) <= 0xDFFF]
    assert not bad, sorted({hex(ord(c)) for c in bad})
    assert not hostile or "pwned" not in text and "http://x" not in text


def test_strip_control_removes_sequences_and_keeps_text() -> None:
    assert strip_control("a\x1b[31mred\x1b[0m\tb\nc") == "ared\tb\nc"
    _no_controls(strip_control(HOSTILE))
    assert strip_control(HOSTILE).endswith(" end")


def test_junit_stays_valid_xml_whatever_the_log_holds() -> None:
    text = junit.render(_hostile_report())
    root = ET.fromstring(text.encode("utf-8"))
    assert root.find("testsuite") is not None
    _no_controls(text)


def test_terminal_and_html_carry_no_escape_sequence() -> None:
    report = _hostile_report()
    for text in (terminal.render(report), notebook.render_html(report)):
        _no_controls(text)
        assert "failed" in text


def test_csv_cells_that_start_a_formula_are_neutralised(tmp_path: Path) -> None:
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell(-3) == -3
    student = '=HYPERLINK("http://evil","click")'
    job = Job(student, "fastapi", tmp_path / "x", "d1")
    report = to_dict(Report(exercise="fastapi", checks=(), error=BuildFailed("+cmd|' /C calc'!A0\x1b[31m")))
    folder = tmp_path / "reports" / _slug(student)
    folder.mkdir(parents=True)
    (folder / "fastapi.json").write_text(json.dumps(report))
    (tmp_path / STATE_NAME).write_text(json.dumps({"student": student, "exercise": "fastapi", "digest": "d1"}) + "\n")
    write_outputs([job], tmp_path)
    with (tmp_path / "grades.csv").open() as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells and not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), cells
    assert rows[1][0] == "'" + student and "\x1b" not in "".join(cells)


def test_build_log_escapes_from_a_real_build_never_reach_the_outputs(tmp_path: Path,
                                                                    docker_client: docker.DockerClient) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\n"
        "RUN printf '\\033]0;pwned\\007\\033[2J\\033[31mred\\001\\n' && exit 3\n")
    report = grade("fastapi", tmp_path / "Dockerfile", config=GradeConfig(baseline=False, lint=False))
    assert report.error is not None and report.exit_code == 2
    assert any("red" in line for line in report.error.log_tail), "the step's output reached the report"
    assert not any("\x1b" in line or "\x07" in line for line in report.error.log_tail), \
        "escapes are stripped where the log is read, so no output (JSON included) carries them"
    for text in (terminal.render(report), notebook.render_html(report), junit.render(report)):
        _no_controls(text, hostile=False)  # the command's own text (`printf '\\033]0;pwned...'`) may show
    ET.fromstring(junit.render(report).encode())


def test_log_excerpt_keeps_the_cause_before_the_tail() -> None:
    log = ["#9 0.5 Collecting psycopg2", "#9 0.9   Error: pg_config executable not found.",
           *[f"#9 1.{i} filler line {i}" for i in range(40)], "#9 2.0 error: metadata-generation-failed",
           "------", " > [3/3] RUN pip install psycopg2:", "2.0 error: metadata-generation-failed"]
    excerpt = log_excerpt(log, tail=20)
    assert excerpt[0].endswith("Error: pg_config executable not found.")
    assert excerpt[-1] == "2.0 error: metadata-generation-failed" and len(excerpt) <= 20 + 13
    assert sum("metadata-generation-failed" in line for line in cause_lines(log)) == 1, "de-duplicated"


def test_first_cause_is_the_line_that_states_the_error_not_its_wrapper() -> None:
    log = ["#5 0.7   Preparing metadata (setup.py): finished with status 'error'",
           "#5 0.7   error: subprocess-exited-with-error", "#5 0.8       Error: pg_config executable not found.",
           "#5 0.9 error: metadata-generation-failed", "#5 ERROR: executor failed running [/bin/sh -c pip]"]
    assert first_cause(log) == "Error: pg_config executable not found."
    assert first_cause(["Step 4/8 : RUN npm ci", "npm error code ENOTCACHED", "npm error request failed"]) == \
        "npm error code ENOTCACHED"
    assert first_cause(["all went well"]) is None
