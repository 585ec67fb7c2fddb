"""The post-run invariant check: after a race, a crash or a restart, is every run still sound?

:func:`check` works on any store through the contract. The contract has no listing, so it
takes the ids of the runs to look at; what clients were answered (``acknowledged``) and what the
runs were before the fault (``before``, a :func:`snapshot`) add the checks that need history.
On the SQL run store it also reads the whole tables through
:func:`runlife.impl.post_run_sql.breaches` (every run, and the event log the contract cannot
see), so it judges every run even when no id is given.

The invariants are :class:`~runlife.impl.post_run_sql.Invariant`. Precisely, for a running
run (``now`` is the store's clock): its lease is live (``now < lease_expires``); or it expired
less than ``stale_after - lease_ttl`` ago (the grace in which a slow holder may still
heartbeat: a healthy store makes the run resumable exactly when the grace ends, since a claim
stamps the lease and the activity together); or it is a recoverable orphan, which the store
offers for resume. A running run past its grace that the store does not offer is **stuck**.
Through the contract "offered" means ``find_resumable`` answers a run for the run's workflow,
conversation and codebase (this one, or a newer one: then the check cannot tell and stays
silent); the SQL fast path asks the store's resumable predicate row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from runlife.impl.post_run_sql import Breach, Invariant, breaches
from runlife.impl.sql_store import SqlRunStore
from runlife.spec.contract import RunStore
from runlife.spec.records import Run
from runlife.spec.results import (
    TERMINAL,
    CancelOutcome,
    Claimed,
    Found,
    GateResolved,
    RunNotFound,
    Status,
    Transitioned,
)

__all__ = ["Breach", "Invariant", "check", "finished_as", "snapshot"]

Snapshot = Mapping[str, Run]
"""Runs as they were, by id (what :func:`snapshot` answers)."""


def snapshot(store: RunStore, run_ids: Iterable[str]) -> dict[str, Run]:
    """The runs ``run_ids`` names as the store holds them now (unknown ids are left out)."""
    runs = {run_id: store.get_run(run_id) for run_id in run_ids}
    return {run_id: run for run_id, run in runs.items() if isinstance(run, Run)}


def check(
    store: RunStore,
    run_ids: Iterable[str] = (),
    *,
    before: Snapshot | None = None,
    acknowledged: Iterable[object] = (),
    tables: bool = True,
) -> list[Breach]:
    """Every breach of the post-run invariants, for a store no client is writing to.

    ``run_ids``: runs to judge (on the SQL store every run is judged anyway). ``before``: the
    runs as they were before the fault; a finished run must still be finished the same way, no
    epoch may go down, no run may vanish. ``acknowledged``: the answers clients were given; a
    terminal status or a claim epoch answered must be in the store, no run may be finished
    twice, and no two claims may share an epoch. ``tables``: on the SQL store, read the
    whole tables (every run, and the event log) instead of asking run by run.
    """
    answers = list(acknowledged)
    before = before or {}
    named = {*run_ids, *before, *(run_id for run_id, _ in _facts(answers))}
    current = {run_id: store.get_run(run_id) for run_id in sorted(named)}
    sql = _sql_store(store) if tables else None
    found = breaches(sql) if sql is not None else _row_breaches(store, current)
    found += _history_breaches(current, before, answers)
    return sorted(set(found), key=lambda b: (b.run, list(Invariant).index(b.invariant), b.detail))


def finished_as(answer: object) -> Status | None:
    """The terminal status a call's answer says it brought its run to, or None."""
    match answer:
        case Transitioned(status=status) if status in TERMINAL:
            return status
        case CancelOutcome(cancelled=True):
            return Status.CANCELLED
        case GateResolved(status=Status.CANCELLED):
            return Status.CANCELLED
    return None


# --- the rules -------------------------------------------------------------------------------


