"""The app probe: the grader sends a user's requests to the running app, from its own side, and records the answers.

Why: a HEALTHCHECK is the learner's code, so a healthy container proves only what the learner chose to test. The
probe runs in a small container of the grader's own (`python:3.11-slim`, a base the learner does not control,
running grader/engine/probe_script.py) that joins the app container's network namespace and talks to
127.0.0.1:<port>: the app keeps `network_mode="none"`, and no traffic crosses a bridge. The requests come from
`apps/<app>/probe.toml` (grader/app_contract.py), with values made fresh for every run. The probe prints one JSON
line; it is read with a size bound and a schema check, and only its fields become facts (`AppProbeFacts`): the
answers decide nothing but the pass or fail of each expectation (grader/checks/verdicts.py).

run.py uses it in three steps: `AppProbe.prepare` (the app's environment, e.g. DATABASE_URL), `begin` once the app
container runs (the database and the probe's own container start beside it, in the background, while the app turns
healthy), `probe` once it is healthy (one `exec` of the probe script); `close` always. A failure on the grader's
side (the probe image missing, the engine refusing the probe's container) is a GradeError: "could not grade".
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import requests
from docker.types import LogConfig

from grader.app_contract import AppContract, render
from grader.engine.database import Database
from grader.errors import GradeError
from grader.model import AppProbeFacts, Exchange, JsonValue
from grader.paths import PROJECT_LABEL

__all__ = [
    "BUDGET_S",
    "PROBE_IMAGE",
    "AppProbe",
    "parse_probe_output",
    "probe_plan",
]

#: Present on every workshop machine (an exercise base), and never built by a learner.
PROBE_IMAGE = "python:3.11-slim"
BUDGET_S = 20.0  # all requests together
REQUEST_TIMEOUT_S = 5.0  # one request
FIRST_WAIT_S = 5.0  # connection refused is retried this long on the first request (healthy before listening)
OUTPUT_MAX = 512 * 1024  # bytes of the probe's output read at most
_SCRIPT = Path(__file__).with_name("probe_script.py")
_KINDS = ("request", "script", "stylesheet")
_TEXT_MAX = {"name": 200, "method": 10, "path": 300, "type": 200, "body": 8192, "error": 300}


def probe_plan(contract: AppContract, random: str) -> dict[str, Any]:
    """What the probe script is given: the port, the run's fresh values and the requests, as JSON-ready data."""
    values: dict[str, JsonValue] = {"random": random}
    values.update((name, render(text, {"random": random})) for name, text in contract.values)
    return {
        "port": contract.port, "budget_s": BUDGET_S, "timeout_s": REQUEST_TIMEOUT_S, "wait_s": FIRST_WAIT_S,
        "values": values,
        "requests": [{"name": r.name, "method": r.method, "path": r.path, "json": r.json_body,
                      "save": [list(pair) for pair in r.save], "assets": r.expect.assets} for r in contract.requests],
    }


def _text(item: dict[str, Any], key: str, optional: bool = False) -> str | None:
    value = item.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    return value[:_TEXT_MAX[key]]


def _exchange(item: Any, nested: bool = False) -> Exchange:
    if not isinstance(item, dict):
        raise ValueError("an exchange is not an object")
    status = item.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 0 <= status < 1000):
        raise ValueError("status is not a number")
    kind, assets = item.get("kind"), item.get("assets") or []
    if kind not in _KINDS or not isinstance(assets, list) or (nested and assets) or len(assets) > 16:
        raise ValueError("kind or assets out of bounds")
    return Exchange(name=str(_text(item, "name")), method=str(_text(item, "method")), path=str(_text(item, "path")),
                    status=status, content_type=str(_text(item, "type")), body=str(_text(item, "body")),
                    error=_text(item, "error", optional=True), kind=str(kind),
                    assets=tuple(_exchange(asset, nested=True) for asset in assets))


def parse_probe_output(raw: bytes, expected: int) -> tuple[tuple[Exchange, ...], dict[str, JsonValue]]:
    """The probe's JSON line, checked field by field; ValueError when it is not what the probe prints."""
    lines = raw[:OUTPUT_MAX].decode("utf-8", "replace").strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except (ValueError, RecursionError) as exc:
        raise ValueError("the output is not JSON") from exc
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("exchanges"), list):
        raise ValueError("the output is not the probe's")
    exchanges = tuple(_exchange(item) for item in data["exchanges"])
    if len(exchanges) != expected:
        raise ValueError(f"{len(exchanges)} answers for {expected} requests")
    saved: dict[str, Any] = data["saved"] if isinstance(data.get("saved"), dict) else {}
    kept = {str(k)[:50]: (v[:200] if isinstance(v, str) else v) for k, v in list(saved.items())[:32]
            if isinstance(v, (str, int, float, bool))}
    return exchanges, kept


def _labels() -> dict[str, str]:
    return {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "app-probe"}


