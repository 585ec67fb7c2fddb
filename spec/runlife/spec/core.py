"""The core machine: runs, claims, leases and a clock, raced by concurrent actors.

Actors are executors (``a0``, ``a1``, ...): each remembers the claim it believes it holds, as a
real executor would, and uses that claim's epoch for every write. The ``user`` creates, cancels
and abandons runs (a web button, a chat message, a CLI); ``clock`` makes time pass. An executor
may ``crash`` (its process dies and forgets its claim) at any moment; a frozen executor is one
that simply does not act for a while, which every interleaving already covers.

Init and Next below read as a table of contents; each step calls one store rule.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import permutations

from runlife.spec.checker import Action, Goal, Invariant, Progress, StepProperty
from runlife.spec.records import GateSpec, NewRun, Run, Timing
from runlife.spec.results import (
    TERMINAL,
    CancelOutcome,
    Claimed,
    Found,
    Renewed,
    Result,
    RunNotResumable,
    StaleClaim,
    Status,
    is_refusal,
)
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import StoreState, create_run, tick

WORKFLOW = "wf"
CONVERSATION = None
CODEBASE = "main"
GATE = GateSpec("review")


@dataclass(frozen=True, slots=True)
class Holding:
    """The claim an executor believes it holds."""

    run_id: str
    epoch: int
    lease_expires: float


@dataclass(frozen=True, slots=True)
class CoreState:
    """The store, and what each executor believes it holds (``None``: idle)."""

    store: StoreState
    actors: tuple[Holding | None, ...]


@dataclass(frozen=True)
class Bounds:
    """How much of the infinite behaviour to explore."""

    runs: int = 2
    actors: int = 3
    ticks: int = 3
    epochs: int = 2
    timing: Timing = field(default_factory=lambda: Timing(lease_ttl=2, stale_after=2))


def actor_name(index: int) -> str:
    return f"a{index}"


def live(holding: Holding | None, clock: float) -> bool:
    """Whether an executor may still act on its claim: its lease has not expired."""
    return holding is not None and clock < holding.lease_expires


class CoreMachine:
    """Runs, claims, leases and a clock, under concurrent executors and a user."""

    name = "core"

    def __init__(self, bounds: Bounds | None = None, rules: Rules = CORRECT) -> None:
        self.bounds = bounds or Bounds()
        self.rules = rules
        self.gate = GATE
        self._memo: dict[tuple[object, ...], tuple[Run, Run, Result]] = {}
        self._run_keys: dict[int, tuple[Run, tuple[object, ...]]] = {}
        self._facts: dict[tuple[object, ...], tuple[Run, bool]] = {}
        self.invariants = (
            *CORE_INVARIANTS,
            find_and_resume_agree(self),
            orphan_recoverable(self),
        )
        self.step_properties = CORE_STEP_PROPERTIES
        self.progress = tuple(run_can_finish(i) for i in range(self.bounds.runs))
        self.goals = CORE_GOALS

    # -- Init ---------------------------------------------------------------------------------

    def initial(self) -> Iterator[CoreState]:
        yield CoreState(StoreState(), (None,) * self.bounds.actors)

    # -- Next ---------------------------------------------------------------------------------

    def next(self, s: CoreState) -> Iterator[tuple[Action, CoreState]]:
        yield from self.time_passes(s)
        yield from self.user_creates(s)
        for run in s.store.runs:
            yield from self.user_decides(s, run)
        yield from self.user_looks_for_work(s)
        for index, holding in enumerate(s.actors):
            if holding is None:
                for run in s.store.runs:
                    if run.epoch < self.bounds.epochs:
                        yield from self.executor_claims(s, index, run)
            else:
                yield from self.executor_writes(s, index, holding)
                yield from self.executor_crashes(s, index)

    def time_passes(self, s: CoreState) -> Iterator[tuple[Action, CoreState]]:
        if s.store.clock < self.bounds.ticks:
            yield Action("clock", "tick"), replace(s, store=tick(s.store))

    def user_creates(self, s: CoreState) -> Iterator[tuple[Action, CoreState]]:
        if len(s.store.runs) < self.bounds.runs:
            run_id = f"r{len(s.store.runs)}"
            new = NewRun(WORKFLOW, f"message {run_id}", CODEBASE, CONVERSATION)
            after, result = create_run(s.store, new, run_id)
            yield Action("user", "create_run", (run_id,), result), replace(s, store=after)

    def user_decides(self, s: CoreState, run: Run) -> Iterator[tuple[Action, CoreState]]:
        for name in ("cancel_run", "abandon_run"):
            after, result = self._on_run(s, run, name, ())
            yield Action("user", name, (run.id,), result), self._with(s, after)

    def user_looks_for_work(self, s: CoreState) -> Iterator[tuple[Action, CoreState]]:
        if s.store.runs:
            _, found = self.rules.find_resumable(
                s.store, WORKFLOW, CONVERSATION, CODEBASE, self.bounds.timing
            )
            yield Action("user", "find_resumable", (WORKFLOW,), found), s

    def executor_claims(
        self, s: CoreState, index: int, run: Run
    ) -> Iterator[tuple[Action, CoreState]]:
        actor = actor_name(index)
        for name in ("start_run", "resume_run"):
            after, result = self._on_run(s, run, name, (actor, self.bounds.timing))
            holding = None
            if isinstance(result, Claimed):
                holding = Holding(run.id, result.epoch, result.lease_expires)
            yield Action(actor, name, (run.id,), result), self._with(s, after, index, holding)

    def executor_writes(
        self, s: CoreState, index: int, h: Holding
    ) -> Iterator[tuple[Action, CoreState]]:
        actor, timing = actor_name(index), self.bounds.timing
        run = s.store.get(h.run_id)
        assert run is not None
        writes: tuple[tuple[str, tuple[object, ...]], ...] = (
            ("heartbeat", (h.epoch, timing)),
            ("pause_at_gate", (h.epoch, self.gate)),
            ("complete_run", (h.epoch,)),
            ("fail_run", (h.epoch, "boom")),
        )
        for name, args in writes:
            after, result = self._on_run(s, run, name, args)
            # A refused write tells the executor it lost the run; a finished one releases it.
            kept = (
                replace(h, lease_expires=result.lease_expires)
                if isinstance(result, Renewed)
                else None
            )
            action = Action(actor, name, (h.run_id, h.epoch), result)
            yield action, self._with(s, after, index, kept)

    def executor_crashes(self, s: CoreState, index: int) -> Iterator[tuple[Action, CoreState]]:
        yield Action(actor_name(index), "crash"), self._with(s, None, index, None)

    def _on_run(
        self, s: CoreState, run: Run, rule: str, args: tuple[object, ...]
    ) -> tuple[Run, Result]:
        """Apply a store rule that touches only ``run``.

        Every rule but create and find reads and writes one run, so its effect depends only on
        that run, the clock and the arguments: it is computed once per distinct combination.
        The memo is keyed by the run object's identity and keeps the object alive, so an
        identity is never reused while its entry exists.
        """
        key = (rule, id(run), s.store.clock, args)
        hit = self._memo.get(key)
        if hit is None:
            alone = StoreState(s.store.clock, (run,))
            after, result = getattr(self.rules, rule)(alone, run.id, *args)
            hit = self._memo[key] = (run, after.runs[0], result)
        return hit[1], hit[2]

    def per_run(
        self, name: str, run: Run, clock: float, compute: Callable[[Run, float], bool]
    ) -> bool:
        """A per-run fact about ``run`` at ``clock``, computed once (memoised like
        :meth:`_on_run`: by the run's identity, keeping the run alive)."""
        key = (name, id(run), clock)
        hit = self._facts.get(key)
        if hit is None:
            hit = self._facts[key] = (run, compute(run, clock))
        return hit[1]

    @staticmethod
    def _with(
        s: CoreState,
        run: Run | None,
        index: int | None = None,
        holding: Holding | None = None,
    ) -> CoreState:
        """``s`` with ``run`` replaced (if given) and actor ``index`` holding ``holding``."""
        store = s.store
        if run is not None and all(r is not run for r in store.runs):  # refusals change nothing
            store = StoreState(store.clock, tuple(run if r.id == run.id else r for r in store.runs))
        actors = s.actors
        if index is not None and actors[index] is not holding:
            actors = (*actors[:index], holding, *actors[index + 1 :])
        if store is s.store and actors is s.actors:
            return s
        return CoreState(store, actors)

    # -- bounds and symmetry ------------------------------------------------------------------

    def within_bounds(self, s: CoreState) -> bool:
        """The bounds are guards in Next (no tick at the clock bound, no claim at the epoch
        bound), so every reachable state is fully expanded and progress is checked exactly."""
        return True

    def key(self, s: CoreState) -> Hashable:
        return self._key(s, tuple(range(len(s.store.runs))), s.actors)

    def canonical(self, s: CoreState) -> Hashable:
        """Runs are interchangeable, and so are executors. The claim's holder name is
        informational (no guard or property reads it), so no key includes it.

        Runs are put in the order of their own keys; only runs with equal keys need trying
        in every order, and the smallest key wins.
        """
        run_keys = [self._run_key(r) for r in s.store.runs]
        order = sorted(range(len(run_keys)), key=run_keys.__getitem__)
        ranked = [run_keys[i] for i in order]
        if len(set(ranked)) == len(ranked):
            return self._key(s, tuple(order), None)
        return min(
            self._key(s, p, None)
            for p in permutations(range(len(run_keys)))
            if [run_keys[i] for i in p] == ranked
        )

    def orbit(self, s: CoreState) -> int:
        return len(
            {
                self._key(s, order, actors)
                for order in permutations(range(len(s.store.runs)))
                for actors in permutations(s.actors)
            }
        )

    def _key(
        self, s: CoreState, order: tuple[int, ...], actors: tuple[Holding | None, ...] | None
    ) -> tuple[object, ...]:
        """The state with runs in ``order`` and actors as given (sorted when ``None``)."""
        runs = s.store.runs
        position = {runs[old].id: new for new, old in enumerate(order)}
        holdings = [
            (-1,) if h is None else (position[h.run_id], h.epoch, h.lease_expires)
            for h in (s.actors if actors is None else actors)
        ]
        if actors is None:
            holdings.sort()
        return (s.store.clock, tuple(self._run_key(runs[i]) for i in order), tuple(holdings))

    def _run_key(self, run: Run) -> tuple[object, ...]:
        """A run's fields that matter to the machine (no id, no holder name), memoised."""
        hit = self._run_keys.get(id(run))
        if hit is None:
            hit = self._run_keys[id(run)] = (run, _run_key(run))
        return hit[1]

    def edge(self, before: CoreState, action: Action, after: CoreState) -> Hashable:
        """The abstract edge a concrete step stands for, for transition tours and diagrams:
        the acted-on run's abstract state before, the action, its kind of result, and the
        run's abstract state after. Executor writes also say whether the epoch was current."""
        run_id = str(action.args[0]) if action.args else None
        writer = ""
        if action.name in EXECUTOR_WRITES:
            run = before.store.get(str(action.args[0]))
            writer = "current" if run is not None and run.epoch == action.args[1] else "stale"
        return (
            self.abstract(before, run_id),
            action.name,
            writer,
            type(action.result).__name__ if action.result is not None else "-",
            self.abstract(after, run_id),
        )

    def abstract(self, s: CoreState, run_id: str | None) -> tuple[str, ...]:
        """A run's abstract state: its status, and for a running run whether its executor's
        lease is live and whether it is an orphan that resume accepts."""
        run = s.store.get(run_id) if run_id is not None else None
        if run is None:
            return ("absent",)
        if run.status is not Status.RUNNING:
            return (str(run.status),)
        holder_live = any(
            h is not None and h.run_id == run.id and h.epoch == run.epoch and live(h, s.store.clock)
            for h in s.actors
        )
        orphan = s.store.clock - run.last_activity_at >= self.bounds.timing.stale_after
        return (
            str(run.status),
            "live" if holder_live else "no-live-holder",
            "stale" if orphan else "fresh",
        )

    def describe(self, s: CoreState) -> Mapping[str, object]:
        fields: dict[str, object] = {"clock": s.store.clock}
        for run in s.store.runs:
            claim = run.claim
            fields[f"{run.id}.status"] = str(run.status)
            fields[f"{run.id}.epoch"] = run.epoch
            fields[f"{run.id}.claim"] = (
                "none"
                if claim is None
                else f"{claim.holder}@{claim.epoch} until {claim.lease_expires}"
            )
            fields[f"{run.id}.last_activity_at"] = run.last_activity_at
            fields[f"{run.id}.completed_at"] = run.completed_at
        for index, h in enumerate(s.actors):
            fields[f"{actor_name(index)}.holds"] = (
                "nothing" if h is None else f"{h.run_id}@{h.epoch} until {h.lease_expires}"
            )
        return fields


_STATUS_CODE = {status: code for code, status in enumerate(Status)}


def _run_key(run: Run) -> tuple[object, ...]:
    claim = run.claim
    return (
        _STATUS_CODE[run.status],
        -1 if run.started_at is None else run.started_at,
        run.last_activity_at,
        -1 if run.completed_at is None else run.completed_at,
        -1 if claim is None else claim.epoch,
        -1 if claim is None else claim.lease_expires,
        run.epoch,
        run.error is not None,
        () if run.gate is None else (str(run.gate.state), run.gate.rejections),
        tuple((n.node_id, n.identity, n.output, n.invalidated) for n in run.nodes),
        () if run.loop is None else (run.loop.iteration, run.loop.session_id, run.loop.saved_at),
    )


# --- invariants ------------------------------------------------------------------------------


def no_double_claim(s: CoreState) -> bool:
    """At most one executor holds a live lease on a run, and no two hold the same epoch.

    Protects the worktree from two executors at once (seed 001: racing resumers double-claim).
    """
    clock = s.store.clock
    live_runs = [h.run_id for h in s.actors if h is not None and live(h, clock)]
    claims = [(h.run_id, h.epoch) for h in s.actors if h is not None]
    return len(live_runs) == len(set(live_runs)) and len(claims) == len(set(claims))


def find_and_resume_agree(machine: CoreMachine) -> Invariant[CoreState]:
    def holds(s: CoreState) -> bool:
        """Whatever find-resumable returns, resume accepts at that instant, and vice versa.

        Protects orphan recovery from a predicate copied by hand with another threshold or an
        unbound parameter (seed 001, review finding C1).
        """
        return all(machine.per_run("agree", run, s.store.clock, agree) for run in s.store.runs)

    def agree(run: Run, clock: float) -> bool:
        timing = machine.bounds.timing
        alone = StoreState(clock, (run,))
        _, found = machine.rules.find_resumable(alone, run.workflow, None, run.codebase, timing)
        _, claimed = machine.rules.resume_run(alone, run.id, "probe", timing)
        offered = isinstance(found, Found) and found.run_id == run.id
        return offered == isinstance(claimed, Claimed)

    return Invariant("find_and_resume_agree", holds, _doc(holds), "001")


def claimed_runs_are_running(s: CoreState) -> bool:
    """A run holds a claim exactly while it is running; terminal runs hold none.

    Protects against a finished run that still looks owned (seed 001: cancel must release).
    """
    return all((run.claim is not None) == (run.status is Status.RUNNING) for run in s.store.runs)


def terminal_is_final(before: CoreState, action: Action, after: CoreState) -> bool:
    """A completed or cancelled run never changes again, and its completion time is never
    re-stamped.

    Protects finished work from a cancel that resurrects it (seed 001).
    """
    if after.store is before.store:
        return True
    for run in before.store.runs:
        if run.status in TERMINAL:
            later = after.store.get(run.id)
            if later is None or (later.status, later.completed_at) != (
                run.status,
                run.completed_at,
            ):
                return False
    return True


def cancel_is_truthful(before: CoreState, action: Action, after: CoreState) -> bool:
    """Cancel reports ``cancelled=True`` exactly when it changed the run.

    Protects callers from a false "Cancelled" after the run already finished (seed 001, I1).
    """
    if action.name != "cancel_run" or is_refusal(action.result):
        return True
    changed = before.store.get(str(action.args[0])) != after.store.get(str(action.args[0]))
    return getattr(action.result, "cancelled", None) is changed


def epochs_increase(before: CoreState, action: Action, after: CoreState) -> bool:
    """A run's epoch never goes down, and each successful claim takes a strictly higher one.

    Protects fencing: a recovered run must be told apart from its previous holder (seed 001).
    """
    if after.store is before.store:
        return True
    for run in after.store.runs:
        old = before.store.get(run.id)
        if old is not None and run.epoch < old.epoch:
            return False
    if isinstance(action.result, Claimed):
        old = before.store.get(action.result.run_id)
        return old is not None and action.result.epoch > old.epoch
    return True


def no_stale_write(before: CoreState, action: Action, after: CoreState) -> bool:
    """An executor write succeeds only with the epoch that currently holds the running run.

    Protects a recovered run from its old, merely frozen executor (seed 001: fencing).
    """
    if action.name not in EXECUTOR_WRITES or is_refusal(action.result):
        return True
    run = before.store.get(str(action.args[0]))
    epoch = action.args[1]
    return (
        run is not None
        and run.status is Status.RUNNING
        and run.claim is not None
        and run.claim.epoch == epoch
    )


def cancel_sticks(before: CoreState, action: Action, after: CoreState) -> bool:
    """Only resume may move a run out of failed or paused, and nothing moves it out of
    cancelled; in particular a start never overwrites a cancel that won first.

    Protects a user's cancel from a slow starter (seed 001).
    """
    if action.name != "start_run" or is_refusal(action.result):
        return True
    run = before.store.get(str(action.args[0]))
    return run is not None and run.status is Status.PENDING


def abandon_escapes(before: CoreState, action: Action, after: CoreState) -> bool:
    """Abandon refuses only completed and cancelled runs; any other run it cancels.

    Protects the user's way out of a failed run (seed 000: abandon rejected failed runs).
    """
    if action.name != "abandon_run":
        return True
    run = before.store.get(str(action.args[0]))
    if run is None or run.status in TERMINAL:
        return True
    later = after.store.get(run.id)
    return later is not None and later.status is Status.CANCELLED


EXECUTOR_WRITES = frozenset({"heartbeat", "pause_at_gate", "complete_run", "fail_run"})


def _doc(fn: object) -> str:
    text = (getattr(fn, "__doc__", None) or "").strip()
    return " ".join(text.split("\n\n")[0].split())


def _invariant(fn: Callable[[CoreState], bool], seed: str) -> Invariant[CoreState]:
    return Invariant(fn.__name__, fn, _doc(fn), seed)


def _step(fn: Callable[[CoreState, Action, CoreState], bool], seed: str) -> StepProperty[CoreState]:
    return StepProperty(fn.__name__, fn, _doc(fn), seed)


CORE_STEP_PROPERTIES: tuple[StepProperty[CoreState], ...] = (
    _step(terminal_is_final, "001"),
    _step(cancel_is_truthful, "001"),
    _step(epochs_increase, "001"),
    _step(no_stale_write, "001"),
    _step(cancel_sticks, "001"),
    _step(abandon_escapes, "000"),
)


def orphan_recoverable(machine: CoreMachine) -> Invariant[CoreState]:
    def holds(s: CoreState) -> bool:
        """A running run nobody holds a live lease on becomes resumable once ``stale_after``
        has passed since its last activity, never later.

        Protects orphans from staying claimed forever (seed 001, C1: an unbound threshold
        made recovery silently dead).
        """
        timing = machine.bounds.timing
        for run in s.store.runs:
            if run.status is not Status.RUNNING:
                continue
            if any(
                h is not None and h.run_id == run.id and live(h, s.store.clock) for h in s.actors
            ):
                continue
            later = StoreState(run.last_activity_at + timing.stale_after, (run,))
            _, claimed = machine.rules.resume_run(later, run.id, "recoverer", timing)
            if not isinstance(claimed, Claimed):
                return False
        return True

    return Invariant("orphan_recoverable", holds, _doc(holds), "001")


CORE_INVARIANTS: tuple[Invariant[CoreState], ...] = (
    _invariant(no_double_claim, "001"),
    _invariant(claimed_runs_are_running, "001"),
)


def _goal(
    name: str, doc: str, reached: Callable[[CoreState, Action, CoreState], bool]
) -> Goal[CoreState]:
    return Goal(name, reached, doc, "001")


CORE_GOALS: tuple[Goal[CoreState], ...] = (
    _goal(
        "orphan_recovered",
        "Another executor resumes a running run whose executor went silent.",
        lambda b, a, _: (
            a.name == "resume_run"
            and isinstance(a.result, Claimed)
            and (run := b.store.get(str(a.args[0]))) is not None
            and run.status is Status.RUNNING
        ),
    ),
    _goal(
        "stale_write_refused",
        "A recovered run's previous executor tries to write and is refused.",
        lambda b, a, _: (
            a.name in EXECUTOR_WRITES
            and isinstance(a.result, StaleClaim)
            and a.result.status is Status.RUNNING
        ),
    ),
    _goal(
        "racing_resume_refused",
        "A second resumer finds the run already running and is refused.",
        lambda b, a, _: isinstance(a.result, RunNotResumable) and a.result.status is Status.RUNNING,
    ),
    _goal(
        "cancel_of_finished_run_is_a_no_op",
        "A cancel arrives after the run completed and reports that nothing changed.",
        lambda b, a, _: (
            isinstance(a.result, CancelOutcome)
            and not a.result.cancelled
            and a.result.status is Status.COMPLETED
        ),
    ),
)


def run_can_finish(index: int) -> Progress[CoreState]:
    run_id = f"r{index}"

    def pending(s: CoreState) -> bool:
        run = s.store.get(run_id)
        return run is not None and run.status not in TERMINAL

    def done(s: CoreState) -> bool:
        run = s.store.get(run_id)
        return run is not None and run.status in TERMINAL

    return Progress(
        f"run_can_finish[{run_id}]",
        pending,
        done,
        "From every reachable state, each unfinished run can still reach completed or cancelled.",
        "000",
    )
