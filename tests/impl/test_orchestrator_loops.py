"""Interactive loops and the fake provider (seed 004's stories are family 4): how sessions
age, and how non-interactive, fresh-context and undecided loops use them."""

from __future__ import annotations

import pytest
from tests.impl.orchestrator_helpers import advance, any_store, executed, stored

from runlife.impl.orchestrator import Did, FakeProvider, Loop, NodeContext, Orchestrator, Workflow
from runlife.impl.orchestrator.loops import Reply, SessionExpired
from runlife.impl.orchestrator.report import Completed, Failed, Paused
from runlife.spec.contract import RunStore
from runlife.spec.loop import Fresh, FreshReason, Reuse
from runlife.spec.records import LoopSession

__all__ = ["any_store"]


def prompt(context: NodeContext, iteration: int) -> str:
    return f"iteration {iteration}"


def never(reply: str) -> bool:
    return False


def loop_workflow(**settings: object) -> dict[str, Workflow]:
    loop = Loop("refine", prompt, never, max_iterations=3, **settings)  # type: ignore[arg-type]
    return {"loop": Workflow("loop", (loop,))}


def test_a_provider_session_lives_for_its_ttl_after_its_last_use() -> None:
    now = [0.0]
    provider = FakeProvider(session_ttl=10, now=lambda: now[0])
    first = provider.send("hello", None)
    assert first == Reply("session-1", "[session-1 turn 1] hello")
    now[0] = 9
    assert provider.send("again", "session-1").text == "[session-1 turn 2] again"
    now[0] = 18.5
    assert provider.send("still", "session-1").session_id == "session-1"
    now[0] = 28.5
    with pytest.raises(SessionExpired, match="session-1 expired"):
        provider.send("too late", "session-1")
    with pytest.raises(SessionExpired, match="never"):
        provider.send("unknown", "never")


def test_a_non_interactive_loop_keeps_its_session_across_iterations(any_store: RunStore) -> None:
    orchestrator = Orchestrator(any_store, loop_workflow(interactive=False))
    execution = executed(orchestrator.run("loop", "go"))
    choices = [use.choice for use in execution.sessions]
    assert choices == [Fresh(FreshReason.FIRST_ITERATION), Reuse("session-1"), Reuse("session-1")]
    assert execution.end == Completed("[session-1 turn 3] iteration 3")
    saved = stored(any_store, execution.run_id).loop
    assert saved is not None and (saved.iteration, saved.session_id) == (3, "session-1")


def test_a_fresh_context_loop_starts_every_iteration_in_a_new_session(any_store: RunStore) -> None:
    orchestrator = Orchestrator(any_store, loop_workflow(interactive=False, fresh_context=True))
    execution = executed(orchestrator.run("loop", "go"))
    assert [use.sent for use in execution.sessions] == [None, None, None]
    assert execution.sessions[2].choice == Fresh(FreshReason.FRESH_CONTEXT)


def test_a_loop_resumed_without_a_decision_pauses_again_without_iterating(
    any_store: RunStore,
) -> None:
    orchestrator = Orchestrator(any_store, loop_workflow())
    run_id = executed(orchestrator.run("loop", "go")).run_id
    again = executed(orchestrator.resume(run_id))
    assert again.sessions == () and isinstance(again.end, Paused)
    assert again.nodes(Did.PAUSED) == ("refine",)
    assert any_store.loop_session(run_id) == LoopSession("refine", 1, "session-1", 0.0)


def test_an_expired_session_is_replaced_even_deep_into_a_resumed_loop(
    any_store: RunStore,
) -> None:
    orchestrator = Orchestrator(any_store, loop_workflow())
    run_id = executed(orchestrator.run("loop", "go")).run_id
    for _ in range(2):
        advance(any_store, 3600)
        orchestrator.approve(run_id)
        resumed = executed(orchestrator.resume(run_id))
        assert resumed.sessions[0].choice == Fresh(FreshReason.EXPIRED)
    assert isinstance(resumed.end, Completed)


def test_a_provider_error_fails_the_loop_node(any_store: RunStore) -> None:
    class Down:
        session_ttl = 10.0

        def send(self, prompt: str, session_id: str | None) -> Reply:
            raise ConnectionError("provider unreachable")

    orchestrator = Orchestrator(any_store, loop_workflow(), provider=Down())
    execution = executed(orchestrator.run("loop", "go"))
    assert execution.end == Failed("refine", "iteration 1: provider unreachable")
