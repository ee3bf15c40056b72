"""One result type end to end: every JSON the project writes validates against its schema, and JUnit counts match.

One test per writer: the JSON reporter, `workshop grade --all --format json`, grade-class's per-student reports
(could-not-grade ones included) and its grades.json, `workshop classroom-results` and `workshop checks`. None of
them needs a build: a report made from hand-made facts is the same type the engine's facts make.
"""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from factories import make_evidence
from referencing import Registry, Resource

from grader.api import GradeConfig, _comparison, _gate_only
from grader.course import classroom
from grader.course.classroom import Job, write_outputs
from grader.dockerfile import parse_dockerfile
from grader.errors import BuildFailed, BuildTimeout, DockerfileError, GradeError, NoEngine, UnknownCheck
from grader.model import Report, Status
from grader.registry import evaluate
from grader.reporters import REPORTERS, render
from grader.reporters.json_report import schema, to_dict
from grader.reporters.junit import render_all
from grader.settings import load_settings

SCHEMAS = ("report", "grades", "classroom-results", "checks")
DOCKERFILE = ("FROM node:20 AS build\nRUN npm ci\nFROM node:20-slim\nCOPY --from=build /app/dist ./dist\nUSER node\n"
              "CMD [\"node\", \"dist/main.js\"]\n")


def validate(data: Any, name: str = "report") -> None:
    """Validate against one of our schemas, resolving the references between them (grades -> report)."""
    registry: Registry = Registry().with_resources(
        (f"docker-diet-workshop/{other}.schema.json", Resource.from_contents(schema(other))) for other in SCHEMAS)
    jsonschema.Draft202012Validator(schema(name), registry=registry).validate(data)


def graded_report(**changes: Any) -> Report:
    """A report as grade() makes one after a build: checks, image, run, baseline and the article comparison."""
    evidence = make_evidence(dockerfile=parse_dockerfile(DOCKERFILE), **changes)
    assert evidence.image is not None and evidence.build is not None
    return Report(exercise="node-api", checks=evaluate(evidence), build=evidence.build,
                  image_size_bytes=evidence.image.size_bytes, compressed_bytes_estimate=50_000_000,
                  base_image="node:20-slim", baseline=evidence.baseline, run=evidence.run,
                  comparison=_comparison(evidence.settings, evidence.image, evidence.baseline, (120.0, 8.0)),
                  timings={"build": 3.0, "inspect": 0.4})


def error_report(error: GradeError) -> Report:
    """A could-not-grade report as grade() makes one: `builds` failed with the reason, the rest skipped."""
    settings = load_settings("node-api")
    return Report(exercise="node-api", checks=_gate_only(settings, parse_dockerfile(DOCKERFILE), error), error=error)


ERRORS = [NoEngine("No engine."), DockerfileError("No Dockerfile at x."), BuildTimeout("Stopped after 600 s."),
          BuildFailed("Step 2 failed.", step="RUN npm ci", line=2, log_tail=("npm ERR!", "\x1b[31mred\x1b[0m"))]


def test_every_schema_is_a_valid_json_schema() -> None:
    for name in SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(schema(name))


def test_every_grade_error_kind_is_one_the_report_schema_allows() -> None:
    allowed = schema()["properties"]["error"]["oneOf"][1]["properties"]["kind"]["enum"]

    def subclasses(cls: type[GradeError]) -> list[type[GradeError]]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in subclasses(child))]

    kinds = {cls.kind for cls in subclasses(GradeError)}
    assert kinds <= set(allowed), kinds - set(allowed)


def test_json_reporter_graded_report_validates() -> None:
    data = json.loads(render(graded_report(), "json"))
    validate(data)
    assert data["comparison"] is not None and data["run"] is not None and data["exit_code"] == 0


def test_json_reporter_shows_each_probe_way_and_every_process_seen() -> None:
    data = to_dict(graded_report())
    validate(data)
    assert [way["way"] for way in data["run"]["probe"]["ways"]] == ["never-started", "app-killed"]
    assert data["run"]["processes"] == [{"euid": 1000, "command": "node"}] and data["run"]["setid_root"] == []
    data["run"]["probe"]["ways"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_json_reporter_failing_report_validates_with_exit_code_1() -> None:
    data = to_dict(graded_report(baseline=None, run=None, lint_findings=("DL3008 line 2: pin versions",)))
    validate(data)
    assert data["baseline"] is None and data["run"] is None and data["exit_code"] == 1


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.kind)
def test_json_reporter_could_not_grade_report_validates(error: GradeError) -> None:
    data = to_dict(error_report(error))
    validate(data)
    assert data["exit_code"] == 2 and data["error"]["kind"] == error.kind and data["checks"]


def test_grade_all_json_writes_a_list_of_valid_reports(tmp_path: Path) -> None:
    from grader.cli.grade import _emit

    out = tmp_path / "all.json"
    with contextlib.redirect_stderr(io.StringIO()):
        _emit([graded_report(), error_report(ERRORS[-1])], "json", out)
    data = json.loads(out.read_text())
    assert isinstance(data, list) and len(data) == 2
    for item in data:
        validate(item)


def _job(root: Path, student: str, problem: str | None = None) -> Job:
    folder = root / student / "node-api"
    folder.mkdir(parents=True)
    return Job(student, "node-api", folder, f"digest-{student}", problem)


