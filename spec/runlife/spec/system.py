"""All the machines together, at a small bound: ``runlife explore --model all``.

The core's racing executors and user, and on the same store: the user's dispatches (seed 000),
gate decisions with a rework (seed 003), node results and their invalidation (seed 002) and
loop sessions (seed 004). The smaller machines check each concern's policy in depth at their
own bounds; this one checks that, interleaved on one store under concurrency, none of those
actions breaks a core property, and that each concern's store-level promise still holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from runlife.spec.checker import Action, Goal, StepProperty
from runlife.spec.core import (
    CODEBASE,
    CONVERSATION,
    CORE_GOALS,
    CORE_STEP_PROPERTIES,
    WORKFLOW,
    Bounds,
    CoreMachine,
    CoreState,
    Holding,
    _doc,
    actor_name,
)
from runlife.spec.dispatch import ContinueRun, DispatchRequest, PromptForFailedRun, decide_dispatch
from runlife.spec.records import GateSpec, NewRun, NodeResult, Run
from runlife.spec.results import (
    Claimed,
    Found,
    GateDecision,
    GateResolved,
    GateState,
    Invalidated,
    Status,
    is_refusal,
)
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import Step, StoreState, create_run, record_node_result
from runlife.spec.variants import Variant

SYSTEM_BOUNDS = Bounds(runs=1, actors=2, ticks=2, epochs=2)
"""Small: one run is enough for every concern to meet the races (5,382 states)."""
SYSTEM_GATE = GateSpec("review", on_reject=True, max_attempts=2)
NODE = NodeResult("produce", "v1", "output")
LOOP_NODE = "refine"
REQUEST = DispatchRequest(WORKFLOW, "B", CONVERSATION, CODEBASE)
SIDE_WRITES = frozenset({"record_node_result", "save_loop_session"})

Steps = Iterator[tuple[Action, CoreState]]


class SystemMachine(CoreMachine):
    """The core machine, plus dispatch, gate decisions, node results and loop sessions."""

    name = "all"

    def __init__(self, bounds: Bounds | None = None, rules: Rules = CORRECT) -> None:
        super().__init__(bounds or SYSTEM_BOUNDS, rules)
        self.gate = SYSTEM_GATE
        self.step_properties = (*CORE_STEP_PROPERTIES, *SYSTEM_STEP_PROPERTIES)
        self.goals = (*CORE_GOALS, *SYSTEM_GOALS)

    def next(self, s: CoreState) -> Steps:
        yield from super().next(s)
        yield from self.user_dispatches(s)
        for run in s.store.runs:
            yield from self.user_decides_gate(s, run)
            if run.nodes:
                yield from self.user_invalidates(s, run)
        for index, holding in enumerate(s.actors):
            if holding is not None:
                yield from self.executor_records(s, index, holding)

    def user_dispatches(self, s: CoreState) -> Steps:
        """The user sends a new request; the spec's dispatch policy decides (seed 000)."""
        if not s.store.runs:
            return
        _, found = self.rules.find_resumable(
            s.store, WORKFLOW, CONVERSATION, CODEBASE, self.bounds.timing
        )
        candidate = s.store.get(found.run_id) if isinstance(found, Found) and found.run_id else None
        decision = decide_dispatch(REQUEST, candidate)
        if isinstance(decision, ContinueRun) and candidate is not None:
            yield from self.executor_continues(s, candidate, decision)
        elif isinstance(decision, PromptForFailedRun):
            yield Action("user", "dispatch", (REQUEST.message,), decision), s
        elif len(s.store.runs) < self.bounds.runs:
            run_id = f"r{len(s.store.runs)}"
            new = NewRun(WORKFLOW, REQUEST.message, CODEBASE, CONVERSATION)
            after, _ = create_run(s.store, new, run_id)
            yield (
                Action("user", "dispatch", (REQUEST.message,), decision),
                CoreState(after, s.actors),
            )

    def executor_continues(self, s: CoreState, run: Run, decision: ContinueRun) -> Steps:
        """An idle executor claims the paused run the request continues, with its epoch."""
        idle = next((i for i, h in enumerate(s.actors) if h is None), None)
        if idle is None or run.epoch >= self.bounds.epochs:
            return
        args = (actor_name(idle), self.bounds.timing, decision.expected_epoch)
        after, result = self._on_run(s, run, "resume_run", args)
        holding = None
        if isinstance(result, Claimed):
            holding = Holding(run.id, result.epoch, result.lease_expires)
        action = Action(actor_name(idle), "dispatch_continue", (run.id,), result)
        yield action, self._with(s, after, idle, holding)

    def user_decides_gate(self, s: CoreState, run: Run) -> Steps:
        for decision in GateDecision:
            after, result = self._on_run(s, run, "resolve_gate", (decision,))
            yield (
                Action("user", "resolve_gate", (run.id, str(decision)), result),
                self._with(s, after),
            )

    def user_invalidates(self, s: CoreState, run: Run) -> Steps:
        after, result = self._on_run(s, run, "invalidate_nodes", (NODE.node_id, False))
        yield (
            Action("user", "invalidate_nodes", (run.id, NODE.node_id), result),
            self._with(s, after),
        )

    def executor_records(self, s: CoreState, index: int, h: Holding) -> Steps:
        run = s.store.get(h.run_id)
        assert run is not None
        writes: tuple[tuple[str, tuple[object, ...]], ...] = (
            ("record_node_result", (h.epoch, NODE)),
            ("save_loop_session", (h.epoch, LOOP_NODE, h.epoch, f"session-{h.epoch}")),
        )
        for name, args in writes:
            after, result = self._on_run(s, run, name, args)
            kept = None if is_refusal(result) else h  # a refused write: the executor lost it
            action = Action(actor_name(index), name, (h.run_id, h.epoch), result)
            yield action, self._with(s, after, index, kept)


