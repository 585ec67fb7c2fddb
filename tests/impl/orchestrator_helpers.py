"""Builders for the orchestrator tests: a store of each kind, and small workflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runlife.impl import ManualClock, SqlRunStore
from runlife.impl.orchestrator import Executed, Execution
from runlife.impl.orchestrator.dispatch import DispatchResult
from runlife.spec.contract import ClockControl, RunStore
from runlife.spec.records import Run
from runlife.spec.reference import ModelStore


@pytest.fixture(params=["model", "sqlite"])
def any_store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    """The spec as a store, and the SQL store on in-memory SQLite; both on a manual clock."""
    if request.param == "model":
        yield ModelStore()
        return
    with SqlRunStore.from_url("sqlite://", clock=ManualClock()) as store:
        yield store


def executed(result: DispatchResult | None) -> Execution:
    assert isinstance(result, Executed), result
    return result.execution


def stored(store: RunStore, run_id: str) -> Run:
    run = store.get_run(run_id)
    assert isinstance(run, Run), run
    return run


def advance(store: RunStore, seconds: float) -> None:
    clock: ClockControl = store  # type: ignore[assignment]
    clock.advance_clock(seconds)
