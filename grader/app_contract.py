"""What a user of each sample app does with it: the requests `app-works` sends, read from `apps/<app>/probe.toml`.

The contract lives beside the app, so an instructor who adds an app adds its probe file. It names the port, the
values made fresh for every run (`${random}`: no answer can be recorded in advance), an optional database, and
the requests in order, each with what must come back: the status and the content (JSON fields and their types,
text in the body, the page's scripts and stylesheets). A request may carry a value saved from an earlier answer
(`save = { note_id = "id" }`, then `path = "/notes/${note_id}"`). A file that makes no sense is the instructor's
mistake, reported with the file and the valid keys (GradeError), never a traceback.

JSON paths are dot-separated: `user.email`, `0.id`, and `*` for "any element" (`*.email`: some item of a list).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GradeError

__all__ = [
    "CONTRACT_FILE",
    "JSON_TYPES",
    "PLACEHOLDER",
    "AppContract",
    "DatabaseSpec",
    "Expectation",
    "ProbeRequest",
    "contract_from_mapping",
    "json_lookup",
    "load_contract",
    "render",
]

CONTRACT_FILE = "probe.toml"
#: `${name}`: a value from [values], `random`, or one saved from an earlier answer.
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The names `types` may ask for, and the JSON values each accepts.
JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "list": (list,),
    "object": (dict,),
}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_MAX_REQUESTS = 16
_TOP_KEYS = ("port", "values", "database", "request")
_REQUEST_KEYS = ("name", "method", "path", "json", "save", "needs_database", "expect")
_EXPECT_KEYS = ("status", "content_type", "json", "types", "body_contains", "assets")
_DATABASE_KEYS = ("image", "env")


@dataclass(frozen=True)
class Expectation:
    """What one answer must hold. `json` and `types` are (path, value) pairs; values may hold placeholders."""

    status: int
    content_type: str = ""
    json: tuple[tuple[str, Any], ...] = ()
    types: tuple[tuple[str, str], ...] = ()
    body_contains: tuple[str, ...] = ()
    assets: bool = False  # every script and stylesheet the page references must be served as such


@dataclass(frozen=True)
class ProbeRequest:
    """One request a user sends. `json_body` is the body as JSON text (placeholders filled in at run time)."""

    name: str
    method: str
    path: str
    expect: Expectation
    json_body: str | None = None
    save: tuple[tuple[str, str], ...] = ()  # (value name, JSON path in the answer)
    needs_database: bool = False  # not counted when the grader could not start the database


@dataclass(frozen=True)
class DatabaseSpec:
    """A PostgreSQL server the grader starts beside the app; the app reads its URL from `env`. No `image`: the
    workshop's service image (grader.bases.catalog.POSTGRES_IMAGE, which `workshop bases` makes)."""

    image: str = ""
    env: str = "DATABASE_URL"

    @property
    def image_name(self) -> str:
        from grader.bases.catalog import POSTGRES_IMAGE  # the one name of the database image

        return self.image or POSTGRES_IMAGE


@dataclass(frozen=True)
class AppContract:
    """One app's probe: where it listens and what a user does with it."""

    app: str
    source: str  # the file, for messages
    port: int
    values: tuple[tuple[str, str], ...]
    requests: tuple[ProbeRequest, ...]
    database: DatabaseSpec | None = None


def load_contract(app_dir: Path) -> AppContract | None:
    """`<app_dir>/probe.toml`, or None when the app has none (then `app-works` is skipped and says so)."""
    path = app_dir / CONTRACT_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GradeError(f"{path} is not valid TOML ({exc}). Fix it or restore it from git.") from exc
    return contract_from_mapping(app_dir.name, data, str(path))


def _fail(source: str, where: str, problem: str) -> GradeError:
    return GradeError(f"{source}: {where}: {problem}. See apps/node-api/probe.toml for a complete example.")


def _known(source: str, where: str, table: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise _fail(source, where, f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(keys)}")


def _pairs(source: str, where: str, value: Any, kind: type | tuple[type, ...] = object) -> tuple[tuple[str, Any], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, kind) for v in value.values()):
        raise _fail(source, where, "must be a table of name = value")
    return tuple((str(k), v) for k, v in value.items())


