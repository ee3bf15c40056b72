"""How the app probe's answers are judged: pure functions over AppProbeFacts, shared by app-works and the size gate.

The answers are untrusted data: they decide only whether each expectation held (status, content type, JSON fields
and types, text in the body, the page's scripts and stylesheets), and what a report quotes of them is cut short and
stripped of control characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.app_contract import JSON_TYPES, AppContract, Expectation, ProbeRequest, json_lookup, render
from grader.model import AppProbeFacts, Exchange, RunFacts

__all__ = ["RequestVerdict", "app_works_passed", "describe_contract", "judge", "sanitize_excerpt"]

_EXCERPT = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")
_ASSET_TYPES = {"script": ("javascript", "ecmascript"), "stylesheet": ("text/css",)}


@dataclass(frozen=True)
class RequestVerdict:
    """One request of the contract: did its answer hold what was expected, and if not, what was seen."""

    name: str
    passed: bool
    counted: bool
    expected: str = ""
    seen: str = ""
    request: str = ""  # "POST /users"


def sanitize_excerpt(text: str, limit: int = _EXCERPT) -> str:
    """A short, single-line, printable excerpt of something the app sent."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _seen(exchange: Exchange) -> str:
    if exchange.status is None:
        return f"no answer ({exchange.error or 'not sent'})"
    excerpt = sanitize_excerpt(exchange.body)
    return f"{exchange.status} {sanitize_excerpt(exchange.content_type, 40) or 'no content type'}" + (
        f", body `{excerpt}`" if excerpt else ", empty body")


def _json_problem(expect: Expectation, data: Any, values: Mapping[str, Any]) -> str | None:
    for path, wanted in expect.json:
        target = render(wanted, values)
        if not any(found == target and type(found) is type(target) for found in json_lookup(data, path)):
            return f"`{path}` = {json.dumps(target)}"
    for path, kind in expect.types:
        found = json_lookup(data, path)
        allowed = JSON_TYPES[kind]
        if not any(isinstance(v, allowed) and not (isinstance(v, bool) and bool not in allowed) for v in found):
            return f"`{path}` to be a {kind}"
    return None


def _asset_problem(page: Exchange) -> str | None:
    if not any(asset.kind == "script" for asset in page.assets):
        return "the page to reference at least one script (a built page does)"
    for asset in page.assets:
        looks_like_html = asset.body.lstrip().lower().startswith(("<!doctype", "<html"))
        if (asset.status != 200 or looks_like_html
                or not any(t in asset.content_type.lower() for t in _ASSET_TYPES[asset.kind])):
            return (f"its {asset.kind} `{sanitize_excerpt(asset.path, 80)}` to be served as "
                    f"{_ASSET_TYPES[asset.kind][0]} (saw {_seen(asset)})")
    return None


def _problem(request: ProbeRequest, exchange: Exchange, values: Mapping[str, Any]) -> str | None:
    """What the answer lacks, in words ("status 201", "`email` = ..."), or None when it holds everything."""
    expect = request.expect
    if exchange.status != expect.status:
        return f"status {expect.status}"
    if expect.content_type and expect.content_type.lower() not in exchange.content_type.lower():
        return f"content type {expect.content_type}"
    for text in expect.body_contains:
        wanted = str(render(text, values))
        if wanted not in exchange.body:
            return f"the body to contain `{sanitize_excerpt(wanted, 60)}`"
    if expect.json or expect.types:
        try:
            data = json.loads(exchange.body)
        except (ValueError, RecursionError):
            return "a JSON body"
        problem = _json_problem(expect, data, values)
        if problem:
            return problem
    return _asset_problem(exchange) if expect.assets else None


def judge(probe: AppProbeFacts) -> tuple[RequestVerdict, ...]:
    """Every request of the contract against its recorded answer (pure: hand-made facts test it)."""
    if probe.contract is None:
        return ()
    values = dict(probe.values)
    verdicts = []
    for request, exchange in zip(probe.contract.requests, probe.exchanges, strict=False):
        problem = _problem(request, exchange, values)
        counted = not (request.needs_database and probe.database_note)
        verdicts.append(RequestVerdict(request.name, problem is None, counted, problem or "", _seen(exchange),
                                       f"{exchange.method} {sanitize_excerpt(exchange.path, 80)}"))
    return tuple(verdicts)


def app_works_passed(run: RunFacts | None) -> bool:
    """True when the app probe ran and every counted request got what it expected, or the app has no contract
    (what `size` and the other size checks are gated on, beside health)."""
    probe = run.app_probe if run else None
    if probe is None or probe.status == "not-run":
        return False
    if probe.status == "no-contract":
        return True
    verdicts = judge(probe)
    return len(verdicts) == len(probe.contract.requests if probe.contract else ()) and all(
        v.passed for v in verdicts if v.counted)


def describe_contract(contract: AppContract) -> str:
    """The contract as `workshop explain app-works` shows it: one line per request and what must come back."""
    source = contract.source
    shown = "apps/" + source.rsplit("/apps/", 1)[-1] if "/apps/" in source else source
    lines = [f"{contract.app} (port {contract.port}, {shown}):"]
    if contract.values:
        made = ", ".join(f"{name} = {text!r}" for name, text in contract.values)
        lines.append(f"  - values made fresh for every run (${{random}}: random hex): {made}")
    if contract.database:
        lines.append(f"  - a PostgreSQL ({contract.database.image_name}) beside the app, its URL in "
                     f"{contract.database.env}")
    for request in contract.requests:
        e = request.expect
        wants = [f"status {e.status}"] + ([e.content_type] if e.content_type else [])
        wants += [f"{path} = {json.dumps(value)}" for path, value in e.json]
        wants += [f"{path} is {'an' if kind[0] in 'aeiou' else 'a'} {kind}" for path, kind in e.types]
        wants += [f"body contains {text!r}" for text in e.body_contains]
        wants += ["every script and stylesheet it references is served as such"] if e.assets else []
        body = f" {request.json_body}" if request.json_body else ""
        note = " (not counted when the grader has no database)" if request.needs_database else ""
        lines.append(f"  - {request.name}: {request.method} {request.path}{body} -> {'; '.join(wants)}{note}")
    return "\n".join(lines)
