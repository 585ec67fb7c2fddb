"""Stores broken on purpose, for the conformance kit's own tests (``module:factory`` targets).

Each is the spec's store with one rule swapped for the historical bug it re-creates (the
weakened rules of :mod:`runlife.spec.variants`), or a store that raises, hangs, or is not a
store at all. The kit must catch every one of them.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from runlife.spec import variants
from runlife.spec.contract import Capability
from runlife.spec.records import NewRun
from runlife.spec.reference import ModelStore
from runlife.spec.results import Created, StaleClaim
from runlife.spec.rules import CORRECT


def resurrecting_cancel() -> ModelStore:
    """Seed 001: cancel is ``WHERE id = ?``; it resurrects and re-stamps finished runs."""
    return ModelStore(rules=replace(CORRECT, cancel_run=variants.cancel_without_terminal_guard))


def unguarded_resume() -> ModelStore:
    """Seed 001: resume has no status guard; a second resumer takes a live run."""
    return ModelStore(rules=replace(CORRECT, resume_run=variants.resume_without_status_guard))


def abandon_refusing_failed() -> ModelStore:
    """Seed 000: abandon refuses failed runs as if they were terminal."""
    return ModelStore(rules=replace(CORRECT, abandon_run=variants.abandon_refusing_failed))


class TouchyHeartbeat(ModelStore):
    """Refuses a stale heartbeat with the right answer, but re-stamps the run's start time."""

    def heartbeat(self, run_id: str, epoch: int) -> Any:
        result = super().heartbeat(run_id, epoch)
        run = self.state.get(run_id)
        if isinstance(result, StaleClaim) and run is not None:
            self.state = self.state.put(replace(run, started_at=self.state.clock))
        return result


class WithoutClock(ModelStore):
    """A correct store that does not let anyone move its clock."""

    capabilities = frozenset({Capability.RESET})


class RaisingStart(ModelStore):
    """Raises instead of answering a start."""

    def start_run(self, run_id: str, holder: str) -> Any:
        raise RuntimeError("connection reset by peer")


class HangingResume(ModelStore):
    """Never answers a resume (a lock wait with no timeout)."""

    def resume_run(self, run_id: str, holder: str, expected_epoch: int | None = None) -> Any:
        time.sleep(60)
        return super().resume_run(run_id, holder, expected_epoch)


def not_a_store() -> object:
    """A factory returning something that is not a store."""
    return {"runs": []}


def exploding_factory() -> ModelStore:
    raise ConnectionError("cannot reach the store's server")


class WithoutReset(ModelStore):
    """A correct store that cannot be emptied: the kit must open a new one per case."""

    capabilities = frozenset({Capability.CLOCK})
    opened = 0

    def __init__(self) -> None:
        super().__init__()
        type(self).opened += 1


class DedupingCreate(ModelStore):
    """Hands back the existing run of the same workflow instead of creating another."""

    def create_run(self, new: NewRun) -> Any:
        same = [r.id for r in self.state.runs if r.workflow == new.workflow]
        return Created(same[0]) if same else super().create_run(new)
