"""Every transition of SqlRunStore and every refusal it answers, on SQLite, PostgreSQL and MySQL.

Tests are named after the contract method they check. The store runs on a manual clock at 0 with
the default timing (lease 30 s, orphan after 60 s), so every time below is exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from tests.conftest import StoreFactory
from tests.impl.store_helpers import (
    GATE,
    WORKFLOW,
    cancelled,
    claimed,
    completed,
    failed,
    get,
    new_run,
    paused,
    resumed,
)

from runlife.impl import SqlRunStore
from runlife.spec.records import (
    Claim,
    Conversation,
    Gate,
    GateSpec,
    LoopSession,
    NodeResult,
    Timing,
)
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Found,
    GateDecision,
    GateNotOpen,
    GateResolved,
    GateState,
    Invalidated,
    InvalidInput,
    Platform,
    Recorded,
    Renewed,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Status,
    Transitioned,
)

APPROVE, REJECT = GateDecision.APPROVE, GateDecision.REJECT
Make = Callable[[SqlRunStore], str]


def test_create_run_stores_a_pending_run(store: SqlRunStore) -> None:
    store.advance_clock(5)
    conversation = Conversation("chat-1", Platform.CHAT)
    run_id = new_run(store, "hi", codebase="repo", conversation=conversation, working_path="/w")
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    run = get(store, run_id)
    assert (run.workflow, run.user_message, run.codebase, run.working_path) == (
        WORKFLOW,
        "hi",
        "repo",
        "/w",
    )
    assert run.conversation == conversation
    assert (run.status, run.epoch, run.claim, run.gate, run.nodes, run.loop) == (
        Status.PENDING,
        0,
        None,
        None,
        (),
        None,
    )
    assert (run.created_at, run.last_activity_at, run.started_at, run.completed_at) == (
        5,
        5,
        None,
        None,
    )


def test_start_run_claims_under_epoch_one(store: SqlRunStore) -> None:
    run_id = new_run(store)
    store.advance_clock(2)
    assert store.start_run(run_id, "a") == Claimed(run_id, "a", 1, 32)
    run = get(store, run_id)
    assert (run.status, run.epoch, run.claim) == (Status.RUNNING, 1, Claim("a", 1, 32))
    assert (run.started_at, run.last_activity_at) == (2, 2)


def test_start_run_refuses_a_run_that_is_not_pending(store: SqlRunStore) -> None:
    run_id, _ = claimed(store)
    assert store.start_run(run_id, "b") == RunNotStartable(run_id, Status.RUNNING)
    gone = cancelled(store)
    assert store.start_run(gone, "b") == RunNotStartable(gone, Status.CANCELLED)


def test_resume_run_claims_a_failed_run_clears_its_error_and_keeps_started_at(
    store: SqlRunStore,
) -> None:
    run_id = failed(store)
    store.advance_clock(3)
    assert store.resume_run(run_id, "b") == Claimed(run_id, "b", 2, 33)
    run = get(store, run_id)
    assert (run.status, run.error, run.started_at, run.last_activity_at) == (
        Status.RUNNING,
        None,
        0,
        3,
    )


def test_resume_run_claims_a_paused_run(store: SqlRunStore) -> None:
    run_id = paused(store)
    claim = store.resume_run(run_id, "b")
    assert isinstance(claim, Claimed) and claim.epoch == 2


def test_resume_run_takes_over_an_orphan_only_once_it_is_stale(store: SqlRunStore) -> None:
    run_id, _ = claimed(store)
    store.advance_clock(59.5)
    assert store.resume_run(run_id, "b") == RunNotResumable(run_id, Status.RUNNING)
    store.advance_clock(0.5)  # exactly stale_after without activity: an orphan
    assert store.resume_run(run_id, "b") == Claimed(run_id, "b", 2, 90)


@pytest.mark.parametrize("finished", [completed, cancelled, new_run], ids=lambda f: f.__name__)
def test_resume_run_refuses_pending_and_terminal_runs(store: SqlRunStore, finished: Make) -> None:
    run_id = finished(store)
    status = get(store, run_id).status
    assert store.resume_run(run_id, "b") == RunNotResumable(run_id, status)


def test_resume_run_takes_over_an_orphan_on_the_database_clock(make_store: StoreFactory) -> None:
    """Seed 001 C1: the orphan threshold is a bound parameter that reaches every dialect."""
    store = make_store(timing=Timing(lease_ttl=0.2, stale_after=0.2))
    run_id, _ = claimed(store)
    assert store.resume_run(run_id, "b") == RunNotResumable(run_id, Status.RUNNING)
    time.sleep(0.4)
    claim = store.resume_run(run_id, "b")
    assert isinstance(claim, Claimed) and claim.epoch == 2
    assert abs(store.now() - time.time()) < 5  # the database clock is in epoch seconds


def test_heartbeat_extends_the_lease_of_the_holder(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.advance_clock(10)
    assert store.heartbeat(run_id, epoch) == Renewed(run_id, epoch, 40)
    run = get(store, run_id)
    assert (run.claim, run.last_activity_at) == (Claim("a", 1, 40), 10)


def test_heartbeat_refuses_a_stale_epoch(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    assert store.heartbeat(run_id, epoch + 1) == StaleClaim(run_id, 2, 1, Status.RUNNING)
    store.pause_at_gate(run_id, epoch, GATE)
    assert store.heartbeat(run_id, epoch) == StaleClaim(run_id, 1, 1, Status.PAUSED)


def test_pause_at_gate_opens_the_gate_and_releases_the_claim(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.advance_clock(4)
    assert store.pause_at_gate(run_id, epoch, GATE) == Transitioned(run_id, Status.PAUSED)
    run = get(store, run_id)
    assert (run.status, run.claim, run.gate, run.last_activity_at) == (
        Status.PAUSED,
        None,
        Gate(GATE, GateState.OPEN, 0),
        4,
    )


def test_pause_at_the_same_gate_keeps_its_rejections_and_another_gate_resets_them(
    store: SqlRunStore,
) -> None:
    run_id = paused(store)
    assert store.resolve_gate(run_id, REJECT) == GateResolved(
        run_id, REJECT, GateState.REWORK, Status.PAUSED, 1
    )
    epoch = resumed(store, run_id, "b")
    store.pause_at_gate(run_id, epoch, GATE)
    assert get(store, run_id).gate == Gate(GATE, GateState.OPEN, 1)
    epoch = resumed(store, run_id, "c")
    other = GateSpec("deploy")
    store.pause_at_gate(run_id, epoch, other)
    assert get(store, run_id).gate == Gate(other, GateState.OPEN, 0)


def test_pause_at_gate_refuses_a_stale_epoch_and_a_bad_gate(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    assert store.pause_at_gate(run_id, 7, GATE) == StaleClaim(run_id, 7, 1, Status.RUNNING)
    assert store.pause_at_gate(run_id, epoch, GateSpec("g", max_attempts=0)) == InvalidInput(
        "max_attempts", "must be at least 1"
    )
    bad = store.pause_at_gate(run_id, epoch, GateSpec(""))
    assert isinstance(bad, InvalidInput) and bad.field == "node_id"


def test_resolve_gate_approve_resets_rejections(store: SqlRunStore) -> None:
    run_id = paused(store)
    store.resolve_gate(run_id, REJECT)
    epoch = resumed(store, run_id, "b")
    store.pause_at_gate(run_id, epoch, GATE)
    store.advance_clock(3)
    assert store.resolve_gate(run_id, APPROVE) == GateResolved(
        run_id, APPROVE, GateState.APPROVED, Status.PAUSED, 0
    )
    run = get(store, run_id)
    assert (run.gate, run.last_activity_at) == (Gate(GATE, GateState.APPROVED, 0), 3)


def test_resolve_gate_reject_without_rework_cancels(store: SqlRunStore) -> None:
    gate = GateSpec("review", on_reject=False)
    run_id = paused(store, gate)
    store.advance_clock(6)
    assert store.resolve_gate(run_id, REJECT) == GateResolved(
        run_id, REJECT, None, Status.CANCELLED, 1
    )
    run = get(store, run_id)
    assert (run.status, run.completed_at, run.gate) == (
        Status.CANCELLED,
        6,
        Gate(gate, GateState.OPEN, 1),
    )


def test_resolve_gate_reject_cancels_once_max_attempts_are_reached(store: SqlRunStore) -> None:
    gate = GateSpec("review", on_reject=True, max_attempts=2)
    run_id = paused(store, gate)
    assert store.resolve_gate(run_id, REJECT) == GateResolved(
        run_id, REJECT, GateState.REWORK, Status.PAUSED, 1
    )
    epoch = resumed(store, run_id, "b")
    store.pause_at_gate(run_id, epoch, gate)
    assert store.resolve_gate(run_id, REJECT) == GateResolved(
        run_id, REJECT, None, Status.CANCELLED, 2
    )


def test_resolve_gate_refuses_a_gate_that_is_not_open(store: SqlRunStore) -> None:
    run_id = paused(store)
    store.resolve_gate(run_id, APPROVE)
    assert store.resolve_gate(run_id, REJECT) == GateNotOpen(
        run_id, Status.PAUSED, GateState.APPROVED
    )
    running, _ = claimed(store)
    assert store.resolve_gate(running, APPROVE) == GateNotOpen(running, Status.RUNNING, None)
    assert store.resolve_gate(running, "maybe") == InvalidInput(  # type: ignore[arg-type]
        "decision", "must be approve or reject"
    )


def test_complete_run_finishes_and_stamps_completion(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.advance_clock(9)
    assert store.complete_run(run_id, epoch) == Transitioned(run_id, Status.COMPLETED)
    run = get(store, run_id)
    assert (run.status, run.claim, run.completed_at, run.last_activity_at) == (
        Status.COMPLETED,
        None,
        9,
        9,
    )
    assert store.complete_run(run_id, epoch) == StaleClaim(run_id, 1, 1, Status.COMPLETED)


def test_complete_run_clears_an_approved_gate(store: SqlRunStore) -> None:
    run_id = paused(store)
    store.resolve_gate(run_id, APPROVE)
    epoch = resumed(store, run_id, "b")
    store.complete_run(run_id, epoch)
    assert get(store, run_id).gate is None


def test_fail_run_records_the_error(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    assert store.fail_run(run_id, epoch, "it broke") == Transitioned(run_id, Status.FAILED)
    run = get(store, run_id)
    assert (run.status, run.error, run.claim, run.completed_at) == (
        Status.FAILED,
        "it broke",
        None,
        None,
    )
    assert store.fail_run(run_id, epoch, "again") == StaleClaim(run_id, 1, 1, Status.FAILED)


@pytest.mark.parametrize("make", [new_run, failed, paused], ids=lambda f: f.__name__)
def test_cancel_run_cancels_an_unfinished_run(store: SqlRunStore, make: Make) -> None:
    run_id = make(store)
    store.advance_clock(7)
    assert store.cancel_run(run_id) == CancelOutcome(run_id, True, Status.CANCELLED)
    run = get(store, run_id)
    assert (run.status, run.completed_at, run.last_activity_at, run.claim) == (
        Status.CANCELLED,
        7,
        7,
        None,
    )


def test_cancel_run_cancels_a_running_run_and_fences_its_holder(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    assert store.cancel_run(run_id) == CancelOutcome(run_id, True, Status.CANCELLED)
    assert store.heartbeat(run_id, epoch) == StaleClaim(run_id, 1, 1, Status.CANCELLED)


@pytest.mark.parametrize("finished", [completed, cancelled], ids=lambda f: f.__name__)
def test_cancel_run_on_a_finished_run_is_a_truthful_no_op(
    store: SqlRunStore, finished: Make
) -> None:
    run_id = finished(store)
    before = get(store, run_id)
    store.advance_clock(50)
    assert store.cancel_run(run_id) == CancelOutcome(run_id, False, before.status)
    assert get(store, run_id) == before


@pytest.mark.parametrize("make", [new_run, failed, paused], ids=lambda f: f.__name__)
def test_abandon_run_cancels_pending_failed_and_paused_runs(store: SqlRunStore, make: Make) -> None:
    run_id = make(store)
    assert store.abandon_run(run_id) == Transitioned(run_id, Status.CANCELLED)
    assert get(store, run_id).status is Status.CANCELLED


@pytest.mark.parametrize("finished", [completed, cancelled], ids=lambda f: f.__name__)
def test_abandon_run_refuses_a_finished_run(store: SqlRunStore, finished: Make) -> None:
    run_id = finished(store)
    status = get(store, run_id).status
    assert store.abandon_run(run_id) == RunAlreadyTerminal(run_id, status)


def test_find_resumable_answers_the_most_recent_resumable_run(store: SqlRunStore) -> None:
    conversation = Conversation("c1", Platform.WEB)
    older = failed(store, conversation=conversation)
    newer = paused(store, conversation=conversation)
    failed(store, conversation=Conversation("c2", Platform.WEB))
    failed(store, codebase="other", conversation=conversation)
    failed(store, workflow="other", conversation=conversation)
    claimed(store, conversation=conversation)  # running and fresh: not resumable
    assert store.find_resumable(WORKFLOW, "c1", "main") == Found(newer)
    store.cancel_run(newer)
    assert store.find_resumable(WORKFLOW, "c1", "main") == Found(older)
    store.cancel_run(older)
    assert store.find_resumable(WORKFLOW, "c1", "main") == Found(None)
    assert store.find_resumable(WORKFLOW, None, "main") == Found(None)


def test_find_resumable_finds_a_stale_orphan_exactly_when_resume_would_take_it(
    store: SqlRunStore,
) -> None:
    run_id, _ = claimed(store)
    store.advance_clock(59)
    assert store.find_resumable(WORKFLOW, None, "main") == Found(None)
    store.advance_clock(1)
    assert store.find_resumable(WORKFLOW, None, "main") == Found(run_id)
    assert isinstance(store.resume_run(run_id, "b"), Claimed)
    assert store.find_resumable(WORKFLOW, None, "main") == Found(None)


def test_find_resumable_with_names_no_run_can_have_finds_nothing(store: SqlRunStore) -> None:
    failed(store)
    assert store.find_resumable("", None, "main") == Found(None)
    assert store.find_resumable(WORKFLOW, "bad\x00id", "main") == Found(None)
    assert store.find_resumable(WORKFLOW, None, "x" * 10_000) == Found(None)


def test_record_node_result_replaces_and_clears_invalidated(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    first = NodeResult("plan", "h1", "first", ())
    assert store.record_node_result(run_id, epoch, first) == Recorded(run_id, "plan")
    store.invalidate_nodes(run_id, "plan")
    second = NodeResult("plan", "h2", "second", ("fetch",), invalidated=True)
    assert store.record_node_result(run_id, epoch, second) == Recorded(run_id, "plan")
    assert store.node_results(run_id) == {"plan": NodeResult("plan", "h2", "second", ("fetch",))}
    assert store.record_node_result(run_id, 9, first) == StaleClaim(run_id, 9, 1, Status.RUNNING)


def test_invalidate_nodes_follows_recorded_dependencies_downstream(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    graph = {"a": (), "b": ("a",), "c": ("b",), "d": (), "e": ("d", "c")}
    for node, needs in graph.items():
        store.record_node_result(run_id, epoch, NodeResult(node, f"h-{node}", node, needs))
    assert store.invalidate_nodes(run_id, "b") == Invalidated(run_id, ("b",))
    assert store.invalidate_nodes(run_id, "a", downstream=True) == Invalidated(
        run_id, ("a", "b", "c", "e")
    )
    marked = {n.node_id for n in get(store, run_id).nodes if n.invalidated}
    assert marked == {"a", "b", "c", "e"}
    assert store.invalidate_nodes(run_id, "missing", downstream=True) == Invalidated(run_id, ())


def test_invalidate_nodes_works_on_a_finished_run(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.record_node_result(run_id, epoch, NodeResult("n", "h", "out"))
    store.complete_run(run_id, epoch)
    assert store.invalidate_nodes(run_id, "n") == Invalidated(run_id, ("n",))


def test_save_loop_session_keeps_the_last_session(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    assert store.loop_session(run_id) is None
    store.advance_clock(2)
    assert store.save_loop_session(run_id, epoch, "chat", 1, "s-1") == Recorded(run_id, "chat")
    store.advance_clock(2)
    store.save_loop_session(run_id, epoch, "chat", 2, "s-2")
    assert store.loop_session(run_id) == LoopSession("chat", 2, "s-2", 4)
    assert store.save_loop_session(run_id, 5, "chat", 3, "s-3") == StaleClaim(
        run_id, 5, 1, Status.RUNNING
    )


def test_reset_empties_the_store(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.record_node_result(run_id, epoch, NodeResult("n", "h", "out"))
    store.reset()
    assert store.get_run(run_id) == RunNotFound(run_id)
    assert store.find_resumable(WORKFLOW, None, "main") == Found(None)
    assert get(store, new_run(store)).status is Status.PENDING
