"""A small notes API on FastAPI, the workshop's Python sample."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from app import db

app = FastAPI(title="notes-api", version="2.1.0")

_lock = threading.Lock()
_ids = itertools.count(1)
_notes: dict[int, dict[str, object]] = {}


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class Note(NoteIn):
    id: int
    created_at: datetime


@app.get("/health")
def health() -> dict[str, object]:
    """Liveness: answers 200 without touching a database, and shows the compiled driver loaded."""
    return {"status": "ok", **db.driver_info()}


@app.get("/health/db")
def health_db() -> dict[str, object]:
    """Readiness against the real database, when DATABASE_URL is set."""
    if not db.database_url():
        return {"status": "skipped", "reason": "DATABASE_URL is not set"}
    try:
        with db.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # noqa: BLE001 - report any driver error as unavailable
        raise HTTPException(status_code=503, detail=f"database unavailable: {type(exc).__name__}") from exc
    return {"status": "ok"}


@app.get("/notes", response_model=list[Note])
def list_notes() -> list[dict[str, object]]:
    with _lock:
        return list(_notes.values())


@app.post("/notes", response_model=Note, status_code=201)
def create_note(note: NoteIn) -> dict[str, object]:
    with _lock:
        note_id = next(_ids)
        record = {"id": note_id, "created_at": datetime.now(timezone.utc), **note.model_dump()}
        _notes[note_id] = record
    return record


@app.get("/notes/{note_id}", response_model=Note)
def get_note(note_id: int) -> dict[str, object]:
    with _lock:
        record = _notes.get(note_id)
    if record is None:
        raise HTTPException(status_code=404, detail="note not found")
    return record
