"""The guarded updates themselves: a refused transition changes nothing, every transition is
logged in its own transaction, and the database backs "one claim per epoch"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from tests.impl.store_helpers import (
    GATE,
    cancelled,
    claimed,
    completed,
    failed,
    get,
    new_run,
    paused,
    raw_rows,
)

from runlife.impl import SqlRunStore
from runlife.impl.dialects import guarded_update
from runlife.impl.schema import run_events, runs
from runlife.spec.records import NodeResult
from runlife.spec.results import CancelOutcome, GateDecision, Status, is_refusal

Refused = Callable[[SqlRunStore], tuple[str, Callable[[str], object]]]


def _running(call: Callable[[SqlRunStore, str, int], object]) -> Refused:
    """A running run, and a write to it under an epoch that does not hold it."""

    def setup(store: SqlRunStore) -> tuple[str, Callable[[str], object]]:
        run_id, epoch = claimed(store)
        return run_id, lambda rid: call(store, rid, epoch + 1)

    return setup


def _on(make: Callable[[SqlRunStore], str], call: Callable[[SqlRunStore, str], object]) -> Refused:
    return lambda store: (make(store), lambda rid: call(store, rid))


REFUSED: dict[str, Refused] = {
    "start_run on a running run": _running(lambda s, r, e: s.start_run(r, "b")),
    "resume_run on a live run": _running(lambda s, r, e: s.resume_run(r, "b")),
    "resume_run on a completed run": _on(completed, lambda s, r: s.resume_run(r, "b")),
    "heartbeat by a stale epoch": _running(lambda s, r, e: s.heartbeat(r, e)),
    "pause_at_gate by a stale epoch": _running(lambda s, r, e: s.pause_at_gate(r, e, GATE)),
    "complete_run by a stale epoch": _running(lambda s, r, e: s.complete_run(r, e)),
    "fail_run by a stale epoch": _running(lambda s, r, e: s.fail_run(r, e, "x")),
    "record_node_result by a stale epoch": _running(
        lambda s, r, e: s.record_node_result(r, e, NodeResult("n", "h", "o"))
    ),
    "save_loop_session by a stale epoch": _running(
        lambda s, r, e: s.save_loop_session(r, e, "n", 1, "s")
    ),
    "cancel_run on a completed run": _on(completed, lambda s, r: s.cancel_run(r)),
    "cancel_run on a cancelled run": _on(cancelled, lambda s, r: s.cancel_run(r)),
    "abandon_run on a completed run": _on(completed, lambda s, r: s.abandon_run(r)),
    "resolve_gate on a running run": _running(
        lambda s, r, e: s.resolve_gate(r, GateDecision.APPROVE)
    ),
    "resolve_gate on a decided gate": lambda store: _decided(store),
    "fail_run with a NUL in the error": _running(lambda s, r, e: s.fail_run(r, e - 1, "a\x00b")),
    "start_run with an empty holder": _on(new_run, lambda s, r: s.start_run(r, " ")),
}


def _decided(store: SqlRunStore) -> tuple[str, Callable[[str], object]]:
    run_id = paused(store)
    store.resolve_gate(run_id, GateDecision.APPROVE)
    return run_id, lambda rid: store.resolve_gate(rid, GateDecision.REJECT)


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_transition_leaves_the_row_byte_for_byte_unchanged(
    store: SqlRunStore, case: str
) -> None:
    run_id, attempt = REFUSED[case](store)
    before = raw_rows(store, run_id)
    store.advance_clock(10)  # any write would now stamp a different time
    answer = attempt(run_id)
    assert is_refusal(answer) or answer == CancelOutcome(run_id, False, get(store, run_id).status)
    assert raw_rows(store, run_id) == before


def test_every_transition_appends_one_event_in_its_transaction(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    store.heartbeat(run_id, epoch)
    store.pause_at_gate(run_id, epoch, GATE)
    store.resolve_gate(run_id, GateDecision.REJECT)
    store.resume_run(run_id, "b")
    store.heartbeat(run_id, epoch)  # refused: no event
    store.cancel_run(run_id)
    with store.engine.connect() as conn:
        events = conn.execute(
            select(
                run_events.c.version,
                run_events.c.action,
                run_events.c.status,
                run_events.c.epoch,
                run_events.c.claimed_epoch,
            )
            .where(run_events.c.run_id == run_id)
            .order_by(run_events.c.seq)
        ).all()
    assert [tuple(e) for e in events] == [
        (1, "create", "pending", 0, None),
        (2, "start", "running", 1, 1),
        (3, "heartbeat", "running", 1, None),
        (4, "pause", "paused", 1, None),
        (5, "reject", "paused", 1, None),
        (6, "resume", "running", 2, 2),
        (7, "cancel", "cancelled", 2, None),
    ]


def test_the_database_refuses_to_issue_one_epoch_twice(store: SqlRunStore) -> None:
    """The unique key on (run_id, claimed_epoch) backs the fencing even against a buggy writer."""
    run_id = failed(store)
    with store.engine.begin() as conn:  # a writer that rewinds the epoch, as no store should
        conn.execute(
            runs.update()
            .where(runs.c.id == run_id)
            .values(epoch=0, version=runs.c.version + 1, last_action="rewind")
        )
    before = raw_rows(store, run_id)
    with pytest.raises(IntegrityError):
        store.resume_run(run_id, "b")  # would issue epoch 1 a second time
    assert raw_rows(store, run_id) == before


def test_an_update_that_matches_but_changes_nothing_counts_its_row(store: SqlRunStore) -> None:
    """MySQL counts changed rows unless connected with found-rows semantics; we need matched."""
    run_id, epoch = claimed(store)
    store.record_node_result(run_id, epoch, NodeResult("n", "h", "out"))
    with store.engine.begin() as conn:
        same = conn.execute(
            text("UPDATE node_results SET output = output WHERE run_id = :id"), {"id": run_id}
        )
        assert same.rowcount == 1


def test_a_writer_that_does_not_bump_the_version_is_refused_by_the_event_log(
    store: SqlRunStore,
) -> None:
    run_id = new_run(store)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'failed' WHERE id = :id"), {"id": run_id})
    assert get(store, run_id).status is Status.PENDING


def test_guarded_update_rejects_assignments_that_mysql_would_evaluate_differently() -> None:
    with pytest.raises(ValueError, match="claim_epoch reads"):
        guarded_update(
            runs,
            runs.c.id == "x",
            runs.c.status == "failed",
            [(runs.c.epoch, runs.c.epoch + 1), (runs.c.claim_epoch, runs.c.epoch + 1)],
            [runs.c.epoch],
        )
