"""Alembic revisions, oldest first."""

from __future__ import annotations

__all__: list[str] = []
