"""The program the grader's probe container runs (`python -I -c <this file> <plan as JSON>`); standard library only.

It runs in `python:3.11-slim`, a base image the learner does not control, in a container of the grader's own that
shares the app container's network namespace, and sends the contract's requests to 127.0.0.1:<port> in order.
It fills in placeholders (values saved from earlier answers too), fetches the page's scripts and stylesheets when
asked, and prints ONE JSON line with what came back: every body cut to a few KB, every string bounded. It judges
nothing: the grader does that (grader/checks/app.py) over this output, which it reads as untrusted data.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import time
import urllib.parse
from html.parser import HTMLParser
from typing import Any

__all__ = ["BODY_MAX", "MAX_ASSETS", "main", "run_plan"]

BODY_MAX = 8192  # characters of each body kept for the grader
ASSET_HEAD = 256  # characters kept of a script or stylesheet
MAX_ASSETS = 16
_CHUNK = 4096
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Assets(HTMLParser):
    """The scripts (`<script src>`) and stylesheets (`<link rel=stylesheet href>`) a page references."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.found.append(("script", values["src"]))
        elif tag == "link" and "stylesheet" in values.get("rel", "").lower().split() and values.get("href"):
            self.found.append(("stylesheet", values["href"]))


def _fill(value: Any, values: dict[str, Any], quote: bool = False) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in values and not quote:
            return values[whole.group(1)]

        def text(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                return match.group(0)
            raw = str(values[match.group(1)])
            return urllib.parse.quote(raw, safe="") if quote else raw

        return _PLACEHOLDER.sub(text, value)
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def _lookup(data: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _send(port: int, method: str, path: str, body: bytes | None, deadline: float, timeout_s: float,
          wait_s: float) -> tuple[int, str, bytes]:
    """One request; connection refused is retried until `wait_s` has passed (the app may still be opening its
    port). The answer is read in chunks, stopping at BODY_MAX bytes, `timeout_s` after it began or at the deadline
    (a trickling app cannot hold the probe)."""
    give_up = min(deadline, time.monotonic() + wait_s)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the probe's time ran out")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=min(timeout_s, left))
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=body, headers={**headers, "Connection": "close"})
            response = connection.getresponse()
            data, stop = b"", min(deadline, time.monotonic() + timeout_s)
            while len(data) < BODY_MAX and time.monotonic() < stop:
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                data += chunk
            return response.status, str(response.getheader("Content-Type") or ""), data[:BODY_MAX]
        except ConnectionRefusedError:
            if time.monotonic() >= give_up:
                raise
            time.sleep(0.1)
        finally:
            connection.close()


def _exchange(name: str, method: str, path: str, kind: str = "request") -> dict[str, Any]:
    return {"name": name[:200], "method": method, "path": path[:300], "kind": kind, "status": None, "type": "",
            "body": "", "error": None, "assets": []}


def _fetch(plan: dict[str, Any], record: dict[str, Any], body: bytes | None, deadline: float, wait_s: float,
           keep: int) -> bytes:
    try:
        status, content_type, data = _send(plan["port"], record["method"], record["path"], body, deadline,
                                           plan["timeout_s"], wait_s)
    except Exception as exc:  # noqa: BLE001 - every failure is a result to report, never a crash
        record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return b""
    record.update(status=status, type=content_type[:200], body=data.decode("utf-8", "replace")[:keep])
    return data


def _assets(plan: dict[str, Any], page: bytes, deadline: float) -> list[dict[str, Any]]:
    parser = _Assets()
    try:
        parser.feed(page.decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - a page the parser chokes on references nothing it can fetch
        return []
    fetched = []
    for kind, ref in parser.found[:MAX_ASSETS]:
        target = urllib.parse.urljoin("/", ref)
        record = _exchange(f"{kind} {ref}", "GET", target, kind)
        if not target.startswith("/") or target.startswith("//"):
            record["error"] = "not served by the app (another host)"
        else:
            _fetch(plan, record, None, deadline, 0.0, ASSET_HEAD)
        fetched.append(record)
    return fetched


def run_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Send every request of the plan in order; return what came back (bounded)."""
    deadline = time.monotonic() + float(plan["budget_s"])
    values: dict[str, Any] = dict(plan["values"])
    saved: dict[str, Any] = {}
    exchanges = []
    for index, request in enumerate(plan["requests"]):
        path = _fill(request["path"], values, quote=True)
        record = _exchange(request["name"], request["method"], path)
        body = None if request["json"] is None else json.dumps(_fill(json.loads(request["json"]), values)).encode()
        data = _fetch(plan, record, body, deadline, plan["wait_s"] if index == 0 else 0.0, BODY_MAX)
        try:
            answer = json.loads(data) if data else None
        except (ValueError, RecursionError):
            answer = None
        for name, where in request["save"]:
            found = _lookup(answer, where)
            if isinstance(found, (str, int, float, bool)):
                values[name] = saved[name] = found if not isinstance(found, str) else found[:200]
        if request["assets"] and record["status"] is not None:
            record["assets"] = _assets(plan, data, deadline)
        exchanges.append(record)
    return {"v": 1, "exchanges": exchanges, "saved": saved}


def main() -> None:
    print(json.dumps(run_plan(json.loads(sys.argv[1]))), flush=True)


if __name__ == "__main__":
    main()
