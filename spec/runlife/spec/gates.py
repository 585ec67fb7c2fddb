"""Approval gates (seed 003): deciding a gate, passing it, and resuming after a decision.

The gate's store semantics are :func:`runlife.spec.store.resolve_gate` and
:func:`runlife.spec.store.pause_at_gate` (one decision per open gate, rejections counted,
approve resets them). This module adds the two policies around them:

* what a resumed executor does at the gate (:func:`at_gate`): pass it only once approved,
  run the staged rework after a rejection, otherwise wait again;
* whether a decision taken in the web UI resumes the run by itself
  (:func:`auto_resume_after_decision`): only for a run started from a live web conversation
  and only if the dispatch claims it. Every other case answers *why not* and names the exact
  command that resumes it (:func:`manual_resume_hint`); before the fix the answer was a vague
  "will run on resume" and users had to read the database schema to find the command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from runlife.spec import store
from runlife.spec.checker import Action, Asymmetric, Goal, Invariant, Progress, StepProperty
from runlife.spec.core import _doc
from runlife.spec.records import Gate, GateSpec, NewRun, Timing
from runlife.spec.results import (
    Claimed,
    GateDecision,
    GateResolved,
    GateState,
    Platform,
    RunNotResumable,
    Status,
)
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import Step, StoreState, create_run
from runlife.spec.variants import Variant

# --- at the gate ---------------------------------------------------------------------------


class GateAction(StrEnum):
    """What an executor resumed at a gate does next."""

    PASS = "pass"
    """The gate was approved: go on past it."""
    REWORK = "rework"
    """A rejection staged the on-reject prompt: run it, then pause at the same gate again."""
    WAIT = "wait"
    """No decision yet (the run was resumed by hand): pause at the gate again."""


def at_gate(gate: Gate | None) -> GateAction:
    """What an executor resumed at ``gate`` does: it advances only on an approval."""
    if gate is None or gate.state is GateState.OPEN:
        return GateAction.WAIT
    if gate.state is GateState.APPROVED:
        return GateAction.PASS
    return GateAction.REWORK


# --- auto-resume after a decision ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoParent:
    """The run was started without a conversation (from the CLI)."""


@dataclass(frozen=True, slots=True)
class ParentMissing:
    """The run names a conversation that no longer exists (deleted, or no platform thread)."""


@dataclass(frozen=True, slots=True)
class ParentFound:
    """The run's conversation exists and lives on ``platform``."""

    platform: Platform


ParentLookup = NoParent | ParentMissing | ParentFound


class NotResumedReason(StrEnum):
    """Why a decision did not resume the run by itself."""

    NO_PARENT = "no_parent"
    NO_PLATFORM_CONVERSATION = "no_platform_conversation"
    NON_WEB_PARENT = "non_web_parent"
    DISPATCH_FAILED = "dispatch_failed"
    LOST_RACE = "lost_race"


@dataclass(frozen=True, slots=True)
class Resumed:
    """The decision's dispatch claimed the run; it is executing again."""

    run_id: str


@dataclass(frozen=True, slots=True)
class NotResumed:
    """The run waits for a manual resume; ``hint`` says why and names the command."""

    run_id: str
    reason: NotResumedReason
    hint: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The decision ended the run (a rejection without rework, or the last attempt)."""

    run_id: str
    status: Status


AutoResumeOutcome = Resumed | NotResumed | Ended
DispatchClaim = Claimed | RunNotResumable | None
"""What the auto-resume dispatch's ``resume_run`` answered; ``None`` when it never claimed."""


def parent_blocker(parent: ParentLookup) -> NotResumedReason | None:
    """Why a run with this parent cannot be auto-resumed, or None for a live web parent.

    The auto-resume dispatcher talks to the web orchestrator only: it would misroute a CLI,
    Slack or Telegram parent, and there is nobody to route to without a conversation.
    """
    match parent:
        case NoParent():
            return NotResumedReason.NO_PARENT
        case ParentMissing():
            return NotResumedReason.NO_PLATFORM_CONVERSATION
        case ParentFound(platform=platform) if platform is not Platform.WEB:
            return NotResumedReason.NON_WEB_PARENT
    return None


def needs_dispatch(resolved: GateResolved, parent: ParentLookup) -> bool:
    """Whether a decision should be dispatched for auto-resume: the run still waits, and its
    parent is a live web conversation."""
    return resolved.status is Status.PAUSED and parent_blocker(parent) is None


