"""The live view's web app (FastAPI, served by uvicorn): uploads in, pages and events out; it never builds.

    POST /api/login          {token} -> an HttpOnly cookie; the next page (/me or /room)
    POST /api/submissions    a learner's Dockerfile and ignore files (size-limited) -> queued on the broker
    GET  /api/submissions    the caller's own submissions only, newest first (a learner never sees another's)
    GET  /api/room           the instructor's summary (instructor's token only)
    GET  /api/events         server-sent events: a counter that changes when anything does; pages re-read
    GET  /, /me, /room       the pages (grader.serve.pages)

A follower thread asks the queue about every submission that is not finished and writes what changed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from grader.api import GradeConfig
from grader.errors import GradeError
from grader.paths import EXERCISES
from grader.queue.store import QueuedJob
from grader.serve import pages
from grader.serve.dispatch import JobStatus, failed_check_ids
from grader.serve.records import (
    DEFAULT_DATABASE,
    TERMINAL_STATES,
    Submission,
    TokenHolder,
    holder_of,
    open_database,
    room_summary,
    submission_row,
)
from grader.settings import load_settings

__all__ = ["LEARNER_FILES", "Dispatcher", "ServeConfig", "create_app", "follow_once"]

COOKIE = "ddw_token"
#: The only files a learner uploads; the app, its lock files and the settings are the workers' own copies.
LEARNER_FILES = ("Dockerfile", ".dockerignore", "Dockerfile.dockerignore")


@dataclass(frozen=True)
class ServeConfig:
    """How the live view runs; `workshop serve` takes its defaults from here."""

    database_url: str = DEFAULT_DATABASE  # SQLite by default; postgresql://... for a course
    max_upload_bytes: int = 256 * 1024  # all of one upload's files together
    follow_every_s: float = 0.5  # how often the follower asks the queue about unfinished submissions
    grade: GradeConfig = field(default_factory=lambda: GradeConfig(class_mode=True))


class Dispatcher(Protocol):
    """What the web app needs of the queue (grader.serve.dispatch.QueueDispatcher)."""

    def submit(self, learner: str, exercise: str, files: dict[str, str]) -> QueuedJob: ...

    def status(self, job: QueuedJob) -> JobStatus: ...


class _Live:
    """A counter that changes whenever a submission does; the event stream sends it, the pages re-read."""

    def __init__(self) -> None:
        self.version = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        with self.lock:
            self.version += 1


def _apply(submission: Submission, status: JobStatus) -> bool:
    """Write a job's status onto its row; True when something changed."""
    before = (submission.state, submission.position, submission.message)
    submission.state, submission.position, submission.message = status.state, status.position, status.message[:500]
    if status.report is not None:
        report = status.report
        submission.score, submission.max_score = report.get("score"), report.get("max_score")
        submission.size_bytes = (report.get("image") or {}).get("size_bytes")
        submission.failed_checks = json.dumps(failed_check_ids(report))
        submission.report = json.dumps(report)
        if report.get("error"):
            submission.message = str(report["error"].get("message", ""))[:500]
    changed = before != (submission.state, submission.position, submission.message) or status.report is not None
    if changed:
        submission.updated_at = time.time()
    return changed


def follow_once(sessions: sessionmaker[Session], dispatcher: Dispatcher) -> bool:
    """Ask the queue about every unfinished submission once; True when any changed."""
    changed = False
    with sessions.begin() as session:
        for submission in session.scalars(select(Submission).where(Submission.state.not_in(TERMINAL_STATES))):
            try:
                status = dispatcher.status(QueuedJob.from_json(json.loads(submission.job)))
            except Exception as exc:  # noqa: BLE001 - a broker restart: the row says so, the next pass retries
                status = JobStatus(submission.state, submission.position, f"the queue does not answer ({exc})")
            changed |= _apply(submission, status)
    return changed


