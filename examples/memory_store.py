"""An in-memory run store, written the way a third party would write one.

It keeps runs in a dict behind one lock and decides every transition itself: it does not use
runlife's spec or reference store, only the shared vocabulary (result and record types, the
contract's capabilities, the input limits). ``runlife check examples.memory_store:make_store``
proves it conforms; docs/third-party-stores.md walks through it.

Every operation takes the lock, checks its guard on the current row, and writes the new row:
the in-memory equivalent of one guarded ``UPDATE ... WHERE status = ...``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import replace

from runlife.spec.contract import Capability
from runlife.spec.limits import check_gate, check_name, check_new_run, check_run_id, check_text
from runlife.spec.records import (
    Claim,
    Gate,
    GateSpec,
    LoopSession,
    NewRun,
    NodeResult,
    Run,
    Timing,
)
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    GateDecision,
    GateNotOpen,
    GateResolved,
    GateState,
    Invalidated,
    InvalidInput,
    Recorded,
    Renewed,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Status,
    Transitioned,
)

FINISHED = (Status.COMPLETED, Status.CANCELLED)


class MemoryRunStore:
    """Runs in a dict, one lock, a clock the tests move by hand."""

    capabilities = frozenset({Capability.CLOCK, Capability.RESET})

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing(lease_ttl=30, stale_after=60)
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._clock = 0.0
        self._ids = itertools.count(1)

    # -- helpers (call with the lock held) ------------------------------------------------------

    def _find(self, run_id: str) -> Run | RunNotFound | InvalidInput:
        bad = check_run_id(run_id)
        if bad is not None:
            return bad
        run = self._runs.get(run_id)
        return run if run is not None else RunNotFound(run_id)

    def _is_resumable(self, run: Run) -> bool:
        if run.status in (Status.FAILED, Status.PAUSED):
            return True
        idle = self._clock - run.last_activity_at
        return run.status == Status.RUNNING and idle >= self.timing.stale_after

    def _claim(self, run: Run, holder: str) -> Claimed:
        epoch = run.epoch + 1
        expires = self._clock + self.timing.lease_ttl
        self._runs[run.id] = replace(
            run,
            status=Status.RUNNING,
            started_at=self._clock if run.started_at is None else run.started_at,
            last_activity_at=self._clock,
            error=None,
            claim=Claim(holder, epoch, expires),
            epoch=epoch,
        )
        return Claimed(run.id, holder, epoch, expires)

    def _held(
        self, run_id: str, epoch: int, bad: InvalidInput | None = None
    ) -> Run | StaleClaim | RunNotFound | InvalidInput:
        """The run, if ``epoch`` still holds it; else why not (unknown run, bad input, or an
        executor that lost the run: fencing)."""
        run = self._find(run_id)
        if not isinstance(run, Run):
            return run
        if bad is not None:
            return bad
        if run.status != Status.RUNNING or run.claim is None or run.claim.epoch != epoch:
            return StaleClaim(run_id, epoch, run.epoch, run.status)
        return run

    def _move(self, run: Run, status: Status, **changes: object) -> Transitioned:
        finished = status in FINISHED
        self._runs[run.id] = replace(
            run,
            status=status,
            claim=None,
            last_activity_at=self._clock,
            completed_at=self._clock if finished else run.completed_at,
            **changes,  # type: ignore[arg-type]
        )
        return Transitioned(run.id, status)

    # -- the contract ------------------------------------------------------------------------

    def create_run(self, new: NewRun) -> Created | InvalidInput:
        bad = check_new_run(new)
        if bad is not None:
            return bad
        with self._lock:
            run_id = f"mem-{next(self._ids)}"
            self._runs[run_id] = Run(
                id=run_id,
                workflow=new.workflow,
                user_message=new.user_message,
                codebase=new.codebase,
                conversation=new.conversation,
                working_path=new.working_path,
                created_at=self._clock,
                last_activity_at=self._clock,
            )
            return Created(run_id)

    def get_run(self, run_id: str) -> Run | RunNotFound | InvalidInput:
        with self._lock:
            return self._find(run_id)

    def find_resumable(
        self, workflow: str, conversation_id: str | None, codebase: str
    ) -> Found | InvalidInput:
        with self._lock:
            for run in reversed(self._runs.values()):  # dicts keep creation order
                conversation = run.conversation.id if run.conversation else None
                same = (run.workflow, conversation, run.codebase) == (
                    workflow,
                    conversation_id,
                    codebase,
                )
                if same and self._is_resumable(run):
                    return Found(run.id)
            return Found(None)

    def start_run(
        self, run_id: str, holder: str
    ) -> Claimed | RunNotStartable | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            bad = check_name("holder", holder)
            if bad is not None:
                return bad
            if run.status != Status.PENDING:
                return RunNotStartable(run_id, run.status)
            return self._claim(run, holder)

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            bad = check_name("holder", holder)
            if bad is not None:
                return bad
            moved = expected_epoch is not None and run.epoch != expected_epoch  # claimed since
            if moved or not self._is_resumable(run):
                return RunNotResumable(run_id, run.status)
            return self._claim(run, holder)

    def heartbeat(
        self, run_id: str, epoch: int
    ) -> Renewed | StaleClaim | RunNotFound | InvalidInput:
        with self._lock:
            run = self._held(run_id, epoch)
            if not isinstance(run, Run):
                return run
            assert run.claim is not None  # _held found the run claimed under epoch
            expires = self._clock + self.timing.lease_ttl
            claim = replace(run.claim, lease_expires=expires)
            self._runs[run_id] = replace(run, claim=claim, last_activity_at=self._clock)
            return Renewed(run_id, epoch, expires)

    def pause_at_gate(
        self, run_id: str, epoch: int, gate: GateSpec
    ) -> Transitioned | StaleClaim | RunNotFound | InvalidInput:
        with self._lock:
            run = self._held(run_id, epoch, check_gate(gate))
            if not isinstance(run, Run):
                return run
            # Coming back to the gate a rework started from keeps its rejection count.
            kept = run.gate.rejections if run.gate and run.gate.spec.node_id == gate.node_id else 0
            return self._move(run, Status.PAUSED, gate=Gate(gate, GateState.OPEN, kept))

    def resolve_gate(
        self, run_id: str, decision: GateDecision
    ) -> GateResolved | GateNotOpen | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            gate = run.gate
            if run.status != Status.PAUSED or gate is None or gate.state != GateState.OPEN:
                return GateNotOpen(run_id, run.status, gate.state if gate else None)
            if decision == GateDecision.APPROVE:
                approved = replace(gate, state=GateState.APPROVED, rejections=0)
                self._runs[run_id] = replace(run, gate=approved, last_activity_at=self._clock)
                return GateResolved(run_id, decision, GateState.APPROVED, Status.PAUSED, 0)
            rejections = gate.rejections + 1
            if gate.spec.on_reject and rejections < gate.spec.max_attempts:
                rework = replace(gate, state=GateState.REWORK, rejections=rejections)
                self._runs[run_id] = replace(run, gate=rework, last_activity_at=self._clock)
                return GateResolved(run_id, decision, GateState.REWORK, Status.PAUSED, rejections)
            self._move(run, Status.CANCELLED, gate=replace(gate, rejections=rejections))
            return GateResolved(run_id, decision, None, Status.CANCELLED, rejections)

    def complete_run(
        self, run_id: str, epoch: int
    ) -> Transitioned | StaleClaim | RunNotFound | InvalidInput:
        with self._lock:
            run = self._held(run_id, epoch)
            return self._move(run, Status.COMPLETED, gate=None) if isinstance(run, Run) else run

    def fail_run(
        self, run_id: str, epoch: int, error: str
    ) -> Transitioned | StaleClaim | RunNotFound | InvalidInput:
        with self._lock:
            run = self._held(run_id, epoch, check_text("error", error))
            return self._move(run, Status.FAILED, error=error) if isinstance(run, Run) else run

    def cancel_run(self, run_id: str) -> CancelOutcome | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            if run.status in FINISHED:
                return CancelOutcome(run_id, False, run.status)
            self._move(run, Status.CANCELLED)
            return CancelOutcome(run_id, True, Status.CANCELLED)

    def abandon_run(
        self, run_id: str
    ) -> Transitioned | RunAlreadyTerminal | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            if run.status in FINISHED:
                return RunAlreadyTerminal(run_id, run.status)
            return self._move(run, Status.CANCELLED)

    def record_node_result(
        self, run_id: str, epoch: int, result: NodeResult
    ) -> Recorded | StaleClaim | RunNotFound | InvalidInput:
        bad = check_name("node_id", result.node_id) or check_text("output", result.output)
        with self._lock:
            run = self._held(run_id, epoch, bad)
            if not isinstance(run, Run):
                return run
            nodes = {n.node_id: n for n in run.nodes}
            nodes[result.node_id] = replace(result, invalidated=False)
            self._runs[run_id] = replace(run, nodes=tuple(nodes[k] for k in sorted(nodes)))
            return Recorded(run_id, result.node_id)

    def node_results(self, run_id: str) -> Mapping[str, NodeResult] | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            return {n.node_id: n for n in run.nodes} if isinstance(run, Run) else run

    def invalidate_nodes(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | RunNotFound | InvalidInput:
        with self._lock:
            run = self._find(run_id)
            if not isinstance(run, Run):
                return run
            bad = check_name("node_id", node_id)
            if bad is not None:
                return bad
            hit = {node_id}
            while downstream:
                consumers = {n.node_id for n in run.nodes if hit & set(n.depends_on)} - hit
                if not consumers:
                    break
                hit |= consumers
            nodes = tuple(
                replace(n, invalidated=True) if n.node_id in hit else n for n in run.nodes
            )
            self._runs[run_id] = replace(run, nodes=nodes)
            return Invalidated(
                run_id, tuple(sorted(n.node_id for n in run.nodes if n.node_id in hit))
            )

    def save_loop_session(
        self, run_id: str, epoch: int, node_id: str, iteration: int, session_id: str
    ) -> Recorded | StaleClaim | RunNotFound | InvalidInput:
        bad = check_name("node_id", node_id) or check_name("session_id", session_id)
        with self._lock:
            run = self._held(run_id, epoch, bad)
            if not isinstance(run, Run):
                return run
            session = LoopSession(node_id, iteration, session_id, self._clock)
            self._runs[run_id] = replace(run, loop=session)
            return Recorded(run_id, node_id)

    def loop_session(self, run_id: str) -> LoopSession | RunNotFound | InvalidInput | None:
        with self._lock:
            run = self._find(run_id)
            return run.loop if isinstance(run, Run) else run

    def now(self) -> float:
        return self._clock

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self._clock += seconds

    def reset(self) -> None:
        with self._lock:
            self._runs.clear()

    def close(self) -> None:
        """Nothing to release."""


def make_store() -> MemoryRunStore:
    """The factory ``runlife check examples.memory_store:make_store`` calls."""
    return MemoryRunStore()