# --- properties ----------------------------------------------------------------------------


def side_writes_are_fenced(before: CoreState, action: Action, after: CoreState) -> bool:
    """A node result or loop session is stored only under the epoch that holds the running run.

    Protects a recovered run's cache and session from its old executor (seeds 002, 004).
    """
    if action.name not in SIDE_WRITES or is_refusal(action.result):
        return True
    run = before.store.get(str(action.args[0]))
    return (
        run is not None
        and run.status is Status.RUNNING
        and run.claim is not None
        and run.claim.epoch == action.args[1]
    )


def one_decision_per_pause(before: CoreState, action: Action, after: CoreState) -> bool:
    """A gate decision takes effect only on a paused run whose gate is open.

    Protects a pause from a second, concurrent decision (seed 003).
    """
    if action.name != "resolve_gate" or not isinstance(action.result, GateResolved):
        return True
    run = before.store.get(str(action.args[0]))
    return (
        run is not None
        and run.status is Status.PAUSED
        and run.gate is not None
        and run.gate.state is GateState.OPEN
    )


def dispatch_keeps_intent(before: CoreState, action: Action, after: CoreState) -> bool:
    """A request continues only a run paused in the incarnation it saw, starts fresh with its
    own message leaving every run as it was, or prompts and changes nothing.

    Protects a new request from being hijacked by an old failed run (seed 000).
    """
    if action.name == "dispatch_continue":
        run = before.store.get(str(action.args[0]))
        return not isinstance(action.result, Claimed) or (
            run is not None and run.status is Status.PAUSED
        )
    if action.name != "dispatch":
        return True
    if isinstance(action.result, PromptForFailedRun):
        return after.store == before.store
    kept = after.store.runs[: len(before.store.runs)] == before.store.runs
    added = after.store.runs[len(before.store.runs) :]
    return kept and [r.user_message for r in added] == [REQUEST.message]


def _property(fn: object, seed: str) -> StepProperty[CoreState]:
    return StepProperty(fn.__name__, fn, _doc(fn), seed)  # type: ignore[attr-defined,arg-type]


SYSTEM_STEP_PROPERTIES: tuple[StepProperty[CoreState], ...] = (
    _property(side_writes_are_fenced, "002"),
    _property(one_decision_per_pause, "003"),
    _property(dispatch_keeps_intent, "000"),
)


def _goal(name: str, doc: str, seed: str, kind: type, test: object = None) -> Goal[CoreState]:
    def reached(before: CoreState, action: Action, after: CoreState) -> bool:
        return isinstance(action.result, kind) and (test is None or test(action.result))  # type: ignore[operator]

    return Goal(name, reached, doc, seed)


SYSTEM_GOALS: tuple[Goal[CoreState], ...] = (
    _goal(
        "failed_run_prompted", "A request about a failed run prompts.", "000", PromptForFailedRun
    ),
    _goal(
        "rework_staged",
        "A rejection stages a rework on the open gate.",
        "003",
        GateResolved,
        lambda r: r.gate is GateState.REWORK,
    ),
    _goal(
        "node_invalidated",
        "A recorded node result is invalidated.",
        "002",
        Invalidated,
        lambda r: bool(r.nodes),
    ),
)


# --- variants ------------------------------------------------------------------------------


def record_without_fencing(state: StoreState, run_id: str, epoch: int, result: NodeResult) -> Step:
    """A node-result write that checks the run is running but not whose epoch holds it: a
    recovered run's old executor overwrites the new one's cached output."""
    run = state.get(run_id)
    current = run.claim.epoch if run is not None and run.claim is not None else epoch
    return record_node_result(state, run_id, current, result)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "node_write_unfenced",
        "a recovered run's old executor can still record node results over the new one's",
        "002",
        "side_writes_are_fenced",
        lambda: SystemMachine(rules=replace(CORRECT, record_node_result=record_without_fencing)),
    ),
)
