"""The post-run invariants, checked over a SQL run store's whole tables in a few SELECTs.

After a race, a crash or a restart, every run must be in a state the lifecycle can continue
from, and the event log must tell the same story as the rows. :func:`breaches` reads every run
and every event once (one snapshot) and answers each :class:`Breach` of an :class:`Invariant`.
The same invariants are checked through the contract, on any store, by
:mod:`runlife.conformance.post_run`; this module is the fast path for the SQL store and the only
one that sees the event log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, func, not_, or_, select
from sqlalchemy.orm import aliased

from runlife.impl import statements as sql
from runlife.impl.dialects import READ_ONLY, AnyRow
from runlife.impl.schema import run_events, runs
from runlife.impl.sql_store import SqlRunStore
from runlife.spec.results import TERMINAL, Status


class Invariant(StrEnum):
    """What must hold of every stored run once no client is writing (and each names its harm)."""

    RUNNING_WITHOUT_CLAIM = "running without a claim"
    """A running run has a holder, an epoch and a lease; without one nobody may execute it."""
    CLAIM_ON_IDLE_RUN = "open claim on a run that is not running"
    """Pause, fail, complete and cancel release the claim; a kept one could still write."""
    CLAIM_NOT_CURRENT = "claim under an old epoch"
    """A running run's claim carries the run's last issued epoch, or fencing is meaningless."""
    STUCK = "stuck in running"
    """A running run whose lease expired more than ``stale_after - lease_ttl`` ago (the grace
    in which a slow holder may still heartbeat) must be resumable: an orphan someone can
    recover. Otherwise no one can continue it (a refused holder that keeps touching it, say)."""
    LOG_INCOMPLETE = "event log incomplete"
    """Every transition of a run left exactly one event: versions 1..N for a run at version N."""
    LOG_DISAGREES = "event log disagrees with the run"
    """The last event of a run names the run's status and epoch as stored."""
    EPOCH_NOT_MONOTONIC = "epochs not monotonic"
    """Epochs never go down, and go up by exactly one, only at a claim (seed 001)."""
    TERMINAL_LEFT = "terminal state lost"
    """A completed or cancelled run stays so (seed 001: no resurrection)."""
    RUN_LOST = "run lost"
    """A run that existed (it has events, or a client was answered about it) is still there."""
    ACKNOWLEDGED_LOST = "acknowledged write lost"
    """A terminal status or a claim epoch a client was answered with is still in the store."""
    DOUBLE_CLAIM = "double claim"
    """No two clients were ever answered a claim of one run under one epoch."""
    FINISHED_TWICE = "finished twice"
    """At most one call completes, cancels or abandons a run (no duplicate completion)."""


@dataclass(frozen=True, slots=True)
class Breach:
    """One run breaking one invariant; ``detail`` says how, in one line."""

    invariant: Invariant
    run: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: run {self.run}: {self.detail}"


# --- the rows behind a breach ------------------------------------------------------------------

RUNNING = runs.c.status == Status.RUNNING.value
CLAIMED = runs.c.claim_epoch.is_not(None)
GRACE_OVER = runs.c.lease_expires + (sql.STALE_AFTER - sql.LEASE_TTL) <= sql.NOW
TERMINAL_STATUSES = [status.value for status in sorted(TERMINAL)]

RUN_FIELDS = (
    runs.c.id.label("run"),
    runs.c.status,
    runs.c.epoch,
    runs.c.claim_epoch,
    runs.c.lease_expires,
)

CLAIM_RULES: tuple[tuple[Invariant, Any], ...] = (
    (
        Invariant.RUNNING_WITHOUT_CLAIM,
        select(*RUN_FIELDS).where(
            RUNNING,
            or_(
                runs.c.claim_epoch.is_(None),
                runs.c.claim_holder.is_(None),
                runs.c.lease_expires.is_(None),
            ),
        ),
    ),
    (Invariant.CLAIM_ON_IDLE_RUN, select(*RUN_FIELDS).where(not_(RUNNING), CLAIMED)),
    (
        Invariant.CLAIM_NOT_CURRENT,
        select(*RUN_FIELDS).where(RUNNING, runs.c.claim_epoch != runs.c.epoch),
    ),
    (
        # The store's own resumable predicate, so a store that forgets an orphan is caught.
        Invariant.STUCK,
        select(*RUN_FIELDS).where(RUNNING, CLAIMED, GRACE_OVER, not_(sql.RESUMABLE)),
    ),
)
"""Per-row rules on ``runs``: each statement selects the runs that break its invariant."""

EVENT_COUNTS = (
    select(
        runs.c.id.label("run"),
        runs.c.version,
        func.count(run_events.c.seq).label("events"),
        func.min(run_events.c.version).label("first"),
        func.max(run_events.c.version).label("last"),
    )
    .select_from(runs.outerjoin(run_events, run_events.c.run_id == runs.c.id))
    .group_by(runs.c.id, runs.c.version)
    .having(
        or_(
            func.count(run_events.c.seq) != runs.c.version,
            func.min(run_events.c.version) != 1,
            func.max(run_events.c.version) != runs.c.version,
        )
    )
)
"""Runs whose events are not exactly versions 1..N (a lost, extra or missing event)."""

