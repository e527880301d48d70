"""PostgreSQL as the team's history: the migrations, the start check, claims by many workers,
and a worker that keeps going when the server drops its connections mid-batch.

The PostgreSQL tests skip, saying why, where no server answers (tests/pg.py)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage import jobs as job_rows
from storage.db import Database, DatabaseUnavailable, open_database, upgrade_database
from storage.models import Base, Job, Poster
from tests import pg
from tests.helpers import small_recipe


@pytest.fixture
def postgres_url() -> str:
    reason = pg.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with pg.fresh_database() as url:
        yield url


# -- the migrations ---------------------------------------------------------------------------


def _default(value: str | None) -> str | None:
    """A server default as each backend reflects it, without PostgreSQL's casts and quotes:
    "''::text" and "''" are the same default."""
    if value is None or value.startswith("nextval("):  # PostgreSQL's SERIAL: SQLite's rowid
        return None
    return re.sub(r"::[a-z ]+$", "", value).strip("'")


def schema_of(url: str) -> dict:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        schema = {}
        for table in inspector.get_table_names():
            schema[table] = {
                "columns": {
                    c["name"]: (c["nullable"], c["type"]._type_affinity.__name__, _default(c.get("default")))
                    for c in inspector.get_columns(table)
                },
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                # PostgreSQL lists the index behind each UNIQUE constraint too; SQLite does not.
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                    if not i.get("duplicates_constraint")
                ),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
                "foreign keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in inspector.get_foreign_keys(table)
                ),
            }
        return schema
    finally:
        engine.dispose()


def test_migrations_build_the_same_schema_on_postgres_as_on_sqlite(postgres_url, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'studio.db'}"
    upgrade_database(sqlite_url)
    upgrade_database(postgres_url)

    on_postgres = schema_of(postgres_url)
    assert set(on_postgres) == set(Base.metadata.tables) | {"alembic_version"}
    for name, table in Base.metadata.tables.items():
        assert set(on_postgres[name]["columns"]) == {c.name for c in table.columns}, name
    assert on_postgres == schema_of(sqlite_url)

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            head = connection.scalar(text("SELECT version_num FROM alembic_version"))
        # Every time is stored with its zone, so PostgreSQL hands back aware datetimes.
        naive = [
            f"{table}.{column['name']}"
            for table in on_postgres
            for column in inspect(engine).get_columns(table)
            if column["type"]._type_affinity.__name__ == "DateTime" and not column["type"].timezone
        ]
    finally:
        engine.dispose()
    from alembic.script import ScriptDirectory

    from storage.db import MIGRATIONS_DIR

    assert head == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()  # upgraded to the newest revision
    assert naive == []


def test_rows_written_before_a_migration_get_its_defaults_on_postgres(postgres_url):
    """0002, 0004 and 0006 add NOT NULL columns to tables that may hold rows: the server
    defaults must fill them on PostgreSQL as they do on SQLite."""
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", postgres_url)
    command.upgrade(config, "0001")
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            prompt_id = connection.scalar(text(
                "INSERT INTO prompts (product, product_name, tone, style_keywords, language, brief_text, prompt, "
                "negative_prompt, exact_strings, token_count, max_sequence_length, builder_version, created_at) "
                "VALUES ('{}', 'Old', 'Bold', '', 'en', '', 'p', ' ', '[]', 1, 512, 'v1', now()) RETURNING id"
            ))
            connection.execute(text(
                "INSERT INTO jobs (prompt_id, preset_key, draft_size, width, height, steps, true_cfg_scale, seed, "
                "model_id, demo_models, strategy, status, progress_step, progress_total, cancel_requested, timings, "
                "variant_group, variant_index, created_at) VALUES (:p, 'instagram_post', true, 64, 64, 2, 4.0, 1, "
                "'demo', true, 'resident', 'done', 2, 2, false, '{}', 'g', 0, now())"
            ), {"p": prompt_id})
        command.upgrade(config, "head")
        with engine.connect() as connection:
            prompt = connection.execute(text("SELECT brand_block, negative_preset FROM prompts")).one()
            attempts = connection.scalar(text("SELECT attempts FROM jobs"))
        command.downgrade(config, "base")  # and back: every downgrade runs on PostgreSQL too
        with engine.connect() as connection:
            left = connection.scalars(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )).all()
    finally:
        engine.dispose()
    assert tuple(prompt) == ("", "custom") and attempts == 0
    assert left == ["alembic_version"]


# -- the start check --------------------------------------------------------------------------


def test_a_server_that_does_not_answer_is_named_with_what_to_check():
    with pytest.raises(DatabaseUnavailable) as raised:
        open_database("postgresql+psycopg://studio:s3cret-pw@127.0.0.1:1/studio")
    message = str(raised.value)
    assert message.startswith("PostgreSQL is not reachable at 127.0.0.1:1 (")
    assert "Is the server running" in message and "DATABASE_URL" in message
    assert "s3cret-pw" not in message


def test_a_missing_database_or_user_says_how_to_create_it(postgres_url):
    server = make_url(postgres_url)
    with pytest.raises(DatabaseUnavailable) as raised:
        open_database(server.set(database="studio_missing", password="s3cret-pw").render_as_string(False))
    message = str(raised.value)
    assert f"PostgreSQL at {pg.WHERE} has no database 'studio_missing'" in message
    assert "createdb" in message and "s3cret-pw" not in message

    with pytest.raises(DatabaseUnavailable) as raised:
        open_database(server.set(username="nobody_here", password="s3cret-pw").render_as_string(False))
    message = str(raised.value)
    assert f"PostgreSQL at {pg.WHERE} has no user 'nobody_here'" in message
    assert "createuser" in message and "s3cret-pw" not in message


def test_a_url_that_is_not_one_is_refused_without_echoing_it():
    with pytest.raises(DatabaseUnavailable, match="DATABASE_URL is not a database URL") as raised:
        open_database("host=db user=studio password=s3cret-pw")
    assert "s3cret-pw" not in str(raised.value)



def test_the_app_says_what_to_fix_when_its_database_does_not_answer(studio_env, monkeypatch):
    import streamlit as st

    from tests.gallery_helpers import new_app

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://studio:s3cret-pw@127.0.0.1:1/studio")
    st.cache_resource.clear()
    try:
        at = new_app()  # no exception: the page stops after the message
    finally:
        st.cache_resource.clear()
    shown = [e.value for e in at.error]
    assert len(shown) == 1 and shown[0].startswith("**The studio cannot open its database.** PostgreSQL is not")
    assert "127.0.0.1:1" in shown[0] and "s3cret-pw" not in shown[0]
    assert not at.title  # nothing else of the app is drawn

# -- claims by many workers -------------------------------------------------------------------


def test_forty_jobs_claimed_by_four_workers_are_each_claimed_once(database_url):
    db = open_database(database_url)
    _, job_ids, _ = job_rows.enqueue(db, small_recipe(), list(range(40)))
    # One engine (one pool) per worker, as four worker processes would have.
    workers = [Database(database_url) for _ in range(4)]
    start = threading.Barrier(len(workers))
    claimed: dict[str, list[int]] = {f"host:{n}:w": [] for n in range(len(workers))}
    errors: list[BaseException] = []

    def work(worker_db: Database, worker_id: str) -> None:
        try:
            start.wait()
            while (job := job_rows.claim_next(worker_db, worker_id)) is not None:
                claimed[worker_id].append(job.id)
        except BaseException as error:  # surfaced below: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w, name)) for w, name in zip(workers, claimed)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for worker_db in workers:
        worker_db.dispose()
    try:
        assert not errors, errors
        every_claim = [job_id for ids in claimed.values() for job_id in ids]
        assert sorted(every_claim) == sorted(job_ids)  # each job once, none twice, none left
        with db.reader() as session:
            owners = dict(session.execute(select(Job.id, Job.worker_id).where(Job.status == "running")).all())
        assert owners == {job_id: worker for worker, ids in claimed.items() for job_id in ids}
    finally:
        db.dispose()


def test_a_claim_skips_a_job_another_worker_is_claiming(postgres_url):
    """While one worker's transaction holds the oldest queued row, another worker takes the
    next job at once instead of waiting for that transaction to end."""
    db = open_database(postgres_url)
    other = Database(postgres_url)
    _, (first, second), _ = job_rows.enqueue(db, small_recipe(), [1, 2])
    holding = threading.Event()
    release = threading.Event()

    def hold_first_row() -> None:
        with other.session() as session:
            session.execute(select(Job).where(Job.id == first).with_for_update())
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_first_row)
    holder.start()
    result: list = []
    claimer = threading.Thread(target=lambda: result.append(job_rows.claim_next(db, "host:2:w")))
    try:
        assert holding.wait(30)
        claimer.start()
        claimer.join(10)
        taken_while_locked = [job.id for job in result]
    finally:
        release.set()
        holder.join(30)
        claimer.join(30)
        other.dispose()
        db.dispose()
    assert taken_while_locked == [second]


# -- a dropped connection mid-batch -----------------------------------------------------------


def finished_states(db: Database, job_ids: list[int], timeout: float = 180.0):
    """Poll until every job has finished. A poll of the test's own that the kill cuts off is
    polled again: only the worker's behaviour is under test."""
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        try:
            states = job_rows.job_states(db, job_ids)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            continue
        if states and all(s.status in ("done", "failed", "cancelled") for s in states):
            return states
        time.sleep(0.1)
    raise AssertionError(f"jobs {job_ids} did not finish in {timeout} s: {states}")


