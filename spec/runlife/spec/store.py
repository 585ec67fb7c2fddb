"""The run store, specified: its state and one pure function per contract operation.

Every function here is an action in the TLA+ sense: its first lines are the guard (when the
operation takes effect), the rest is the effect. It returns the next state and a result value;
a refused operation returns the state unchanged with a typed refusal. Time is the state's
discrete ``clock``, advanced only by :func:`tick`.

This module is the oracle the SQL store and any third-party store are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from runlife.spec.limits import (
    check_count,
    check_gate,
    check_name,
    check_new_run,
    check_run_id,
    check_text,
)
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
    ABANDONABLE,
    TERMINAL,
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
    Result,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Status,
    Transitioned,
)


@dataclass(frozen=True, slots=True)
class StoreState:
    """Everything a run store holds, plus the clock it reads."""

    clock: float = 0
    runs: tuple[Run, ...] = ()

    def get(self, run_id: str) -> Run | None:
        for run in self.runs:
            if run.id == run_id:
                return run
        return None

    def put(self, run: Run) -> StoreState:
        return replace(self, runs=tuple(run if r.id == run.id else r for r in self.runs))


Step = tuple[StoreState, Result]


def resumable(run: Run, now: float, stale_after: float) -> bool:
    """The one resumable predicate, shared by find-resumable and resume (seed 001).

    Failed and paused runs are resumable; so is a running run whose last activity is at least
    ``stale_after`` old (an orphan whose executor died). A running run with recent activity is
    not: its holder is alive, and taking it over would put two executors in one worktree.
    """
    if run.status in (Status.FAILED, Status.PAUSED):
        return True
    return run.status is Status.RUNNING and now - run.last_activity_at >= stale_after


def _lookup(state: StoreState, run_id: str) -> Run | RunNotFound | InvalidInput:
    bad = check_run_id(run_id)
    if bad is not None:
        return bad
    run = state.get(run_id)
    return RunNotFound(run_id) if run is None else run


def _fence(run: Run, epoch: int) -> StaleClaim | None:
    """Refuse an executor write unless ``epoch`` still holds the running run."""
    if run.status is not Status.RUNNING or run.claim is None or run.claim.epoch != epoch:
        return StaleClaim(run.id, epoch, run.epoch, run.status)
    return None


def _claim(state: StoreState, run: Run, holder: str, timing: Timing) -> Step:
    """Give ``run`` to ``holder`` under the next epoch, with a fresh lease."""
    epoch = run.epoch + 1
    claim = Claim(holder, epoch, state.clock + timing.lease_ttl)
    started = run.started_at if run.started_at is not None else state.clock
    claimed = replace(
        run,
        status=Status.RUNNING,
        started_at=started,
        last_activity_at=state.clock,
        error=None,
        claim=claim,
        epoch=epoch,
    )
    return state.put(claimed), Claimed(run.id, holder, epoch, claim.lease_expires)


def _finish(state: StoreState, run: Run, status: Status, **changes: object) -> Step:
    """Move ``run`` to ``status``, releasing its claim; stamps completion for terminal ones."""
    completed = state.clock if status in TERMINAL else run.completed_at
    moved = replace(
        run,
        status=status,
        claim=None,
        last_activity_at=state.clock,
        completed_at=completed,
        **changes,  # type: ignore[arg-type]
    )
    return state.put(moved), Transitioned(run.id, status)


# --- lifecycle -----------------------------------------------------------------------------


def create_run(state: StoreState, new: NewRun, run_id: str) -> Step:
    """Store a new pending run under ``run_id`` (the caller, not the spec, chooses ids)."""
    bad = check_new_run(new) or check_run_id(run_id)
    if bad is not None:
        return state, bad
    if state.get(run_id) is not None:
        return state, InvalidInput("run_id", f"{run_id} exists already")
    run = Run(
        id=run_id,
        workflow=new.workflow,
        user_message=new.user_message,
        codebase=new.codebase,
        conversation=new.conversation,
        working_path=new.working_path,
        created_at=state.clock,
        last_activity_at=state.clock,
    )
    return replace(state, runs=(*state.runs, run)), Created(run_id)


def start_run(state: StoreState, run_id: str, holder: str, timing: Timing) -> Step:
    """pending -> running under a first claim. A cancel that won first sticks."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if bad := check_name("holder", holder):
        return state, bad
    if run.status is not Status.PENDING:
        return state, RunNotStartable(run_id, run.status)
    return _claim(state, run, holder, timing)


