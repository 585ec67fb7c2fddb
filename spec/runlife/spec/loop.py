"""Interactive loop sessions (seed 004): which provider session a loop iteration sends.

An interactive loop node pauses at a gate after an iteration and waits for the user, often for
hours. The original bug: the resumed iteration sent the session saved at the gate, long
expired, and every resume crashed (``error_during_execution``). The upstream fix forced a
fresh session on the first iteration of every resume, which also threw away sessions that were
still valid (an approval a minute later lost its conversation); upstream later went back to
keeping them. :func:`choose_loop_session` satisfies both: expiry, not resumption, decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from runlife.spec.checker import Action, Asymmetric, Goal, Invariant, Progress, StepProperty
from runlife.spec.core import _doc
from runlife.spec.records import GateSpec, LoopSession, NewRun, Timing
from runlife.spec.results import Claimed, GateDecision, GateResolved
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import StoreState, create_run, tick
from runlife.spec.variants import Variant


class FreshReason(StrEnum):
    """Why an iteration starts a new provider session."""

    FIRST_ITERATION = "first_iteration"
    FRESH_CONTEXT = "fresh_context"
    NONE_STORED = "none_stored"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reuse:
    """Send ``session_id``: it is still valid, and continuing it keeps the conversation."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Fresh:
    """Start a new provider session, for ``reason``."""

    reason: FreshReason


SessionChoice = Reuse | Fresh


def session_expired(session: LoopSession, now: float, session_ttl: float) -> bool:
    """Whether the provider has forgotten ``session``: ``session_ttl`` has passed since it was
    last used (saved)."""
    return now - session.saved_at >= session_ttl


def choose_loop_session(
    stored: LoopSession | None,
    now: float,
    session_ttl: float,
    resuming: bool,
    iteration: int,
    start_iteration: int,
    fresh_context: bool = False,
) -> SessionChoice:
    """The session loop iteration ``iteration`` sends.

    ``stored`` is the session this loop node saved last (at the gate, for the first iteration
    of a resume; after the previous iteration, otherwise); pass ``None`` when the run's saved
    session belongs to another node. ``resuming`` and ``start_iteration``
    say whether this execution resumed the loop and at which iteration; the choice does not
    depend on them, on purpose: an expired session is never sent, however the loop got here,
    and a valid one is kept, however long ago the resume began.
    """
    if iteration <= 1:
        return Fresh(FreshReason.FIRST_ITERATION)
    if fresh_context:
        return Fresh(FreshReason.FRESH_CONTEXT)
    if stored is None:
        return Fresh(FreshReason.NONE_STORED)
    if session_expired(stored, now, session_ttl):
        return Fresh(FreshReason.EXPIRED)
    return Reuse(stored.session_id)


# --- the machine ---------------------------------------------------------------------------
#
# One interactive loop node. Each iteration sends a provider session (reused or fresh) and
# saves it; after an iteration the loop either goes on, or pauses at its gate for the user's
# input, or (after the last iteration) completes. Time passes while the run waits at the
# gate. The provider forgets a session ``session_ttl`` after its last use.

SEED = "004"
RUN_ID = "r0"
NODE = "refine"
TIMING = Timing(lease_ttl=1, stale_after=1)
GATE = GateSpec(NODE)


@dataclass(frozen=True, slots=True)
class LoopExecutor:
    """The executor holding the run: its epoch, the next iteration, and where this execution
    started (``resuming``: it resumed the loop at ``start_iteration``)."""

    epoch: int
    iteration: int
    start_iteration: int
    resuming: bool


@dataclass(frozen=True, slots=True)
class LoopState:
    """The store (one run), the executor holding it (if any), and the provider's view: when
    each session it issued was last used."""

    store: StoreState
    executor: LoopExecutor | None
    provider: tuple[tuple[str, float], ...] = ()


SessionPolicy = Callable[[LoopSession | None, float, float, bool, int, int], SessionChoice]


@dataclass(frozen=True)
class LoopBounds:
    """How much to explore: iterations of the loop, clock ticks, the provider's session
    lifetime in ticks."""

    iterations: int = 3
    ticks: int = 3
    session_ttl: float = 2


Steps = Iterator[tuple[Action, LoopState]]


