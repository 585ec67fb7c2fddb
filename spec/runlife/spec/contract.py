"""The run store contract: what any store (ours or a third party's) must implement.

Each method corresponds to one action of :mod:`runlife.spec.store` and answers with the same
result and refusal values. A store never raises for a refusal: unknown ids, stale epochs, lost
races and bad input are all answered with values. An exception from a store method means the
store is broken (the conformance kit reports it as such).

Optional capabilities are declared in ``capabilities``. The core operations cannot be
declared away; the kit reports a family that needs a missing capability as "not exercised".
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol, runtime_checkable

from runlife.spec.records import GateSpec, LoopSession, NewRun, NodeResult, Run, Timing
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    GateDecision,
    GateNotOpen,
    GateResolved,
    Invalidated,
    InvalidInput,
    Recorded,
    Renewed,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Transitioned,
)


class Capability(StrEnum):
    """Optional powers a store may declare."""

    CLOCK = "clock"
    """``advance_clock(seconds)`` moves the store's clock, so lease expiry can be tested."""
    RESET = "reset"
    """``reset()`` empties the store, so many examples can run on one store."""
    PROCESSES = "processes"
    """``connect_url()`` returns a URL that other OS processes can open the same store with."""


Lookup = RunNotFound | InvalidInput
Write = Transitioned | Lookup | StaleClaim


@runtime_checkable
class RunStore(Protocol):
    """A persistent store of workflow runs, safe under concurrent callers."""

    capabilities: frozenset[Capability]
    timing: Timing

    def create_run(self, new: NewRun) -> Created | InvalidInput:
        """Store a new pending run; the store chooses its id."""
        ...

    def get_run(self, run_id: str) -> Run | Lookup:
        """The run as stored now."""
        ...

    def find_resumable(
        self, workflow: str, conversation_id: str | None, codebase: str
    ) -> Found | InvalidInput:
        """The most recently created resumable run for this workflow, conversation, codebase."""
        ...

    def start_run(self, run_id: str, holder: str) -> Claimed | RunNotStartable | Lookup:
        """pending -> running under epoch 1, if no cancel won first."""
        ...

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | Lookup:
        """Claim a resumable run in one compare-and-swap; the epoch goes up. With
        ``expected_epoch``, only if the run's epoch is still that one."""
        ...

    def heartbeat(self, run_id: str, epoch: int) -> Renewed | StaleClaim | Lookup:
        """The holder of ``epoch`` extends its lease."""
        ...

    def pause_at_gate(self, run_id: str, epoch: int, gate: GateSpec) -> Write:
        """The holder pauses the run at an approval gate."""
        ...

    def resolve_gate(
        self, run_id: str, decision: GateDecision
    ) -> GateResolved | GateNotOpen | Lookup:
        """Approve or reject the open gate of a paused run (one decision wins)."""
        ...

    def complete_run(self, run_id: str, epoch: int) -> Write:
        """The holder completes the run."""
        ...

    def fail_run(self, run_id: str, epoch: int, error: str) -> Write:
        """The holder fails the run with an error message."""
        ...

    def cancel_run(self, run_id: str) -> CancelOutcome | Lookup:
        """Cancel unless finished; says truthfully whether anything changed."""
        ...

    def abandon_run(self, run_id: str) -> Transitioned | RunAlreadyTerminal | Lookup:
        """Discard a pending, running, paused or failed run."""
        ...

    def record_node_result(
        self, run_id: str, epoch: int, result: NodeResult
    ) -> Recorded | StaleClaim | Lookup:
        """The holder records a node's output under its identity."""
        ...

    def node_results(self, run_id: str) -> Mapping[str, NodeResult] | Lookup:
        """The recorded node results of a run, by node id."""
        ...

    def invalidate_nodes(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | Lookup:
        """Make a node's cached result (and optionally its consumers') unusable on resume."""
        ...

    def save_loop_session(
        self, run_id: str, epoch: int, node_id: str, iteration: int, session_id: str
    ) -> Recorded | StaleClaim | Lookup:
        """The holder stores the provider session a loop iteration used."""
        ...

    def loop_session(self, run_id: str) -> LoopSession | Lookup | None:
        """The loop session last saved for the run, if any."""
        ...

    def now(self) -> float:
        """The store's current time, in the unit of ``timing``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ClockControl(Protocol):
    """A store with the ``clock`` capability."""

    def advance_clock(self, seconds: float) -> None: ...


class Resettable(Protocol):
    """A store with the ``reset`` capability."""

    def reset(self) -> None: ...


class MultiProcess(Protocol):
    """A store with the ``processes`` capability."""

    def connect_url(self) -> str: ...


CORE_METHODS: tuple[str, ...] = (
    "create_run",
    "get_run",
    "find_resumable",
    "start_run",
    "resume_run",
    "heartbeat",
    "pause_at_gate",
    "resolve_gate",
    "complete_run",
    "fail_run",
    "cancel_run",
    "abandon_run",
    "record_node_result",
    "node_results",
    "invalidate_nodes",
    "save_loop_session",
    "loop_session",
    "now",
    "close",
)
"""Methods every store must have; none of them can be declared away."""

CAPABILITY_METHODS: Mapping[Capability, str] = {
    Capability.CLOCK: "advance_clock",
    Capability.RESET: "reset",
    Capability.PROCESSES: "connect_url",
}


def missing_methods(store: object) -> list[str]:
    """Core and declared-capability methods the object lacks (empty for a valid store)."""
    declared: frozenset[Capability] = getattr(store, "capabilities", frozenset())
    wanted = [*CORE_METHODS, *(CAPABILITY_METHODS[c] for c in declared)]
    missing = [name for name in wanted if not callable(getattr(store, name, None))]
    for attribute in ("capabilities", "timing"):
        if not hasattr(store, attribute):
            missing.append(attribute)
    return missing
