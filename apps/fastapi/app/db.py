"""Database access. psycopg2 is imported at start-up so a broken build fails fast, but no
connection is opened until a request needs one (the workshop runs without a database)."""

from __future__ import annotations

import os

import psycopg2
import psycopg2.extensions


def driver_info() -> dict[str, object]:
    """Facts that prove the compiled extension and the libpq it links against are present."""
    libpq = psycopg2.extensions.libpq_version()
    return {
        "psycopg2": psycopg2.__version__.split(" ")[0],
        "libpq": libpq,
        "libpq_major": libpq // 10000,
    }


def database_url() -> str | None:
    return os.environ.get("DATABASE_URL")


def connect(timeout_seconds: int = 2) -> "psycopg2.extensions.connection":
    url = database_url()
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return psycopg2.connect(url, connect_timeout=timeout_seconds)