def auto_resume_after_decision(
    resolved: GateResolved, parent: ParentLookup, dispatch_ok: bool, claim: DispatchClaim
) -> AutoResumeOutcome:
    """What the gate decision ``resolved`` leads to.

    ``dispatch_ok`` says whether the dispatch to the web orchestrator went through; ``claim``
    is what its ``resume_run`` answered (``None`` if it never got that far). A decision that
    ended the run resumes nothing; otherwise the run resumes only if the parent is a live web
    conversation, the dispatch went through and its claim won. Every other case is a
    :class:`NotResumed` whose hint names the command that resumes the run by hand.
    """
    if resolved.status is not Status.PAUSED:
        return Ended(resolved.run_id, resolved.status)
    reason = parent_blocker(parent)
    if reason is None:
        if dispatch_ok and isinstance(claim, Claimed):
            return Resumed(resolved.run_id)
        lost = dispatch_ok and isinstance(claim, RunNotResumable)
        reason = NotResumedReason.LOST_RACE if lost else NotResumedReason.DISPATCH_FAILED
    status = claim.status if isinstance(claim, RunNotResumable) else None
    hint = manual_resume_hint(resolved.run_id, reason, resolved.decision, status)
    return NotResumed(resolved.run_id, reason, hint)


def manual_resume_hint(
    run_id: str,
    reason: NotResumedReason,
    decision: GateDecision,
    status: Status | None = None,
) -> str:
    """The next step for a run a decision did not resume: why, and the exact command.

    ``status`` is the run's status when a resume claim lost the race (``lost_race`` only).
    """
    command = f"`runlife resume {run_id}`"
    goal = "continue the run" if decision is GateDecision.APPROVE else "apply the on-reject prompt"
    match reason:
        case NotResumedReason.NO_PARENT:
            return f"Run {command} from the working directory to {goal}."
        case NotResumedReason.NO_PLATFORM_CONVERSATION:
            return (
                f"The conversation that started this run is no longer available. Run {command}"
                f" from the working directory to {goal}."
            )
        case NotResumedReason.NON_WEB_PARENT:
            return (
                "This run was started outside the web UI. Send a message in the originating"
                f" thread, or run {command} from the working directory, to {goal}."
            )
        case NotResumedReason.DISPATCH_FAILED:
            return f"Auto-resume dispatch failed. Run {command} from a terminal to {goal}."
        case NotResumedReason.LOST_RACE:
            return (
                f"Run {run_id} is already being resumed ({status or Status.RUNNING}). If it"
                f" stops again, run {command} to {goal}."
            )


# --- the machine ---------------------------------------------------------------------------
#
# One run that reaches an approval gate. The web UI decides (approve or reject; a second
# decision races the first); the server then tries to auto-resume the run for each kind of
# parent conversation and dispatch result; a user can resume it by hand (the hint's
# command); the executor, once it holds the run again, acts on the gate as ``at_gate`` says.

SEED = "003"
RUN_ID = "r0"
TIMING = Timing(lease_ttl=1, stale_after=1)
PARENTS: tuple[ParentLookup, ...] = (
    NoParent(),
    ParentMissing(),
    ParentFound(Platform.WEB),
    ParentFound(Platform.CLI),
)


class Phase(StrEnum):
    """Where the executor holding the run is."""

    BEFORE_GATE = "before_gate"
    AT_GATE = "at_gate"
    PAST_GATE = "past_gate"


@dataclass(frozen=True, slots=True)
class Executor:
    """The executor holding the run: its claim's epoch and where it is."""

    epoch: int
    phase: Phase


@dataclass(frozen=True, slots=True)
class GatesState:
    """The store (one run), the executor holding it (if any), and the last decision the
    server has not yet tried to auto-resume."""

    gate: GateSpec
    store: StoreState
    executor: Executor | None = None
    undispatched: GateResolved | None = None


@dataclass(frozen=True)
class GatesPolicy:
    """The gate decisions the machine follows; a variant swaps one of them."""

    at_gate: Callable[[Gate | None], GateAction] = at_gate
    auto_resume: Callable[[GateResolved, ParentLookup, bool, DispatchClaim], AutoResumeOutcome] = (
        auto_resume_after_decision
    )


CORRECT_POLICY = GatesPolicy()


@dataclass(frozen=True)
class GatesBounds:
    """How much to explore: the gates tried (one cancelling, one with a rework and two
    attempts) and how many times the run may be claimed."""

    gates: tuple[GateSpec, ...] = (
        GateSpec("review"),
        GateSpec("review", on_reject=True, max_attempts=2),
    )
    epochs: int = 4