def resume_run(
    state: StoreState,
    run_id: str,
    holder: str,
    timing: Timing,
    expected_epoch: int | None = None,
) -> Step:
    """Claim a resumable run: a compare-and-swap on exactly :func:`resumable`.

    The epoch goes up, so whoever held the run before can no longer write to it; the activity
    time is refreshed, so a second resumer racing this one finds it not resumable. With
    ``expected_epoch`` the claim also requires the run to be in the very incarnation the caller
    looked at: a run that was claimed (and perhaps failed) since is refused (seed 000: a
    paused run must not turn into a failed run continued implicitly).
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if bad := check_name("holder", holder):
        return state, bad
    if not resumable(run, state.clock, timing.stale_after):
        return state, RunNotResumable(run_id, run.status)
    if expected_epoch is not None and run.epoch != expected_epoch:
        return state, RunNotResumable(run_id, run.status)
    return _claim(state, run, holder, timing)


def heartbeat(state: StoreState, run_id: str, epoch: int, timing: Timing) -> Step:
    """The holder of ``epoch`` extends its lease; a stale holder is refused."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if stale := _fence(run, epoch):
        return state, stale
    assert run.claim is not None
    claim = replace(run.claim, lease_expires=state.clock + timing.lease_ttl)
    renewed = replace(run, claim=claim, last_activity_at=state.clock)
    return state.put(renewed), Renewed(run_id, epoch, claim.lease_expires)


def pause_at_gate(state: StoreState, run_id: str, epoch: int, gate: GateSpec) -> Step:
    """running -> paused at an open approval gate; the claim is released.

    Pausing again at the gate a rework came from keeps its rejection count (seed 003).
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if bad := check_gate(gate):
        return state, bad
    if stale := _fence(run, epoch):
        return state, stale
    same_gate = run.gate is not None and run.gate.spec.node_id == gate.node_id
    rejections = run.gate.rejections if same_gate and run.gate is not None else 0
    return _finish(state, run, Status.PAUSED, gate=Gate(gate, GateState.OPEN, rejections))


def complete_run(state: StoreState, run_id: str, epoch: int) -> Step:
    """running -> completed, by the current holder only."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if stale := _fence(run, epoch):
        return state, stale
    return _finish(state, run, Status.COMPLETED, gate=None)


def fail_run(state: StoreState, run_id: str, epoch: int, error: str) -> Step:
    """running -> failed with ``error``, by the current holder only."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if bad := check_text("error", error):
        return state, bad
    if stale := _fence(run, epoch):
        return state, stale
    return _finish(state, run, Status.FAILED, error=error)


def cancel_run(state: StoreState, run_id: str) -> Step:
    """Cancel any run that is not finished; on a finished one, a truthful no-op (seed 001).

    Completed and cancelled runs are never touched: no resurrection, no re-stamped time.
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if run.status in TERMINAL:
        return state, CancelOutcome(run_id, False, run.status)
    after, _ = _finish(state, run, Status.CANCELLED)
    return after, CancelOutcome(run_id, True, Status.CANCELLED)


def abandon_run(state: StoreState, run_id: str) -> Step:
    """Discard a pending, running, paused or failed run (seed 000: failed is abandonable).

    A completed or cancelled run is refused with its status, so the user learns why.
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if run.status not in ABANDONABLE:
        return state, RunAlreadyTerminal(run_id, run.status)
    return _finish(state, run, Status.CANCELLED)


def find_resumable(
    state: StoreState, workflow: str, conversation_id: str | None, codebase: str, timing: Timing
) -> Step:
    """The most recently created resumable run of this workflow, conversation and codebase."""
    for run in reversed(state.runs):
        conversation = run.conversation.id if run.conversation is not None else None
        if (run.workflow, conversation, run.codebase) == (
            workflow,
            conversation_id,
            codebase,
        ) and resumable(run, state.clock, timing.stale_after):
            return state, Found(run.id)
    return state, Found(None)


def tick(state: StoreState, dt: float = 1) -> StoreState:
    """Time passes."""
    return replace(state, clock=state.clock + dt)


# --- approval gates (seed 003) -------------------------------------------------------------


def resolve_gate(state: StoreState, run_id: str, decision: GateDecision) -> Step:
    """Approve or reject a paused run's open gate: a compare-and-swap on the open gate.

    Approve clears the rejection count. Reject stages a rework when the gate has an on-reject
    prompt and attempts remain; otherwise (no on-reject, or max attempts reached) it cancels
    the run. A second decision finds the gate no longer open and is refused.
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if not isinstance(decision, GateDecision):
        return state, InvalidInput("decision", "must be approve or reject")
    gate = run.gate
    if run.status is not Status.PAUSED or gate is None or gate.state is not GateState.OPEN:
        return state, GateNotOpen(run_id, run.status, None if gate is None else gate.state)
    if decision is GateDecision.APPROVE:
        approved = replace(gate, state=GateState.APPROVED, rejections=0)
        return state.put(replace(run, gate=approved, last_activity_at=state.clock)), GateResolved(
            run_id, decision, GateState.APPROVED, Status.PAUSED, 0
        )
    rejections = gate.rejections + 1
    if gate.spec.on_reject and rejections < gate.spec.max_attempts:
        rework = replace(gate, state=GateState.REWORK, rejections=rejections)
        return state.put(replace(run, gate=rework, last_activity_at=state.clock)), GateResolved(
            run_id, decision, GateState.REWORK, Status.PAUSED, rejections
        )
    after, _ = _finish(state, run, Status.CANCELLED, gate=replace(gate, rejections=rejections))
    return after, GateResolved(run_id, decision, None, Status.CANCELLED, rejections)


