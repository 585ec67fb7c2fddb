"""Benchmarks of the SQL run store (``make bench``; ``python -m runlife.impl.bench_store``).

1. :func:`resume_cas`: resumes per second through :class:`SqlRunStore` against the raw driver
   (psycopg, pymysql, sqlite3) sending the very same guarded UPDATE text in the same kind of
   transaction, on the same database in the same run; medians of repeated rounds, their ratio,
   and the statements each resume sends (one per transition, plus the driver's BEGIN/COMMIT).
2. :func:`claim_storm`: threads, each a separate client, all trying to start the same runs;
   contests per second and the double claims observed (the answers and the stored epochs must
   show exactly one winner per run).

Every round works on fresh failed or pending runs inserted in bulk, in a private namespace
dropped at the end. Speed figures live here, never in unit tests.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, event, func, insert, select

from runlife.impl import statements as sql
from runlife.impl.dialects import SQLITE_BUSY_TIMEOUT_MS, first_line, parse_url
from runlife.impl.errors import StoreError
from runlife.impl.isolation import drop_isolated, isolated_url
from runlife.impl.schema import runs
from runlife.impl.sql_store import SqlRunStore
from runlife.spec.results import Claimed, Status

SERVERS = {
    "postgresql": ("RUNLIFE_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": ("RUNLIFE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
STORM_CONTESTS = 64_000
COMMAND = "python -m runlife.impl.bench_store"


@dataclass(frozen=True)
class CasFigures:
    """Resumes per second (medians over rounds) through the store and through the raw driver."""

    store_per_second: float
    raw_per_second: float
    ratio: float
    statements_per_resume: float
    rounds: int
    resumes_per_round: int


@dataclass(frozen=True)
class StormFigures:
    """A claim storm's rate and its safety count (``double_claims`` must be 0)."""

    threads: int
    runs: int
    contests: int
    seconds: float
    contests_per_second: float
    double_claims: int


# --- the database --------------------------------------------------------------------------


@contextmanager
def private_database(base_url: str) -> Iterator[str]:
    """A migrated private database on ``base_url``'s server (a temporary file for SQLite)."""
    if parse_url(base_url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
            SqlRunStore.from_url(url).close()
            yield url
        return
    namespace = f"rl_bench_{uuid4().hex[:12]}"
    url = isolated_url(base_url, namespace)
    try:
        SqlRunStore.from_url(url).close()
        yield url
    finally:
        drop_isolated(base_url, namespace)


def insert_runs(engine: Engine, count: int, status: Status, epoch: int) -> list[str]:
    """``count`` runs inserted in one statement batch, straight into the table."""
    ids = [uuid4().hex for _ in range(count)]
    now = time.time() - 3600
    rows = [
        {
            "id": run_id,
            "workflow": "bench",
            "user_message": "benchmark",
            "codebase": "main",
            "working_path": "",
            "status": status.value,
            "created_at": now,
            "last_activity_at": now,
            "started_at": now if epoch else None,
            "epoch": epoch,
            "version": 1,
            "last_action": "create",
            "updated_at": now,
        }
        for run_id in ids
    ]
    with engine.begin() as conn:
        conn.execute(insert(runs), rows)
    return ids


# --- 1. resume CAS: store against raw driver ------------------------------------------------


class RawResume:
    """The store's resume UPDATE, compiled once to text and sent through the bare DB-API driver."""

    def __init__(self, engine: Engine, stale_after: float, lease_ttl: float) -> None:
        self.dialect = engine.dialect
        self.url = engine.url
        returning = self.dialect.update_returning
        update = (sql.RESUME.returning if returning else sql.RESUME.update).compile(
            dialect=self.dialect
        )
        self.read_back = None if returning else sql.RESUME.read_back.compile(dialect=self.dialect)
        self.update = update
        self.values = {
            "now": None,
            "holder": "raw",
            "expected_epoch": None,
            "lease_ttl": lease_ttl,
            "stale_after": stale_after,
            "action": "resume",
        }
        self.connection = self._connect()

    def _connect(self) -> Any:
        url = self.url
        backend = url.get_backend_name()
        if backend == "postgresql":
            import psycopg

            return psycopg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname=url.database,
                options=str(url.query.get("options", "")),
            )
        if backend == "mysql":
            import pymysql  # type: ignore[import-untyped]
            from pymysql.constants import CLIENT  # type: ignore[import-untyped]

            return pymysql.connect(
                host=url.host,
                port=url.port or 3306,
                user=url.username,
                password=url.password or "",
                database=url.database,
                charset="utf8mb4",
                client_flag=CLIENT.FOUND_ROWS,
            )
        import sqlite3

        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _parameters(self, compiled: Any, run_id: str) -> Any:
        values = compiled.construct_params({**self.values, "target_run": run_id})
        if compiled.positiontup is None:
            return values
        return tuple(values[name] for name in compiled.positiontup)

    def resume(self, run_id: str) -> tuple[Any, ...]:
        """One resume in one transaction: the answer row (epoch, lease), or fail loudly."""
        if self.dialect.name == "sqlite":
            self.connection.execute("BEGIN IMMEDIATE")
        cursor = self.connection.cursor()
        cursor.execute(self.update.string, self._parameters(self.update, run_id))
        if self.read_back is not None:
            assert cursor.rowcount == 1, "raw resume lost"
            cursor.execute(self.read_back.string, self._parameters(self.read_back, run_id))
        row = cursor.fetchone()
        cursor.close()
        if self.dialect.name == "sqlite":
            self.connection.execute("COMMIT")
        else:
            self.connection.commit()
        assert row is not None, "raw resume lost"
        return tuple(row)

    def close(self) -> None:
        self.connection.close()


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[int]]:
    """Count the statements ``engine`` sends while the block runs (``counter[0]``)."""
    counter = [0]

    def count(*_: object) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