@dataclass
class _Prober:
    """The grader's own container in the app's namespace. It is started (only waiting) while the app turns
    healthy, so the probe itself costs one `exec` of the probe script, not a container start."""

    api: docker.APIClient
    container_id: str | None = None
    failure: Exception | None = None
    thread: threading.Thread | None = None

    def start(self, app_container_id: str) -> None:
        self.thread = threading.Thread(target=self._start, args=(app_container_id,), daemon=True)
        self.thread.start()

    def _start(self, app_container_id: str) -> None:
        host_config = self.api.create_host_config(
            network_mode=f"container:{app_container_id}", mem_limit=128 * 1024 * 1024,
            memswap_limit=128 * 1024 * 1024, pids_limit=32, nano_cpus=500_000_000, read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            log_config=LogConfig(type="json-file", config={"max-size": "64k", "max-file": "1"}),
        )
        try:
            self.container_id = str(self.api.create_container(
                PROBE_IMAGE, command=["sleep", "infinity"], user="65534:65534", labels=_labels(),
                host_config=host_config, detach=True)["Id"])
            self.api.start(self.container_id)
        except Exception as exc:  # noqa: BLE001 - handed to run(), which turns it into a result or a GradeError
            self.failure = exc

    def run(self, plan: dict[str, Any]) -> bytes:
        """Run the probe script with the plan; its output, read up to OUTPUT_MAX bytes."""
        if self.thread is not None:
            self.thread.join(60)
        if self.failure is not None:
            raise self.failure
        if self.container_id is None:
            raise requests.exceptions.Timeout("the probe container did not start")
        command = ["python", "-I", "-c", _SCRIPT.read_text(encoding="utf-8"), json.dumps(plan)]
        exec_id = self.api.exec_create(self.container_id, command, stdout=True, stderr=False)["Id"]
        output = b""
        for chunk in self.api.exec_start(exec_id, stream=True):
            output += chunk
            if len(output) > OUTPUT_MAX:
                break
        return output[:OUTPUT_MAX]

    def remove(self) -> None:
        if self.thread is not None:
            self.thread.join(60)
        if self.container_id:
            try:
                self.api.remove_container(self.container_id, force=True, v=True)
            except docker.errors.APIError:
                pass  # already gone


@dataclass
class AppProbe:
    """One app probe beside one run (see the module docstring for the order of the steps)."""

    api: docker.APIClient
    contract: AppContract | None
    database: Database | None = None
    prober: _Prober | None = None

    @classmethod
    def prepare(cls, api: docker.APIClient, contract: AppContract | None) -> AppProbe:
        spec = contract.database if contract else None
        return cls(api, contract, Database(api, spec) if spec else None, _Prober(api) if contract else None)

    @property
    def environment(self) -> dict[str, str]:
        """What the app container is created with (the database's URL, when the contract asks for one)."""
        return {self.database.spec.env: self.database.url} if self.database else {}

    def begin(self, app_container_id: str) -> None:
        """Once the app container runs: the database and the probe's container start beside it (background)."""
        if self.database is not None:
            self.database.start(app_container_id)
        if self.prober is not None:
            self.prober.start(app_container_id)

    def probe(self, healthy: bool) -> AppProbeFacts:
        """Send the contract's requests once the app is healthy; never raises for what the app does."""
        contract = self.contract
        if contract is None or self.prober is None:
            return AppProbeFacts("no-contract", "the app has no probe.toml, so no requests were sent")
        if not healthy:
            return AppProbeFacts("not-run", "the container never turned healthy, so the grader sent no requests",
                                 contract)
        started = time.monotonic()
        note = self.database.wait() if self.database else None
        plan = probe_plan(contract, secrets.token_hex(6))
        try:
            raw = self.prober.run(plan)
        except docker.errors.ImageNotFound as exc:
            raise GradeError(f"The grader's probe image {PROBE_IMAGE} is not on this machine, so `app-works` cannot "
                             "send its requests. This is not a problem with the submission: `workshop bases` makes "
                             "it; then grade again.") from exc
        except docker.errors.APIError as exc:
            raise GradeError(f"The grader's probe container could not run ({str(exc.explanation or exc)[:200]}), so "
                             "`app-works` cannot send its requests. This is not a problem with the submission: "
                             "grade again; if it repeats, `workshop doctor` checks the engine.") from exc
        except (requests.exceptions.RequestException, OSError):  # the engine's stream timed out
            return AppProbeFacts("not-run", f"the requests did not finish within {BUDGET_S + 15:g} s", contract,
                                 database_note=note, seconds=round(time.monotonic() - started, 2))
        try:
            exchanges, saved = parse_probe_output(raw, len(contract.requests))
        except ValueError as exc:
            return AppProbeFacts("not-run", f"the probe's answer could not be read ({exc})", contract,
                                 database_note=note, seconds=round(time.monotonic() - started, 2))
        values = tuple({**plan["values"], **saved}.items())
        return AppProbeFacts("probed", f"{len(exchanges)} requests sent", contract, exchanges, values, note,
                             round(time.monotonic() - started, 2))

    def close(self) -> None:
        """Remove the probe's container and the database's, side by side; return once both are gone."""
        removals = [threading.Thread(target=part.remove) for part in (self.prober, self.database) if part]
        for removal in removals:
            removal.start()
        for removal in removals:
            removal.join()
