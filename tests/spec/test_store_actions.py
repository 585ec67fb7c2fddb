"""Every store action's guard and effect, one named case each (the spec tested on its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from runlife.spec import store
from runlife.spec.records import GateSpec, NewRun, NodeResult, Timing
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    GateDecision,
    GateNotOpen,
    GateResolved,
    GateState,
    Invalidated,
    InvalidInput,
    Renewed,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Status,
    Transitioned,
)
from runlife.spec.store import StoreState

TIMING = Timing(lease_ttl=2, stale_after=3)


def fresh(message: str = "task A") -> StoreState:
    state, _ = store.create_run(StoreState(), NewRun("wf", message), "r0")
    return state


def running(epoch_holder: str = "a0") -> tuple[StoreState, int]:
    state, claimed = store.start_run(fresh(), "r0", epoch_holder, TIMING)
    assert isinstance(claimed, Claimed)
    return state, claimed.epoch


def in_status(status: Status) -> StoreState:
    """A run driven to ``status`` through the actions themselves."""
    if status is Status.PENDING:
        return fresh()
    state, epoch = running()
    steps: dict[Status, Callable[[StoreState], tuple[StoreState, object]]] = {
        Status.RUNNING: lambda s: (s, None),
        Status.PAUSED: lambda s: store.pause_at_gate(s, "r0", epoch, GateSpec("review")),
        Status.FAILED: lambda s: store.fail_run(s, "r0", epoch, "boom"),
        Status.COMPLETED: lambda s: store.complete_run(s, "r0", epoch),
        Status.CANCELLED: lambda s: store.cancel_run(s, "r0"),
    }
    after, _ = steps[status](state)
    run = after.get("r0")
    assert run is not None and run.status is status
    return after


def test_create_stores_a_pending_run_with_the_message_verbatim() -> None:
    state, result = store.create_run(StoreState(), NewRun("wf", 'it\'s "B" `x` ✓'), "r0")
    run = state.get("r0")
    assert run is not None and run.status is Status.PENDING
    assert run.user_message == 'it\'s "B" `x` ✓'
    assert result == Created("r0")


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewRun("", "m"), "workflow"),
        (NewRun("w\x00f", "m"), "workflow"),
        (NewRun("wf", "nul\x00"), "user_message"),
        (NewRun("wf", "x" * 1_048_577), "user_message"),
        (NewRun("x" * 201, "m"), "workflow"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(new: NewRun, field: str) -> None:
    state, result = store.create_run(StoreState(), new, "r0")
    assert isinstance(result, InvalidInput) and result.field == field
    assert state.runs == ()


def test_start_claims_a_pending_run_under_epoch_one() -> None:
    state, result = store.start_run(fresh(), "r0", "a0", TIMING)
    assert result == Claimed("r0", "a0", 1, TIMING.lease_ttl)
    run = state.get("r0")
    assert run is not None and run.status is Status.RUNNING and run.started_at == 0


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.PENDING])
def test_start_refuses_every_status_but_pending(status: Status) -> None:
    state = in_status(status)
    after, result = store.start_run(state, "r0", "a1", TIMING)
    assert result == RunNotStartable("r0", status)
    assert after == state


def test_a_cancel_that_wins_before_start_sticks() -> None:
    cancelled, _ = store.cancel_run(fresh(), "r0")
    after, result = store.start_run(cancelled, "r0", "a0", TIMING)
    assert result == RunNotStartable("r0", Status.CANCELLED)
    assert after == cancelled


@pytest.mark.parametrize("status", [Status.FAILED, Status.PAUSED])
def test_resume_claims_failed_and_paused_runs_and_bumps_the_epoch(status: Status) -> None:
    state, result = store.resume_run(in_status(status), "r0", "a1", TIMING)
    assert isinstance(result, Claimed) and result.epoch == 2
    run = state.get("r0")
    assert run is not None and run.status is Status.RUNNING and run.error is None


@pytest.mark.parametrize("status", [Status.PENDING, Status.COMPLETED, Status.CANCELLED])
def test_resume_refuses_with_the_current_status(status: Status) -> None:
    state = in_status(status)
    after, result = store.resume_run(state, "r0", "a1", TIMING)
    assert result == RunNotResumable("r0", status)
    assert after == state


def test_resume_of_unknown_and_malformed_ids_are_told_apart() -> None:
    assert store.resume_run(fresh(), "r9", "a0", TIMING)[1] == RunNotFound("r9")
    assert isinstance(store.resume_run(fresh(), "bad id", "a0", TIMING)[1], InvalidInput)


def test_second_concurrent_resumer_gets_not_resumable_running() -> None:
    won, first = store.resume_run(in_status(Status.FAILED), "r0", "web", TIMING)
    _, second = store.resume_run(won, "r0", "chat", TIMING)
    assert isinstance(first, Claimed)
    assert second == RunNotResumable("r0", Status.RUNNING)


def test_a_stale_running_orphan_is_resumable_after_the_threshold_and_not_before() -> None:
    state, _ = running()
    early = store.tick(state, TIMING.stale_after - 1)
    assert store.resume_run(early, "r0", "a1", TIMING)[1] == RunNotResumable("r0", Status.RUNNING)
    late = store.tick(state, TIMING.stale_after)
    assert isinstance(store.resume_run(late, "r0", "a1", TIMING)[1], Claimed)


def test_find_and_resume_agree_on_a_stale_orphan() -> None:
    state = store.tick(running()[0], TIMING.stale_after)
    _, found = store.find_resumable(state, "wf", None, "main", TIMING)
    assert found == Found("r0")
    assert isinstance(store.resume_run(state, "r0", "a1", TIMING)[1], Claimed)


def test_find_returns_the_most_recent_resumable_run_of_the_key() -> None:
    state = in_status(Status.FAILED)
    state, _ = store.create_run(state, NewRun("wf", "second"), "r1")
    state, _ = store.create_run(state, NewRun("other", "third"), "r2")
    assert store.find_resumable(state, "wf", None, "main", TIMING)[1] == Found("r0")
    state, _ = store.resume_run(state, "r0", "a", TIMING)
    assert store.find_resumable(state, "wf", None, "main", TIMING)[1] == Found(None)


def test_heartbeat_extends_the_holders_lease() -> None:
    state, epoch = running()
    later = store.tick(state, 1)
    after, result = store.heartbeat(later, "r0", epoch, TIMING)
    assert result == Renewed("r0", epoch, 1 + TIMING.lease_ttl)
    run = after.get("r0")
    assert run is not None and run.last_activity_at == 1


def test_a_stale_holders_writes_are_refused_after_recovery() -> None:
    state, old_epoch = running()
    recovered, claimed = store.resume_run(store.tick(state, 3), "r0", "a1", TIMING)
    assert isinstance(claimed, Claimed) and claimed.epoch == old_epoch + 1
    stale = StaleClaim("r0", old_epoch, claimed.epoch, Status.RUNNING)
    writes: tuple[Callable[[StoreState], store.Step], ...] = (
        lambda s: store.heartbeat(s, "r0", old_epoch, TIMING),
        lambda s: store.complete_run(s, "r0", old_epoch),
        lambda s: store.fail_run(s, "r0", old_epoch, "late"),
        lambda s: store.pause_at_gate(s, "r0", old_epoch, GateSpec("g")),
        lambda s: store.record_node_result(s, "r0", old_epoch, NodeResult("n", "i", "o")),
        lambda s: store.save_loop_session(s, "r0", old_epoch, "loop", 2, "sess"),
    )
    for write in writes:
        after, result = write(recovered)
        assert result == stale
        assert after == recovered


@pytest.mark.parametrize(
    ("write", "status"),
    [
        (lambda s, e: store.complete_run(s, "r0", e), Status.COMPLETED),
        (lambda s, e: store.fail_run(s, "r0", e, "boom"), Status.FAILED),
        (lambda s, e: store.pause_at_gate(s, "r0", e, GateSpec("g")), Status.PAUSED),
    ],
)
def test_holder_writes_move_the_run_and_release_the_claim(
    write: Callable[[StoreState, int], tuple[StoreState, object]], status: Status
) -> None:
    state, epoch = running()
    after, result = write(store.tick(state, 1), epoch)
    assert result == Transitioned("r0", status)
    run = after.get("r0")
    assert run is not None and run.status is status and run.claim is None
    assert (run.completed_at is not None) == (status is Status.COMPLETED)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_cancel_of_a_finished_run_is_a_no_op_that_reports_false(status: Status) -> None:
    state = in_status(status)
    after, result = store.cancel_run(store.tick(state, 5), "r0")
    assert result == CancelOutcome("r0", False, status)
    assert after.runs == state.runs


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.PAUSED, Status.FAILED])
def test_cancel_of_an_unfinished_run_cancels_and_reports_true(status: Status) -> None:
    after, result = store.cancel_run(in_status(status), "r0")
    assert result == CancelOutcome("r0", True, Status.CANCELLED)
    run = after.get("r0")
    assert run is not None and run.claim is None and run.completed_at is not None


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.PAUSED, Status.FAILED])
def test_abandon_accepts_every_unfinished_status_including_failed(status: Status) -> None:
    _, result = store.abandon_run(in_status(status), "r0")
    assert result == Transitioned("r0", Status.CANCELLED)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_abandon_refuses_a_finished_run_with_its_status(status: Status) -> None:
    state = in_status(status)
    after, result = store.abandon_run(state, "r0")
    assert result == RunAlreadyTerminal("r0", status)
    assert after == state


def gated(on_reject: bool, max_attempts: int = 3) -> StoreState:
    state, epoch = running()
    after, _ = store.pause_at_gate(state, "r0", epoch, GateSpec("review", on_reject, max_attempts))
    return after


def test_approve_opens_the_gate_once_and_resets_the_count() -> None:
    state, result = store.resolve_gate(gated(True), "r0", GateDecision.APPROVE)
    assert result == GateResolved("r0", GateDecision.APPROVE, GateState.APPROVED, Status.PAUSED, 0)
    _, second = store.resolve_gate(state, "r0", GateDecision.REJECT)
    assert second == GateNotOpen("r0", Status.PAUSED, GateState.APPROVED)


def test_reject_with_on_reject_stages_rework_until_max_attempts_then_cancels() -> None:
    state = gated(True, max_attempts=2)
    state, first = store.resolve_gate(state, "r0", GateDecision.REJECT)
    assert isinstance(first, GateResolved) and first.gate is GateState.REWORK
    state, claimed = store.resume_run(state, "r0", "a0", TIMING)
    assert isinstance(claimed, Claimed)
    state, _ = store.pause_at_gate(state, "r0", claimed.epoch, GateSpec("review", True, 2))
    run = state.get("r0")
    assert run is not None and run.gate is not None and run.gate.rejections == 1
    state, second = store.resolve_gate(state, "r0", GateDecision.REJECT)
    assert second == GateResolved("r0", GateDecision.REJECT, None, Status.CANCELLED, 2)


def test_reject_without_on_reject_cancels() -> None:
    _, result = store.resolve_gate(gated(False), "r0", GateDecision.REJECT)
    assert isinstance(result, GateResolved) and result.status is Status.CANCELLED


def test_a_decision_on_a_run_without_an_open_gate_is_refused() -> None:
    state = in_status(Status.FAILED)
    after, result = store.resolve_gate(state, "r0", GateDecision.APPROVE)
    assert result == GateNotOpen("r0", Status.FAILED, None)
    assert after == state


def test_invalidate_downstream_follows_recorded_dependencies() -> None:
    state, epoch = running()
    for node, deps in (("a", ()), ("b", ("a",)), ("c", ("b",)), ("d", ())):
        state, _ = store.record_node_result(state, "r0", epoch, NodeResult(node, node, "o", deps))
    _, only = store.invalidate_nodes(state, "r0", "a")
    assert only == Invalidated("r0", ("a",))
    after, chain = store.invalidate_nodes(state, "r0", "a", downstream=True)
    assert chain == Invalidated("r0", ("a", "b", "c"))
    run = after.get("r0")
    assert run is not None and [n.invalidated for n in run.nodes] == [True, True, True, False]


def test_recording_a_node_again_replaces_it_and_clears_invalidation() -> None:
    state, epoch = running()
    state, _ = store.record_node_result(state, "r0", epoch, NodeResult("a", "v1", "bad"))
    state, _ = store.invalidate_nodes(state, "r0", "a")
    state, _ = store.record_node_result(state, "r0", epoch, NodeResult("a", "v2", "good"))
    run = state.get("r0")
    assert run is not None and run.nodes == (NodeResult("a", "v2", "good"),)


def test_loop_session_is_saved_with_the_time() -> None:
    state, epoch = running()
    after, _ = store.save_loop_session(store.tick(state, 1), "r0", epoch, "loop", 2, "s-1")
    run = after.get("r0")
    assert run is not None and run.loop is not None
    assert (run.loop.iteration, run.loop.session_id, run.loop.saved_at) == (2, "s-1", 1)


def test_timing_refuses_a_threshold_below_the_lease() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        Timing(lease_ttl=3, stale_after=2)
    assert replace(TIMING, stale_after=5).stale_after == 5


NOT_A_DECISION: GateDecision = "maybe"  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("attempt", "field"),
    [
        (lambda s, e: store.create_run(s, NewRun("w\ud800", "m"), "r1"), "workflow"),
        (lambda s, e: store.create_run(s, NewRun("wf", "m\udfff"), "r1"), "user_message"),
        (lambda s, e: store.pause_at_gate(s, "r0", e, GateSpec("g", True, 2**63)), "max_attempts"),
        (lambda s, e: store.save_loop_session(s, "r0", e, "loop", -1, "sess"), "iteration"),
        (lambda s, e: store.resolve_gate(s, "r0", NOT_A_DECISION), "decision"),
    ],
)
def test_input_no_database_can_hold_is_refused_by_the_spec_too(
    attempt: Callable[[StoreState, int], store.Step], field: str
) -> None:
    state, epoch = running()
    after, result = attempt(state, epoch)
    assert isinstance(result, InvalidInput) and result.field == field
    assert after == state
