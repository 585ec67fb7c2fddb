"""Approval gates (seed 003): decisions on the reference store, the auto-resume policy and its
hints, and the machine with its variants."""

from __future__ import annotations

import pytest

from runlife.spec.checker import explore, format_counterexample
from runlife.spec.gates import (
    VARIANTS,
    Ended,
    GateAction,
    GatesMachine,
    NoParent,
    NotResumed,
    NotResumedReason,
    ParentFound,
    ParentLookup,
    ParentMissing,
    Resumed,
    at_gate,
    auto_resume_after_decision,
    manual_resume_hint,
    needs_dispatch,
)
from runlife.spec.records import Gate, GateSpec, NewRun
from runlife.spec.reference import ModelStore
from runlife.spec.results import (
    Claimed,
    Created,
    GateDecision,
    GateNotOpen,
    GateResolved,
    GateState,
    Platform,
    RunNotResumable,
    Status,
)
from runlife.spec.variants import Variant

APPROVED = GateResolved("r7", GateDecision.APPROVE, GateState.APPROVED, Status.PAUSED, 0)
REJECTED = GateResolved("r7", GateDecision.REJECT, GateState.REWORK, Status.PAUSED, 1)
CANCELLED = GateResolved("r7", GateDecision.REJECT, None, Status.CANCELLED, 3)
CLAIMED = Claimed("r7", "server", 3, 10.0)


def paused_at(store: ModelStore, gate: GateSpec) -> str:
    created = store.create_run(NewRun("wf", "ship it"))
    assert isinstance(created, Created)
    claimed = store.start_run(created.run_id, "executor")
    assert isinstance(claimed, Claimed)
    store.pause_at_gate(created.run_id, claimed.epoch, gate)
    return created.run_id


def rework_and_pause_again(store: ModelStore, run_id: str, gate: GateSpec) -> None:
    claimed = store.resume_run(run_id, "executor")
    assert isinstance(claimed, Claimed)
    store.pause_at_gate(run_id, claimed.epoch, gate)


# --- gate decisions on the store -----------------------------------------------------------


def test_second_concurrent_decision_on_the_same_gate_is_refused() -> None:
    store = ModelStore()
    run_id = paused_at(store, GateSpec("review"))
    first = store.resolve_gate(run_id, GateDecision.APPROVE)
    second = store.resolve_gate(run_id, GateDecision.REJECT)
    assert isinstance(first, GateResolved)
    assert second == GateNotOpen(run_id, Status.PAUSED, GateState.APPROVED)


def test_rejection_reaching_max_attempts_cancels_and_approval_resets_the_count() -> None:
    store = ModelStore()
    gate = GateSpec("review", on_reject=True, max_attempts=3)
    run_id = paused_at(store, gate)
    assert store.resolve_gate(run_id, GateDecision.REJECT).rejections == 1  # type: ignore[union-attr]
    rework_and_pause_again(store, run_id, gate)
    approved = store.resolve_gate(run_id, GateDecision.APPROVE)
    assert isinstance(approved, GateResolved) and approved.rejections == 0
    rework_and_pause_again(store, run_id, gate)
    for attempt in (1, 2):
        result = store.resolve_gate(run_id, GateDecision.REJECT)
        assert isinstance(result, GateResolved) and result.status is Status.PAUSED, attempt
        rework_and_pause_again(store, run_id, gate)
    last = store.resolve_gate(run_id, GateDecision.REJECT)
    assert isinstance(last, GateResolved)
    assert (last.status, last.rejections, last.gate) == (Status.CANCELLED, 3, None)


def test_rejection_without_on_reject_cancels_and_auto_resume_reports_ended() -> None:
    store = ModelStore()
    run_id = paused_at(store, GateSpec("review"))
    result = store.resolve_gate(run_id, GateDecision.REJECT)
    assert isinstance(result, GateResolved) and result.status is Status.CANCELLED
    outcome = auto_resume_after_decision(result, ParentFound(Platform.WEB), True, None)
    assert outcome == Ended(run_id, Status.CANCELLED)


# --- auto-resume and its hints -------------------------------------------------------------


@pytest.mark.parametrize("resolved", [APPROVED, REJECTED], ids=["approve", "reject"])
def test_approve_reject_with_no_parent_returns_reason_and_hint(resolved: GateResolved) -> None:
    outcome = auto_resume_after_decision(resolved, NoParent(), True, None)
    assert isinstance(outcome, NotResumed) and outcome.reason is NotResumedReason.NO_PARENT
    assert "`runlife resume r7`" in outcome.hint and "working directory" in outcome.hint
    goal = "continue the run" if resolved is APPROVED else "apply the on-reject prompt"
    assert goal in outcome.hint


