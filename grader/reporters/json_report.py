"""The JSON report: a documented contract with a schema version (schema file: report.schema.json beside this).

Every JSON document the project writes has a schema beside this file: report.schema.json (one grade; also each
item of `grade --all --format json` and each per-student report of grade-class), grades.schema.json (grade-class's
grades.json), classroom-results.schema.json and checks.schema.json; gradescope-results.schema.json and
prairielearn-results.schema.json describe the course platforms' formats (gradescope.py, prairielearn.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from grader.model import CheckResult, ProbeFacts, Report, RunFacts

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "render", "render_list", "schema", "to_dict"]

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
T = TypeVar("T")


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain data; field names are part of the contract (see report.schema.json)."""
    comparison = report.comparison
    return {
        "schema_version": SCHEMA_VERSION,
        "exercise": report.exercise,
        "score": report.score,
        "max_score": report.max_score,
        "percent": report.percent,
        "passed": report.passed,
        "exit_code": report.exit_code,
        "error": _optional(report.error, lambda e: {
            "kind": e.kind, "message": e.message, "step": e.step, "line": e.line, "log_tail": list(e.log_tail)}),
        "image": _optional(report.build, lambda b: {
            "id": b.image_id, "tag": b.tag, "size_bytes": report.image_size_bytes,
            "compressed_bytes_estimate": report.compressed_bytes_estimate, "build_seconds": b.seconds,
            "context_bytes": b.context_bytes, "base": report.base_image, "backend": b.backend,
            "cached_steps": b.cached_steps, "read": _optional(report.image_read, dataclasses.asdict)}),
        "checks": [_check(c) for c in report.checks],
        "article": _optional(comparison.article if comparison else None, lambda a: {
            "before_bytes": a.before_bytes, "after_bytes": a.after_bytes, "build_before_s": a.build_before_s,
            "build_after_s": a.build_after_s, "pull_before_s": a.pull_before_s, "pull_after_s": a.pull_after_s}),
        "baseline": _optional(report.baseline, lambda b: {
            "image_id": b.image_id, "size_bytes": b.size_bytes, "build_seconds": b.build_seconds}),
        "comparison": _optional(comparison, lambda c: {
            "naive_bytes": c.naive_bytes, "current_bytes": c.current_bytes,
            "reduction_percent": c.reduction_percent, "cold_build_s": c.cold_build_s, "warm_build_s": c.warm_build_s,
            "compressed_bytes_estimate": c.compressed_bytes_estimate,
            "pull_seconds_estimate": c.pull_seconds_estimate, "bandwidth_mbps": c.bandwidth_mbps}),
        "run": _optional(report.run, _run),
        "timings": dict(report.timings),
        "project": _optional(report.project, lambda p: {
            "context": p.context, "baseline_source": p.baseline_source, "stack": p.stack,
            "before_bytes": comparison.naive_bytes if comparison else None,
            "after_bytes": comparison.current_bytes if comparison else None}),
    }


def _optional(value: T | None, convert: Callable[[T], dict[str, Any]]) -> dict[str, Any] | None:
    return None if value is None else convert(value)


def _check(c: CheckResult) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "status": c.status.value, "points": c.points, "max_points": c.max_points,
            "bonus": c.bonus, "measured": c.measured, "threshold": c.threshold, "message": c.message,
            "hint": c.hint, "lesson": c.lesson}


def _run(run: RunFacts) -> dict[str, Any]:
    return {
        "started": run.started, "start_error": run.start_error, "health_status": run.health_status,
        "health_seconds": run.health_seconds, "exit_code": run.exit_code, "uid": run.uid,
        "logs_tail": list(run.logs_tail), "health_log": list(run.health_log),
        "probe": _optional(run.probe, _probe),
        "processes": [{"euid": p.euid, "command": p.command} for p in run.processes],
        "setid_root": None if run.setid_root is None else list(run.setid_root),
        "app_probe": _optional(run.app_probe, lambda a: {
            "status": a.status, "detail": a.detail, "database_note": a.database_note, "seconds": a.seconds,
            "requests": [{"name": e.name, "method": e.method, "path": e.path, "status": e.status}
                         for e in a.exchanges]}),
    }


def _probe(probe: ProbeFacts) -> dict[str, Any]:
    return {"status": probe.status, "detail": probe.detail, "waiter": list(probe.waiter),
            "ways": [{"way": w.way, "status": w.status, "detail": w.detail, "runs": w.runs, "passes": w.passes}
                     for w in probe.ways]}


def render_list(reports: Sequence[Report]) -> str:
    """Several reports as one JSON list (each item validates against report.schema.json)."""
    return json.dumps([to_dict(report) for report in reports], indent=2)


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=False)


def schema(name: str = "report") -> dict[str, Any]:
    """A JSON schema beside this file: "report" (the default), "grades", "classroom-results", "checks",
    "gradescope-results" or "prairielearn-results"."""
    return dict(json.loads(SCHEMA_PATH.with_name(f"{name}.schema.json").read_text()))
