"""Alembic's environment: upgrade the database named by `sqlalchemy.url` (set by grader.serve.records)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from grader.serve.records import Base

__all__ = ["run_migrations_online"]


def run_migrations_online() -> None:
    section = context.config.get_section(context.config.config_ini_section, {})
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