@pytest.mark.parametrize("resolved", [APPROVED, REJECTED], ids=["approve", "reject"])
@pytest.mark.parametrize("platform", [Platform.CLI, Platform.CHAT])
def test_approve_reject_with_non_web_parent_returns_reason_and_hint(
    resolved: GateResolved, platform: Platform
) -> None:
    outcome = auto_resume_after_decision(resolved, ParentFound(platform), True, CLAIMED)
    assert isinstance(outcome, NotResumed) and outcome.reason is NotResumedReason.NON_WEB_PARENT
    assert "originating thread" in outcome.hint and "`runlife resume r7`" in outcome.hint


@pytest.mark.parametrize("resolved", [APPROVED, REJECTED], ids=["approve", "reject"])
def test_approve_reject_with_deleted_parent_returns_reason_and_hint(
    resolved: GateResolved,
) -> None:
    outcome = auto_resume_after_decision(resolved, ParentMissing(), True, None)
    assert isinstance(outcome, NotResumed)
    assert outcome.reason is NotResumedReason.NO_PLATFORM_CONVERSATION
    assert "no longer available" in outcome.hint and "`runlife resume r7`" in outcome.hint


@pytest.mark.parametrize("claim", [None, CLAIMED], ids=["never-claimed", "claimed"])
def test_failed_dispatch_returns_reason_and_hint(claim: Claimed | None) -> None:
    outcome = auto_resume_after_decision(APPROVED, ParentFound(Platform.WEB), False, claim)
    assert isinstance(outcome, NotResumed) and outcome.reason is NotResumedReason.DISPATCH_FAILED
    assert "dispatch failed" in outcome.hint and "`runlife resume r7`" in outcome.hint


def test_lost_race_says_already_being_resumed_with_the_status() -> None:
    lost = RunNotResumable("r7", Status.RUNNING)
    outcome = auto_resume_after_decision(REJECTED, ParentFound(Platform.WEB), True, lost)
    assert isinstance(outcome, NotResumed) and outcome.reason is NotResumedReason.LOST_RACE
    assert "already being resumed (running)" in outcome.hint
    assert "`runlife resume r7`" in outcome.hint


def test_web_parent_with_a_won_claim_resumes() -> None:
    assert auto_resume_after_decision(APPROVED, ParentFound(Platform.WEB), True, CLAIMED) == (
        Resumed("r7")
    )


@pytest.mark.parametrize(
    ("resolved", "parent", "expected"),
    [
        (APPROVED, ParentFound(Platform.WEB), True),
        (APPROVED, ParentFound(Platform.CLI), False),
        (APPROVED, NoParent(), False),
        (APPROVED, ParentMissing(), False),
        (CANCELLED, ParentFound(Platform.WEB), False),
    ],
)
def test_needs_dispatch_only_for_a_waiting_run_with_a_web_parent(
    resolved: GateResolved, parent: ParentLookup, expected: bool
) -> None:
    assert needs_dispatch(resolved, parent) is expected


@pytest.mark.parametrize("reason", list(NotResumedReason))
@pytest.mark.parametrize("decision", list(GateDecision))
def test_every_hint_names_the_exact_command(
    reason: NotResumedReason, decision: GateDecision
) -> None:
    assert "`runlife resume run-42`" in manual_resume_hint("run-42", reason, decision)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (None, GateAction.WAIT),
        (GateState.OPEN, GateAction.WAIT),
        (GateState.APPROVED, GateAction.PASS),
        (GateState.REWORK, GateAction.REWORK),
    ],
)
def test_executor_passes_the_gate_only_once_approved(
    state: GateState | None, action: GateAction
) -> None:
    gate = None if state is None else Gate(GateSpec("review", on_reject=True), state)
    assert at_gate(gate) is action


# --- the machine ---------------------------------------------------------------------------


def test_correct_gates_machine_has_no_violation_and_reaches_every_outcome() -> None:
    machine = GatesMachine()
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    actions = [edge[1] for edge in ex.edges]
    reasons = {a.result.reason for a in actions if isinstance(a.result, NotResumed)}
    assert reasons == set(NotResumedReason)
    kinds = {type(a.result) for a in actions if a.name == "auto_resume"}
    assert kinds == {Resumed, NotResumed, Ended}
    finished = {r.status for s in ex.states for r in s.store.runs}
    assert {Status.COMPLETED, Status.CANCELLED} <= finished


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_gates_variant_breaks_its_property(variant: Variant) -> None:
    ex = explore(variant.build(), stop_at=variant.violates)
    assert variant.violates in {v.property for v in ex.violations}
