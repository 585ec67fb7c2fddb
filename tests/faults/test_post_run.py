"""The post-run invariant check finds every kind of breach it names, and nothing in sound stores.

Rows are corrupted behind the store's back (a raw UPDATE or DELETE, as a buggy store or an
operator would), on every database for the SQL fast path, and in the spec's own store for the
path through the contract. Each corruption must be reported as exactly the invariant it breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update
from tests.conftest import StoreFactory
from tests.impl.store_helpers import claimed, completed, failed, paused

from runlife.conformance.post_run import Invariant, check, snapshot
from runlife.impl import ManualClock, SqlRunStore
from runlife.impl.schema import run_events, runs
from runlife.spec.records import Claim, NewRun
from runlife.spec.reference import ModelStore
from runlife.spec.results import Claimed, Created, Status, Transitioned

pytestmark = pytest.mark.breaks_invariants


def _rewrite(store: SqlRunStore, run_id: str, **values: Any) -> None:
    """Change the run's row as a store would (one new version, so the log gets an event)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(version=runs.c.version + 1, last_action="corrupt", **values)
        )


def _last_event(store: SqlRunStore, run_id: str, **values: Any) -> None:
    with store.engine.begin() as conn:
        version = conn.execute(runs.select().where(runs.c.id == run_id)).one().version
        conn.execute(
            update(run_events)
            .where(run_events.c.run_id == run_id, run_events.c.version == version)
            .values(**values)
        )


def _remove(store: SqlRunStore, run_id: str, table: Any = runs) -> None:
    with store.engine.begin() as conn:
        column = table.c.id if table is runs else table.c.run_id
        if table is run_events:
            conn.execute(delete(table).where(column == run_id, table.c.version == 1))
        else:
            conn.execute(delete(table).where(column == run_id))


CORRUPTIONS: dict[Invariant, Callable[[SqlRunStore], str]] = {
    Invariant.RUNNING_WITHOUT_CLAIM: lambda s: _then(
        s, claimed(s)[0], claim_holder=None, claim_epoch=None, lease_expires=None
    ),
    Invariant.CLAIM_ON_IDLE_RUN: lambda s: _then(
        s, completed(s), claim_holder="ghost", claim_epoch=1, lease_expires=1e9
    ),
    Invariant.CLAIM_NOT_CURRENT: lambda s: _then(s, claimed(s)[0], claim_epoch=0),
    # A refused holder that keeps touching the run: its lease ran out long ago, yet the run
    # never looks idle, so nobody may resume it.
    Invariant.STUCK: lambda s: _then(
        s, claimed(s, workflow="stuck")[0], lease_expires=-1000, last_activity_at=0
    ),
    Invariant.EPOCH_NOT_MONOTONIC: lambda s: _then(s, failed(s), epoch=0),
    Invariant.TERMINAL_LEFT: lambda s: _then(s, completed(s), status="failed"),
}
"""Invariant -> make a run that breaks it (through a changed row, so the log stays whole)."""


def _then(store: SqlRunStore, run_id: str, **values: Any) -> str:
    _rewrite(store, run_id, **values)
    return run_id


@pytest.mark.parametrize("invariant", CORRUPTIONS)
def test_the_sql_fast_path_finds_each_corrupted_row(
    make_store: StoreFactory, invariant: Invariant
) -> None:
    store = make_store(clock=ManualClock())
    sound = [claimed(store)[0], failed(store), paused(store), completed(store)]
    run_id = CORRUPTIONS[invariant](store)
    found = check(store)
    assert {(b.invariant, b.run) for b in found} == {(invariant, run_id)}, found
    assert check(store, sound) == found


def test_the_event_log_must_tell_the_rows_story(make_store: StoreFactory) -> None:
    store = make_store(clock=ManualClock())
    unlogged, disagreeing, vanished = failed(store), completed(store), paused(store)
    _remove(store, unlogged, run_events)
    _last_event(store, disagreeing, status="running")
    _remove(store, vanished)
    found = {(b.invariant, b.run) for b in check(store)}
    assert found == {
        (Invariant.LOG_INCOMPLETE, unlogged),
        (Invariant.LOG_DISAGREES, disagreeing),
        (Invariant.RUN_LOST, vanished),
    }


