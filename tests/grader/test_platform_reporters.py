"""Gradescope, PrairieLearn and GitHub job-summary output: each held to its platform's published format.

Each JSON schema was written from the platform's documentation; the documentation's own examples
(platform_examples/, see its README) must validate against it, a document with a mistake in it must not, and our
output for a real Report (hand-made facts, no build) must validate too, graded or not. The job summary is Markdown:
it is parsed as GitHub Flavored Markdown (tables on) to show that text from a submission cannot add table cells,
images, HTML or close the log's code fence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from factories import make_evidence, make_run
from markdown_it import MarkdownIt
from markdown_it.token import Token

from grader.api import _comparison, _gate_only
from grader.dockerfile import parse_dockerfile
from grader.errors import BuildFailed, BuildTimeout, DockerfileError, GradeError, NoEngine
from grader.model import Report, Status
from grader.registry import evaluate
from grader.reporters import REPORTERS, render, render_many
from grader.reporters.json_report import schema
from grader.settings import load_settings

EXAMPLES = Path(__file__).with_name("platform_examples")
DOCKERFILE = ("FROM node:20 AS build\nRUN npm ci\nFROM node:20-slim\nCOPY --from=build /app/dist ./dist\nUSER node\n"
              "CMD [\"node\", \"dist/main.js\"]\n")
ERRORS = [NoEngine("No engine."), DockerfileError("No Dockerfile at x."), BuildTimeout("Stopped after 600 s."),
          BuildFailed("Step 2 failed.", step="RUN npm ci", line=2, log_tail=("npm ERR!", "\x1b[31mred\x1b[0m"))]
#: Text a hostile build could print: a cell break, an image, raw HTML, a fence, an escape sequence.
HOSTILE = "a | b ![x](http://127.0.0.1/p.png) <img src=x onerror=alert(1)> ``` \x1b]8;;http://x\x1b\\link"
#: The keys PrairieLearn's documentation gives a test, which <pl-external-grader-results> renders.
PRAIRIELEARN_TEST_KEYS = {"name", "description", "points", "max_points", "message", "output", "images"}


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name))


def graded_report(exercise: str = "node-api", **changes: Any) -> Report:
    """A report as grade() makes one after a build: checks, image, run, baseline and the article comparison."""
    evidence = make_evidence(dockerfile=parse_dockerfile(DOCKERFILE), **changes)
    assert evidence.image is not None and evidence.build is not None
    return Report(exercise=exercise, checks=evaluate(evidence), build=evidence.build,
                  image_size_bytes=evidence.image.size_bytes, compressed_bytes_estimate=50_000_000,
                  base_image="node:20-slim", baseline=evidence.baseline, run=evidence.run,
                  comparison=_comparison(evidence.settings, evidence.image, evidence.baseline, (120.0, 8.0)),
                  timings={"build": 3.0, "inspect": 0.4})


def error_report(error: GradeError, exercise: str = "node-api") -> Report:
    """A could-not-grade report as grade() makes one: `builds` failed with the reason, the rest skipped."""
    checks = _gate_only(load_settings("node-api"), parse_dockerfile(DOCKERFILE), error)
    return Report(exercise=exercise, checks=checks, error=error)


# ----------------------------------------------------------------------------- the schemas and the documentation

@pytest.mark.parametrize("name", ["gradescope-results", "prairielearn-results"])
def test_platform_schema_is_a_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("example", ["gradescope-output-format.json", "gradescope-test-case-status.json"])
def test_gradescope_documentation_examples_validate(example: str) -> None:
    validator("gradescope-results").validate(json.loads((EXAMPLES / example).read_text()))


def test_prairielearn_documentation_example_validates() -> None:
    validator("prairielearn-results").validate(json.loads((EXAMPLES / "prairielearn-grading-results.json").read_text()))


@pytest.mark.parametrize("mistake", [
    {"tests": [{"name": "t", "score": 1, "max_points": 1}]},  # PrairieLearn's key in a Gradescope test
    {"score": 1, "visibility": "public"},
    {"score": 1, "output_format": "markdown"},
    {"output": "neither a score nor tests"},
    {"score": "10"},
])
def test_gradescope_schema_refuses_what_gradescope_does_not_document(mistake: dict[str, Any]) -> None:
    assert not validator("gradescope-results").is_valid(mistake)


@pytest.mark.parametrize("mistake", [
    {"message": "gradable, but no score"},
    {"gradable": True, "score": 1.5},
    {"score": -0.1},
    {"gradable": "no", "score": 0},
    {"score": 0.5, "tests": [{"name": "t", "points": "1"}]},
])
def test_prairielearn_schema_refuses_what_prairielearn_does_not_document(mistake: dict[str, Any]) -> None:
    assert not validator("prairielearn-results").is_valid(mistake)


def test_prairielearn_schema_accepts_a_not_gradable_result_without_a_score() -> None:
    validator("prairielearn-results").validate({"gradable": False, "format_errors": ["Dockerfile: no FROM"]})


# ----------------------------------------------------------------------------- Gradescope

def test_gradescope_output_for_a_graded_report_validates_with_one_test_per_check() -> None:
    report = graded_report(run=make_run(uid=0))  # non-root fails
    data = json.loads(render(report, "gradescope"))
    validator("gradescope-results").validate(data)
    assert data["score"] == report.score and data["execution_time"] == 3
    assert [test["tags"][1] for test in data["tests"]] == [check.id for check in report.checks]
    non_root = next(test for test in data["tests"] if test["tags"][1] == "non-root")
    assert non_root["status"] == "failed" and non_root["score"] == 0 and non_root["max_score"] > 0
    assert "lesson:" in non_root["output"] and "next:" in non_root["output"]
    assert data["output_format"] == data["test_output_format"] == data["test_name_format"] == "text"
    scored = sum(test["max_score"] for test in data["tests"])
    assert scored == report.max_score  # skipped and bonus checks leave the maximum, as in our score


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.kind)
def test_gradescope_could_not_grade_scores_zero_with_the_reason_in_output(error: GradeError) -> None:
    data = json.loads(render(error_report(error), "gradescope"))
    validator("gradescope-results").validate(data)
    assert data["score"] == 0 and all(test["score"] == 0 for test in data["tests"])
    assert f"could not grade ({error.kind})" in data["output"] and error.message in data["output"]
    assert data["extra_data"]["could_not_grade"] == ["node-api"]
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)


# ----------------------------------------------------------------------------- PrairieLearn

def test_prairielearn_output_for_a_graded_report_validates_with_a_fraction_score() -> None:
    report = graded_report(run=make_run(uid=0))
    data = json.loads(render(report, "prairielearn"))
    validator("prairielearn-results").validate(data)
    assert data["gradable"] is True
    assert data["score"] == pytest.approx(min(1.0, report.score / report.max_score), abs=1e-4) and data["score"] < 1
    assert [test["name"] for test in data["tests"]] == [check.id for check in report.checks]
    assert all(set(test) <= PRAIRIELEARN_TEST_KEYS for test in data["tests"])
    assert sum(test["max_points"] for test in data["tests"]) == report.max_score


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.kind)
def test_prairielearn_could_not_grade_is_not_gradable(error: GradeError) -> None:
    data = json.loads(render(error_report(error), "prairielearn"))
    validator("prairielearn-results").validate(data)
    assert data["gradable"] is False and "score" not in data and "tests" not in data
    assert any(error.message in line for line in data["format_errors"])


def test_prairielearn_for_several_exercises_is_gradable_only_when_every_one_was() -> None:
    node, fastapi = graded_report("node-api"), graded_report("fastapi", run=make_run(uid=0))
    both = json.loads(render_many([node, fastapi], "prairielearn"))
    validator("prairielearn-results").validate(both)
    expected = (node.score + fastapi.score) / (node.max_score + fastapi.max_score)
    assert both["score"] == pytest.approx(min(1.0, expected), abs=1e-4)
    assert {test["name"].split(": ")[0] for test in both["tests"]} == {"node-api", "fastapi"}
    mixed = json.loads(render_many([node, error_report(ERRORS[0], "fastapi")], "prairielearn"))
    validator("prairielearn-results").validate(mixed)
    assert mixed["gradable"] is False and mixed["format_errors"] == ["fastapi: could not grade (no-engine): No engine."]


def test_gradescope_for_several_exercises_sums_scores_and_names_tests_by_exercise() -> None:
    node, broken = graded_report("node-api"), error_report(ERRORS[3], "fastapi")
    data = json.loads(render_many([node, broken], "gradescope"))
    validator("gradescope-results").validate(data)
    assert data["score"] == node.score
    assert data["extra_data"] == {"exercises": ["node-api", "fastapi"], "max_score": node.max_score + broken.max_score,
                                  "could_not_grade": ["fastapi"]}
    fastapi_first = -len(broken.checks)  # the broken report's checks come last, `builds` first among them
    assert data["tests"][0]["name"].startswith("node-api: builds")
    assert "fastapi: builds" in data["tests"][fastapi_first]["name"]


# ----------------------------------------------------------------------------- GitHub job summary

def _parse(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown)


def _tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Every table as rows of cell texts (inline content, after Markdown's escapes)."""
    tables: list[list[list[str]]] = []
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append([])
        elif token.type in ("th_open", "td_open"):
            tables[-1][-1].append(tokens[index + 1].content)
    return tables