def _row_breaches(store: RunStore, current: Mapping[str, object]) -> list[Breach]:
    """The claim and stuck rules, run by run, through the contract."""
    now = store.now()
    grace = store.timing.stale_after - store.timing.lease_ttl
    found = []
    for run in current.values():
        if not isinstance(run, Run):
            continue
        claim, running = run.claim, run.status is Status.RUNNING
        state = f"status {run.status}, epoch {run.epoch}"
        if running and claim is None:
            found.append(Breach(Invariant.RUNNING_WITHOUT_CLAIM, run.id, f"{state}, no claim"))
        elif not running and claim is not None:
            detail = f"{state}, claim epoch {claim.epoch} held by {claim.holder}"
            found.append(Breach(Invariant.CLAIM_ON_IDLE_RUN, run.id, detail))
        elif claim is not None and claim.epoch != run.epoch:
            detail = f"{state}, claim epoch {claim.epoch}"
            found.append(Breach(Invariant.CLAIM_NOT_CURRENT, run.id, detail))
        elif claim is not None and now >= claim.lease_expires + grace and not _offered(store, run):
            detail = (
                f"{state}, lease expired at {claim.lease_expires:g}, last activity "
                f"{run.last_activity_at:g}, now {now:g}, and find_resumable offers nothing"
            )
            found.append(Breach(Invariant.STUCK, run.id, detail))
    return found


def _offered(store: RunStore, run: Run) -> bool:
    conversation = None if run.conversation is None else run.conversation.id
    return store.find_resumable(run.workflow, conversation, run.codebase) != Found(None)


def _history_breaches(
    current: Mapping[str, object], before: Snapshot, answers: Sequence[object]
) -> list[Breach]:
    """What ``before`` and the acknowledged answers say must still hold."""
    found = []
    for run_id, run in current.items():
        if isinstance(run, RunNotFound) and (run_id in before or _answered_about(answers, run_id)):
            found.append(Breach(Invariant.RUN_LOST, run_id, "get_run answers RunNotFound"))
    for run_id, was in before.items():
        run = current.get(run_id)
        if not isinstance(run, Run):
            continue
        if was.status in TERMINAL and (run.status, run.completed_at) != (
            was.status,
            was.completed_at,
        ):
            detail = (
                f"was {was.status} (completed at {was.completed_at:g}), now {run.status} "
                f"(completed at {run.completed_at})"
            )
            found.append(Breach(Invariant.TERMINAL_LEFT, run_id, detail))
        if run.epoch < was.epoch:
            detail = f"epoch was {was.epoch}, now {run.epoch}"
            found.append(Breach(Invariant.EPOCH_NOT_MONOTONIC, run_id, detail))
    finishes: dict[str, list[Status]] = {}
    claims: dict[tuple[str, int], int] = {}
    for run_id, fact in _facts(answers):
        run = current.get(run_id)
        if isinstance(fact, Status):
            finishes.setdefault(run_id, []).append(fact)
            if isinstance(run, Run) and run.status is not fact:
                detail = f"a client was answered {fact}, but the run is {run.status}"
                found.append(Breach(Invariant.ACKNOWLEDGED_LOST, run_id, detail))
        else:
            claims[run_id, fact] = claims.get((run_id, fact), 0) + 1
            if isinstance(run, Run) and run.epoch < fact:
                detail = f"a client was answered a claim under epoch {fact}, but the run's "
                detail += f"epoch is {run.epoch}"
                found.append(Breach(Invariant.ACKNOWLEDGED_LOST, run_id, detail))
    for (run_id, epoch), count in claims.items():
        if count > 1:
            detail = f"{count} clients were answered a claim under epoch {epoch}"
            found.append(Breach(Invariant.DOUBLE_CLAIM, run_id, detail))
    for run_id, statuses in finishes.items():
        if len(statuses) > 1:
            detail = f"{len(statuses)} calls were answered {', '.join(map(str, statuses))}"
            found.append(Breach(Invariant.FINISHED_TWICE, run_id, detail))
    return found


def _facts(answers: Iterable[object]) -> list[tuple[str, Status | int]]:
    """What acknowledged answers promise: a terminal status, or a claim epoch, per run."""
    facts: list[tuple[str, Status | int]] = []
    for answer in answers:
        finished = finished_as(answer)
        if finished is not None:
            facts.append((answer.run_id, finished))  # type: ignore[attr-defined]
        elif isinstance(answer, Claimed):
            facts.append((answer.run_id, answer.epoch))
    return facts


def _answered_about(answers: Sequence[object], run_id: str) -> bool:
    return any(getattr(answer, "run_id", None) == run_id for answer in answers)


def _sql_store(store: object) -> SqlRunStore | None:
    """The SQL run store behind ``store`` (the kit wraps stores), or None."""
    inner = getattr(store, "inner", store)
    return inner if isinstance(inner, SqlRunStore) else None
