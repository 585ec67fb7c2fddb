"""Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB, in one place.

- :class:`epoch_now`: the database clock as float seconds since the epoch.
- :class:`Cas`: how a guarded UPDATE answers. ``UPDATE ... RETURNING`` where the dialect has it
  (PostgreSQL, SQLite >= 3.35); elsewhere (MariaDB, MySQL) the matched-row count, then a read
  back inside the same transaction, under the row lock the UPDATE took.
- :func:`node_result_upsert`: insert-or-replace of a node result.
- :func:`is_conflict`: which errors mean "this transaction lost a conflict, run it again".
- :func:`make_engine`: one engine per backend (SQLite: WAL, a busy timeout, ``BEGIN IMMEDIATE``
  for writes; MySQL: utf8mb4 and found-rows semantics; both servers: READ COMMITTED).
- :func:`migration_lock`: serializes migrations run by concurrent processes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Row,
    Select,
    Table,
    Update,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import iterate
from sqlalchemy.types import Double

from runlife.impl.errors import StoreConfigError, StoreUnavailable

SUPPORTED_URLS = (
    "sqlite:///path.db, sqlite:// (in memory), postgresql+psycopg://user@host/db "
    "or mysql+pymysql://user@host/db"
)
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
"""The one driver runlife uses for each backend."""

SQLITE_BUSY_TIMEOUT_MS = 30_000

AnyRow = Row[*tuple[Any, ...]]
"""A result row of any shape."""


# --- the database clock ----------------------------------------------------------------------


class epoch_now(FunctionElement[float]):
    """The database's current time in float seconds since the epoch, stable within a statement."""

    type = Double()
    inherit_cache = True
    name = "epoch_now"


@compiles(epoch_now, "postgresql")
def _epoch_now_postgresql(element: epoch_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)"