INTERLEAVE = 50
"""Resumes per turn: store and raw driver take turns this often, so load from anything else on
the machine falls on both alike."""


def resume_cas(url: str, *, resumes: int = 2000, rounds: int = 5) -> CasFigures:
    """Resume throughput of SqlRunStore against the raw driver on the database at ``url``.

    Each round resumes ``resumes`` fresh failed runs through the store and as many through the
    raw driver, the two taking turns every :data:`INTERLEAVE` resumes.
    """
    store_rates, raw_rates, statements = [], [], 0
    with private_database(url) as private, SqlRunStore.from_url(private, migrate=False) as store:
        raw = RawResume(store.engine, store.timing.stale_after, store.timing.lease_ttl)
        try:
            for _ in range(rounds):
                for_store = insert_runs(store.engine, resumes, Status.FAILED, epoch=1)
                for_raw = insert_runs(store.engine, resumes, Status.FAILED, epoch=1)
                store_seconds = raw_seconds = 0.0
                for turn in range(0, resumes, INTERLEAVE):
                    started = time.perf_counter()
                    with counting_statements(store.engine) as counter:
                        for run_id in for_store[turn : turn + INTERLEAVE]:
                            if not isinstance(store.resume_run(run_id, "store"), Claimed):
                                raise AssertionError(f"store resume of {run_id} lost")
                    middle = time.perf_counter()
                    for run_id in for_raw[turn : turn + INTERLEAVE]:
                        raw.resume(run_id)
                    store_seconds += middle - started
                    raw_seconds += time.perf_counter() - middle
                    statements += counter[0]
                store_rates.append(resumes / store_seconds)
                raw_rates.append(resumes / raw_seconds)
        finally:
            raw.close()
    store_rate, raw_rate = statistics.median(store_rates), statistics.median(raw_rates)
    return CasFigures(
        store_per_second=store_rate,
        raw_per_second=raw_rate,
        ratio=store_rate / raw_rate,
        statements_per_resume=statements / (rounds * resumes),
        rounds=rounds,
        resumes_per_round=resumes,
    )