Steps = Iterator[tuple[Action, GatesState]]


class GatesMachine(Asymmetric):
    """Decisions, auto-resume and manual resume around one approval gate (seed 003)."""

    name = "gates"

    def __init__(
        self,
        bounds: GatesBounds | None = None,
        rules: Rules = CORRECT,
        policy: GatesPolicy = CORRECT_POLICY,
    ) -> None:
        self.bounds = bounds or GatesBounds()
        self.rules = rules
        self.policy = policy
        self.invariants: tuple[Invariant[GatesState], ...] = ()
        self.step_properties = tuple(
            StepProperty(p.__name__, p, _doc(p), SEED)
            for p in (
                gate_advances_only_on_decision,
                one_decision_per_open_gate,
                rejections_counted,
                hint_names_run,
                auto_resume_is_truthful,
            )
        )
        self.progress: tuple[Progress[GatesState], ...] = ()
        self.goals = GATES_GOALS

    # -- Init ---------------------------------------------------------------------------------

    def initial(self) -> Iterator[GatesState]:
        for gate in self.bounds.gates:
            store, _ = create_run(StoreState(), NewRun("wf", "ship it"), RUN_ID)
            store, claimed = self.rules.start_run(store, RUN_ID, "executor", TIMING)
            assert isinstance(claimed, Claimed)
            yield GatesState(gate, store, Executor(claimed.epoch, Phase.BEFORE_GATE))

    # -- Next ---------------------------------------------------------------------------------

    def next(self, s: GatesState) -> Steps:
        if s.executor is not None:
            yield from self.executor_acts(s, s.executor)
        for decision in GateDecision:
            yield from self.web_decides(s, decision)
        if s.undispatched is not None:
            for parent in PARENTS:
                for dispatch_ok in (True, False):
                    yield from self.server_auto_resumes(s, s.undispatched, parent, dispatch_ok)
        yield from self.user_resumes_by_hand(s)

    def executor_acts(self, s: GatesState, executor: Executor) -> Steps:
        run = s.store.get(RUN_ID)
        assert run is not None
        match executor.phase:
            case Phase.BEFORE_GATE:
                yield self._pause(s, executor, "pause_at_gate")
            case Phase.AT_GATE:
                action = self.policy.at_gate(run.gate)
                if action is GateAction.PASS:
                    after = replace(s, executor=replace(executor, phase=Phase.PAST_GATE))
                    yield Action("executor", "pass_gate", (RUN_ID,)), after
                else:
                    yield self._pause(s, executor, f"{action}_then_pause")
            case Phase.PAST_GATE:
                store, result = self.rules.complete_run(s.store, RUN_ID, executor.epoch)
                done = Action("executor", "complete_run", (RUN_ID,), result)
                yield done, replace(s, store=store, executor=None)

    def _pause(self, s: GatesState, executor: Executor, name: str) -> tuple[Action, GatesState]:
        store, result = self.rules.pause_at_gate(s.store, RUN_ID, executor.epoch, s.gate)
        return Action("executor", name, (RUN_ID,), result), replace(s, store=store, executor=None)

    def web_decides(self, s: GatesState, decision: GateDecision) -> Steps:
        store, result = self.rules.resolve_gate(s.store, RUN_ID, decision)
        undispatched = result if isinstance(result, GateResolved) else s.undispatched
        after = replace(s, store=store, undispatched=undispatched)
        yield Action("web", "decide", (RUN_ID, str(decision)), result), after

    def server_auto_resumes(
        self, s: GatesState, resolved: GateResolved, parent: ParentLookup, dispatch_ok: bool
    ) -> Steps:
        store, claim, executor = s.store, None, s.executor
        if dispatch_ok and needs_dispatch(resolved, parent):
            store, answer = self.rules.resume_run(s.store, RUN_ID, "server", TIMING)
            claim = answer if isinstance(answer, Claimed | RunNotResumable) else None
            if isinstance(answer, Claimed):
                executor = Executor(answer.epoch, Phase.AT_GATE)
        outcome = self.policy.auto_resume(resolved, parent, dispatch_ok, claim)
        after = replace(s, store=store, executor=executor, undispatched=None)
        yield Action("server", "auto_resume", (_parent_name(parent), dispatch_ok), outcome), after

    def user_resumes_by_hand(self, s: GatesState) -> Steps:
        store, result = self.rules.resume_run(s.store, RUN_ID, "cli", TIMING)
        if isinstance(result, Claimed):
            after = replace(s, store=store, executor=Executor(result.epoch, Phase.AT_GATE))
            yield Action("cli", "resume_run", (RUN_ID,), result), after

    # -- bounds and symmetry --------------------------------------------------------------------

    def within_bounds(self, s: GatesState) -> bool:
        return all(run.epoch < self.bounds.epochs for run in s.store.runs)

    def describe(self, s: GatesState) -> Mapping[str, object]:
        run = s.store.get(RUN_ID)
        assert run is not None
        gate = run.gate
        return {
            "gate spec": f"on_reject={s.gate.on_reject} max_attempts={s.gate.max_attempts}",
            "run": f"{run.status} epoch {run.epoch}",
            "gate": "none" if gate is None else f"{gate.state} rejections {gate.rejections}",
            "executor": "none" if s.executor is None else str(s.executor.phase),
            "undispatched decision": "none" if s.undispatched is None else "yes",
        }