def _rendered_text(tokens: list[Token]) -> str:
    return "".join(child.content for token in tokens for child in (token.children or []) if child.type == "text")


def test_github_summary_has_a_row_per_check_with_status_points_measured_threshold_and_hint() -> None:
    report = graded_report(run=make_run(uid=0))
    tokens = _parse(render(report, "github-summary"))
    checks, article = _tables(tokens)
    assert checks[0] == ["status", "check", "points", "measured", "threshold", "hint"]
    assert [row[1] for row in checks[1:]] == [check.id for check in report.checks]
    non_root = next(row for row in checks[1:] if row[1] == "non-root")
    assert non_root[0].endswith("fail") and non_root[2] == "0/10" and non_root[5]
    assert [row[0] for row in article[1:]][:3] == ["naive image", "final image", "reduction"]


def test_github_summary_text_from_a_submission_cannot_add_cells_images_or_html() -> None:
    report = graded_report(run=make_run(uid=0))
    hostile = tuple(replace(check, message=HOSTILE, hint=HOSTILE, measured=[HOSTILE])
                    if check.status is not Status.PASS else check for check in report.checks)
    markdown = render(replace(report, checks=hostile), "github-summary")
    tokens = _parse(markdown)
    rows = _tables(tokens)[0]
    assert {len(row) for row in rows} == {6}, "a pipe in a message made a new cell"
    children = [child for token in tokens for child in (token.children or [])]
    assert not [c for c in children if c.type in ("image", "html_inline", "link_open")]
    assert not [t for t in tokens if t.type == "html_block"]
    assert "\x1b" not in markdown
    assert "<img src=x onerror=alert(1)>" in _rendered_text(tokens)  # shown as text, not dropped


