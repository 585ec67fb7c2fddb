"""Family 0, transition tours: every edge of the spec's reachable graph, replayed on the store.

The core machine (:mod:`runlife.spec.core`) is explored at the store's own timing, expressed in
ticks of a common unit. For each abstract edge (a run's abstract state before, the action, its
kind of result, the abstract state after) the shortest behaviour from the initial state ending
with that edge is replayed in lockstep against a fresh store; every step's answer and every
run's stored fields must be the spec's. Ticks become ``advance_clock(unit)``; a crash is the
executor forgetting its claim, with no store call.

Coverage is reported as edges passed out of edges reachable; the tours need the clock
capability only for edges whose shortest path lets time pass.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any, cast

from runlife.conformance.kit import Case, Family, Kit, Verdict
from runlife.conformance.lockstep import Lockstep, Step
from runlife.spec.checker import Action, explore, reachable_edges
from runlife.spec.contract import Capability
from runlife.spec.core import Bounds, CoreMachine
from runlife.spec.records import Timing
from runlife.spec.reference import ModelStore
from runlife.spec.results import outcome

MAX_STALE_TICKS = 3
"""At most this many ticks until a run turns stale: finer timings are explored in coarser
ticks, which is exact for behaviours whose time moves in whole ticks (the only ones toured)."""


def tour_clock(timing: Timing) -> tuple[Timing, float]:
    """The store's timing in ticks, and how many of the store's seconds one tick is.

    The tick is the largest unit both thresholds are whole multiples of, unless that makes
    ``stale_after`` more than :data:`MAX_STALE_TICKS` ticks; then a tick is
    ``stale_after / MAX_STALE_TICKS`` and the lease lasts the ticks it takes to expire.
    """
    lease = Fraction(timing.lease_ttl).limit_denominator(10**6)
    stale = Fraction(timing.stale_after).limit_denominator(10**6)
    unit = Fraction(
        math.gcd(lease.numerator * stale.denominator, stale.numerator * lease.denominator),
        lease.denominator * stale.denominator,
    )
    stale_ticks = min(int(stale / unit), MAX_STALE_TICKS)
    tick = stale / stale_ticks
    lease_ticks = math.ceil(lease / tick)
    return Timing(lease_ticks, stale_ticks), float(tick)


def tour_bounds(ticks: Timing) -> Bounds:
    """The core machine's bounds for the tours at ``ticks``: one run and two executors reach
    every edge label the machine has; time runs long enough for a run to turn stale, be
    recovered, and turn stale again."""
    return Bounds(runs=1, actors=2, ticks=2 * int(ticks.stale_after), epochs=3, timing=ticks)


@lru_cache(maxsize=8)
def tours(ticks: Timing) -> tuple[tuple[Hashable, tuple[Action, ...]], ...]:
    """Each reachable edge of the core machine at ``ticks`` with its shortest behaviour,
    shortest first."""
    machine = CoreMachine(tour_bounds(ticks))
    exploration = explore(machine, stop_at_first=False, labels=True)
    edges = reachable_edges(exploration, machine.edge)
    ordered = sorted(edges.items(), key=lambda item: (len(item[1]), edge_name(item[0])))
    return tuple((label, tuple(path)) for label, path in ordered)


def edge_name(label: Hashable) -> str:
    """``complete_run[running/live/fresh, current epoch -> Transitioned, completed]``."""
    before, action, writer, result, after = cast(tuple[Any, ...], label)
    epoch = f", {writer} epoch" if writer else ""
    return f"{action}[{'/'.join(before)}{epoch} -> {result}, {'/'.join(after)}]"


def to_step(action: Action, tick: float) -> Step:
    """The kit's step for a core machine action; the executor writes under its own claim."""
    if action.name == "tick":
        return Step("clock", "tick", args=(tick,))
    if action.name in ("crash", "find_resumable"):
        return Step(action.actor, action.name)
    return Step(action.actor, action.name, str(action.args[0]))


def check_clock(ticks: Timing, tick: float, timing: Timing) -> None:
    """Make sure the spec at the store's timing answers every tour as the machine in ticks
    does; a difference is a bug in :func:`tour_clock`, not in the store."""
    for _, path in tours(ticks):
        lockstep = Lockstep(ModelStore(timing))
        for action in path:
            lockstep.step(to_step(action, tick))
            if lockstep.spec.comparable(lockstep.expected) != outcome(action.result):
                raise AssertionError(
                    f"tour clock {tick:g} s/tick disagrees with the spec: {action}"
                )


def cases(kit: Kit) -> list[Case]:
    ticks, tick = tour_clock(kit.timing)
    check_clock(ticks, tick, kit.timing)
    found = []
    for label, path in tours(ticks):
        name = edge_name(label)
        method = {"tick": "advance_clock"}.get(path[-1].name, path[-1].name)
        needs = (
            frozenset({Capability.CLOCK}) if any(a.name == "tick" for a in path) else frozenset()
        )

        def check(kit: Kit, name: str = name, path: Sequence[Action] = path) -> Verdict:
            return kit.run_steps([to_step(a, tick) for a in path], "tours", name)

        found.append(Case(name, method, check, needs))
    return found


FAMILY = Family(0, "tours", "transition tours", cases, core=True, unit="edges")
