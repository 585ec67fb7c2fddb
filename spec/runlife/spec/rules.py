"""The store's rules as a table, so a weakened spec can swap one rule and keep the rest.

``CORRECT`` is the spec. Each variant in :mod:`runlife.spec.variants` replaces one or two
entries with the historical bug it re-creates; the machines call the store only through a
``Rules`` value, so exploring a variant is exploring the same machine with other rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runlife.spec import store
from runlife.spec.records import GateSpec, NodeResult, Timing
from runlife.spec.results import GateDecision
from runlife.spec.store import Step, StoreState


class ResumeRule(Protocol):
    """The shape of :func:`runlife.spec.store.resume_run`."""

    def __call__(
        self,
        state: StoreState,
        run_id: str,
        holder: str,
        timing: Timing,
        expected_epoch: int | None = None,
        /,
    ) -> Step: ...


@dataclass(frozen=True)
class Rules:
    """One callable per store operation (signatures as in :mod:`runlife.spec.store`)."""

    start_run: Callable[[StoreState, str, str, Timing], Step] = store.start_run
    resume_run: ResumeRule = store.resume_run
    heartbeat: Callable[[StoreState, str, int, Timing], Step] = store.heartbeat
    pause_at_gate: Callable[[StoreState, str, int, GateSpec], Step] = store.pause_at_gate
    complete_run: Callable[[StoreState, str, int], Step] = store.complete_run
    fail_run: Callable[[StoreState, str, int, str], Step] = store.fail_run
    cancel_run: Callable[[StoreState, str], Step] = store.cancel_run
    abandon_run: Callable[[StoreState, str], Step] = store.abandon_run
    find_resumable: Callable[[StoreState, str, str | None, str, Timing], Step] = (
        store.find_resumable
    )
    resolve_gate: Callable[[StoreState, str, GateDecision], Step] = store.resolve_gate
    record_node_result: Callable[[StoreState, str, int, NodeResult], Step] = (
        store.record_node_result
    )
    save_loop_session: Callable[[StoreState, str, int, str, int, str], Step] = (
        store.save_loop_session
    )
    invalidate_nodes: Callable[[StoreState, str, str, bool], Step] = store.invalidate_nodes


CORRECT = Rules()
