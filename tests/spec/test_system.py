"""All the machines together on one store: every property holds, and the variant breaks."""

from __future__ import annotations

from runlife.spec.checker import explore, format_counterexample
from runlife.spec.machines import MACHINES
from runlife.spec.system import SYSTEM_BOUNDS, VARIANTS, SystemMachine


def test_every_property_and_goal_holds_together_at_the_small_bound() -> None:
    machine = SystemMachine()
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    assert SYSTEM_BOUNDS.actors >= 2, "the concerns must meet concurrent executors"
    names = {p.name for p in machine.step_properties}
    assert {"side_writes_are_fenced", "one_decision_per_pause", "dispatch_keeps_intent"} <= names


def test_it_is_the_all_model() -> None:
    assert isinstance(MACHINES["all"](), SystemMachine)


def test_an_unfenced_node_write_is_caught_together() -> None:
    [variant] = VARIANTS
    ex = explore(variant.build(), stop_at=variant.violates)
    broken = [v for v in ex.violations if v.property == variant.violates]
    assert broken and broken[0].steps[-1].name == "record_node_result"
