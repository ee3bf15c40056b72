"""The JSON report: a documented contract with a schema version (schema file: report.schema.json beside this).

Every JSON document the project writes has a schema beside this file: report.schema.json (one grade; also each
item of `grade --all --format json` and each per-student report of grade-class), grades.schema.json (grade-class's
grades.json), classroom-results.schema.json and checks.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.model import Report

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "render", "schema", "to_dict"]

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain data; field names are part of the contract (see report.schema.json)."""
    error = report.error
    build = report.build
    comparison = report.comparison
    article = comparison.article if comparison else None
    return {
        "schema_version": SCHEMA_VERSION,
        "exercise": report.exercise,
        "score": report.score,
        "max_score": report.max_score,
        "percent": report.percent,
        "passed": report.passed,
        "exit_code": report.exit_code,
        "error": None if error is None else {
            "kind": error.kind, "message": error.message, "step": error.step, "line": error.line,
            "log_tail": list(error.log_tail),
        },
        "image": None if build is None else {
            "id": build.image_id, "tag": build.tag, "size_bytes": report.image_size_bytes,
            "compressed_bytes_estimate": report.compressed_bytes_estimate, "build_seconds": build.seconds,
            "context_bytes": build.context_bytes, "base": report.base_image, "backend": build.backend,
            "cached_steps": build.cached_steps,
        },
        "checks": [
            {
                "id": c.id, "title": c.title, "status": c.status.value, "points": c.points,
                "max_points": c.max_points, "bonus": c.bonus, "measured": c.measured, "threshold": c.threshold,
                "message": c.message, "hint": c.hint, "lesson": c.lesson,
            }
            for c in report.checks
        ],
        "article": None if article is None else {
            "before_bytes": article.before_bytes, "after_bytes": article.after_bytes,
            "build_before_s": article.build_before_s, "build_after_s": article.build_after_s,
            "pull_before_s": article.pull_before_s, "pull_after_s": article.pull_after_s,
        },
        "baseline": None if report.baseline is None else {
            "image_id": report.baseline.image_id, "size_bytes": report.baseline.size_bytes,
            "build_seconds": report.baseline.build_seconds,
        },
        "comparison": None if comparison is None else {
            "naive_bytes": comparison.naive_bytes, "current_bytes": comparison.current_bytes,
            "reduction_percent": comparison.reduction_percent, "cold_build_s": comparison.cold_build_s,
            "warm_build_s": comparison.warm_build_s,
            "compressed_bytes_estimate": comparison.compressed_bytes_estimate,
            "pull_seconds_estimate": comparison.pull_seconds_estimate, "bandwidth_mbps": comparison.bandwidth_mbps,
        },
        "run": None if report.run is None else {
            "started": report.run.started, "start_error": report.run.start_error,
            "health_status": report.run.health_status, "health_seconds": report.run.health_seconds,
            "exit_code": report.run.exit_code, "uid": report.run.uid, "logs_tail": list(report.run.logs_tail),
            "health_log": list(report.run.health_log),
            "probe": None if report.run.probe is None else {
                "status": report.run.probe.status, "detail": report.run.probe.detail,
                "waiter": list(report.run.probe.waiter)},
        },
        "timings": dict(report.timings),
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=False)


def schema(name: str = "report") -> dict[str, Any]:
    """A JSON schema beside this file: "report" (the default), "grades", "classroom-results" or "checks"."""
    return dict(json.loads(SCHEMA_PATH.with_name(f"{name}.schema.json").read_text()))