# --- node cache (seed 002) and loop sessions (seed 004) ------------------------------------


def record_node_result(state: StoreState, run_id: str, epoch: int, result: NodeResult) -> Step:
    """The holder records a node's output under its identity; it replaces any earlier one."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    bad = check_name("node_id", result.node_id) or check_text("output", result.output)
    if bad is not None:
        return state, bad
    if stale := _fence(run, epoch):
        return state, stale
    kept = tuple(n for n in run.nodes if n.node_id != result.node_id)
    nodes = tuple(sorted((*kept, replace(result, invalidated=False)), key=lambda n: n.node_id))
    return state.put(replace(run, nodes=nodes)), Recorded(run_id, result.node_id)


def invalidate_nodes(
    state: StoreState, run_id: str, node_id: str, downstream: bool = False
) -> Step:
    """Mark a node's cached result (and, with ``downstream``, its consumers') unusable.

    Consumers are found through the ``depends_on`` recorded with each result. Invalidating a
    node that has no recorded result is allowed and invalidates nothing.
    """
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    if bad := check_name("node_id", node_id):
        return state, bad
    targets = {node_id}
    grew = downstream
    while grew:
        consumers = {n.node_id for n in run.nodes if targets.intersection(n.depends_on)}
        grew = not consumers <= targets
        targets |= consumers
    hit = tuple(sorted(n.node_id for n in run.nodes if n.node_id in targets))
    nodes = tuple(replace(n, invalidated=True) if n.node_id in targets else n for n in run.nodes)
    return state.put(replace(run, nodes=nodes)), Invalidated(run_id, hit)


def save_loop_session(
    state: StoreState, run_id: str, epoch: int, node_id: str, iteration: int, session_id: str
) -> Step:
    """The holder stores the provider session an interactive loop iteration used."""
    run = _lookup(state, run_id)
    if not isinstance(run, Run):
        return state, run
    bad = (
        check_name("node_id", node_id)
        or check_name("session_id", session_id)
        or check_count("iteration", iteration, 0)
    )
    if bad is not None:
        return state, bad
    if stale := _fence(run, epoch):
        return state, stale
    session = LoopSession(node_id, iteration, session_id, state.clock)
    return state.put(replace(run, loop=session)), Recorded(run_id, node_id)


# --- each guard in a few words (for the diagrams) -------------------------------------------

GUARDS: dict[str, str] = {
    "create_run": "id is new",
    "start_run": "status is pending",
    "resume_run": "resumable(run)",
    "heartbeat": "epoch is current",
    "pause_at_gate": "epoch is current",
    "complete_run": "epoch is current",
    "fail_run": "epoch is current",
    "cancel_run": "not terminal",
    "abandon_run": "not terminal",
    "find_resumable": "always; reads only",
    "resolve_gate": "gate is open",
    "record_node_result": "epoch is current",
    "invalidate_nodes": "run exists",
    "save_loop_session": "epoch is current",
}
"""The guard of each action above, in a few words: the diagrams label edges with it.

The guard itself is the action's first statements; "epoch is current" is the fencing check
(the caller's epoch still holds the running run). ``tests/docs`` checks every action has one.
"""