def _parent_name(parent: ParentLookup) -> str:
    if isinstance(parent, ParentFound):
        return f"parent on {parent.platform}"
    return type(parent).__name__


# --- properties ----------------------------------------------------------------------------


def _gate(s: GatesState) -> Gate | None:
    run = s.store.get(RUN_ID)
    return None if run is None else run.gate


def gate_advances_only_on_decision(before: GatesState, action: Action, after: GatesState) -> bool:
    """The executor goes past a gate only once the gate was approved: not while it is open
    (a manual resume), not when a rework is staged.

    Protects the human check the gate exists for (seed 003).
    """
    if action.name != "pass_gate":
        return True
    gate = _gate(before)
    return gate is not None and gate.state is GateState.APPROVED


def one_decision_per_open_gate(before: GatesState, action: Action, after: GatesState) -> bool:
    """A decision takes effect only on an open gate of a paused run; a second, concurrent
    decision on the same pause is refused.

    Protects against two reviewers' decisions both applying (seed 003, one CAS per gate).
    """
    if action.name != "decide" or not isinstance(action.result, GateResolved):
        return True
    run = before.store.get(RUN_ID)
    return (
        run is not None
        and run.status is Status.PAUSED
        and run.gate is not None
        and run.gate.state is GateState.OPEN
    )


def rejections_counted(before: GatesState, action: Action, after: GatesState) -> bool:
    """Each rejection counts once; the one that reaches max attempts (or any rejection
    without an on-reject prompt) cancels the run; an approval resets the count.

    Protects the rework loop from running forever or ending early (seed 003).
    """
    if action.name != "decide" or not isinstance(action.result, GateResolved):
        return True
    old, new = _gate(before), _gate(after)
    run = after.store.get(RUN_ID)
    if old is None or new is None or run is None:
        return False
    if action.result.decision is GateDecision.APPROVE:
        return new.rejections == 0 and run.status is Status.PAUSED
    ends = not old.spec.on_reject or new.rejections >= old.spec.max_attempts
    return new.rejections == old.rejections + 1 and (run.status is Status.CANCELLED) == ends


def hint_names_run(before: GatesState, action: Action, after: GatesState) -> bool:
    """Every decision that does not resume the run by itself says how to: its hint names
    ``runlife resume <run id>``.

    Protects users of CLI- or chat-started runs from a dead end (seed 003: "will run on
    resume" sent them to the database schema).
    """
    if not isinstance(action.result, NotResumed):
        return True
    return f"runlife resume {action.result.run_id}" in action.result.hint


def auto_resume_is_truthful(before: GatesState, action: Action, after: GatesState) -> bool:
    """Auto-resume reports ``Resumed`` exactly when its own claim took the run, and ``Ended``
    exactly when the decision ended it.

    Protects the message the UI shows after a decision (seed 003).
    """
    if action.name != "auto_resume":
        return True
    run = after.store.get(RUN_ID)
    claimed = run is not None and run.epoch > _epoch(before) and run.claim is not None
    ended = before.undispatched is not None and before.undispatched.status is not Status.PAUSED
    return (
        isinstance(action.result, Resumed) == claimed and isinstance(action.result, Ended) == ended
    )


def _epoch(s: GatesState) -> int:
    run = s.store.get(RUN_ID)
    return 0 if run is None else run.epoch


def _answered(reason: NotResumedReason) -> Goal[GatesState]:
    def reached(before: GatesState, action: Action, after: GatesState) -> bool:
        return isinstance(action.result, NotResumed) and action.result.reason is reason

    return Goal(f"not_resumed_{reason}", reached, f"auto-resume answers {reason}", SEED)