LAST_EVENT = (
    select(runs.c.id.label("run"), runs.c.status, runs.c.epoch)
    .add_columns(run_events.c.status.label("event_status"))
    .add_columns(run_events.c.epoch.label("event_epoch"))
    .select_from(
        runs.join(
            run_events,
            and_(run_events.c.run_id == runs.c.id, run_events.c.version == runs.c.version),
        )
    )
    .where(or_(run_events.c.status != runs.c.status, run_events.c.epoch != runs.c.epoch))
)
"""Runs whose last event names another status or epoch than the row."""

_before = aliased(run_events, name="before")
_after = aliased(run_events, name="after")
STEPS = select(
    _after.c.run_id.label("run"),
    _after.c.version,
    _after.c.action,
    _before.c.status.label("status_before"),
    _after.c.status.label("status_after"),
    _before.c.epoch.label("epoch_before"),
    _after.c.epoch.label("epoch_after"),
    _after.c.claimed_epoch,
).select_from(
    _before.join(
        _after,
        and_(_after.c.run_id == _before.c.run_id, _after.c.version == _before.c.version + 1),
    )
)
EPOCH_STEPS = STEPS.where(
    or_(
        _after.c.epoch < _before.c.epoch,
        _after.c.epoch > _before.c.epoch + 1,
        and_(
            _after.c.epoch == _before.c.epoch + 1,
            or_(_after.c.claimed_epoch.is_(None), _after.c.claimed_epoch != _after.c.epoch),
        ),
        and_(_after.c.epoch == _before.c.epoch, _after.c.claimed_epoch.is_not(None)),
    )
)
"""Consecutive events of one run whose epochs do not step as claims step them."""
TERMINAL_STEPS = STEPS.where(
    _before.c.status.in_(TERMINAL_STATUSES), _after.c.status != _before.c.status
)
"""Consecutive events of one run that leave a completed or cancelled status."""

ORPHAN_EVENTS = (
    select(run_events.c.run_id.label("run"), func.count().label("events"))
    .where(run_events.c.run_id.not_in(select(runs.c.id)))
    .group_by(run_events.c.run_id)
)
"""Events of runs whose row is gone."""


def breaches(store: SqlRunStore) -> list[Breach]:
    """Every breach of the post-run invariants in ``store``'s tables, read in one snapshot.

    Meant for a quiet store (after a test, a crash, a restart): runs written while it reads
    may be judged half-way through a transition on PostgreSQL and MySQL.
    """
    params = {
        "now": store.now(),
        "lease_ttl": store.timing.lease_ttl,
        "stale_after": store.timing.stale_after,
    }
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{READ_ONLY: True})  # a deferred BEGIN: a WAL snapshot
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            return _breaches(conn, params)


def _breaches(conn: Connection, params: dict[str, float]) -> list[Breach]:
    return [
        Breach(invariant, row.run, describe(row))
        for invariant, statement, describe in RULES
        for row in conn.execute(statement, params)
    ]


def _claim_state(row: AnyRow) -> str:
    claim = "no claim" if row.claim_epoch is None else f"claim epoch {row.claim_epoch}"
    lease = "" if row.lease_expires is None else f", lease until {row.lease_expires:g}"
    return f"status {row.status}, epoch {row.epoch}, {claim}{lease}"


def _step(row: AnyRow) -> str:
    return (
        f"event {row.version} ({row.action}) went from {row.status_before} at epoch "
        f"{row.epoch_before} to {row.status_after} at epoch {row.epoch_after}"
        + ("" if row.claimed_epoch is None else f", claiming epoch {row.claimed_epoch}")
    )


def _log_counts(row: AnyRow) -> str:
    return (
        f"run is at version {row.version} but its log holds {row.events} events "
        f"(versions {row.first}..{row.last})"
    )


def _last_event(row: AnyRow) -> str:
    return (
        f"run is {row.status} at epoch {row.epoch}, its last event says "
        f"{row.event_status} at epoch {row.event_epoch}"
    )


def _orphan_events(row: AnyRow) -> str:
    return f"{row.events} events, but no run row"


RULES: tuple[tuple[Invariant, Any, Callable[[AnyRow], str]], ...] = (
    *((invariant, statement, _claim_state) for invariant, statement in CLAIM_RULES),
    (Invariant.LOG_INCOMPLETE, EVENT_COUNTS, _log_counts),
    (Invariant.LOG_DISAGREES, LAST_EVENT, _last_event),
    (Invariant.EPOCH_NOT_MONOTONIC, EPOCH_STEPS, _step),
    (Invariant.TERMINAL_LEFT, TERMINAL_STEPS, _step),
    (Invariant.RUN_LOST, ORPHAN_EVENTS, _orphan_events),
)
"""Each invariant, the statement selecting the rows that break it, and how to say how."""
