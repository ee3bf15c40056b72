"""The registry holds the contract (ids, lessons, docs); reporters only read a Report."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from factories import make_evidence

from grader.checks.lessons import LESSONS
from grader.errors import BuildFailed, UnknownFormat
from grader.model import Report, Status
from grader.registry import all_checks, evaluate
from grader.reporters import REPORTERS, render
from grader.reporters.json_report import schema, to_dict
from grader.settings import load_settings

#: The ids are a contract with notebooks, nbgrader cells and CI: changing one is a breaking change.
CONTRACT = ["builds", "size", "beats-article", "reduction", "non-root", "no-compilers", "healthcheck",
            "healthcheck-meaningful", "app-works", "no-dev-dependencies", "no-caches", "no-junk", "no-secrets",
            "multi-stage", "layer-waste", "context-size", "lint"]


def test_registry_holds_exactly_the_contract_ids_in_report_order() -> None:
    assert [spec.id for spec in all_checks()] == CONTRACT


def test_every_check_has_a_title_an_explanation_and_a_known_lesson() -> None:
    for spec in all_checks():
        assert spec.title and len(spec.explanation) > 40, spec.id
        assert spec.lesson.split("#")[0] in LESSONS.values(), spec.id


def test_every_exercise_grading_toml_loads_and_names_only_known_checks() -> None:
    ids = set(CONTRACT)
    for exercise in ("node-api", "fastapi", "combined"):
        settings = load_settings(exercise)
        assert set(settings.points) <= ids, exercise
        assert settings.size_threshold_bytes < settings.size_band_bytes
        assert settings.article.after_bytes < settings.article.before_bytes


def test_every_registered_test_pair_exists() -> None:
    from pathlib import Path

    source = (Path(__file__).parent / "test_checks.py").read_text()
    for check_id in CONTRACT:
        name = check_id.replace("-", "_")
        assert f"def test_{name}_passes" in source and f"def test_{name}_fails" in source, check_id


def report() -> Report:
    evidence = make_evidence()
    return Report(exercise="node-api", checks=evaluate(evidence), run=evidence.run)


def test_json_report_validates_against_its_schema() -> None:
    data = to_dict(report())
    jsonschema.validate(data, schema())
    assert data["schema_version"] == 1 and data["exit_code"] == 0


def test_json_for_a_failed_build_validates_and_keeps_the_error_apart() -> None:
    error = BuildFailed("The build failed at line 3", step="RUN false", line=3, log_tail=("a", "b"))
    data = to_dict(Report(exercise="node-api", checks=(), error=error))
    jsonschema.validate(data, schema())
    assert data["exit_code"] == 2 and data["error"]["kind"] == "build-failed" and data["error"]["line"] == 3


def test_junit_has_one_testcase_per_check_with_points() -> None:
    root = ET.fromstring(render(report(), "junit").split("\n", 1)[1])
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == CONTRACT
    points = cases[1].find("./properties/property[@name='points']")
    assert points is not None and points.get("value") == "20.0"


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownFormat) as raised:
        render(report(), "yaml")
    assert isinstance(raised.value, ValueError) and "'yaml'" in raised.value.message
    assert all(fmt in raised.value.message for fmt in REPORTERS)


def test_skipped_checks_do_not_count_toward_the_maximum() -> None:
    full = Report(exercise="node-api", checks=evaluate(make_evidence()))
    rep = Report(exercise="node-api", checks=evaluate(make_evidence(baseline=None)))
    reduction = rep.check("reduction")
    assert reduction.status is Status.SKIPPED and rep.max_score == full.max_score - reduction.max_points


def test_every_format_in_the_mapping_renders_a_report_with_every_check() -> None:
    """Each format the CLI offers (its --format choices come from REPORTERS) renders the whole report."""
    rendered = {fmt: render(report(), fmt) for fmt in REPORTERS}
    for fmt, text in rendered.items():
        assert all(check_id in text for check_id in CONTRACT), fmt
    assert json.loads(rendered["json"])["exercise"] == "node-api"
    assert ET.fromstring(rendered["junit"].split("\n", 1)[1]).tag == "testsuites"


def test_the_grade_command_offers_exactly_the_formats_that_render() -> None:
    from grader.cli.workshop import build_parser

    with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit):
        build_parser().parse_args(["grade", "node-api", "--format", "yaml"])
    assert all(repr(fmt) in err.getvalue() for fmt in REPORTERS)


def test_table_survives_brackets_in_messages() -> None:
    error = BuildFailed("The build failed at line 4: `RUN x`. The command '[/bin/sh -c pip install]' returned 1",
                        step="RUN x", line=4, log_tail=("[/bin/sh] oops",))
    rep = Report(exercise="fastapi", checks=evaluate(make_evidence(build=None, image=None, run=None,
                                                                   build_error=error.message)), error=error)
    text = render(rep, "table")
    assert "[/bin/sh -c pip install]" in text and "[/bin/sh] oops" in text


def test_the_report_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_notebook_show_uses_ipywidgets_when_installed_else_plain_html() -> None:
    from grader.reporters.notebook import show

    shown = show(report())
    html = getattr(shown, "value", None) or getattr(shown, "data", "")  # ipywidgets.HTML, else IPython HTML
    assert "healthcheck-meaningful" in html


def test_grader_readme_table_is_the_generated_one() -> None:
    from pathlib import Path

    from grader.cli.grade import checks_markdown

    readme = (Path(__file__).resolve().parents[2] / "grader" / "README.md").read_text()
    assert checks_markdown() in readme, "regenerate with `workshop checks --format markdown`"
