"""Dispatch and gate decisions around the seed stories: unknown names, malformed input, what a
continuation hands the run, and the parent lookups the auto-resume depends on."""

from __future__ import annotations

import pytest
from tests.impl.orchestrator_helpers import any_store, executed, stored

from runlife.impl.conversations import ConversationRegistry
from runlife.impl.orchestrator import (
    Approval,
    Decided,
    NodeContext,
    NotContinued,
    NotStarted,
    Orchestrator,
    Paused,
    Task,
    UnknownNode,
    UnknownWorkflow,
    Workflow,
)
from runlife.impl.orchestrator.dispatch import Executed
from runlife.impl.orchestrator.gates import claim_of
from runlife.spec.contract import RunStore
from runlife.spec.dispatch import AlreadyBeingResumed
from runlife.spec.gates import NoParent, NotResumed, NotResumedReason, ParentFound, ParentMissing
from runlife.spec.records import Conversation
from runlife.spec.reference import ModelStore
from runlife.spec.results import (
    Claimed,
    GateNotOpen,
    InvalidInput,
    Platform,
    RunNotFound,
    RunNotResumable,
    Status,
)

__all__ = ["any_store"]


def intake(context: NodeContext) -> str:
    return context.user_input or "(none)"


WORKFLOWS = {
    "wf": Workflow("wf", (Task("intake", intake, always_run=True), Approval("review", ("intake",))))
}


def test_an_unknown_workflow_is_refused_before_anything_is_stored() -> None:
    store = ModelStore()
    with pytest.raises(UnknownWorkflow, match="known workflows: wf"):
        Orchestrator(store, WORKFLOWS).run("nope", "go")
    assert store.state.runs == ()


def test_resuming_an_unknown_or_malformed_id_says_so(any_store: RunStore) -> None:
    orchestrator = Orchestrator(any_store, WORKFLOWS)
    missing = orchestrator.resume("0" * 32)
    assert isinstance(missing, NotContinued) and missing.answer == RunNotFound("0" * 32)
    malformed = orchestrator.resume("not an id")
    assert isinstance(malformed, NotContinued) and isinstance(malformed.answer, InvalidInput)


def test_a_fresh_run_with_a_malformed_conversation_is_not_started(any_store: RunStore) -> None:
    bad = Conversation("line\nbreak", Platform.WEB)
    result = Orchestrator(any_store, WORKFLOWS).run("wf", "go", bad)
    assert isinstance(result, NotStarted) and isinstance(result.refusal, InvalidInput)


def test_a_paused_run_is_continued_with_the_new_message_as_its_input(any_store: RunStore) -> None:
    """Seed 000: the one implicit continuation; the message is handed over, never dropped."""
    orchestrator = Orchestrator(any_store, WORKFLOWS)
    web = Conversation("web-1", Platform.WEB)
    paused = executed(orchestrator.run("wf", "first", web))
    continued = orchestrator.run("wf", "my reply", web)
    assert isinstance(continued, Executed) and not continued.fresh
    assert continued.run_id == paused.run_id and isinstance(continued.execution.end, Paused)
    results = any_store.node_results(paused.run_id)
    assert not isinstance(results, RunNotFound | InvalidInput)
    assert results["intake"].output == "my reply"


def test_resume_hands_the_given_message_or_the_runs_own_request(any_store: RunStore) -> None:
    orchestrator = Orchestrator(any_store, WORKFLOWS)
    run_id = executed(orchestrator.run("wf", "the request")).run_id
    executed(orchestrator.resume(run_id))
    results = any_store.node_results(run_id)
    assert not isinstance(results, RunNotFound | InvalidInput)
    assert results["intake"].output == "the request"
    executed(orchestrator.resume(run_id, "more words"))
    results = any_store.node_results(run_id)
    assert not isinstance(results, RunNotFound | InvalidInput)
    assert results["intake"].output == "more words"


