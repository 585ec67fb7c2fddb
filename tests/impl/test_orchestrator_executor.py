"""The executor: node identities, failures, fencing, heartbeats and gates, on the spec's store
and on the SQL store (the seed stories themselves are family 4, tests/conformance)."""

from __future__ import annotations

import pytest
from tests.impl.orchestrator_helpers import advance, any_store, executed, stored

from runlife.impl.orchestrator import (
    Approval,
    Completed,
    Decided,
    Did,
    Failed,
    NodeContext,
    Orchestrator,
    Paused,
    Stopped,
    Task,
    Workflow,
)
from runlife.impl.orchestrator.workflows import definition
from runlife.spec.contract import RunStore
from runlife.spec.gates import Ended
from runlife.spec.limits import MAX_TEXT
from runlife.spec.results import Claimed, StaleClaim, Status

__all__ = ["any_store"]


def first(context: NodeContext) -> str:
    return "one"


def second(context: NodeContext) -> str:
    return f"{context.inputs['first']} two"


def test_a_node_definition_is_its_code_so_editing_the_code_changes_it() -> None:
    assert definition(Task("a", first)) == definition(Task("a", first))
    assert definition(Task("a", first)) != definition(Task("a", second))
    assert definition(Task("a", first)) != definition(Task("b", first))
    assert definition(Task("a", first, definition="v2")) == "task a\nv2"


@pytest.mark.parametrize(
    ("nodes", "complaint"),
    [
        ((Task("a", first), Task("a", first)), "'a' appears twice"),
        ((Task("b", second, ("first",)),), "'b' depends on 'first'"),
    ],
)
def test_a_workflow_with_a_broken_dag_is_refused_naming_the_node(
    nodes: tuple[Task, ...], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        Workflow("broken", nodes)


def test_an_exception_in_a_node_fails_the_run_with_its_type_and_message(
    any_store: RunStore,
) -> None:
    def explode(context: NodeContext) -> str:
        raise KeyError("missing")

    workflows = {"wf": Workflow("wf", (Task("first", first), Task("boom", explode)))}
    execution = executed(Orchestrator(any_store, workflows).run("wf", "go"))
    assert execution.end == Failed("boom", "KeyError: 'missing'")
    run = stored(any_store, execution.run_id)
    assert run.status is Status.FAILED and run.error == "boom: KeyError: 'missing'"
    assert [n.node_id for n in run.nodes] == ["first"]


def test_an_oversized_output_fails_the_node_instead_of_reaching_the_store(
    any_store: RunStore,
) -> None:
    def huge(context: NodeContext) -> str:
        return "x" * (MAX_TEXT + 1)

    workflows = {"wf": Workflow("wf", (Task("huge", huge),))}
    execution = executed(Orchestrator(any_store, workflows).run("wf", "go"))
    assert isinstance(execution.end, Failed) and "at most" in execution.end.error


def test_an_executor_whose_run_was_taken_over_stops_without_writing(any_store: RunStore) -> None:
    def stall(context: NodeContext) -> str:
        """The executor stalls past the stale threshold; a second executor takes the run."""
        advance(any_store, any_store.timing.stale_after)
        taken = any_store.resume_run(context.run_id, "rescuer")
        assert isinstance(taken, Claimed) and taken.epoch == 2
        return "late"

    workflows = {"wf": Workflow("wf", (Task("stall", stall), Task("after", first)))}
    execution = executed(Orchestrator(any_store, workflows).run("wf", "go"))
    assert execution.end == Stopped(StaleClaim(execution.run_id, 1, 2, Status.RUNNING))
    assert "lost its claim" in execution.describe()
    run = stored(any_store, execution.run_id)
    assert run.claim is not None and run.claim.holder == "rescuer"
    assert run.nodes == ()


def test_the_executor_heartbeats_before_each_node(any_store: RunStore) -> None:
    leases: list[float] = []

    def slow(context: NodeContext) -> str:
        run = stored(any_store, context.run_id)
        assert run.claim is not None
        leases.append(run.claim.lease_expires)
        advance(any_store, 10)
        return "done"

    workflows = {"wf": Workflow("wf", (Task("a", slow), Task("b", slow, ("a",))))}
    executed(Orchestrator(any_store, workflows).run("wf", "go"))
    assert leases[1] == leases[0] + 10


def rework(context: NodeContext) -> str:
    return f"{context.inputs['first']}, reworked for {context.user_input}"


def report(context: NodeContext) -> str:
    return f"final: {context.inputs['review']}"


def test_a_rework_after_a_rejection_is_what_the_gate_passes_on_once_approved(
    any_store: RunStore,
) -> None:
    workflow = Workflow(
        "wf",
        (
            Task("first", first),
            Approval("review", ("first",), rework=rework),
            Task("report", report, ("review",)),
        ),
    )
    orchestrator = Orchestrator(any_store, {"wf": workflow})
    run_id = executed(orchestrator.run("wf", "go")).run_id
    assert isinstance(orchestrator.reject(run_id, "tests"), Decided)
    reworked = executed(orchestrator.resume(run_id, "tests"))
    assert reworked.nodes(Did.REWORKED) == ("review",) and isinstance(reworked.end, Paused)
    assert isinstance(orchestrator.approve(run_id), Decided)
    done = executed(orchestrator.resume(run_id))
    assert done.end == Completed("final: one, reworked for tests")
    assert done.nodes(Did.PASSED) == ("review",)


def test_a_rejection_of_a_gate_without_rework_ends_the_run(any_store: RunStore) -> None:
    workflow = Workflow("wf", (Task("first", first), Approval("review", ("first",))))
    orchestrator = Orchestrator(any_store, {"wf": workflow})
    run_id = executed(orchestrator.run("wf", "go")).run_id
    decided = orchestrator.reject(run_id, "no")
    assert isinstance(decided, Decided) and decided.outcome == Ended(run_id, Status.CANCELLED)