def test_grade_class_could_not_grade_reports_and_grades_json_validate(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The class runner's own writers: a refused folder (UnsafeFile), a missing Dockerfile (through grade()),
    a grader bug (InternalError), then grades.json over them and one submission never graded."""
    subs, output = tmp_path / "subs", tmp_path / "out"
    refused = _job(subs, "ann", problem="subs/ann is a symbolic link; submit a real folder.")
    missing = _job(subs, "ben")
    buggy = _job(subs, "cat")
    waiting = _job(subs, "dan")
    recorder = classroom._Recorder(output)
    outcomes = [classroom._grade_job(refused, GradeConfig(), recorder),
                classroom._grade_job(missing, GradeConfig(), recorder)]

    def bug(*args: object, **kwargs: object) -> Report:
        raise ZeroDivisionError("a grader bug")

    monkeypatch.setattr(classroom, "grade", bug)
    outcomes.append(classroom._grade_job(buggy, GradeConfig(), recorder))
    assert [o.report["error"]["kind"] for o in outcomes] == ["dockerfile", "dockerfile", "internal"]
    for outcome in outcomes:
        validate(outcome.report)
        written = output / "reports" / outcome.job.student / "node-api.json"
        validate(json.loads(written.read_text()))
    write_outputs([refused, missing, buggy, waiting], output)
    grades = json.loads((output / "grades.json").read_text())
    validate(grades, "grades")
    assert [entry["report"] is None for entry in grades] == [False, False, False, True]


def test_grade_class_graded_report_validates_inside_grades_json(tmp_path: Path) -> None:
    """A graded report goes through the same serialiser into grades.json."""
    job = _job(tmp_path / "subs", "eve")
    output = tmp_path / "out"
    outcome = classroom.Outcome(job, to_dict(graded_report()), 1.0)
    classroom._Recorder(output).record(outcome, "<p>fragment</p>")
    write_outputs([job], output)
    grades = json.loads((output / "grades.json").read_text())
    validate(grades, "grades")
    assert grades[0]["report"]["score"] == graded_report().score


def test_error_report_of_an_engine_failure_validates(tmp_path: Path) -> None:
    import docker

    job = _job(tmp_path, "fay")
    error = classroom._internal(job, docker.errors.APIError("engine went away"))
    validate(classroom._error_report(job, error))


def test_classroom_results_json_validates(tmp_path: Path) -> None:
    from grader.cli.workshop import main

    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps([to_dict(graded_report()), to_dict(error_report(ERRORS[-1]))]))
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["classroom-results", str(report_file), "--format", "json"]) == 0
    data = json.loads(out.getvalue())
    validate(data, "classroom-results")
    assert data["status"] == "error" and data["tests"]


def test_checks_json_validates() -> None:
    from grader.cli.workshop import main

    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["checks", "--format", "json"]) == 0
    validate(json.loads(out.getvalue()), "checks")


# ---------------------------------------------------------------- JUnit counts


def _suite_counts(report: Report) -> tuple[dict[str, int], dict[str, int]]:
    """(what <testsuite> declares, what its testcases hold)."""
    suite = ET.fromstring(render(report, "junit").split("\n", 1)[1]).find("testsuite")
    assert suite is not None
    declared = {name: int(suite.get(name, "-1")) for name in ("tests", "failures", "errors", "skipped")}
    cases = suite.findall("testcase")
    counted = {"tests": len(cases), **{f"{tag}s" if tag != "skipped" else tag: sum(
        case.find(tag) is not None for case in cases) for tag in ("failure", "error", "skipped")}}
    return declared, counted


@pytest.mark.parametrize("name, report", [
    ("graded", graded_report()),
    ("failing", graded_report(baseline=None, image=make_evidence().image, lint_findings=("DL3008 line 2: x",),
                              run=None)),
    ("build-failed", error_report(ERRORS[-1])),
    ("no-engine-no-checks", Report(exercise="fastapi", checks=(), error=NoEngine("No engine."))),
], ids=lambda value: value if isinstance(value, str) else "")
def test_junit_declared_counts_match_its_testcases(name: str, report: Report) -> None:
    declared, counted = _suite_counts(report)
    assert declared == counted, name


def test_junit_counts_a_grading_error_as_one_error_testcase_beside_the_checks() -> None:
    report = error_report(ERRORS[-1])
    declared, _ = _suite_counts(report)
    assert declared["tests"] == len(report.checks) + 1 and declared["errors"] >= 1
    assert declared["skipped"] == sum(c.status is Status.SKIPPED for c in report.checks)


def test_junit_render_all_has_a_suite_per_report() -> None:
    root = ET.fromstring(render_all([graded_report(), error_report(ERRORS[0])]).split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [len(s.findall("testcase")) == int(s.get("tests", "-1")) for s in suites] == [True, True]


# ---------------------------------------------------------------- Report.check and the format table


def test_report_check_finds_a_check_by_id() -> None:
    report = graded_report()
    assert report.check("non-root").id == "non-root"


def test_report_check_of_an_unknown_id_names_the_ids_it_holds() -> None:
    with pytest.raises(UnknownCheck, match="non-root") as raised:
        graded_report().check("non-rooot")
    assert isinstance(raised.value, KeyError) and "non-rooot" in str(raised.value)


def test_report_check_on_an_ungraded_report_says_it_holds_none() -> None:
    with pytest.raises(KeyError, match="no checks"):
        Report(exercise="fastapi", checks=()).check("size")


def test_every_format_renders_a_report() -> None:
    report = graded_report()
    for fmt in REPORTERS:
        assert "non-root" in render(report, fmt), fmt