@compiles(epoch_now, "mysql")
def _epoch_now_mysql(element: epoch_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "UNIX_TIMESTAMP(NOW(6))"


@compiles(epoch_now, "sqlite")
def _epoch_now_sqlite(element: epoch_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


# --- guarded updates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cas:
    """One guarded UPDATE of one row (a compare-and-swap) and the columns it answers with."""

    update: Update
    returning: Update
    read_back: Select[Any]

    def run(self, conn: Connection, params: dict[str, Any]) -> AnyRow | None:
        """The updated row's answer, or ``None`` when the guard did not hold (nothing changed)."""
        if conn.dialect.update_returning:
            return conn.execute(self.returning, params).first()
        if conn.execute(self.update, params).rowcount != 1:
            return None
        return conn.execute(self.read_back, params).one()


def guarded_update(
    table: Table,
    key: ColumnElement[bool],
    guard: ColumnElement[bool],
    assignments: Sequence[tuple[Column[Any], Any]],
    answer: Sequence[Column[Any]],
) -> Cas:
    """Build the UPDATE ``SET assignments WHERE key AND guard`` that answers ``answer``.

    MySQL evaluates ``SET`` assignments left to right, each seeing the ones before it; the
    other dialects see only the old row. So no assignment may read a column assigned before it
    (``claim_epoch = epoch + 1`` must come before ``epoch = epoch + 1``); this is checked here.
    """
    assigned: set[str] = set()
    for column, value in assignments:
        parts = iterate(value) if isinstance(value, ClauseElement) else ()
        read = {c.name for c in parts if isinstance(c, Column)} - {column.name}
        if read & assigned:
            raise ValueError(f"{column.name} reads {sorted(read & assigned)}, assigned before it")
        assigned.add(column.name)
    statement = update(table).where(key, guard).ordered_values(*assignments)
    return Cas(statement, statement.returning(*answer), select(*answer).where(key))


def node_result_upsert(table: Table, dialect_name: str) -> Insert:
    """INSERT a node result, replacing the row with the same primary key if there is one."""
    replaced = [c.name for c in table.columns if not c.primary_key]
    if dialect_name == "mysql":
        mysql_insert = mysql.insert(table)
        return mysql_insert.on_duplicate_key_update(
            {name: mysql_insert.inserted[name] for name in replaced}
        )
    native = postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table)
    return native.on_conflict_do_update(
        index_elements=[c for c in table.primary_key],
        set_={name: native.excluded[name] for name in replaced},
    )


# --- conflicts -------------------------------------------------------------------------------

_POSTGRES_CONFLICTS = frozenset({"40001", "40P01", "55P03"})
"""serialization_failure, deadlock_detected, lock_not_available."""
_MYSQL_CONFLICTS = frozenset({1020, 1205, 1213})
"""record changed since last read, lock wait timeout, deadlock."""
_SQLITE_CONFLICTS = frozenset({5, 6})
"""SQLITE_BUSY, SQLITE_LOCKED (primary result codes)."""


def is_conflict(error: DBAPIError) -> bool:
    """Whether the database aborted the statement over a concurrent transaction.

    Re-running the whole transaction is then correct: every store operation is one
    transaction whose outcome depends only on what is committed when it runs.
    """
    original = error.orig
    if getattr(original, "sqlstate", None) in _POSTGRES_CONFLICTS:
        return True
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _SQLITE_CONFLICTS
    if original is not None and type(original).__module__.startswith("pymysql") and original.args:
        return original.args[0] in _MYSQL_CONFLICTS
    return False


# --- engines ---------------------------------------------------------------------------------


def parse_url(url: str) -> URL:
    """The URL with runlife's driver for its backend, or a StoreConfigError saying what to use."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreConfigError(f"{url!r} is not a database URL; use {SUPPORTED_URLS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in DRIVERS:
        raise StoreConfigError(
            f"unsupported store URL scheme {parsed.drivername + '://'!r}; use {SUPPORTED_URLS}"
        )
    wanted = DRIVERS[backend]
    if driver not in ("", wanted):
        raise StoreConfigError(
            f"driver {driver!r} is not supported for {backend}; use {backend}+{wanted}://"
        )
    return parsed.set(drivername=f"{backend}+{wanted}")


def is_memory(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (one connection, this process only)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(
    url: URL, *, isolation_level: str | None = None, connect_timeout: int = 10
) -> Engine:
    """An engine for ``url`` (already checked by :func:`parse_url`) with runlife's settings."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if isolation_level is not None:
            raise StoreConfigError(
                "isolation_level applies to PostgreSQL and MySQL; SQLite write transactions "
                "are always serialized (BEGIN IMMEDIATE)"
            )
        return _sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(
            url,
            isolation_level=isolation_level or "READ COMMITTED",
            connect_args={"connect_timeout": connect_timeout},
        )
    from pymysql.constants import CLIENT  # type: ignore[import-untyped]

    return create_engine(
        url,
        isolation_level=isolation_level or "READ COMMITTED",
        connect_args={
            "charset": "utf8mb4",
            # NOW() in UTC, so the database clock never jumps at a daylight-saving change.
            "init_command": "SET time_zone = '+00:00'",
            # A guarded UPDATE that matches its row counts it even if no value changed.
            "client_flag": CLIENT.FOUND_ROWS,
            "connect_timeout": connect_timeout,
        },
    )


READ_ONLY = "runlife_read_only"
"""Execution option marking a connection whose transactions only read."""


def _sqlite_engine(url: URL) -> Engine:
    memory = is_memory(url)
    if memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        directory = Path(url.database or "").resolve().parent
        if not directory.is_dir():
            raise StoreUnavailable(
                f"cannot open SQLite database {url.database}: directory {directory} does not "
                "exist; create it or choose another path"
            )
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not BEGIN on its own: _begin below says how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not memory:
            _switch_to_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A write takes the write lock up front, so a transaction never fails half-way on a lock
        # upgrade; a read starts deferred and, under WAL, never waits for writers.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode (it stays so; later switches are no-ops).

    The first switch needs the database to itself, and SQLite answers BUSY at once instead of
    waiting for the busy timeout when another new connection holds it; so wait here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            busy = error.sqlite_errorcode & 0xFF in _SQLITE_CONFLICTS
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def describe_url(url: URL) -> str:
    """Where ``url`` points, for messages (never the password)."""
    if url.get_backend_name() == "sqlite":
        return "SQLite in memory" if is_memory(url) else f"SQLite file {url.database}"
    port = f":{url.port}" if url.port else ""
    return f"{url.get_backend_name()} at {url.host}{port}/{url.database}"


def first_line(error: BaseException) -> str:
    """The driver's own message for ``error``, on one line."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def unavailable(url: URL, error: BaseException) -> StoreUnavailable:
    """A one-line StoreUnavailable for a failed connection to ``url``."""
    return StoreUnavailable(
        f"cannot open the run store ({describe_url(url)}): {first_line(error)}; "
        "check that the database is running and the URL is right"
    )


# --- migrations ------------------------------------------------------------------------------


@contextmanager
def migration_lock(conn: Connection) -> Iterator[None]:
    """Hold a lock named after the current database/schema while migrations run.

    PostgreSQL and MySQL use a session-level named lock. SQLite needs none: the migration's own
    transaction begins IMMEDIATE, which already excludes every other writer.
    """
    backend = conn.dialect.name
    if backend == "sqlite":
        yield
        return
    if backend == "postgresql":
        lock = text("SELECT pg_advisory_lock(hashtext('runlife_migrate:' || current_schema()))")
        unlock = text("SELECT pg_advisory_unlock(hashtext('runlife_migrate:' || current_schema()))")
    else:
        lock = text("SELECT GET_LOCK(CONCAT('runlife_migrate:', DATABASE()), 60)")
        unlock = text("SELECT RELEASE_LOCK(CONCAT('runlife_migrate:', DATABASE()))")
    conn.execute(lock)
    conn.commit()
    try:
        yield
    finally:
        conn.execute(unlock)
        conn.commit()
