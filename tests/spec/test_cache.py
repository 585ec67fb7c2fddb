"""The node cache (seed 002): identities, the resume decisions on the reference store, and the
machine with its variants."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from runlife.spec.cache import (
    VARIANTS,
    CacheMachine,
    Execute,
    Execution,
    Node,
    RunReason,
    Skip,
    decide_node,
    downstream_of,
    node_identity,
    plan_resume,
)
from runlife.spec.checker import explore, format_counterexample
from runlife.spec.records import NewRun, NodeResult
from runlife.spec.reference import ModelStore
from runlife.spec.results import Claimed, Created
from runlife.spec.variants import Variant

A, B, C = Node("a"), Node("b", ("a",)), Node("c", ("b",))
CHAIN = (A, B, C)
DEFS = {"a": "echo draft", "b": "jq . draft.json", "c": "publish"}


def recorded_chain(outputs: dict[str, str] | None = None) -> dict[str, NodeResult]:
    """Results for a -> b -> c as a successful execution with ``DEFS`` records them."""
    out = outputs or {"a": "A", "b": "B", "c": "C"}
    return {
        "a": NodeResult("a", node_identity(DEFS["a"], {}), out["a"]),
        "b": NodeResult("b", node_identity(DEFS["b"], {"a": out["a"]}), out["b"], ("a",)),
        "c": NodeResult("c", node_identity(DEFS["c"], {"b": out["b"]}), out["c"], ("b",)),
    }


def stored_chain() -> tuple[ModelStore, str]:
    """The reference store holding a run whose three nodes succeeded, then failed later."""
    store = ModelStore()
    created = store.create_run(NewRun("release", "draft the changelog"))
    assert isinstance(created, Created)
    claim = store.start_run(created.run_id, "executor")
    assert isinstance(claim, Claimed)
    for result in recorded_chain().values():
        store.record_node_result(created.run_id, claim.epoch, result)
    store.fail_run(created.run_id, claim.epoch, "a later node failed")
    return store, created.run_id


def results(store: ModelStore, run_id: str) -> dict[str, NodeResult]:
    found = store.node_results(run_id)
    assert isinstance(found, Mapping)
    return dict(found)


# --- identity ------------------------------------------------------------------------------


def test_identity_does_not_depend_on_input_order() -> None:
    assert node_identity("d", {"x": "1", "y": "2"}) == node_identity("d", {"y": "2", "x": "1"})


def test_identity_changes_with_definition_and_with_inputs() -> None:
    base = node_identity("d", {"x": "1"})
    assert node_identity("d2", {"x": "1"}) != base
    assert node_identity("d", {"x": "2"}) != base
    assert node_identity("d", {"x": "1", "y": ""}) != base


def test_identity_inputs_cannot_collide_by_concatenation() -> None:
    assert node_identity("d", {"a": "bc"}) != node_identity("d", {"ab": "c"})
    assert node_identity("d", {"a": "b", "c": "d"}) != node_identity("d", {"a": "b,c:d"})


# --- decisions -----------------------------------------------------------------------------


def test_unchanged_nodes_are_skipped_as_prior_success() -> None:
    assert plan_resume(CHAIN, DEFS, recorded_chain(), resume=True) == (
        Skip("a"),
        Skip("b"),
        Skip("c"),
    )


def test_changed_definition_never_skipped() -> None:
    plan = plan_resume(CHAIN, {**DEFS, "a": "echo fixed"}, recorded_chain(), resume=True)
    assert plan == (
        Execute("a", RunReason.DEFINITION_CHANGED),
        Execute("b", RunReason.INPUT_CHANGED),
        Execute("c", RunReason.INPUT_CHANGED),
    )


def test_consumer_of_a_changed_output_is_never_skipped() -> None:
    prior = recorded_chain()["b"]
    decision = decide_node(B, DEFS["b"], {"a": "a different draft"}, prior, resume=True)
    assert decision == Execute("b", RunReason.INPUT_CHANGED)


def test_consumer_is_reused_when_its_producer_reran_to_the_same_output() -> None:
    prior = recorded_chain()["b"]
    assert decide_node(B, DEFS["b"], {"a": "A"}, prior, resume=True) == Skip("b")


def test_no_resume_runs_every_node() -> None:
    plan = plan_resume(CHAIN, DEFS, recorded_chain(), resume=False)
    assert plan == tuple(Execute(n.id, RunReason.NO_RESUME) for n in CHAIN)


def test_always_run_node_runs_and_so_do_its_readers_in_the_plan() -> None:
    dag = (Node("a", always_run=True), B, C)
    assert plan_resume(dag, DEFS, recorded_chain(), resume=True) == (
        Execute("a", RunReason.ALWAYS_RUN),
        Execute("b", RunReason.INPUT_CHANGED),
        Execute("c", RunReason.INPUT_CHANGED),
    )


def test_node_without_a_result_runs() -> None:
    recorded = recorded_chain()
    del recorded["c"]
    assert plan_resume(CHAIN, DEFS, recorded, resume=True)[2] == Execute(
        "c", RunReason.NO_PRIOR_RESULT
    )


def test_invalidate_node_reruns_it() -> None:
    store, run_id = stored_chain()
    store.invalidate_nodes(run_id, "b")
    assert plan_resume(CHAIN, DEFS, results(store, run_id), resume=True) == (
        Skip("a"),
        Execute("b", RunReason.INVALIDATED),
        Execute("c", RunReason.INPUT_CHANGED),
    )


def test_downstream_of_reruns_consumers() -> None:
    store, run_id = stored_chain()
    invalidated = store.invalidate_nodes(run_id, "a", downstream=True)
    assert invalidated.nodes == ("a", "b", "c")  # type: ignore[union-attr]
    recorded = results(store, run_id)
    # Even when the producer re-runs to the very same output, its consumers run again.
    assert decide_node(B, DEFS["b"], {"a": "A"}, recorded["b"], resume=True) == Execute(
        "b", RunReason.INVALIDATED
    )
    assert decide_node(C, DEFS["c"], {"b": "B"}, recorded["c"], resume=True) == Execute(
        "c", RunReason.INVALIDATED
    )


def test_downstream_of_follows_the_graph_transitively() -> None:
    dag = (A, B, C, Node("d", ("a",)), Node("e"))
    assert downstream_of(dag, "a") == {"a", "b", "c", "d"}
    assert downstream_of(dag, "b") == {"b", "c"}
    assert downstream_of(dag, "e") == {"e"}


@pytest.mark.parametrize(
    ("dag", "message"),
    [
        ((A, A), "node 'a' appears twice"),
        ((B, A), "node 'b' depends on 'a', which is not listed before it"),
    ],
)
def test_malformed_dag_is_refused_with_the_node_named(dag: tuple[Node, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_resume(dag, DEFS, {}, resume=True)


def test_node_without_a_definition_is_refused() -> None:
    with pytest.raises(ValueError, match="node 'c' has no definition"):
        plan_resume(CHAIN, {"a": "x", "b": "y"}, {}, resume=True)


# --- the machine ---------------------------------------------------------------------------


def test_correct_cache_machine_has_no_violation_and_completes_after_both_fixes() -> None:
    machine = CacheMachine()
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    completed = [s for s in ex.states if s.store.runs[0].status == "completed"]
    assert completed and all(s.fixed == {"persist", "publish"} for s in completed)
    executions = [e[1].result for e in ex.edges if isinstance(e[1].result, Execution)]
    skipped = {s.decision.node for e in executions for s in e.steps if isinstance(s.decision, Skip)}
    # The publisher succeeds only in the execution that completes the run: nothing to reuse.
    assert skipped == {"persist", "parse"}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_cache_variant_breaks_its_property(variant: Variant) -> None:
    ex = explore(variant.build(), stop_at=variant.violates)
    assert variant.violates in {v.property for v in ex.violations}


def test_node_id_cache_counterexample_is_the_seed_story() -> None:
    """Run (producer writes garbage, consumer fails), fix the producer, resume: stale."""
    variant = next(v for v in VARIANTS if v.name == "cache_keyed_by_node_id")
    ex = explore(variant.build(), stop_at=variant.violates)
    steps = next(v for v in ex.violations if v.property == variant.violates).steps
    assert [(s.name, s.args) for s in steps] == [
        ("execute", (True,)),
        ("fix", ("persist",)),
        ("execute", (True,)),
    ]
