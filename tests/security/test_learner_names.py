"""Names from learner folders are data: escaped wherever they are printed, and no learner is dropped in silence.

Hostile folder names (rich markup, HTML, an ANSI escape, a spreadsheet formula, a newline) go through a real
class run: the terminal lines, grades.csv, the HTML pages and grades.json must keep them inert. Folders that
grade-class does not grade (a dot or underscore name, a file, a link, an unreadable folder, no exercise inside)
are listed with the reason in the CSV, the JSON, index.html and the summary.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from pathlib import Path

import docker
import jsonschema
from referencing import Registry, Resource

from grader.cli.workshop import main
from grader.course.class_outputs import SKIPPED_STATUS
from grader.course.restore import foreign_files, ignored_note
from grader.course.roster import find_jobs, find_skipped
from grader.reporters.sanitize import shown_name

EXERCISE = "fastapi"
#: A folder name cannot hold "/", so no closing tags: an opening rich tag, an HTML element with a handler.
HOSTILE = ("[bold]x", "<img src=x onerror=alert(1)>", "\x1b[31mred", "=cmd|' -C calc'!A0", "new\nline")
SCHEMAS = Path(__file__).resolve().parents[2] / "grader" / "reporters"


def _broken(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo 'a learner typo' && exit 3\n")


def _odd_folders(subs: Path) -> dict[str, str]:
    """Entries that are no submission, and a word their reason must contain."""
    (subs / ".git").mkdir()
    (subs / "_instructor").mkdir()
    (subs / "notes.txt").write_text("not a student")
    (subs / "no-exercise" / "FastAPI").mkdir(parents=True)
    _broken(subs / "real" / EXERCISE)
    (subs / "linked").symlink_to(subs / "real")
    return {".git": "'.'", "_instructor": "'_'", "notes.txt": "a file", "no-exercise": "no exercise folder"}


def test_shown_name_makes_every_control_visible_and_bounds_the_length() -> None:
    assert shown_name("\x1b[31mred") == "\\x1b[31mred"
    assert shown_name("new\nline") == "new\\nline" and "\n" not in shown_name("a\r\nb\x85\u2028")
    assert len(shown_name("x" * 500)) == 80


def test_find_skipped_lists_every_folder_that_is_not_graded(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    expected = _odd_folders(subs)
    skipped = {entry.name: entry.reason for entry in find_skipped(subs)}
    assert set(skipped) == set(expected)
    assert all(word in skipped[name] for name, word in expected.items())
    jobs = {job.student: job for job in find_jobs(subs)}
    assert set(jobs) == {"linked", "real"} and "symbolic link" in str(jobs["linked"].problem)


def test_added_files_are_listed_escaped_and_bounded(tmp_path: Path) -> None:
    source, submission = tmp_path / "source", tmp_path / "submission"
    (source / "app").mkdir(parents=True)
    (source / "app" / "main.py").write_text("x")
    (submission / "app").mkdir(parents=True)
    for name in ("main.py", "Dockerfile", ".dockerignore", "fastapi.ipynb", "timestamp.txt"):
        (submission / ("app/" if name == "main.py" else "") / name).write_text("y")
    for number in range(12):
        (submission / "app" / f"extra{number:02}.py").write_text("z")
    (submission / "app" / "\x1b[31mevil\n.py").write_text("z")
    added = foreign_files(submission, source)
    assert len(added) == 13 and "app/main.py" not in added
    note = ignored_note(added)
    assert note is not None and "Ignored 13 files" in note and "and 3 more" in note
    assert "\x1b" not in note and "\n" not in note and "\\x1b[31mevil\\n.py" in note


def test_hostile_names_stay_inert_in_every_output_and_skipped_folders_are_listed(
        tmp_path: Path, docker_client: docker.DockerClient) -> None:
    subs, out = tmp_path / "subs", tmp_path / "grades"
    subs.mkdir()
    for name in HOSTILE:
        _broken(subs / name / EXERCISE)
    expected = _odd_folders(subs)
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as said:
        assert main(["grade-class", str(subs), "--output", str(out), "--jobs", "2"]) == 0
    terminal = err.getvalue() + said.getvalue()
    assert "\x1b" not in terminal
    assert not [line for line in terminal.splitlines() if line.startswith("line")], "a name forged a line"
    assert "\\x1b[31mred" in terminal and "new\\nline" in terminal and "[bold]x" in terminal
    for name in expected:
        assert f"Skipped {shown_name(name)}:" in said.getvalue()

    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["student"] for row in rows if row["status"] == SKIPPED_STATUS} == set(expected)
    assert "'=cmd|' -C calc'!A0" in {row["student"] for row in rows}, "a formula stays text"
    assert not [row for row in rows if row["student"].startswith(("=", "+", "-", "@"))]

    pages = [p.read_text() for p in (out / "students").glob("*.html")] + [(out / "index.html").read_text()]
    assert len(pages) >= len(HOSTILE) + 1
    assert not [page for page in pages if "<img" in page or "\x1b" in page]
    assert "&lt;img src=x onerror=alert(1)&gt;" in (out / "index.html").read_text()
    assert all(f">{name}</code>" in (out / "index.html").read_text() for name in expected if "<" not in name)

    data = json.loads((out / "grades.json").read_text())
    assert {e["student"] for e in data if e["exercise"]} >= set(HOSTILE)
    assert {e["student"]: e["skipped"] for e in data if not e["exercise"]}.keys() == set(expected)
    schema = json.loads((SCHEMAS / "grades.schema.json").read_text())
    registry = Registry().with_resources(
        (json.loads((SCHEMAS / name).read_text())["$id"], Resource.from_contents(json.loads((SCHEMAS / name)
                                                                                            .read_text())))
        for name in ("report.schema.json", "grades.schema.json"))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(data)
    shutil.rmtree(subs)