class LoopMachine(Asymmetric):
    """An interactive loop that waits at its gate while sessions expire (seed 004)."""

    name = "loop"

    def __init__(
        self,
        bounds: LoopBounds | None = None,
        rules: Rules = CORRECT,
        policy: SessionPolicy = choose_loop_session,
    ) -> None:
        self.bounds = bounds or LoopBounds()
        self.rules = rules
        self.policy = policy
        self.invariants: tuple[Invariant[LoopState], ...] = ()
        self.step_properties = (
            StepProperty(
                "never_sends_expired_session",
                never_sends_expired_session(self),
                _doc(never_sends_expired_session),
                SEED,
            ),
            StepProperty(
                "keeps_valid_session",
                keeps_valid_session(self),
                _doc(keeps_valid_session),
                SEED,
            ),
        )
        self.progress: tuple[Progress[LoopState], ...] = ()
        self.goals = LOOP_GOALS

    def initial(self) -> Iterator[LoopState]:
        store, _ = create_run(StoreState(), NewRun("piv-loop", "plan, implement, verify"), RUN_ID)
        store, claim = self.rules.start_run(store, RUN_ID, "executor", TIMING)
        assert isinstance(claim, Claimed)
        yield LoopState(store, LoopExecutor(claim.epoch, 1, 1, resuming=False))

    def next(self, s: LoopState) -> Steps:
        executor = s.executor
        if executor is None:
            yield from self.time_passes(s)
            yield from self.user_approves(s)
        elif executor.iteration > self.bounds.iterations:
            store, result = self.rules.complete_run(s.store, RUN_ID, executor.epoch)
            yield (
                Action("executor", "complete_run", (RUN_ID,), result),
                replace(s, store=store, executor=None),
            )
        else:
            yield from self.executor_iterates(s, executor)
            if executor.iteration > executor.start_iteration:
                store, result = self.rules.pause_at_gate(s.store, RUN_ID, executor.epoch, GATE)
                yield (
                    Action("executor", "pause_at_gate", (RUN_ID,), result),
                    replace(s, store=store, executor=None),
                )

    def time_passes(self, s: LoopState) -> Steps:
        """Time passes while the run waits at its gate (an iteration is short next to a
        session's lifetime; the wait for a person is not)."""
        if s.store.clock < self.bounds.ticks:
            yield Action("clock", "tick"), replace(s, store=tick(s.store))

    def executor_iterates(self, s: LoopState, executor: LoopExecutor) -> Steps:
        """Run one iteration: choose the session, send it, save it."""
        stored = self.stored(s)
        choice = self.policy(
            stored,
            s.store.clock,
            self.bounds.session_ttl,
            executor.resuming,
            executor.iteration,
            executor.start_iteration,
        )
        session = choice.session_id if isinstance(choice, Reuse) else f"s{len(s.provider) + 1}"
        used = {**dict(s.provider), session: s.store.clock}
        store, _ = self.rules.save_loop_session(
            s.store, RUN_ID, executor.epoch, NODE, executor.iteration, session
        )
        after = replace(
            s,
            store=store,
            executor=replace(executor, iteration=executor.iteration + 1),
            provider=tuple(sorted(used.items())),
        )
        yield Action("executor", "iterate", (executor.iteration,), choice), after

    def user_approves(self, s: LoopState) -> Steps:
        """The user answers at the gate; the run resumes at the next iteration."""
        store, resolved = self.rules.resolve_gate(s.store, RUN_ID, GateDecision.APPROVE)
        if not isinstance(resolved, GateResolved):
            return
        run = store.get(RUN_ID)
        store, claim = self.rules.resume_run(store, RUN_ID, "executor", TIMING)
        if run is None or run.loop is None or not isinstance(claim, Claimed):
            return
        resume_at = run.loop.iteration + 1
        executor = LoopExecutor(claim.epoch, resume_at, resume_at, resuming=True)
        yield (
            Action("user", "approve", (RUN_ID,), claim),
            replace(s, store=store, executor=executor),
        )

    def stored(self, s: LoopState) -> LoopSession | None:
        """The session this loop node saved last, if the run holds one for it."""
        run = s.store.get(RUN_ID)
        loop = run.loop if run is not None else None
        return loop if loop is not None and loop.node_id == NODE else None

    def provider_knows(self, s: LoopState, session_id: str) -> bool:
        """Whether the provider still holds ``session_id`` (used less than the lifetime ago)."""
        last_used = dict(s.provider).get(session_id)
        return last_used is not None and s.store.clock - last_used < self.bounds.session_ttl

    def within_bounds(self, s: LoopState) -> bool:
        """Always: the tick and iteration bounds disable actions instead."""
        return True

    def describe(self, s: LoopState) -> Mapping[str, object]:
        run = s.store.get(RUN_ID)
        assert run is not None
        loop = run.loop
        e = s.executor
        return {
            "clock": s.store.clock,
            "run": f"{run.status} epoch {run.epoch}",
            "saved session": "none"
            if loop is None
            else f"{loop.session_id} (iteration {loop.iteration}, saved at {loop.saved_at})",
            "executor": "none"
            if e is None
            else f"next iteration {e.iteration}" + (" (resumed)" if e.resuming else ""),
        }


