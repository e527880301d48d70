"""A throw-away PostgreSQL database per test, for the tests that run on both backends.

The server is the one at STUDIO_TEST_POSTGRES (default: 127.0.0.1:5432 as the OS user, through
its `postgres` maintenance database). Where none answers, the PostgreSQL half of those tests
is skipped with the reason; the SQLite half still runs.
"""

from __future__ import annotations

import functools
import os
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import make_url

try:
    import psycopg
except ImportError:  # in requirements.txt; without it only the PostgreSQL runs are skipped
    psycopg = None

ADMIN_URL = make_url(os.environ.get("STUDIO_TEST_POSTGRES", "postgresql+psycopg://127.0.0.1:5432/postgres"))
WHERE = f"{ADMIN_URL.host}:{ADMIN_URL.port or 5432}"


def _admin_connection() -> psycopg.Connection:
    # CREATE and DROP DATABASE cannot run inside a transaction: autocommit.
    return psycopg.connect(
        host=ADMIN_URL.host,
        port=ADMIN_URL.port or 5432,
        user=ADMIN_URL.username,
        password=ADMIN_URL.password,
        dbname=ADMIN_URL.database or "postgres",
        autocommit=True,
        connect_timeout=3,
    )


@functools.cache
def unavailable_reason() -> str | None:
    """None when the test server answers; otherwise the skip message. Asked once per session."""
    if psycopg is None:
        return "PostgreSQL tests need psycopg 3: pip install 'psycopg[binary]' (requirements.txt)"
    try:
        with _admin_connection() as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"PostgreSQL not reachable at {WHERE}: {first_line}"
    return None


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it afterwards, closing any
    connection a test left open (WITH (FORCE) terminates them first)."""
    name = f"studio_t_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_connections(database: str) -> int:
    """Kill every server connection to `database` but this one, as an administrator (or a
    server restart) would. Returns how many were killed."""
    with _admin_connection() as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return sum(1 for (killed,) in rows if killed)


def connections_to(database: str) -> list[int]:
    """The server pids connected to `database` now."""
    with _admin_connection() as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [pid for (pid,) in rows]