def _cancelled_at_max_attempts(before: GatesState, action: Action, after: GatesState) -> bool:
    result = action.result
    return (
        isinstance(result, GateResolved)
        and result.status is Status.CANCELLED
        and before.gate.on_reject
        and result.rejections == before.gate.max_attempts
    )


GATES_GOALS: tuple[Goal[GatesState], ...] = (
    *(_answered(reason) for reason in NotResumedReason),
    Goal(
        "auto_resumed",
        lambda before, action, after: isinstance(action.result, Resumed),
        "a decision resumes the run by itself",
        SEED,
    ),
    Goal(
        "passed_after_approval",
        lambda before, action, after: action.name == "pass_gate",
        "the executor passes an approved gate",
        SEED,
    ),
    Goal(
        "rework_paused_again",
        lambda before, action, after: action.name == "rework_then_pause",
        "a staged rework runs and pauses at the gate again",
        SEED,
    ),
    Goal(
        "cancelled_at_max_attempts",
        _cancelled_at_max_attempts,
        "the last allowed rejection cancels",
        SEED,
    ),
)
"""Steps the bounds must let happen, or the properties above would hold vacuously."""


# --- variants: the historical bugs ---------------------------------------------------------


def decide_without_cas(s: StoreState, run_id: str, decision: GateDecision) -> Step:
    """A decision written with ``WHERE id = ?`` only: it applies even after another decision
    (any paused run with a gate counts as open)."""
    run = s.get(run_id)
    if run is None or run.gate is None or run.status is not Status.PAUSED:
        return store.resolve_gate(s, run_id, decision)
    reopened = replace(run, gate=replace(run.gate, state=GateState.OPEN))
    return store.resolve_gate(s.put(reopened), run_id, decision)


def reject_ignoring_max_attempts(s: StoreState, run_id: str, decision: GateDecision) -> Step:
    """A rejection that stages a rework whenever there is an on-reject prompt, however many
    attempts were used."""
    run = s.get(run_id)
    if run is None or run.gate is None:
        return store.resolve_gate(s, run_id, decision)
    spec = run.gate.spec
    unlimited = replace(run.gate, spec=replace(spec, max_attempts=sys.maxsize))
    after, result = store.resolve_gate(s.put(replace(run, gate=unlimited)), run_id, decision)
    decided = after.get(run_id)
    if decided is None or decided.gate is None:
        return after, result
    return after.put(replace(decided, gate=replace(decided.gate, spec=spec))), result


def always_pass(gate: Gate | None) -> GateAction:
    """An executor that goes on past the gate whenever it is resumed, decided or not."""
    return GateAction.PASS


def auto_resume_with_vague_hint(
    resolved: GateResolved, parent: ParentLookup, dispatch_ok: bool, claim: DispatchClaim
) -> AutoResumeOutcome:
    """Seed 003 before the fix: the answer said only "Send a message to continue" or
    "On-reject prompt will run on resume", naming no command."""
    outcome = auto_resume_after_decision(resolved, parent, dispatch_ok, claim)
    if not isinstance(outcome, NotResumed):
        return outcome
    vague = (
        "Send a message to continue."
        if resolved.decision is GateDecision.APPROVE
        else "On-reject prompt will run on resume."
    )
    return replace(outcome, hint=vague)


def _with(
    policy: GatesPolicy = CORRECT_POLICY, rules: Rules = CORRECT
) -> Callable[[], GatesMachine]:
    return lambda: GatesMachine(rules=rules, policy=policy)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "decision_without_cas",
        "a second decision on the same pause also applies (no compare-and-swap on the gate)",
        SEED,
        "one_decision_per_open_gate",
        _with(rules=replace(CORRECT, resolve_gate=decide_without_cas)),
    ),
    Variant(
        "pass_gate_without_decision",
        "a resumed executor goes past the gate whether or not it was approved",
        SEED,
        "gate_advances_only_on_decision",
        _with(replace(CORRECT_POLICY, at_gate=always_pass)),
    ),
    Variant(
        "hint_without_command",
        "a decision that cannot auto-resume answers a vague hint naming no command",
        SEED,
        "hint_names_run",
        _with(replace(CORRECT_POLICY, auto_resume=auto_resume_with_vague_hint)),
    ),
    Variant(
        "reject_ignores_max_attempts",
        "rejections keep staging reworks past max attempts instead of cancelling",
        SEED,
        "rejections_counted",
        _with(rules=replace(CORRECT, resolve_gate=reject_ignoring_max_attempts)),
    ),
)
