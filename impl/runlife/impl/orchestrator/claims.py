"""An executor's claim on a run: every write carries the claim's epoch, and a refused write
means the claim is lost (someone cancelled the run or took it over), so the executor stops."""

from __future__ import annotations

from typing import TypeVar

from runlife.spec.contract import RunStore
from runlife.spec.records import GateSpec, LoopSession, NodeResult, Run
from runlife.spec.results import InvalidInput, RunNotFound, StaleClaim

Answer = TypeVar("Answer")
Refusal = StaleClaim | RunNotFound | InvalidInput


class ClaimLost(Exception):
    """A write under the claim was refused; ``refusal`` says why. The executor stops."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"claim lost: {refusal}")
        self.refusal = refusal


class Fenced:
    """The writes of the executor holding run ``run_id`` under ``epoch``."""

    def __init__(self, store: RunStore, run_id: str, epoch: int) -> None:
        self.store, self.run_id, self.epoch = store, run_id, epoch

    def heartbeat(self) -> None:
        """Extend the lease (and prove the claim still holds) before the next piece of work."""
        _held(self.store.heartbeat(self.run_id, self.epoch))

    def record(self, result: NodeResult) -> None:
        _held(self.store.record_node_result(self.run_id, self.epoch, result))

    def save_session(self, node_id: str, iteration: int, session_id: str) -> None:
        _held(self.store.save_loop_session(self.run_id, self.epoch, node_id, iteration, session_id))

    def pause(self, gate: GateSpec) -> None:
        _held(self.store.pause_at_gate(self.run_id, self.epoch, gate))

    def complete(self) -> None:
        _held(self.store.complete_run(self.run_id, self.epoch))

    def fail(self, error: str) -> None:
        _held(self.store.fail_run(self.run_id, self.epoch, error))

    def run(self) -> Run:
        """The run as stored now (read after the claim, so its gate decision is current)."""
        return _held(self.store.get_run(self.run_id))

    def recorded(self) -> dict[str, NodeResult]:
        """The run's recorded node results, by node id."""
        return dict(_held(self.store.node_results(self.run_id)))

    def loop_session(self, node_id: str) -> LoopSession | None:
        """The session loop node ``node_id`` saved last; None if the last one was another's."""
        session = _held(self.store.loop_session(self.run_id))
        return session if session is not None and session.node_id == node_id else None


def _held(answer: Answer | Refusal) -> Answer:
    """``answer``, unless it is a refusal: then the claim is lost."""
    if isinstance(answer, StaleClaim | RunNotFound | InvalidInput):
        raise ClaimLost(answer)
    return answer