def _follow(sessions: sessionmaker[Session], dispatcher: Dispatcher, live: _Live, every_s: float,
            stop: threading.Event) -> None:
    while not stop.wait(every_s):
        try:
            if follow_once(sessions, dispatcher):
                live.bump()
        except Exception:  # noqa: BLE001 - the database was busy: try again on the next pass
            continue


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes (whether or not Content-Length says so)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"An upload may be at most {limit // 1024} KB.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"An upload may be at most {limit // 1024} KB.")
    return bytes(body)


def _upload(raw: bytes) -> tuple[str, dict[str, str]]:
    """(exercise, files) from an upload's JSON, or 400 naming what is wrong."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise HTTPException(400, "The upload is not JSON: {\"exercise\": ..., \"files\": {\"Dockerfile\": ...}}.") \
            from exc
    exercise, files = (data.get("exercise"), data.get("files")) if isinstance(data, dict) else (None, None)
    if exercise not in EXERCISES:
        raise HTTPException(400, f"Unknown app; this workshop grades {', '.join(EXERCISES)}.")
    if not isinstance(files, dict) or not isinstance(files.get("Dockerfile"), str):
        raise HTTPException(400, "The upload needs files.Dockerfile (its text).")
    extra = sorted(name for name in files if name not in LEARNER_FILES)
    if extra or not all(isinstance(text, str) for text in files.values()):
        raise HTTPException(400, f"Only {', '.join(LEARNER_FILES)} are uploaded, as text.")
    return str(exercise), {str(name): str(text) for name, text in files.items()}


def _room_numbers() -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    settings = {exercise: load_settings(exercise) for exercise in EXERCISES}
    articles = {e: (s.article.before_bytes, s.article.after_bytes) for e, s in settings.items()}
    return articles, {e: s.size_threshold_bytes for e, s in settings.items()}


def create_app(config: ServeConfig, dispatcher: Dispatcher) -> FastAPI:
    """The app, its database upgraded and its follower started with the server (stopped with it)."""
    sessions = open_database(config.database_url)
    live, stop = _Live(), threading.Event()
    articles, budgets = _room_numbers()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread = threading.Thread(target=_follow, args=(sessions, dispatcher, live, config.follow_every_s, stop),
                                  daemon=True, name="serve-follower")
        thread.start()
        yield
        stop.set()
        thread.join(timeout=5)

    app = FastAPI(title="Docker Diet Workshop", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    def who(request: Request, role: str | None = None) -> TokenHolder:
        holder = holder_of(sessions, _token(request))
        if holder is None:
            raise HTTPException(401, "Log in with the token your instructor gave you.")
        if role is not None and holder.role != role:
            raise HTTPException(403, f"This needs the {role}'s token.")
        return holder

    _pages(app)
    _api(app, config, dispatcher, sessions, live, who, (articles, budgets))
    return app


def _pages(app: FastAPI) -> None:
    app.get("/", response_class=HTMLResponse)(pages.login_page)
    app.get("/me", response_class=HTMLResponse)(pages.learner_page)
    app.get("/room", response_class=HTMLResponse)(pages.room_page)


def _api(app: FastAPI, config: ServeConfig, dispatcher: Dispatcher, sessions: sessionmaker[Session], live: _Live,
         who: Any, numbers: tuple[dict[str, tuple[int, int]], dict[str, int]]) -> None:
    @app.post("/api/login")
    async def login(request: Request) -> JSONResponse:
        raw = await _read_limited(request, 4096)
        token = (json.loads(raw or b"{}") or {}).get("token") if raw.strip().startswith(b"{") else None
        holder = holder_of(sessions, token if isinstance(token, str) else None)
        if holder is None:
            raise HTTPException(401, "That token is not known here.")
        response = JSONResponse({"name": holder.name, "role": holder.role,
                                 "next": "/room" if holder.role == "instructor" else "/me"})
        response.set_cookie(COOKIE, str(token), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=14 * 86400)
        return response

    @app.post("/api/submissions", status_code=202)
    async def submit(request: Request) -> dict[str, Any]:
        holder = who(request, "learner")
        exercise, files = _upload(await _read_limited(request, config.max_upload_bytes))
        try:
            job = await asyncio.to_thread(dispatcher.submit, holder.name, exercise, files)
        except GradeError as exc:
            raise HTTPException(503, exc.message) from exc
        now = time.time()
        with sessions.begin() as session:
            row = Submission(person_id=holder.id, exercise=exercise, job_id=job.job_id, job=json.dumps(job.to_json()),
                             submitted_at=now, updated_at=now, state="queued", message="", failed_checks="[]")
            session.add(row)
            session.flush()
            shown = submission_row(row, holder.name)
        live.bump()
        return shown

    @app.get("/api/submissions")
    def mine(request: Request) -> dict[str, Any]:
        holder = who(request, "learner")
        with sessions() as session:
            rows = session.scalars(select(Submission).where(Submission.person_id == holder.id)
                                   .order_by(Submission.id.desc()).limit(200))
            return {"learner": holder.name, "submissions": [submission_row(r, holder.name) for r in rows]}

    @app.get("/api/submissions/{number}")
    def one(number: int, request: Request) -> dict[str, Any]:
        holder = who(request, "learner")
        with sessions() as session:
            row = session.get(Submission, number)
            if row is None or row.person_id != holder.id:  # another learner's submission does not exist for you
                raise HTTPException(404, "No such submission of yours.")
            return submission_row(row, holder.name, with_report=True)

    @app.get("/api/room")
    def room(request: Request) -> dict[str, Any]:
        who(request, "instructor")
        return room_summary(sessions, *numbers)

    @app.get("/api/events")
    async def events(request: Request) -> StreamingResponse:
        who(request)
        return StreamingResponse(_event_stream(request, live), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _event_stream(request: Request, live: _Live) -> AsyncIterator[str]:
    seen, quiet_since = -1, time.monotonic()
    while not await request.is_disconnected():
        if live.version != seen:
            seen, quiet_since = live.version, time.monotonic()
            yield f"data: {seen}\n\n"
        elif time.monotonic() - quiet_since > 15:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
        await asyncio.sleep(0.3)

