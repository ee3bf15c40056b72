"""`workshop serve`: the live view of a workshop or a course, over the grading queue (grader.queue).

    learner (notebook panel, `workshop submit`) --token--> web (FastAPI) --> records (SQLAlchemy: SQLite or
        PostgreSQL, migrated by Alembic) --> dispatch (grader.queue: Celery + Redis) --> workers on Docker hosts
    instructor's page <-- server-sent events <-- follower (a thread that reads the queue's states and results)

The server never builds, runs or reads an image: it stores, queues and shows. Needs the `serve` and `queue`
extras; nothing else in the grader imports this package.

    grader.serve.records   the tables, tokens, and the room's summary (pure SQL, no web, no queue)
    grader.serve.dispatch  queue one submission; read its state, position and result back
    grader.serve.web       the FastAPI app: log-in, uploads, each learner's page, the instructor's page, events
    grader.serve.pages     the HTML and the script of the pages (every name is escaped or set as text)
    grader.serve.client    `workshop submit APP --to URL`
"""

from __future__ import annotations

__all__: list[str] = []
