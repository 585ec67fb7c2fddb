"""Interactive loop sessions (seed 004): the session choice, on the reference store, and the
machine with its variants."""

from __future__ import annotations

import pytest

from runlife.spec.checker import explore, format_counterexample
from runlife.spec.loop import (
    VARIANTS,
    Fresh,
    FreshReason,
    LoopBounds,
    LoopMachine,
    Reuse,
    choose_loop_session,
    session_expired,
)
from runlife.spec.records import GateSpec, LoopSession, NewRun, Timing
from runlife.spec.reference import ModelStore
from runlife.spec.results import Claimed, Created, GateDecision
from runlife.spec.variants import Variant

TTL = 3600.0
SAVED = LoopSession("refine", iteration=1, session_id="sess-1", saved_at=1000.0)


def resumed_choice(stored: LoopSession | None, now: float) -> object:
    """The session the first iteration of a resume at iteration 2 sends."""
    return choose_loop_session(stored, now, TTL, resuming=True, iteration=2, start_iteration=2)


def test_loop_resume_never_sends_expired_session() -> None:
    """The seed's bug, on the reference store: the session saved at the gate, hours old."""
    store = ModelStore(Timing(lease_ttl=30, stale_after=60))
    created = store.create_run(NewRun("piv-loop", "plan, implement, verify"))
    assert isinstance(created, Created)
    claim = store.start_run(created.run_id, "executor")
    assert isinstance(claim, Claimed)
    store.save_loop_session(created.run_id, claim.epoch, "refine", 1, "sess-1")
    store.pause_at_gate(created.run_id, claim.epoch, GateSpec("refine"))
    store.advance_clock(TTL + 1)  # the reviewer comes back after lunch
    store.resolve_gate(created.run_id, GateDecision.APPROVE)
    assert isinstance(store.resume_run(created.run_id, "executor"), Claimed)
    stored = store.loop_session(created.run_id)
    assert isinstance(stored, LoopSession)
    assert resumed_choice(stored, store.now()) == Fresh(FreshReason.EXPIRED)


def test_loop_resume_keeps_valid_session() -> None:
    assert resumed_choice(SAVED, SAVED.saved_at + 60) == Reuse("sess-1")


def test_session_expires_exactly_at_the_ttl() -> None:
    assert not session_expired(SAVED, SAVED.saved_at + TTL - 0.001, TTL)
    assert session_expired(SAVED, SAVED.saved_at + TTL, TTL)
    assert resumed_choice(SAVED, SAVED.saved_at + TTL) == Fresh(FreshReason.EXPIRED)


def test_iteration_within_one_execution_also_never_sends_expired_session() -> None:
    choice = choose_loop_session(SAVED, 1000 + TTL, TTL, False, iteration=3, start_iteration=1)
    assert choice == Fresh(FreshReason.EXPIRED)


def test_first_iteration_is_always_fresh() -> None:
    assert choose_loop_session(SAVED, 1001, TTL, False, 1, 1) == Fresh(FreshReason.FIRST_ITERATION)


def test_fresh_context_node_never_reuses() -> None:
    choice = choose_loop_session(SAVED, 1001, TTL, True, 2, 2, fresh_context=True)
    assert choice == Fresh(FreshReason.FRESH_CONTEXT)


def test_nothing_stored_starts_fresh() -> None:
    assert resumed_choice(None, 1001) == Fresh(FreshReason.NONE_STORED)


# --- the machine ---------------------------------------------------------------------------


def test_correct_loop_machine_has_no_violation_and_sees_both_cases() -> None:
    machine = LoopMachine()
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    resumed = []
    for source, action, *_ in ex.edges:
        executor = ex.states[source].executor
        if action.name == "iterate" and executor is not None and executor.resuming:
            resumed.append(action.result)
    assert Fresh(FreshReason.EXPIRED) in resumed, "a resume after a long wait starts fresh"
    assert any(isinstance(c, Reuse) for c in resumed), "a quick resume keeps its session"


def test_bounds_where_no_session_can_expire_are_reported_as_an_unreached_goal() -> None:
    ex = explore(LoopMachine(LoopBounds(session_ttl=10)))
    assert [(v.kind, v.property) for v in ex.violations] == [("goal", "expired_session_replaced")]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_loop_variant_breaks_its_property(variant: Variant) -> None:
    ex = explore(variant.build(), stop_at=variant.violates)
    assert variant.violates in {v.property for v in ex.violations}


def test_expired_session_counterexample_is_the_seed_story() -> None:
    """Iterate, pause at the gate, wait out the session, approve, iterate: stale session."""
    variant = next(v for v in VARIANTS if v.name == "loop_reuses_expired_session")
    ex = explore(variant.build(), stop_at=variant.violates)
    steps = next(v for v in ex.violations if v.property == variant.violates).steps
    assert [s.name for s in steps] == [
        "iterate",
        "pause_at_gate",
        "tick",
        "tick",
        "approve",
        "iterate",
    ]
