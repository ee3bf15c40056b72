"""JUnit XML: one testcase per check, points in properties, so CI systems show the grade as tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from grader.model import Report, Status
from grader.reporters.sanitize import strip_control

__all__ = ["render", "render_all"]


def _clean(value: object) -> object:
    """A measured value with every string in it stripped (json.dumps would keep ESC as a visible \\u001b)."""
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {strip_control(key): _clean(item) for key, item in value.items()}
    return value


def _attrs(values: dict[str, object]) -> dict[str, str]:
    """XML attributes free of characters XML 1.0 forbids and of terminal escapes (a log can hold anything)."""
    return {key: strip_control(value) for key, value in values.items()}


def render(report: Report) -> str:
    return render_all([report])


def render_all(reports: list[Report]) -> str:
    """One <testsuites> document with a <testsuite> per exercise (`workshop grade --all`)."""
    root = ET.Element("testsuites")
    for report in reports:
        root.append(_suite(report))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(report: Report) -> ET.Element:
    """One testcase per check, plus a `grade` testcase holding the error when the image could not be graded;
    `tests` counts exactly those testcases."""
    suite = ET.Element("testsuite", _attrs({
        "name": f"docker-diet-workshop.{report.exercise}",
        "tests": str(len(report.checks) + (report.error is not None)),
        "failures": str(sum(c.status is Status.FAIL and c.scored for c in report.checks)),
        "errors": str(sum(c.status is Status.ERROR for c in report.checks) + (report.error is not None)),
        "skipped": str(sum(c.status is Status.SKIPPED or (c.status is Status.FAIL and not c.scored)
                           for c in report.checks)),
    }))
    props = ET.SubElement(suite, "properties")
    for name, number in (("score", report.score), ("max_score", report.max_score), ("percent", report.percent)):
        ET.SubElement(props, "property", _attrs({"name": name, "value": number}))
    if report.error is not None:
        case = ET.SubElement(suite, "testcase", _attrs({"classname": report.exercise, "name": "grade"}))
        error = ET.SubElement(case, "error", _attrs({"type": report.error.kind, "message": report.error.message}))
        error.text = strip_control("\n".join(report.error.log_tail))
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", _attrs({"classname": report.exercise, "name": check.id}))
        cprops = ET.SubElement(case, "properties")
        for name, value in (("points", check.points), ("max_points", check.max_points),
                            ("measured", json.dumps(_clean(check.measured))),
                            ("threshold", json.dumps(_clean(check.threshold))),
                            ("lesson", check.lesson)):
            ET.SubElement(cprops, "property", _attrs({"name": name, "value": value}))
        if check.status is Status.FAIL and check.scored:
            failure = ET.SubElement(case, "failure", _attrs({"message": check.message}))
            failure.text = strip_control(check.hint or "")
        elif check.status is Status.ERROR:
            ET.SubElement(case, "error", _attrs({"message": check.message}))
        elif check.status is Status.SKIPPED or check.status is Status.FAIL:
            ET.SubElement(case, "skipped", _attrs({"message": check.message}))
    return suite
