"""Tools for breaking a SQL store's connection at a chosen moment of one of its writes.

:class:`Pause` stops a client at one moment of its next write: ``inside`` its transaction
(right after the guarded UPDATE of ``runs``, before COMMIT) or ``committed`` (after COMMIT, when
it hands the connection back). While it is stopped the test kills its database session
(:func:`kill_session`) or, on SQLite, the client's whole process (:func:`paused_writer` runs
in a child process and reports when it is stopped).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe
from typing import Any

from sqlalchemy import Engine, event, select, text

from runlife.impl import SqlRunStore
from runlife.impl.schema import node_results, run_events, runs
from runlife.spec.records import Timing

MOMENTS = ("inside", "committed")
PAUSE_LIMIT = 10.0
"""Seconds a paused client waits before going on by itself (a test that forgot it)."""


class Pause:
    """Stop the next write on ``engine`` at ``moment``; the test then calls :meth:`release`."""

    def __init__(self, engine: Engine, moment: str, on_pause: Callable[[], None] | None = None):
        self.engine, self.moment = engine, moment
        self.reached = threading.Event()
        self.released = threading.Event()
        self.session: int | None = None
        self.on_pause = on_pause or (lambda: None)
        self._wrote = False
        event.listen(engine, "after_cursor_execute", self._executed)
        event.listen(engine.pool, "checkin", self._checked_in)

    def _executed(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self._wrote or not statement.lstrip().upper().startswith("UPDATE RUNS"):
            return
        self._wrote = True
        self.session = _session_id(conn.connection.dbapi_connection)
        if self.moment == "inside":
            self._stop()

    def _checked_in(self, dbapi_connection: Any, record: Any) -> None:
        if self._wrote and self.moment == "committed" and not self.reached.is_set():
            self._stop()

    def _stop(self) -> None:
        self.reached.set()
        self.on_pause()
        self.released.wait(PAUSE_LIMIT)

    def release(self) -> None:
        self.released.set()


def _session_id(dbapi_connection: Any) -> int | None:
    """The server's id for this connection: PostgreSQL's backend pid, MySQL's thread id."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and hasattr(info, "backend_pid"):
        return int(info.backend_pid)
    thread_id = getattr(dbapi_connection, "thread_id", None)
    return int(thread_id()) if callable(thread_id) else None


def kill_session(admin: SqlRunStore, session: int) -> None:
    """End database session ``session`` from another connection, as an operator would."""
    statement = (
        "SELECT pg_terminate_backend(:session)"
        if admin.engine.dialect.name == "postgresql"
        else f"KILL {int(session)}"
    )
    with admin.engine.connect() as conn:
        conn.execute(text(statement), {"session": session})


def stored(store: SqlRunStore, run_id: str) -> tuple[object, ...]:
    """Everything stored about a run, exactly: its row, its node results, its events."""
    with store.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        nodes = conn.execute(select(node_results).where(node_results.c.run_id == run_id)).all()
        events = conn.execute(
            select(run_events).where(run_events.c.run_id == run_id).order_by(run_events.c.version)
        ).all()
    return tuple(row), tuple(map(tuple, nodes)), tuple(map(tuple, events))


def paused_writer(
    url: str, timing: Timing, moment: str, action: str, run_id: str, epoch: int, pipe: Pipe
) -> None:
    """In a child process: make one write to ``run_id`` and stop at ``moment`` of it, telling
    the parent through ``pipe``; the parent kills the process there."""
    store = SqlRunStore.from_url(url, timing=timing, migrate=False)
    Pause(store.engine, moment, on_pause=lambda: pipe.send("paused"))
    if action == "resume":
        store.resume_run(run_id, "victim")
    else:
        store.complete_run(run_id, epoch)
    pipe.send("not killed")
    time.sleep(PAUSE_LIMIT)