def test_a_healthy_orphan_is_not_stuck_and_an_expired_lease_has_its_grace(
    make_store: StoreFactory,
) -> None:
    clock = ManualClock()
    store = make_store(clock=clock)
    run_id, _ = claimed(store)
    for seconds in (store.timing.lease_ttl, store.timing.stale_after):
        clock.advance(seconds)
        assert check(store) == [] and check(store, [run_id], tables=False) == []


def test_the_contract_path_agrees_with_the_fast_path(make_store: StoreFactory) -> None:
    store = make_store(clock=ManualClock())
    corrupted = {invariant: make(store) for invariant, make in CORRUPTIONS.items()}
    seen_by_rows = set(CORRUPTIONS) - {Invariant.EPOCH_NOT_MONOTONIC, Invariant.TERMINAL_LEFT}
    by_contract = {(b.invariant, b.run) for b in check(store, corrupted.values(), tables=False)}
    assert by_contract == {(i, corrupted[i]) for i in seen_by_rows}


# --- through the contract, on any store --------------------------------------------------------


def _model_run(store: ModelStore, **changes: Any) -> str:
    created = store.create_run(NewRun("wf", "m"))
    assert isinstance(created, Created)
    claim = store.start_run(created.run_id, "a")
    assert isinstance(claim, Claimed)
    run = store.state.get(created.run_id)
    assert run is not None
    store.state = store.state.put(replace(run, **changes))
    return created.run_id


def test_the_contract_path_finds_broken_runs_in_any_store() -> None:
    store = ModelStore()
    store.advance_clock(1000)
    cases = {
        Invariant.RUNNING_WITHOUT_CLAIM: _model_run(store, claim=None),
        Invariant.CLAIM_ON_IDLE_RUN: _model_run(store, status=Status.COMPLETED),
        Invariant.CLAIM_NOT_CURRENT: _model_run(store, epoch=2),
        Invariant.STUCK: _model_run(
            store, claim=Claim("a", 1, 0), last_activity_at=store.now(), workflow="stuck"
        ),
    }
    fine = _model_run(store)
    found = {(b.invariant, b.run) for b in check(store, [*cases.values(), fine])}
    assert found == {(invariant, run_id) for invariant, run_id in cases.items()}


def test_history_says_what_must_still_hold() -> None:
    store = ModelStore()
    done, lost, gone, skipped = (_model_run(store) for _ in range(4))
    for run_id in (done, lost):
        assert store.complete_run(run_id, 1) == Transitioned(run_id, Status.COMPLETED)
    before = snapshot(store, [done, lost, gone, skipped])
    answered: list[object] = [Transitioned(lost, Status.COMPLETED)] * 2
    answered += [Claimed(skipped, "a", 3, 30), Claimed(skipped, "b", 3, 30)]
    changed = {
        lost: replace(before[lost], status=Status.RUNNING, claim=Claim("a", 1, 30)),
        skipped: replace(before[skipped], epoch=0, claim=Claim("a", 0, 30)),
    }
    store.state = replace(
        store.state,
        runs=tuple(changed.get(r.id, r) for r in store.state.runs if r.id != gone),
    )
    found = {(b.invariant, b.run) for b in check(store, before=before, acknowledged=answered)}
    assert found == {
        (Invariant.TERMINAL_LEFT, lost),
        (Invariant.ACKNOWLEDGED_LOST, lost),
        (Invariant.FINISHED_TWICE, lost),
        (Invariant.RUN_LOST, gone),
        (Invariant.EPOCH_NOT_MONOTONIC, skipped),
        (Invariant.ACKNOWLEDGED_LOST, skipped),
        (Invariant.DOUBLE_CLAIM, skipped),
    }
    assert done not in {run for _, run in found}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sound_stores_have_nothing_to_report(make_store: StoreFactory) -> None:
    store = make_store(clock=ManualClock())
    ids = [claimed(store)[0], failed(store), paused(store), completed(store)]
    assert check(store, ids) == [] and check(store, ids, tables=False) == []
    model = ModelStore()
    assert check(model, [_model_run(model)]) == []


def test_every_invariant_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert [i for i in Invariant if f"| {i} |" not in doc] == []
