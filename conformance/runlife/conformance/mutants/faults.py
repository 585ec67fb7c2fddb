"""Mutants that only misbehave when something fails: a client that reconnects, a holder that
wakes up after its run was recovered."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from runlife.conformance.mutants.base import Mutant, with_guard
from runlife.impl import statements as sql
from runlife.impl.dialects import AnyRow, Cas
from runlife.impl.schema import runs
from runlife.impl.sql_store import Answer
from runlife.spec.results import Status

RUNNING = runs.c.status == Status.RUNNING.value


class UnfencedSideWrites(Mutant):
    """Node results and loop sessions are written for any running run, whatever the epoch.

    Fencing tokens (Kleppmann, "How to do distributed locking") must guard every write of the
    holder, not only its transitions: here complete and fail are fenced, but an executor that
    was frozen while its run was recovered wakes up and overwrites the new holder's node
    output and provider session.
    """

    name = "unfenced-side-writes"
    origin = "fencing tokens: a zombie executor's late output"
    swaps = {
        "record_node": with_guard(sql.LOCK_HELD, RUNNING),
        "save_loop": with_guard(sql.SAVE_LOOP, RUNNING),
    }


Later = list[tuple[Cas, dict[str, object]]]


@dataclass(frozen=True)
class Deferred(Cas):
    """A guarded update that answers as if it took effect, and leaves the write for later."""

    later: Later = field(default_factory=list, compare=False)

    def run(self, conn: Connection, params: dict[str, Any]) -> AnyRow | None:
        savepoint = conn.begin_nested()
        row = super().run(conn, params)
        savepoint.rollback()
        if row is not None:
            self.later.append((Cas(self.update, self.returning, self.read_back), dict(params)))
        return row


class WriteBehindFinish(Mutant):
    """Complete, cancel and abandon are answered at once and written on the store's next call.

    A write-behind store acknowledges before the write is durable: every call it makes first
    writes what it owes, so a client that keeps calling sees its runs finished. A client that
    drops its connection (or dies) right after being told "completed" leaves the run running
    for everyone who reconnects: a terminal state lost on reconnect.
    """

    name = "write-behind-finish"
    origin = "acknowledged before durable; write-behind caches"
    DEFERRED = frozenset({"complete", "cancel", "abandon"})

    def __init__(self, url: str, **options: Any) -> None:
        self._later: Later = []
        self._owed = threading.RLock()
        super().__init__(url, **options)

    def _statement(self, action: str, cas: Cas) -> Cas:
        if action in self.DEFERRED:
            return Deferred(cas.update, cas.returning, cas.read_back, self._later)
        return cas

    def _transact(self, work: Callable[[Connection], Answer], read_only: bool = False) -> Answer:
        """Write what is owed, then do ``work``: one call at a time, so this client alone can
        never see its own acknowledged writes missing."""
        with self._owed:
            owed, self._later[:] = list(self._later), []
            for cas, params in owed:
                super()._transact(functools.partial(cas.run, params=params))
            return super()._transact(work, read_only)

    def close(self) -> None:
        """The connection goes, and the writes it still owed with it."""
        self._later.clear()
        super().close()
