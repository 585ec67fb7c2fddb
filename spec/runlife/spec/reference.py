"""The spec as a store: a thread-safe :class:`~runlife.spec.contract.RunStore` over the spec's
own state and rules.

It is the oracle in object form. The conformance kit steps it beside the store under test,
tests drive the orchestrator with it, and it is what a correct store must be indistinguishable
from. It is not a store to keep data in: it lives in memory and forgets on exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from runlife.spec import store as spec
from runlife.spec.contract import Capability
from runlife.spec.limits import check_run_id
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
    Result,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Transitioned,
)
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import StoreState


class ModelStore:
    """A run store whose every answer is the spec's answer."""

    capabilities = frozenset({Capability.CLOCK, Capability.RESET})

    def __init__(self, timing: Timing | None = None, rules: Rules = CORRECT) -> None:
        self.timing = timing or Timing(lease_ttl=30, stale_after=60)
        self.rules = rules
        self.state = StoreState()
        self._lock = threading.Lock()

    def _apply(self, action: Callable[[StoreState], spec.Step]) -> Result:
        with self._lock:
            self.state, result = action(self.state)
            return result

    def _read(self, run_id: str) -> Run | RunNotFound | InvalidInput:
        bad = check_run_id(run_id)
        if bad is not None:
            return bad
        run = self.state.get(run_id)
        return RunNotFound(run_id) if run is None else run

    def create_run(self, new: NewRun) -> Created | InvalidInput:
        with self._lock:
            run_id = f"r{len(self.state.runs)}"
            self.state, result = spec.create_run(self.state, new, run_id)
            return result  # type: ignore[return-value]

    def get_run(self, run_id: str) -> Run | RunNotFound | InvalidInput:
        return self._read(run_id)

    def find_resumable(
        self, workflow: str, conversation_id: str | None, codebase: str
    ) -> Found | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.find_resumable(s, workflow, conversation_id, codebase, self.timing)
        )

    def start_run(
        self, run_id: str, holder: str
    ) -> Claimed | RunNotStartable | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.start_run(s, run_id, holder, self.timing)
        )

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.resume_run(s, run_id, holder, self.timing, expected_epoch)
        )

    def heartbeat(
        self, run_id: str, epoch: int
    ) -> Renewed | StaleClaim | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.heartbeat(s, run_id, epoch, self.timing)
        )

    def pause_at_gate(
        self, run_id: str, epoch: int, gate: GateSpec
    ) -> Transitioned | RunNotFound | InvalidInput | StaleClaim:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.pause_at_gate(s, run_id, epoch, gate)
        )

    def resolve_gate(
        self, run_id: str, decision: GateDecision
    ) -> GateResolved | GateNotOpen | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.resolve_gate(s, run_id, decision)
        )

    def complete_run(
        self, run_id: str, epoch: int
    ) -> Transitioned | RunNotFound | InvalidInput | StaleClaim:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.complete_run(s, run_id, epoch)
        )

    def fail_run(
        self, run_id: str, epoch: int, error: str
    ) -> Transitioned | RunNotFound | InvalidInput | StaleClaim:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.fail_run(s, run_id, epoch, error)
        )

    def cancel_run(self, run_id: str) -> CancelOutcome | RunNotFound | InvalidInput:
        return self._apply(lambda s: self.rules.cancel_run(s, run_id))  # type: ignore[return-value]

    def abandon_run(
        self, run_id: str
    ) -> Transitioned | RunAlreadyTerminal | RunNotFound | InvalidInput:
        return self._apply(lambda s: self.rules.abandon_run(s, run_id))  # type: ignore[return-value]

    def record_node_result(
        self, run_id: str, epoch: int, result: NodeResult
    ) -> Recorded | StaleClaim | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.record_node_result(s, run_id, epoch, result)
        )

    def node_results(self, run_id: str) -> Mapping[str, NodeResult] | RunNotFound | InvalidInput:
        run = self._read(run_id)
        return {n.node_id: n for n in run.nodes} if isinstance(run, Run) else run

    def invalidate_nodes(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: spec.invalidate_nodes(s, run_id, node_id, downstream)
        )

    def save_loop_session(
        self, run_id: str, epoch: int, node_id: str, iteration: int, session_id: str
    ) -> Recorded | StaleClaim | RunNotFound | InvalidInput:
        return self._apply(  # type: ignore[return-value]
            lambda s: self.rules.save_loop_session(s, run_id, epoch, node_id, iteration, session_id)
        )

    def loop_session(self, run_id: str) -> LoopSession | RunNotFound | InvalidInput | None:
        run = self._read(run_id)
        return run.loop if isinstance(run, Run) else run

    def now(self) -> float:
        return self.state.clock

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self.state = spec.tick(self.state, seconds)

    def reset(self) -> None:
        with self._lock:
            self.state = StoreState()

    def close(self) -> None:
        """Nothing to release."""
