"""The Alembic migrations build exactly the schema of ``runlife.impl.schema`` on every backend."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from tests.impl.store_helpers import claimed, get, raw_rows

from runlife.impl import ManualClock, SqlRunStore
from runlife.impl.migrate import downgrade, upgrade
from runlife.impl.schema import metadata
from runlife.spec.results import Status

TABLES = {"runs", "node_results", "run_events"}


def _user_tables(store: SqlRunStore) -> set[str]:
    return set(inspect(store.engine).get_table_names()) - {"alembic_version"}


def test_migrations_match_the_metadata(store_url: str) -> None:
    """What ``alembic check`` asks: would autogenerate write a new migration? It must not."""
    with SqlRunStore.from_url(store_url) as store, store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrations_go_down_to_nothing_and_up_again(store_url: str) -> None:
    with SqlRunStore.from_url(store_url) as store:
        assert _user_tables(store) == TABLES
        claimed(store)
        downgrade(store.engine, "base")
        assert _user_tables(store) == set()
        upgrade(store.engine)
        assert _user_tables(store) == TABLES
        run_id, epoch = claimed(store)  # the triggers are back: claims are logged again
        assert store.heartbeat(run_id, epoch).epoch == epoch  # type: ignore[union-attr]
        with store.engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM run_events")).scalar_one()
        assert events == 3


def test_stores_opened_at_once_on_an_empty_database_migrate_it_once(store_url: str) -> None:
    opened: list[SqlRunStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        barrier.wait()
        try:
            opened.append(SqlRunStore.from_url(store_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert len(opened) == 4
        with opened[0].engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ("0001",)
        run_ids = [claimed(store)[0] for store in opened]
        assert [get(opened[0], run_id).status for run_id in run_ids] == [Status.RUNNING] * 4
    finally:
        for store in opened:
            store.close()


def test_opening_a_migrated_database_again_changes_nothing(store_url: str) -> None:
    with SqlRunStore.from_url(store_url, clock=ManualClock()) as first:
        run_id, _ = claimed(first)
        before = raw_rows(first, run_id)
    with SqlRunStore.from_url(store_url) as again:
        assert raw_rows(again, run_id) == before