def test_the_worker_reconnects_when_postgres_drops_its_connections_mid_batch(postgres_url, studio_env):
    from core.services.studio import Studio
    from core.settings import load_settings

    database = make_url(postgres_url).database
    studio = Studio(
        load_settings({**studio_env, "DATABASE_URL": postgres_url, "STUDIO_TEXT_CHECK": "0"}),
        start_worker=False,
        poll_seconds=0.05,
    )
    watcher = Database(postgres_url)  # the test's own pool: the page a user would watch
    kills: list[str] = []
    progress_writes = {"count": 0}

    # The server kills the worker's connections at the worst moments: inside a write's
    # transaction, right before its statement goes out. First the batch's second progress
    # write, then the poster INSERT that follows it (the first job's completion).
    def kill_before(conn, _cursor, statement, _params, _context, _many) -> None:
        if statement.startswith("UPDATE jobs SET progress_step"):
            progress_writes["count"] += 1
            if progress_writes["count"] != 2:
                return
            moment = "progress write"
        elif statement.startswith("INSERT INTO posters") and kills == ["progress write"]:
            moment = "poster insert"
        else:
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        assert pg.terminate_connections(database) >= 1
        deadline = time.monotonic() + 30
        while pid in pg.connections_to(database):  # termination is asynchronous
            assert time.monotonic() < deadline, "the server did not end the connection"
            time.sleep(0.01)
        kills.append(moment)

    event.listen(studio.db.engine, "before_cursor_execute", kill_before)
    try:
        _, job_ids, _ = job_rows.enqueue(studio.db, small_recipe(steps=4), [11, 12, 13, 14, 15])
        studio.start_worker()
        # And once more from outside, while the fourth job draws: every pooled connection goes.
        deadline = time.monotonic() + 180
        while True:
            try:
                fourth = job_rows.job_states(watcher, [job_ids[3]])[0]
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                continue
            if fourth.status != "queued" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        killed_from_outside = pg.terminate_connections(database)
        states = finished_states(watcher, job_ids)
    finally:
        studio.close()
    try:
        assert [s.status for s in states] == ["done"] * 5, [(s.status, s.error) for s in states]
        assert all(s.progress_step == s.progress_total == 4 for s in states)
        with watcher.reader() as session:
            posters = session.execute(
                select(Poster.job_id, func.count(Poster.id)).where(Poster.job_id.in_(job_ids)).group_by(Poster.job_id)
            ).all()
        assert dict(posters) == {job_id: 1 for job_id in job_ids}  # one poster each, never two
        assert kills == ["progress write", "poster insert"]
        assert killed_from_outside >= 1
    finally:
        watcher.dispose()