# --- 2. claim storm -------------------------------------------------------------------------


def claim_storm(url: str, *, threads: int = 8, contests: int = STORM_CONTESTS) -> StormFigures:
    """``threads`` clients all try to start each of ``contests / threads`` pending runs.

    A double claim is a run that more than one client was told it won, or whose stored epoch
    or claim log shows more than one claim; a correct store has none.
    """
    count = -(-contests // threads)
    with private_database(url) as private:
        clients = [SqlRunStore.from_url(private, migrate=False) for _ in range(threads)]
        try:
            ids = insert_runs(clients[0].engine, count, Status.PENDING, epoch=0)
            wins: list[list[str]] = [[] for _ in clients]
            barrier = threading.Barrier(threads + 1)

            def contend(index: int) -> None:
                client, won = clients[index], wins[index]
                client.now()
                barrier.wait()
                for run_id in ids:
                    if isinstance(client.start_run(run_id, f"client-{index}"), Claimed):
                        won.append(run_id)

            workers = [threading.Thread(target=contend, args=(i,)) for i in range(threads)]
            for worker in workers:
                worker.start()
            barrier.wait()
            started = time.perf_counter()
            for worker in workers:
                worker.join()
            seconds = time.perf_counter() - started
            told = [run_id for won in wins for run_id in won]
            double = len(told) - len(set(told)) + _stored_double_claims(clients[0].engine)
            if len(set(told)) != count:
                raise AssertionError(f"{count - len(set(told))} runs were claimed by nobody")
        finally:
            for client in clients:
                client.close()
    attempts = count * threads
    return StormFigures(threads, count, attempts, seconds, attempts / seconds, double)


def _stored_double_claims(engine: Engine) -> int:
    """Runs whose stored epoch says they were claimed more than once."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(runs).where(runs.c.epoch > 1)
            ).scalar_one()
        )


# --- rows for ``make bench`` ------------------------------------------------------------------


def databases() -> dict[str, str]:
    """The databases to measure: embedded SQLite and the servers named by the environment."""
    found = {"sqlite": "sqlite://"}
    for backend, (variable, default) in SERVERS.items():
        found[backend] = os.environ.get(variable, default)
    return found


def rows(quick: bool = False, repeats: int = 5) -> Iterator[Mapping[str, str]]:
    """Figures for the benchmark report: what, where, figure, command, note."""
    resumes = 300 if quick else 2000
    contests = 4_000 if quick else STORM_CONTESTS
    for backend, url in databases().items():
        try:
            cas = resume_cas(url, resumes=resumes, rounds=max(1, repeats))
            storm = claim_storm(url, contests=contests)
        except StoreError as error:
            yield _row("resume CAS; claim storm", backend, f"not measured: {error}")
            continue
        except Exception as error:  # a driver missing or a server refusing: say so, go on
            yield _row("resume CAS; claim storm", backend, f"not measured: {first_line(error)}")
            continue
        yield _row(
            "resume CAS: SqlRunStore / raw driver",
            backend,
            f"{cas.store_per_second:,.0f} / {cas.raw_per_second:,.0f} resumes/s = {cas.ratio:.2f}",
            f"median of {cas.rounds} rounds of {cas.resumes_per_round} resumes; "
            f"{cas.statements_per_resume:.2f} statements per resume through the store",
        )
        yield _row(
            "claim storm: contests/s, double claims",
            backend,
            f"{storm.contests_per_second:,.0f} contests/s, {storm.double_claims} double claims",
            f"{storm.contests:,} contests: {storm.threads} clients x {storm.runs:,} runs "
            f"in {storm.seconds:.1f} s",
        )


def _row(what: str, where: str, figure: str, note: str = "") -> dict[str, str]:
    return {"what": what, "where": where, "figure": figure, "command": COMMAND, "note": note}


def main() -> None:
    for row in rows():
        print(" | ".join(row.values()))


if __name__ == "__main__":
    main()