def _expectation(source: str, where: str, table: Any) -> Expectation:
    if not isinstance(table, dict):
        raise _fail(source, where, "needs an [request.expect] table with at least `status`")
    _known(source, where, table, _EXPECT_KEYS)
    status = table.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _fail(source, where, "`status` must be an HTTP status such as 200")
    types = _pairs(source, f"{where}.types", table.get("types", {}), str)
    bad = [name for _, name in types if name not in JSON_TYPES]
    if bad:
        raise _fail(source, f"{where}.types", f"unknown type {bad[0]!r}; use one of {', '.join(JSON_TYPES)}")
    contains = table.get("body_contains", [])
    if not isinstance(contains, list) or not all(isinstance(item, str) for item in contains):
        raise _fail(source, f"{where}.body_contains", "must be a list of strings")
    return Expectation(status=status, content_type=str(table.get("content_type", "")),
                       json=_pairs(source, f"{where}.json", table.get("json", {})), types=types,
                       body_contains=tuple(contains), assets=bool(table.get("assets", False)))


def _request(source: str, index: int, table: Any, known: set[str]) -> ProbeRequest:
    where = f"[[request]] #{index + 1}"
    if not isinstance(table, dict):
        raise _fail(source, where, "must be a table")
    _known(source, where, table, _REQUEST_KEYS)
    name, method, path = table.get("name"), str(table.get("method", "GET")).upper(), table.get("path")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, where, "needs a `name` that says what a user does")
    if method not in _METHODS:
        raise _fail(source, where, f"`method` must be one of {', '.join(_METHODS)}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _fail(source, where, "`path` must start with /")
    body = json.dumps(table["json"]) if "json" in table else None
    request = ProbeRequest(name=name, method=method, path=path, json_body=body,
                           expect=_expectation(source, f"{where} ({name}).expect", table.get("expect")),
                           save=_pairs(source, f"{where}.save", table.get("save", {}), str),
                           needs_database=bool(table.get("needs_database", False)))
    missing = sorted(set(_placeholders(request)) - known)
    if missing:
        raise _fail(source, f"{where} ({name})", f"uses ${{{missing[0]}}}, which no [values] entry or earlier "
                                                 "`save` defines")
    known.update(saved for saved, _ in request.save)
    return request


def _placeholders(request: ProbeRequest) -> Iterator[str]:
    texts = [request.path, request.json_body or "", *request.expect.body_contains,
             *(str(value) for _, value in request.expect.json)]
    for text in texts:
        yield from PLACEHOLDER.findall(text)


def contract_from_mapping(app: str, data: Mapping[str, Any], source: str = CONTRACT_FILE) -> AppContract:
    """Check a parsed probe.toml and freeze it (tests build contracts from mappings directly)."""
    _known(source, "top level", data, _TOP_KEYS)
    port = data.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _fail(source, "port", "must be the port the app listens on, e.g. 3000")
    values = _pairs(source, "[values]", data.get("values", {}), str)
    known = {"random", *(name for name, _ in values)}
    tables = data.get("request", [])
    if not isinstance(tables, list) or not 0 < len(tables) <= _MAX_REQUESTS:
        raise _fail(source, "[[request]]", f"give between 1 and {_MAX_REQUESTS} requests")
    requests = tuple(_request(source, i, table, known) for i, table in enumerate(tables))
    if len({r.name for r in requests}) != len(requests):
        raise _fail(source, "[[request]]", "every request needs a name of its own")
    database = None
    if "database" in data:
        table = data["database"]
        if not isinstance(table, dict):
            raise _fail(source, "[database]", "must be a table")
        _known(source, "[database]", table, _DATABASE_KEYS)
        database = DatabaseSpec(**{key: str(value) for key, value in table.items()})
    return AppContract(app=app, source=source, port=port, values=values, requests=requests, database=database)


def render(value: Any, values: Mapping[str, Any]) -> Any:
    """Fill placeholders in strings, lists and tables. A string that is one placeholder takes the value itself
    (an id stays a number); inside longer text a value is written as text. Unknown names stay as they are."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), value)
    if isinstance(value, list):
        return [render(item, values) for item in value]
    if isinstance(value, dict):
        return {key: render(item, values) for key, item in value.items()}
    return value


def json_lookup(data: Any, path: str) -> list[Any]:
    """Every value at a dot-separated path; `*` stands for any element (so several may match, or none)."""
    found = [data]
    for part in path.split(".") if path else []:
        step: list[Any] = []
        for item in found:
            if part == "*":
                step.extend(item if isinstance(item, list) else item.values() if isinstance(item, dict) else [])
            elif isinstance(item, dict) and part in item:
                step.append(item[part])
            elif isinstance(item, list) and part.isdigit() and int(part) < len(item):
                step.append(item[int(part)])
        found = step
    return found