def test_invalidating_a_node_the_workflow_lacks_names_the_nodes_it_has(
    any_store: RunStore,
) -> None:
    orchestrator = Orchestrator(any_store, WORKFLOWS)
    run_id = executed(orchestrator.run("wf", "go")).run_id
    with pytest.raises(UnknownNode, match="its nodes: intake, review"):
        orchestrator.invalidate(run_id, "typo")


def test_deciding_a_run_without_an_open_gate_is_refused(any_store: RunStore) -> None:
    orchestrator = Orchestrator(any_store, WORKFLOWS)
    run_id = executed(orchestrator.run("wf", "go")).run_id
    assert isinstance(orchestrator.approve(run_id), Decided)
    again = orchestrator.reject(run_id)
    assert isinstance(again, GateNotOpen) and again.status is Status.PAUSED
    assert orchestrator.approve("f" * 32) == RunNotFound("f" * 32)


def test_an_auto_resume_of_a_workflow_no_longer_known_is_dispatch_failed(
    any_store: RunStore,
) -> None:
    conversations = ConversationRegistry()
    web = conversations.open(Conversation("web-1", Platform.WEB))
    workflows = dict(WORKFLOWS)
    orchestrator = Orchestrator(any_store, workflows, conversations=conversations)
    run_id = executed(orchestrator.run("wf", "go", web)).run_id
    del workflows["wf"]
    decided = orchestrator.approve(run_id)
    assert isinstance(decided, Decided) and isinstance(decided.outcome, NotResumed)
    assert decided.outcome.reason is NotResumedReason.DISPATCH_FAILED
    assert stored(any_store, run_id).status is Status.PAUSED


def test_the_registry_answers_where_a_parent_conversation_lives() -> None:
    registry = ConversationRegistry()
    web = registry.open(Conversation("web-1", Platform.WEB))
    assert registry.lookup(None) == NoParent()
    assert registry.lookup(web) == ParentFound(Platform.WEB)
    assert registry.lookup(Conversation("never-seen", Platform.WEB)) == ParentMissing()
    registry.delete(web.id)
    assert registry.lookup(web) == ParentMissing()
    registry.open(web)
    assert registry.lookup(web) == ParentFound(Platform.WEB)
    trusting = ConversationRegistry(trust_recorded=True)
    assert trusting.lookup(Conversation("c", Platform.CHAT)) == ParentFound(Platform.CHAT)
    trusting.delete("c")
    assert trusting.lookup(Conversation("c", Platform.CHAT)) == ParentMissing()


def test_the_gate_policy_reads_the_dispatch_claim() -> None:
    lost = RunNotResumable("r", Status.RUNNING)
    assert claim_of(None) is None
    told = AlreadyBeingResumed("r", Status.RUNNING)
    assert claim_of(NotContinued("r", told, lost)) == lost
    assert claim_of(NotContinued("r", RunNotFound("r"), RunNotFound("r"))) is None
    dispatched = Orchestrator(ModelStore(), WORKFLOWS).run("wf", "go")
    assert isinstance(dispatched, Executed) and isinstance(dispatched.claim, Claimed)
    assert claim_of(dispatched) == dispatched.claim


def test_an_implicit_continue_does_not_land_on_a_run_that_failed_since(
    any_store: RunStore,
) -> None:
    """Seed 000, the race the dispatch machine found: the reply is decided on a pause, the web
    Resume button claims the run meanwhile and it fails; the reply's claim must be refused."""
    from runlife.spec.dispatch import ContinueRun, DispatchRequest, decide_dispatch

    orchestrator = Orchestrator(any_store, WORKFLOWS)
    web = Conversation("web-1", Platform.WEB)
    paused = executed(orchestrator.run("wf", "first", web))
    decision = decide_dispatch(
        DispatchRequest("wf", "my reply", web.id), stored(any_store, paused.run_id)
    )
    assert isinstance(decision, ContinueRun)
    won = any_store.resume_run(paused.run_id, "web-button")
    assert isinstance(won, Claimed)
    any_store.fail_run(paused.run_id, won.epoch, "boom")
    lost = orchestrator.dispatcher.continue_run(decision)
    assert isinstance(lost, NotContinued)
    assert stored(any_store, paused.run_id).status is Status.FAILED
