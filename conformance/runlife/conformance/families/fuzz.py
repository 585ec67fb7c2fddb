"""Family 2, stateful differential fuzzing: random programs on the store and the spec at once.

A Hypothesis :class:`~hypothesis.stateful.RuleBasedStateMachine` whose rules are the contract's
operations: several runs (a :class:`~hypothesis.stateful.Bundle` of run names), several
executors each acting on the claim it believes it holds (even after losing it: a frozen
executor waking up), gates, node results, loop sessions, and clock ticks when the store lets the
kit move its clock. Every step goes through :class:`~runlife.conformance.lockstep.Lockstep`, so
answers, stored runs and the spec's invariants are all checked after each one.

A failure is shrunk by Hypothesis, then again with the spec (:mod:`runlife.conformance.shrink`),
and reported as a short pytest test that replays it against the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    get_state_machine_test,
    precondition,
    rule,
)

from runlife.conformance.families.tours import tour_clock
from runlife.conformance.guard import StoreRaised
from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.conformance.lockstep import Divergence, Json, Lockstep, Step
from runlife.conformance.shrink import Shrinker
from runlife.spec.contract import Capability
from runlife.spec.records import Timing

ACTORS = ("a0", "a1", "a2")
MAX_RUNS = 4
WORKFLOWS = st.sampled_from(("wf", "other"))
CONVERSATIONS = st.sampled_from((None, "c1"))
CODEBASES = st.sampled_from(("main", "fork"))
GATES = st.sampled_from((("review", False, 3), ("review", True, 2), ("deploy", True, 3)))
NODES = st.sampled_from(("n1", "n2", "n3"))
TEXTS = st.sampled_from(("boom", "out", "ünïcode ✓ 'quoted' \"twice\"", ""))
BAD_NAMES = st.sampled_from(("", "   ", "x" * 201, "bad\x00name", "tab\tname"))
UNKNOWN = "no-such-run"


RUNS = Bundle("runs")


class Differential(RuleBasedStateMachine):
    """The store and the spec, driven by the same random program: the run lifecycle.

    The rule groups below (:class:`Clock`, :class:`Gates`, :class:`Nodes`) are mixed in by
    :func:`machine_for`. ``kit`` is set there too; ``last`` is the most recent instance (after
    a failure: the one that replayed the shrunk example).
    """

    kit: Kit
    last: Differential | None = None
    runs = RUNS

    def __init__(self) -> None:
        super().__init__()
        self.lockstep: Lockstep = self.kit.lockstep(self.kit.profile.fuzz_every_run)
        type(self).last = self

    @property
    def steps(self) -> list[Step]:
        return [record.step for record in self.lockstep.records]

    def holders(self) -> list[str]:
        return [a for a in ACTORS if self.lockstep.holding(a) is not None]

    def holder(self, pick: int) -> tuple[str, str]:
        holders = self.holders()
        actor = holders[pick % len(holders)]
        held = self.lockstep.holding(actor)
        assert held is not None
        return actor, held[0]

    def write(self, pick: int, op: str, args: tuple[Json, ...] = ()) -> None:
        actor, run = self.holder(pick)
        self.lockstep.step(Step(actor, op, run, args))

    # -- the user -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.lockstep.names) < MAX_RUNS)
    @rule(target=RUNS, workflow=WORKFLOWS, conversation=CONVERSATIONS, codebase=CODEBASES)
    def create_run(self, workflow: str, conversation: str | None, codebase: str) -> str:
        name = f"r{len(self.lockstep.names)}"
        self.lockstep.step(Step("user", "create_run", name, (workflow, conversation, codebase)))
        return name

    @rule(run=RUNS)
    def cancel_run(self, run: str) -> None:
        self.lockstep.step(Step("user", "cancel_run", run))

    @rule(run=RUNS)
    def abandon_run(self, run: str) -> None:
        self.lockstep.step(Step("user", "abandon_run", run))

    @rule(workflow=WORKFLOWS, conversation=CONVERSATIONS, codebase=CODEBASES)
    def find_resumable(self, workflow: str, conversation: str | None, codebase: str) -> None:
        self.lockstep.step(Step("user", "find_resumable", None, (workflow, conversation, codebase)))

    @rule(op=st.sampled_from(("start_run", "cancel_run", "abandon_run", "get_run")))
    def touch_unknown_run(self, op: str) -> None:
        self.lockstep.step(Step("a0" if op == "start_run" else "user", op, UNKNOWN))

    @rule(workflow=BAD_NAMES)
    def create_run_with_bad_input(self, workflow: str) -> None:
        self.lockstep.step(Step("user", "create_run", "refused", (workflow, None, "main")))

    # -- executors ----------------------------------------------------------------------------

    @rule(run=RUNS, actor=st.sampled_from(ACTORS))
    def start_run(self, run: str, actor: str) -> None:
        self.lockstep.step(Step(actor, "start_run", run))

    @rule(run=RUNS, actor=st.sampled_from(ACTORS), expected=st.none() | st.integers(0, 3))
    def resume_run(self, run: str, actor: str, expected: int | None) -> None:
        args: tuple[Json, ...] = () if expected is None else (expected,)
        self.lockstep.step(Step(actor, "resume_run", run, args))

    @precondition(lambda self: self.holders())
    @rule(pick=st.integers(0, 2))
    def heartbeat(self, pick: int) -> None:
        self.write(pick, "heartbeat")

    @precondition(lambda self: self.holders())
    @rule(pick=st.integers(0, 2))
    def complete_run(self, pick: int) -> None:
        self.write(pick, "complete_run")

    @precondition(lambda self: self.holders())
    @rule(pick=st.integers(0, 2), error=TEXTS)
    def fail_run(self, pick: int, error: str) -> None:
        self.write(pick, "fail_run", (error,))

    @precondition(lambda self: self.holders())
    @rule(pick=st.integers(0, 2))
    def crash(self, pick: int) -> None:
        actor, _ = self.holder(pick)
        self.lockstep.step(Step(actor, "crash"))

    @rule(run=RUNS, op=st.sampled_from(("heartbeat", "complete_run")), back=st.integers(0, 2))
    def write_with_an_old_epoch(self, run: str, op: str, back: int) -> None:
        """An executor that holds no claim writes under the epoch the run had ``back`` claims
        ago (0: the current one, as a second executor that learned it would)."""
        stored = self.lockstep.spec.runs.get(run)
        epoch = getattr(stored, "epoch", 0) - back
        self.lockstep.step(Step("zombie", op, run, (), epoch))


class Clock(Differential):
    """Time passes (stores with ``Capability.CLOCK``): by a tick, a lease, an orphan threshold."""

    ticks: tuple[float, ...]

    @rule(index=st.integers(0, 2))
    def tick(self, index: int) -> None:
        self.lockstep.step(Step("clock", "tick", None, (self.ticks[index % len(self.ticks)],)))


class Gates(Differential):
    """Executors pause at approval gates; the user approves or rejects (seed 003)."""

    @precondition(lambda self: self.holders())
    @rule(pick=st.integers(0, 2), gate=GATES)
    def pause_at_gate(self, pick: int, gate: tuple[Json, ...]) -> None:
        self.write(pick, "pause_at_gate", gate)

    @rule(run=RUNS, decision=st.sampled_from(("approve", "reject")))
    def resolve_gate(self, run: str, decision: str) -> None:
        self.lockstep.step(Step("user", "resolve_gate", run, (decision,)))


class Nodes(Differential):
    """Executors record node results and loop sessions; the user invalidates results (seeds
    002 and 004)."""

    @precondition(lambda self: self.holders())
    @rule(
        pick=st.integers(0, 2),
        node=NODES,
        identity=st.sampled_from(("h1", "h2")),
        output=TEXTS,
        depends_on=st.lists(NODES, max_size=2, unique=True),
    )
    def record_node_result(
        self, pick: int, node: str, identity: str, output: str, depends_on: list[str]
    ) -> None:
        self.write(pick, "record_node_result", (node, identity, output, tuple(depends_on)))

    @rule(run=RUNS, node=NODES, downstream=st.booleans())
    def invalidate_nodes(self, run: str, node: str, downstream: bool) -> None:
        self.lockstep.step(Step("user", "invalidate_nodes", run, (node, downstream)))

    @precondition(lambda self: self.holders())
    @rule(
        pick=st.integers(0, 2),
        iteration=st.integers(0, 3),
        session=st.sampled_from(("s1", "s2")),
    )
    def save_loop_session(self, pick: int, iteration: int, session: str) -> None:
        self.write(pick, "save_loop_session", ("loop", iteration, session))


def fuzz_ticks(timing: Timing) -> tuple[float, ...]:
    """The clock steps the fuzzer takes: the tour tick, the lease and the orphan threshold."""
    _, tick = tour_clock(timing)
    return tuple(sorted({tick, timing.lease_ttl, timing.stale_after}))


def machine_for(kit: Kit, groups: Sequence[type[Differential]]) -> type[Differential]:
    """The state machine for ``kit``: the lifecycle rules, the clock's when the store lets the
    kit move its clock, and the rule groups ``groups``."""
    bases: tuple[type, ...] = (*groups, Clock) if kit.has(Capability.CLOCK) else tuple(groups)
    attributes: dict[str, Any] = {"kit": kit, "ticks": fuzz_ticks(kit.timing)}
    return type("Differential", (*bases, Differential), attributes)


def fuzz(kit: Kit, name: str, groups: Sequence[type[Differential]]) -> Verdict:
    """Fuzz the store with the rule groups ``groups``; shrink and report what fails."""
    machine = machine_for(kit, groups)
    test = get_state_machine_test(machine, settings=kit.profile.hypothesis)
    if kit.seed is not None:
        test = use_seed(kit.seed)(test)
    try:
        with with_reporter(lambda _: None):
            test()
    except (Divergence, StoreRaised) as error:
        return _failed(kit, name, machine.last, error)
    except Flaky as error:
        return Verdict(
            Outcome.FAILED,
            f"the store answers the same program differently on different runs: {error}",
        )
    return Verdict.passed()


def _failed(
    kit: Kit, name: str, last: Differential | None, error: Divergence | StoreRaised
) -> Verdict:
    assert last is not None
    steps = last.steps
    signature = error.signature() if isinstance(error, Divergence) else ("raised", error.method)
    shrinker = Shrinker(lambda: kit.lockstep(kit.profile.fuzz_every_run), kit.timing)
    minimal = shrinker.minimise(steps, signature)
    verdict = kit.run_steps(minimal, "fuzz", name)
    if verdict.outcome is Outcome.PASSED:  # the store is not deterministic: keep what failed
        outcome = Outcome.FAILED if isinstance(error, Divergence) else Outcome.BROKEN
        verdict = Verdict(outcome, str(error))
    verdict.detail = {"hypothesis steps": len(steps), "steps": len(minimal)}
    return verdict


GROUPS: dict[str, tuple[type[Differential], ...]] = {
    "lifecycle": (),
    "all operations": (Gates, Nodes),
}


def _case(name: str, groups: Sequence[type[Differential]]) -> Callable[[Kit], Verdict]:
    return lambda kit: fuzz(kit, name, groups)


def cases(kit: Kit) -> list[Case]:
    return [Case(name, "stateful", _case(name, groups)) for name, groups in GROUPS.items()]


FAMILY = Family(2, "fuzz", "stateful differential fuzzing", cases, core=True, unit="programs")
