"""Small builders for the SQL store tests: a run in a given state, and the raw rows behind it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from runlife.impl import SqlRunStore
from runlife.impl.schema import node_results, run_events, runs
from runlife.spec.records import GateSpec, NewRun, Run
from runlife.spec.results import Claimed, Created, Transitioned

WORKFLOW = "wf"
GATE = GateSpec("review", on_reject=True, max_attempts=3)


def new_run(store: SqlRunStore, message: str = "do it", **fields: Any) -> str:
    created = store.create_run(NewRun(fields.pop("workflow", WORKFLOW), message, **fields))
    assert isinstance(created, Created), created
    return created.run_id


def claimed(store: SqlRunStore, holder: str = "a", **fields: Any) -> tuple[str, int]:
    """A running run held by ``holder``: its id and the epoch of the claim."""
    run_id = new_run(store, **fields)
    claim = store.start_run(run_id, holder)
    assert isinstance(claim, Claimed), claim
    return run_id, claim.epoch


def resumed(store: SqlRunStore, run_id: str, holder: str = "b") -> int:
    """Resume ``run_id`` (it must win) and answer the new epoch."""
    claim = store.resume_run(run_id, holder)
    assert isinstance(claim, Claimed), claim
    return claim.epoch


def failed(store: SqlRunStore, **fields: Any) -> str:
    run_id, epoch = claimed(store, **fields)
    assert isinstance(store.fail_run(run_id, epoch, "boom"), Transitioned)
    return run_id


def paused(store: SqlRunStore, gate: GateSpec = GATE, **fields: Any) -> str:
    run_id, epoch = claimed(store, **fields)
    assert isinstance(store.pause_at_gate(run_id, epoch, gate), Transitioned)
    return run_id


def completed(store: SqlRunStore) -> str:
    run_id, epoch = claimed(store)
    assert isinstance(store.complete_run(run_id, epoch), Transitioned)
    return run_id


def cancelled(store: SqlRunStore) -> str:
    run_id = new_run(store)
    store.cancel_run(run_id)
    return run_id


def get(store: SqlRunStore, run_id: str) -> Run:
    run = store.get_run(run_id)
    assert isinstance(run, Run), run
    return run


def raw_rows(store: SqlRunStore, run_id: str) -> tuple[object, ...]:
    """Every stored column of the run, its node results and its event count, as stored."""
    with store.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        nodes = conn.execute(
            select(node_results)
            .where(node_results.c.run_id == run_id)
            .order_by(node_results.c.node_id)
        ).all()
        events = conn.execute(
            select(func.count()).select_from(run_events).where(run_events.c.run_id == run_id)
        ).scalar_one()
    return (tuple(row), tuple(tuple(node) for node in nodes), events)
