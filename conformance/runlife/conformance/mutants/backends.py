"""Mutants of one backend's transaction or row-count semantics.

Each bug here needs a store written a particular way to show: the SQL store takes its write
lock first and bumps a version in every update, which already defends against both. So each
mutant is a correct store of a common design (:class:`ReadFirstClaims`,
:class:`UpdateThenInsertNodes`, both of which pass the kit) with the one setting that the
design depends on changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Boolean, Connection, CursorResult, Executable, bindparam, event, insert, text

from runlife.conformance.mutants.base import Mutant, Variant
from runlife.impl import statements as sql
from runlife.impl.dialects import READ_ONLY, AnyRow, Cas
from runlife.impl.schema import node_results

Answer = TypeVar("Answer")


@dataclass(frozen=True)
class ReadFirst(Cas):
    """A guarded update that reads the run before writing it, in the same transaction."""

    def run(self, conn: Connection, params: dict[str, object]) -> AnyRow | None:
        conn.execute(sql.PROBE, params).first()
        return super().run(conn, params)


class ReadFirstClaims(Variant):
    """A SQLite store written like most SQLite job queues: a claim reads the run, then writes
    it, in one transaction, and a write that meets a lock is not retried. Correct as long as
    every write transaction begins IMMEDIATE, taking the write lock (and waiting for it) first.
    """

    swaps = {"resume": ReadFirst(**vars(sql.RESUME))}

    def _transact(self, work: Callable[[Connection], Answer], read_only: bool = False) -> Answer:
        with self.engine.connect() as conn:
            if read_only:
                conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                return work(conn)


class DeferredSqliteBegin(Mutant, ReadFirstClaims):
    """SQLite write transactions begin DEFERRED instead of IMMEDIATE.

    A deferred transaction that has read cannot wait for the write lock (waiting could
    deadlock), so SQLite fails it at once with "database is locked": racing resumers get an
    error instead of an answer. Django #29280 and the SQLite-backed job queues that start
    transactions with Python's default ``BEGIN`` hit exactly this; the fix is ``BEGIN
    IMMEDIATE``.
    """

    name = "deferred-sqlite-begin"
    origin = "Django #29280; SQLite job queues"
    applies_to = frozenset({"sqlite"})

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        # The engine's begin hook starts transactions marked read-only with a plain BEGIN.
        self.engine = self.engine.execution_options(**{READ_ONLY: True})


UPDATE_NODE = text(
    "UPDATE node_results SET identity = :identity, output = :output, depends_on = :depends_on,"
    " invalidated = :invalidated WHERE run_id = :run_id AND node_id = :node_id"
).bindparams(bindparam("invalidated", type_=Boolean()))
"""Written as text: the store's parameters are named after the columns, which SQLAlchemy's
UPDATE construct would all put in the SET clause."""
INSERT_NODE = insert(node_results)


class UpdateThenInsertNodes(Variant):
    """A store that writes a node result the way Django's ``Model.save()`` writes a row:
    UPDATE it by key, and INSERT it when the UPDATE matched no row. Correct wherever an
    UPDATE's row count is the rows it matched."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._upsert_node = UPDATE_NODE  # type: ignore[assignment]
        event.listen(self.engine, "after_execute", _insert_when_nothing_matched)


def _insert_when_nothing_matched(
    conn: Connection,
    statement: Executable,
    multiparams: list[dict[str, Any]],
    params: dict[str, Any],
    options: object,
    result: CursorResult[Any],
) -> None:
    if statement is UPDATE_NODE and result.rowcount == 0:
        conn.execute(INSERT_NODE, multiparams[0] if multiparams else params)


class AffectedRowsNodeWrite(Mutant, UpdateThenInsertNodes):
    """MySQL connections without found-rows: an UPDATE counts changed rows, not matched ones.

    Django's MySQL backend sets ``CLIENT.FOUND_ROWS`` because ``save()`` needs "the number of
    potentially affected rows after an UPDATE, not the number of changed rows"; so does
    runlife. Without it, re-recording a node result unchanged (an idempotent write, as a
    resumed executor makes) counts 0 rows, and the INSERT that follows hits the primary key.
    """

    name = "affected-rows-node-write"
    origin = "MySQL affected rows; Django's CLIENT.FOUND_ROWS"
    applies_to = frozenset({"mysql"})

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        event.listen(self.engine, "do_connect", _without_found_rows)
        self.engine.dispose()  # drop the connections opened with found-rows while migrating


def _without_found_rows(
    dialect: object, record: object, cargs: object, cparams: dict[str, Any]
) -> None:
    from pymysql.constants import CLIENT  # type: ignore[import-untyped]

    cparams["client_flag"] = cparams.get("client_flag", 0) & ~CLIENT.FOUND_ROWS