# --- properties ----------------------------------------------------------------------------


def never_sends_expired_session(
    machine: LoopMachine,
) -> Callable[[LoopState, Action, LoopState], bool]:
    """No iteration sends a session the provider has already forgotten.

    Protects every resume after a long wait at the gate (seed 004: error_during_execution).
    """

    def holds(before: LoopState, action: Action, after: LoopState) -> bool:
        choice = action.result
        return not isinstance(choice, Reuse) or machine.provider_knows(before, choice.session_id)

    return holds


def keeps_valid_session(machine: LoopMachine) -> Callable[[LoopState, Action, LoopState], bool]:
    """An iteration after the first reuses the saved session while the provider still holds
    it, also on the first iteration of a resume.

    Protects the conversation's continuity across a quick approval (seed 004: the fix that
    always started fresh, later reverted upstream).
    """

    def holds(before: LoopState, action: Action, after: LoopState) -> bool:
        if action.name != "iterate" or action.args[0] == 1:
            return True
        stored = machine.stored(before)
        if stored is None or not machine.provider_knows(before, stored.session_id):
            return True
        return action.result == Reuse(stored.session_id)

    return holds


def _resumed_with(kind: type) -> Callable[[LoopState, Action, LoopState], bool]:
    def reached(before: LoopState, action: Action, after: LoopState) -> bool:
        e = before.executor
        first = e is not None and e.resuming and e.iteration == e.start_iteration
        return first and action.name == "iterate" and isinstance(action.result, kind)

    return reached


LOOP_GOALS: tuple[Goal[LoopState], ...] = (
    Goal(
        "expired_session_replaced",
        lambda before, action, after: action.result == Fresh(FreshReason.EXPIRED),
        "a resume after a long wait starts a fresh session",
        SEED,
    ),
    Goal(
        "resume_keeps_session",
        _resumed_with(Reuse),
        "a quick resume keeps its session",
        SEED,
    ),
)
"""Steps the bounds must let happen, or the properties above would hold vacuously."""


# --- variants: the historical bugs ---------------------------------------------------------


def reuse_even_if_expired(
    stored: LoopSession | None,
    now: float,
    session_ttl: float,
    resuming: bool,
    iteration: int,
    start_iteration: int,
) -> SessionChoice:
    """Seed 004 before the fix: the session saved at the gate is sent, however old."""
    if iteration > 1 and stored is not None:
        return Reuse(stored.session_id)
    return choose_loop_session(stored, now, session_ttl, resuming, iteration, start_iteration)


def fresh_on_every_resume(
    stored: LoopSession | None,
    now: float,
    session_ttl: float,
    resuming: bool,
    iteration: int,
    start_iteration: int,
) -> SessionChoice:
    """Seed 004's merged fix: the first iteration of every resume starts fresh, valid session
    or not."""
    if resuming and iteration == start_iteration:
        return Fresh(FreshReason.FIRST_ITERATION)
    return reuse_even_if_expired(stored, now, session_ttl, resuming, iteration, start_iteration)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "loop_reuses_expired_session",
        "the resumed iteration sends the session saved at the gate, long expired",
        SEED,
        "never_sends_expired_session",
        lambda: LoopMachine(policy=reuse_even_if_expired),
    ),
    Variant(
        "loop_always_fresh",
        "the first iteration of every resume starts fresh, dropping a still-valid session",
        SEED,
        "keeps_valid_session",
        lambda: LoopMachine(policy=fresh_on_every_resume),
    ),
)
