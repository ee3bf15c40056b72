"""Alembic's migrations for the live view's database (grader.serve.records.upgrade_database runs them)."""

from __future__ import annotations

__all__: list[str] = []
