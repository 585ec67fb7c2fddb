"""``resume_run(..., expected_epoch=...)``: an implicit continue claims only the pause it saw
(seed 000; the race the dispatch machine found), on every database."""

from __future__ import annotations

from runlife.impl import SqlRunStore
from runlife.spec.records import GateSpec, NewRun
from runlife.spec.results import Claimed, Created, RunNotResumable, Status


def paused_run(store: SqlRunStore) -> tuple[str, int]:
    created = store.create_run(NewRun("wf", "task A"))
    assert isinstance(created, Created)
    started = store.start_run(created.run_id, "executor")
    assert isinstance(started, Claimed)
    store.pause_at_gate(created.run_id, started.epoch, GateSpec("review"))
    return created.run_id, started.epoch


def test_a_claim_with_the_epoch_it_saw_wins(store: SqlRunStore) -> None:
    run_id, seen = paused_run(store)
    claimed = store.resume_run(run_id, "user", expected_epoch=seen)
    assert isinstance(claimed, Claimed) and claimed.epoch == seen + 1


def test_a_run_claimed_and_failed_since_is_refused_and_left_unchanged(store: SqlRunStore) -> None:
    run_id, seen = paused_run(store)
    web = store.resume_run(run_id, "web")
    assert isinstance(web, Claimed)
    store.fail_run(run_id, web.epoch, "boom")
    before = store.get_run(run_id)
    assert store.resume_run(run_id, "user", expected_epoch=seen) == RunNotResumable(
        run_id, Status.FAILED
    )
    assert store.get_run(run_id) == before
    assert isinstance(store.resume_run(run_id, "user"), Claimed)
