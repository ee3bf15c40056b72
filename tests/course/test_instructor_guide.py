"""The instructor guide names commands that exist, and covers what an instructor needs on the day."""

from __future__ import annotations

import re
from pathlib import Path

from grader.cli.workshop import build_parser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "instructor-guide.md"


def test_every_workshop_command_in_the_guide_exists() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = set(re.findall(r"`workshop ([a-z-]+)", GUIDE.read_text()))
    named |= set(re.findall(r"^\s*(?:DOCKER_HOST=\S+ )?workshop ([a-z-]+)", GUIDE.read_text(), re.MULTILINE))
    assert named and named <= commands, named - commands


def test_the_guide_covers_the_day_the_wifi_the_course_the_class_and_scaling() -> None:
    text = GUIDE.read_text()
    for needed in ("workshop bases", "workshop bundle save", "workshop bundle load", "workshop course init",
                   "nbgrader autograde", "nbgrader generate_feedback", "nbgrader export", "workshop grade-class",
                   "DOCKER_HOST", ".github/workflows/grade.yml", "workshop classroom-results"):
        assert needed in text, needed


def test_the_3_hour_plan_has_every_lesson_with_measured_minutes_and_the_core_fits() -> None:
    text = GUIDE.read_text()
    plan = text.split("## The 3-hour plan", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| [^|]+ \| \[(\d\d) [^|]*\| (core|optional) \| (\d+) \| ([\d.]+) \|$", plan, re.MULTILINE)
    lessons = {number: (path, int(minutes)) for number, path, minutes, _ in rows}
    assert {f"{n:02d}" for n in range(10)} <= set(lessons), sorted(lessons)
    assert {n for n, (path, _) in lessons.items() if path == "core"} == {"00", "01", "02", "03", "04", "05", "09"}
    assert sum(minutes for path, minutes in lessons.values() if path == "core") <= 180 - 20, "room for breaks"
    assert all(float(measured) > 0 for *_, measured in rows), "every lesson's run time was measured"
    for needed in ("workshop bases", "workshop grade --all", "workshop bundle", "docs/lessons/times.json",
                   "tests/benchmarks/lesson_minutes.py", "words a minute"):
        assert needed in plan, needed
