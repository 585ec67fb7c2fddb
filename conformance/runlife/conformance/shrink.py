"""Making a failing program smaller with the spec's help, after Hypothesis has shrunk it.

Hypothesis shrinks by the shape of the data it drew; the spec knows which steps matter.
:meth:`Shrinker.minimise` keeps a program failing the same way on the store (same operation,
same check) while it

1. drops steps, the ones the spec answers as no-ops first (refusals, reads, crashes of idle
   executors), then any other;
2. tries the spec's own shortest path to the failing edge: the failing step's abstract edge in
   the core machine (:meth:`runlife.spec.core.CoreMachine.edge`) has a shortest tour
   (:mod:`runlife.conformance.families.tours`), which replaces the program if it fails alike;
3. drops steps again, and names runs ``r0``, ``r1``... in the order they are created.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Hashable, Sequence

from runlife.conformance.families.tours import to_step, tour_clock, tours
from runlife.conformance.guard import StoreRaised
from runlife.conformance.lockstep import Divergence, InvalidStep, Lockstep, Step
from runlife.spec.checker import Action
from runlife.spec.core import WORKFLOW, Bounds, CoreMachine, CoreState
from runlife.spec.records import Timing
from runlife.spec.reference import ModelStore
from runlife.spec.results import is_refusal

Signature = tuple[str, str]
Fresh = Callable[[], Lockstep]

CORE_OPS = frozenset(
    {
        "create_run",
        "start_run",
        "resume_run",
        "heartbeat",
        "pause_at_gate",
        "complete_run",
        "fail_run",
        "cancel_run",
        "abandon_run",
        "find_resumable",
        "tick",
        "crash",
    }
)
CORE_WRITES = frozenset({"heartbeat", "pause_at_gate", "complete_run", "fail_run"})
NAME = re.compile(r"r\d+")


def well_formed(steps: Sequence[Step]) -> bool:
    """Every run a step names (``rN``) was created by an earlier step."""
    created: set[str] = set()
    for step in steps:
        if step.op == "create_run":
            created.add(str(step.run))
        elif step.run is not None and NAME.fullmatch(step.run) and step.run not in created:
            return False
    return True


class Shrinker:
    """Shrinks programs against fresh lockstepped stores from ``fresh``."""

    def __init__(self, fresh: Fresh, timing: Timing) -> None:
        self.fresh, self.timing = fresh, timing
        self.tries = 0

    def failure(self, steps: Sequence[Step]) -> tuple[Signature, int] | None:
        """How ``steps`` fail on a fresh store and at which step (``None``: they pass, or
        cannot be performed)."""
        if not well_formed(steps):
            return None
        self.tries += 1
        lockstep = self.fresh()
        try:
            for step in steps:
                lockstep.step(step)
        except Divergence as divergence:
            return divergence.signature(), divergence.index
        except StoreRaised as error:
            return ("raised", error.method), len(lockstep.records) - 1
        except InvalidStep:
            return None
        return None

    def fails_alike(self, steps: Sequence[Step], signature: Signature) -> list[Step] | None:
        """``steps`` up to their failing step, if they fail with ``signature``."""
        found = self.failure(steps)
        if found is None or found[0] != signature:
            return None
        return list(steps[: found[1] + 1])

    def minimise(self, steps: Sequence[Step], signature: Signature) -> list[Step]:
        """The smallest program found that still fails with ``signature``."""
        best = self._drop_steps(list(steps), signature)
        toured = self._spec_path(best, signature)
        if toured is not None and len(toured) < len(best):
            best = self._drop_steps(toured, signature)
        return renamed(best)

    def _drop_steps(self, steps: list[Step], signature: Signature) -> list[Step]:
        changed = True
        while changed:
            changed = False
            for index in sorted(range(len(steps) - 1), key=self._no_ops_first(steps)):
                kept = self.fails_alike(steps[:index] + steps[index + 1 :], signature)
                if kept is not None:
                    steps, changed = kept, True
                    break
        return steps

    def _no_ops_first(self, steps: Sequence[Step]) -> Callable[[int], tuple[int, int]]:
        """Order step indices: the spec's no-ops (refusals, reads, steps that change nothing
        the spec keeps) first, later steps first."""
        spec = Lockstep(ModelStore(self.timing))
        oracle: ModelStore = spec.spec.store  # type: ignore[assignment]
        noop: set[int] = set()
        for index, step in enumerate(steps):
            before, holdings = oracle.state, dict(spec.spec.holdings)
            try:
                spec.step(step)
            except (InvalidStep, Divergence):
                break
            unchanged = oracle.state == before and spec.spec.holdings == holdings
            if unchanged or is_refusal(spec.expected):
                noop.add(index)
        return lambda index: (0 if index in noop else 1, -index)

    def _spec_path(self, steps: Sequence[Step], signature: Signature) -> list[Step] | None:
        """The spec's shortest path to the failing step's abstract edge, if it fails alike."""
        if not steps or any(s.op not in CORE_OPS or (s.args and s.op != "tick") for s in steps):
            return None
        label = self._failing_edge(steps)
        ticks, tick = tour_clock(self.timing)
        for edge, path in tours(ticks):
            if edge == label:
                return self.fails_alike([to_step(action, tick) for action in path], signature)
        return None

    def _failing_edge(self, steps: Sequence[Step]) -> Hashable:
        """The core machine's abstract edge for the last step, as the spec takes it."""
        lockstep = self.fresh()
        for step in steps[:-1]:
            lockstep.step(step)
        last = steps[-1]
        held = lockstep.holding(last.actor)
        before = _core_state(lockstep)
        with contextlib.suppress(Divergence, StoreRaised):
            lockstep.step(last)
        args: tuple[object, ...] = ()
        if last.op == "find_resumable":
            args = (WORKFLOW,)
        elif last.run is not None:
            args = (lockstep.spec.run_id(last.run),)
        if last.op in CORE_WRITES:
            args += (last.epoch if last.epoch is not None else held[1] if held else None,)
        action = Action(last.actor, last.op, args, lockstep.expected)
        machine = CoreMachine(Bounds(timing=self.timing))
        return machine.edge(before, action, _core_state(lockstep))


def _core_state(lockstep: Lockstep) -> CoreState:
    spec: ModelStore = lockstep.spec.store  # type: ignore[assignment]
    return CoreState(spec.state, tuple(lockstep.spec.holdings.values()))


def renamed(steps: Sequence[Step]) -> list[Step]:
    """Runs named ``r0``, ``r1``... in the order the program creates them."""
    names: dict[str, str] = {}
    for step in steps:
        if step.op == "create_run" and step.run is not None:
            names[step.run] = f"r{len(names)}"
    return [
        Step(s.actor, s.op, names.get(s.run, s.run), s.args, s.epoch) if s.run else s for s in steps
    ]