def test_github_summary_of_a_failed_build_keeps_the_log_in_a_fence_it_cannot_close() -> None:
    error = BuildFailed("Step 2 failed: `RUN npm ci`.", step="RUN npm ci", line=2,
                        log_tail=("```", "# heading?", "| a | b |", "</details><img src=x>", "\x1b[31mred\x1b[0m"))
    markdown = render(error_report(error), "github-summary")
    tokens = _parse(markdown)
    fences = [token for token in tokens if token.type == "fence"]
    assert len(fences) == 1
    assert fences[0].content.splitlines() == ["```", "# heading?", "| a | b |", "</details><img src=x>", "red"]
    assert not [t for t in tokens if t.type == "heading_open" and "heading?" in tokens[tokens.index(t) + 1].content]
    assert "could not grade (build-failed)" in markdown and "Step 2 failed" in markdown


def test_github_summary_for_several_exercises_starts_with_an_overview() -> None:
    reports = [graded_report("node-api"), error_report(ERRORS[0], "fastapi")]
    tokens = _parse(render_many(reports, "github-summary"))
    overview = _tables(tokens)[0]
    assert overview[0] == ["exercise", "result"]
    assert [row[0] for row in overview[1:]] == ["node-api", "fastapi"]
    assert overview[2][1] == "could not grade (no-engine)"


# ----------------------------------------------------------------------------- the command line

def test_the_new_formats_are_offered_by_the_mapping() -> None:
    assert {"gradescope", "prairielearn", "github-summary", "json", "junit"} <= set(REPORTERS)


@pytest.mark.parametrize("fmt", ["gradescope", "prairielearn", "github-summary"])
def test_grade_command_writes_each_format_for_a_missing_dockerfile(fmt: str, tmp_path: Path) -> None:
    """No build needed: a Dockerfile that does not exist cannot be graded, and each format says so (exit 2)."""
    workshop = Path(sys.executable).parent / "workshop"
    result = subprocess.run([str(workshop), "grade", "node-api", "--dockerfile", str(tmp_path / "Dockerfile"),
                             "--format", fmt, "--output", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stderr
    text = (tmp_path / "out").read_text()
    if fmt == "github-summary":
        assert "could not grade (" in text
        return
    data = json.loads(text)
    validator(f"{fmt}-results").validate(data)
    assert (data["score"] == 0) if fmt == "gradescope" else (data["gradable"] is False)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("fmt", ["gradescope", "prairielearn", "github-summary"])
def test_no_format_carries_a_control_character_from_a_hostile_log(fmt: str) -> None:
    """Escape sequences and controls from a build log never reach a course platform (JSON would only encode them)."""
    controls = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t") + "\x7f\x9b31m\x1b]0;pwned\x07"
    error = BuildFailed("failed " + controls, step="RUN x", line=2, log_tail=(controls, "\x1b[1mbold\x1b[0m"))
    for report in (error_report(error), graded_report(run=make_run(uid=0, logs=(controls,)))):
        text = render(report, fmt)
        strings = [text] if fmt == "github-summary" else _strings(json.loads(text))
        bad = {hex(ord(c)) for s in strings for c in s if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f}
        assert not bad and "pwned" not in text, (fmt, bad)
