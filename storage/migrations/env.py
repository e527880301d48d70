"""Alembic environment: runs migrations against the URL the app (or a test) passes in."""

import sys
from pathlib import Path

from alembic import context

# Alembic loads this file by path, so the project root may not be importable yet.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage.db import make_engine  # noqa: E402
from storage.models import Base  # noqa: E402

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # The project's own engine factory, so migrations run under the same SQLite settings
    # (WAL, BEGIN IMMEDIATE) as the app and two processes starting at once don't collide.
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
