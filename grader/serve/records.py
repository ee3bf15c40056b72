"""The live view's records: who may submit (tokens), what they submitted, and what the room looks like.

SQLAlchemy over SQLite by default or PostgreSQL by URL, the schema made and upgraded by Alembic
(grader/serve/migrations), as nbgrader keeps its gradebook. Tokens are stored as SHA-256 digests only: the
instructor sees a learner's token once, when it is issued. Nothing here knows about the web or the queue.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from grader.paths import EXERCISES, STATE_DIR

__all__ = [
    "DEFAULT_DATABASE",
    "TERMINAL_STATES",
    "Base",
    "Person",
    "Role",
    "Submission",
    "TokenHolder",
    "add_person",
    "holder_of",
    "open_database",
    "room_summary",
    "submission_row",
    "upgrade_database",
]

DEFAULT_DATABASE = f"sqlite:///{STATE_DIR / 'serve.sqlite'}"
#: States after which the follower stops asking the queue about a submission.
TERMINAL_STATES = frozenset({"graded", "superseded", "could-not-grade"})
Role = Literal["learner", "instructor"]
_MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """The live view's tables (the Alembic revision in migrations/versions makes them)."""


class Person(Base):
    """A learner or the instructor, known by the digest of the token the instructor issued."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Submission(Base):
    """One upload and what became of it; `job` is the queue's record of it (grader.queue.store.QueuedJob)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    job: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(32), default="queued")
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failed_checks: Mapped[str] = mapped_column(Text, default="[]")
    report: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class TokenHolder:
    """Who a presented token belongs to."""

    id: int
    name: str
    role: Role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade_database(url: str) -> None:
    """Make or upgrade the schema to the newest Alembic revision (idempotent; run at every start)."""
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def open_database(url: str) -> sessionmaker[Session]:
    """A session factory on an upgraded database. SQLite waits for a lock rather than failing at once."""
    upgrade_database(url)
    engine: Engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}
                                   if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA journal_mode=WAL"))
    return sessionmaker(engine, expire_on_commit=False)


def add_person(sessions: sessionmaker[Session], name: str, role: Role = "learner") -> str:
    """Issue a token for `name` (a new one replaces the old); returns the token, which is stored only as a digest."""
    token = secrets.token_urlsafe(24)
    with sessions.begin() as session:
        person = session.scalar(select(Person).where(Person.name == name))
        if person is None:
            session.add(Person(name=name, role=role, token_sha256=_digest(token), created_at=time.time()))
        else:
            person.role, person.token_sha256, person.created_at = role, _digest(token), time.time()
    return token


def holder_of(sessions: sessionmaker[Session], token: str | None) -> TokenHolder | None:
    """The person a token belongs to, or None (no token, an unknown or a replaced one)."""
    if not token or len(token) > 200:
        return None
    with sessions() as session:
        person = session.scalar(select(Person).where(Person.token_sha256 == _digest(token)))
    if person is None:
        return None
    role: Role = "instructor" if person.role == "instructor" else "learner"
    return TokenHolder(person.id, person.name, role)


def submission_row(submission: Submission, name: str, *, with_report: bool = False) -> dict[str, Any]:
    """One submission as the pages and the API show it."""
    row: dict[str, Any] = {
        "id": submission.id, "learner": name, "exercise": submission.exercise, "state": submission.state,
        "position": submission.position, "message": submission.message, "score": submission.score,
        "max_score": submission.max_score, "size_bytes": submission.size_bytes,
        "failed_checks": json.loads(submission.failed_checks or "[]"),
        "submitted_at": submission.submitted_at, "updated_at": submission.updated_at,
    }
    if with_report:
        row["report"] = json.loads(submission.report) if submission.report else None
    return row


def _latest(session: Session) -> dict[tuple[str, str], tuple[Submission, str]]:
    """Each learner's newest submission per exercise."""
    rows = session.execute(select(Submission, Person.name).join(Person, Person.id == Submission.person_id)
                           .order_by(Submission.id)).all()
    return {(name, sub.exercise): (sub, name) for sub, name in rows}


def _sizes(latest: list[Submission], articles: dict[str, tuple[int, int]], budgets: dict[str, int]) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for exercise in EXERCISES:
        measured = sorted(s.size_bytes for s in latest if s.exercise == exercise and s.size_bytes)
        before, after = articles.get(exercise, (0, 0))
        sizes[exercise] = {
            "article_before_bytes": before, "article_after_bytes": after, "budget_bytes": budgets.get(exercise),
            "count": len(measured), "median_bytes": int(statistics.median(measured)) if measured else None,
            "min_bytes": measured[0] if measured else None, "max_bytes": measured[-1] if measured else None,
        }
    return sizes


def room_summary(sessions: sessionmaker[Session], articles: dict[str, tuple[int, int]],
                 budgets: dict[str, int]) -> dict[str, Any]:
    """The instructor's page: every learner x app (latest), the checks that fail most, sizes vs the article."""
    with sessions() as session:
        learners = list(session.scalars(select(Person.name).where(Person.role == "learner").order_by(Person.name)))
        latest = _latest(session)
    cells = {name: {exercise: submission_row(sub, name) for (who, exercise), (sub, _n) in latest.items()
                    if who == name} for name in learners}
    graded = [sub for sub, _name in latest.values() if sub.state == "graded"]
    failing = Counter(check for sub in graded for check in json.loads(sub.failed_checks or "[]"))
    return {
        "learners": learners, "exercises": list(EXERCISES), "cells": cells,
        "failing_checks": [{"id": check, "learners": count} for check, count in failing.most_common()],
        "sizes": _sizes(graded, articles, budgets),
        "states": dict(Counter(sub.state for sub, _name in latest.values())),
    }
