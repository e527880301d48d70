"""Engine and session factory.

SQLite is the embedded default. WAL plus busy_timeout alone still gave 'database is locked'
errors when a transaction reads and then writes from two processes:
the read lock cannot be upgraded. Taking the write lock up front with BEGIN IMMEDIATE
removed them, so every SQLite transaction starts that way.

PostgreSQL (a team's history, `postgresql+psycopg://user@host:5432/db`) needs none of that:
its row locks and MVCC let readers and writers run side by side. What it needs instead is a
pool that survives the server dropping connections (a restart, a failover, an idle timeout),
and a start check that turns "connection failed" into what to fix (`check_database`).
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
READ_ONLY_OPTION = "studio_read_only"

# A server that does not answer in this many seconds is reported as unreachable, instead of
# the app's start (or a worker's next write) hanging on the OS's TCP timeout of minutes.
CONNECT_TIMEOUT_S = 10
# Per process: the worker thread, the pages polling, a text check and a brief at once stay
# within 5; bursts borrow up to 5 more. A team of N app and worker processes then holds at
# most 10*N of PostgreSQL's max_connections (100 by default).
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 5
# Connections older than this are replaced at checkout, before a firewall or pooler that
# cuts idle connections (often after an hour) does it under a running transaction.
PG_POOL_RECYCLE_S = 1800


class DatabaseUnavailable(RuntimeError):
    """The database in DATABASE_URL cannot be used. The message says what to fix and never
    contains the password."""


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown or logged: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            parsed,
            # A pooled connection the server dropped is found and replaced at checkout, so
            # the next transaction runs on a live one (retry_on_disconnect covers the rest).
            pool_pre_ping=True,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_recycle=PG_POOL_RECYCLE_S,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "qwen-poster-studio"},
        )
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Read-only sessions (Database.reader) begin deferred: in WAL mode they then never
        # wait for, or block, the worker's writes. Everything else takes the write lock first.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_advice(url: URL, error: BaseException) -> str:
    """What to do about a failed PostgreSQL connection, from libpq's message (psycopg gives
    no SQLSTATE for errors raised before the session starts, only the server's text)."""
    reason = str(error).strip()
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    user = url.username or "(the OS user)"
    database = url.database or user
    if "password authentication failed" in reason or "no password supplied" in reason or "no pg_hba.conf entry" in reason:
        return (
            f"PostgreSQL at {where} refused user {user!r}: the password is wrong, missing, or the user may not "
            f"connect to {database!r} from here (pg_hba.conf). Check the user and password in DATABASE_URL."
        )
    if "role" in reason and "does not exist" in reason:
        return (
            f"PostgreSQL at {where} has no user {user!r}. Create it (`createuser -h {url.host or 'localhost'} "
            f"-p {url.port or 5432} {user}`) or fix the user in DATABASE_URL."
        )
    if "database" in reason and "does not exist" in reason:
        return (
            f"PostgreSQL at {where} has no database {database!r}. Create it with `createdb -h {url.host or 'localhost'} "
            f"-p {url.port or 5432} -U {user} {database}`, or fix the database name in DATABASE_URL."
        )
    first_line = reason.splitlines()[0] if reason else type(error).__name__
    return (
        f"PostgreSQL is not reachable at {where} ({first_line}). Is the server running and accepting TCP "
        f"connections there? Check the host and port in DATABASE_URL."
    )


def check_database(url: str) -> None:
    """Connect once, before migrating or serving anything, and raise DatabaseUnavailable with
    what to fix when that fails. SQLite needs no check: its file is created on first use."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        # The text itself is left out: it may hold a password.
        raise DatabaseUnavailable(
            "DATABASE_URL is not a database URL. Write it as postgresql+psycopg://user:password@host:5432/db "
            "(or sqlite:///path/to/studio.db)."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return
    try:
        timeout = {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
        engine = create_engine(parsed, poolclass=NullPool, connect_args=timeout)
    except exc.NoSuchModuleError as error:
        raise DatabaseUnavailable(
            f"DATABASE_URL names a database driver that is not installed ({parsed.drivername}: {error}). "
            "For PostgreSQL write postgresql+psycopg://... (psycopg 3, in requirements.txt)."
        ) from None
    except ModuleNotFoundError as error:
        raise DatabaseUnavailable(
            f"The driver for {parsed.drivername} is not installed ({error.name}). "
            "For PostgreSQL write postgresql+psycopg://... and install psycopg[binary]."
        ) from None
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        message = _postgres_advice(parsed, error.orig) if parsed.get_backend_name() == "postgresql" else (
            f"Could not connect to the database at {safe_url(parsed)}: {(str(error.orig).strip() or type(error.orig).__name__).splitlines()[0]}"
        )
        raise DatabaseUnavailable(message) from error
    finally:
        engine.dispose()


def upgrade_database(url: str) -> None:
    """Bring the schema to the newest Alembic revision. Run at app start and by tests."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


class Database:
    """The engine plus a session factory. One per process, passed to whoever needs it."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error, so nothing is
        half-written."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only transaction: for queries that write nothing (pages polling, listings).
        Never nest a `session()` inside it in the same thread."""
        session = self._read_sessions()
        try:
            yield session
            session.rollback()  # nothing to commit; rollback also refuses stray writes
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    """Check the connection, bring the schema to head, and open the database. Raises
    DatabaseUnavailable with what to fix when the server or the schema cannot be reached."""
    check_database(url)
    try:
        upgrade_database(url)
    except exc.ProgrammingError as error:
        # PostgreSQL 15 no longer lets every user create tables in the public schema.
        if "permission denied" not in str(error.orig):
            raise
        parsed = make_url(url)
        raise DatabaseUnavailable(
            f"User {parsed.username!r} may not create the studio's tables in database {parsed.database!r} "
            f"({str(error.orig).strip().splitlines()[0]}). As the database owner run "
            f"`GRANT CREATE ON SCHEMA public TO {parsed.username}`, or point DATABASE_URL at a database that user owns."
        ) from error
    return Database(url)


T = TypeVar("T")


def retry_on_disconnect(function: Callable[..., T]) -> Callable[..., T]:
    """Run a one-transaction write once more when the server dropped the connection under it.

    A dropped connection (server restart, failover, an administrator's pg_terminate_backend)
    rolls the transaction back, and SQLAlchemy marks that connection invalid; the pool then
    hands the retry a fresh one. Only for functions whose whole effect is one transaction that
    may run twice with the same outcome. Any other error, or a second drop, is raised."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            logger.warning("database connection lost in %s; trying once more", function.__name__)
            return function(*args, **kwargs)

    return wrapper
