"""The model checker on the core machine: the correct spec holds, every variant breaks."""

from __future__ import annotations

import pytest

from runlife.spec.checker import count_unreduced, explore, format_counterexample, reachable_edges
from runlife.spec.core import Bounds, CoreMachine
from runlife.spec.variants import CORE_VARIANTS, Variant, all_variants


def test_the_correct_spec_holds_every_property_at_the_default_bound() -> None:
    machine = CoreMachine()
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    assert machine.bounds.runs >= 2 and machine.bounds.actors >= 3
    timing = machine.bounds.timing
    assert machine.bounds.ticks > timing.lease_ttl, "a lease must be able to expire"
    assert len(ex.states) > 10_000


@pytest.mark.parametrize("variant", list(all_variants()), ids=lambda v: v.name)
def test_every_variant_breaks_the_property_it_names(variant: Variant) -> None:
    machine = variant.build()
    ex = explore(machine, stop_at=variant.violates)
    broken = [v for v in ex.violations if v.property == variant.violates]
    assert broken, f"{variant.name} should violate {variant.violates}"
    text = format_counterexample(machine, broken[0])
    assert text.startswith(f"{broken[0].kind} violated: {variant.violates}")


def test_counterexamples_are_shortest() -> None:
    """BFS order: the double claim needs create, start and one more resume, nothing else."""
    variant = next(v for v in CORE_VARIANTS if v.name == "resume_without_status_guard")
    ex = explore(variant.build(), stop_at=variant.violates)
    steps = next(v for v in ex.violations if v.property == variant.violates).steps
    assert [s.name for s in steps] == ["create_run", "start_run", "resume_run"]


def test_symmetry_reduction_loses_no_behaviour() -> None:
    """Reduced and unreduced exploration agree on every property and on the reachable
    abstract edges; the orbit count bounds the unreduced state count from above."""
    machine = CoreMachine(Bounds(runs=2, actors=2, ticks=2, epochs=2))
    reduced = explore(machine, labels=True)
    full = explore(machine, symmetry=False, labels=True)
    assert reduced.ok and full.ok
    assert set(reachable_edges(reduced, machine.edge)) == set(reachable_edges(full, machine.edge))
    assert len(reduced.states) < len(full.states) <= count_unreduced(machine, reduced)


def test_symmetry_reduction_finds_the_same_violations() -> None:
    variant = next(v for v in CORE_VARIANTS if v.name == "recovery_without_fencing")
    machine = variant.build()
    reduced = explore(machine, stop_at=variant.violates)
    full = explore(machine, symmetry=False, stop_at=variant.violates)
    shortest = {len(v.steps) for v in reduced.violations if v.property == variant.violates}
    assert shortest == {len(v.steps) for v in full.violations if v.property == variant.violates}


def test_progress_violation_is_reported_as_the_path_to_the_stuck_state() -> None:
    """A machine whose runs can never be cancelled nor finished is stuck: reported."""

    class NoWayOut(CoreMachine):
        def user_decides(self, s, run_id):  # type: ignore[no-untyped-def]
            return iter(())

        def executor_writes(self, s, index, h):  # type: ignore[no-untyped-def]
            return iter(())

    machine = NoWayOut(Bounds(runs=1, actors=1, ticks=1, epochs=1))
    ex = explore(machine)
    stuck = [v for v in ex.violations if v.kind == "progress"]
    assert stuck and stuck[0].property == "run_can_finish[r0]"
    assert [a.name for a in stuck[0].steps] == ["create_run"]


def test_every_reachable_edge_has_a_shortest_tour() -> None:
    machine = CoreMachine(Bounds(runs=1, actors=2, ticks=3, epochs=3))
    ex = explore(machine, labels=True)
    tours = reachable_edges(ex, machine.edge)
    assert len(tours) > 50
    for edge, actions in tours.items():
        assert actions[-1].name == edge[1]  # type: ignore[index]
