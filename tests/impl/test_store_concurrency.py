"""Races on one run: many resumers at once (threads and OS processes), exactly one wins.

Every racer is a separate client: its own store, engine and connection, opened by URL. Threads
are released together at a barrier; the losers must learn the run is RUNNING (someone else
holds it), and no epoch may be issued twice.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from tests.conftest import StoreFactory
from tests.impl.store_helpers import claimed, failed, get

from runlife.impl import ManualClock, SqlRunStore, dialects, sql_store
from runlife.impl.schema import run_events, runs
from runlife.spec.records import GateSpec, NodeResult
from runlife.spec.results import (
    Claimed,
    RunNotResumable,
    StaleClaim,
    Status,
    Transitioned,
    outcome,
)


def _race(stores: list[SqlRunStore], act: Callable[[SqlRunStore, int], object]) -> list[object]:
    """Each store acts once, all released at the same moment; their answers in store order."""
    answers: list[object] = [None] * len(stores)
    barrier = threading.Barrier(len(stores))

    def racer(index: int) -> None:
        barrier.wait()
        answers[index] = act(stores[index], index)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _claimed_epochs(store: SqlRunStore, run_id: str) -> list[int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(run_events.c.claimed_epoch).where(
                run_events.c.run_id == run_id, run_events.c.claimed_epoch.is_not(None)
            )
        )
        return sorted(row.claimed_epoch for row in rows)


def _exactly_one_winner(answers: list[object], run_id: str, epoch: int) -> Claimed:
    winners = [a for a in answers if isinstance(a, Claimed)]
    assert len(winners) == 1, answers
    assert winners[0].epoch == epoch
    losers = [a for a in answers if a is not winners[0]]
    assert losers == [RunNotResumable(run_id, Status.RUNNING)] * (len(answers) - 1)
    return winners[0]


def _open(make_store: StoreFactory, racers: int, **options: Any) -> list[SqlRunStore]:
    stores = [make_store(**options) for _ in range(racers)]
    for store in stores:
        store.now()  # connect before the race
    return stores


@pytest.mark.parametrize("racers", [2, 8, 32])
def test_concurrent_resumers_of_a_failed_run_have_exactly_one_winner(
    make_store: StoreFactory, racers: int
) -> None:
    stores = _open(make_store, racers)
    run_id = failed(stores[0])
    answers = _race(stores, lambda store, i: store.resume_run(run_id, f"racer-{i}"))
    winner = _exactly_one_winner(answers, run_id, epoch=2)
    assert get(stores[0], run_id).claim.holder == winner.holder  # type: ignore[union-attr]
    assert _claimed_epochs(stores[0], run_id) == [1, 2]


@pytest.mark.parametrize("racers", [2, 8, 32])
def test_concurrent_resumers_of_an_orphan_have_exactly_one_winner(
    make_store: StoreFactory, racers: int
) -> None:
    clock = ManualClock()
    stores = _open(make_store, racers, clock=clock)
    run_id, _ = claimed(stores[0])
    clock.advance(60)  # the holder died: its run is an orphan now
    answers = _race(stores, lambda store, i: store.resume_run(run_id, f"racer-{i}"))
    _exactly_one_winner(answers, run_id, epoch=2)


@pytest.mark.parametrize("backend", ["postgres", "mysql"], indirect=True)
@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_resumers_under_stricter_isolation_still_have_exactly_one_winner(
    make_store: StoreFactory, isolation: str
) -> None:
    """Serialization failures and deadlocks are retried, ending in the same refusal."""
    stores = _open(make_store, 8, isolation_level=isolation)
    run_id = failed(stores[0])
    answers = _race(stores, lambda store, i: store.resume_run(run_id, f"racer-{i}"))
    _exactly_one_winner(answers, run_id, epoch=2)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_serialization_failure_is_retried_into_the_refusal_a_cas_miss_gives(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under REPEATABLE READ, PostgreSQL aborts an UPDATE of a row changed since the snapshot.

    Deterministic: the resume starts while another client holds the row, then that client
    commits its own claim; the resume's first attempt fails to serialize, its retry is refused.
    """
    store = make_store(isolation_level="REPEATABLE READ")
    run_id = failed(store)
    conflicts: list[DBAPIError] = []

    def counting(error: DBAPIError) -> bool:
        conflicts.append(error)
        return dialects.is_conflict(error)

    monkeypatch.setattr(sql_store, "is_conflict", counting)
    answers: list[object] = []
    with store.engine.connect() as other:
        pid = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status="running",
                epoch=2,
                claim_epoch=2,
                claim_holder="other",
                version=runs.c.version + 1,
                last_action="resume",
            )
        )
        resumer = threading.Thread(target=lambda: answers.append(store.resume_run(run_id, "b")))
        resumer.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
        )
        deadline = time.monotonic() + 30
        with store.engine.connect() as watcher:  # its own transactions: fresh statistics
            while not watcher.execute(waiting, {"pid": pid}).scalar_one():
                watcher.rollback()
                assert time.monotonic() < deadline, "the resume never waited for the row"
                time.sleep(0.01)
        other.commit()
        resumer.join(timeout=30)
    assert answers == [RunNotResumable(run_id, Status.RUNNING)]
    assert [e.orig.sqlstate for e in conflicts] == ["40001"]  # type: ignore[union-attr]


def test_a_stale_holder_is_fenced_off_after_its_orphan_is_recovered(
    make_store: StoreFactory,
) -> None:
    clock = ManualClock()
    old, new = make_store(clock=clock), make_store(clock=clock)
    run_id, stale = claimed(old, "old")
    clock.advance(60)
    assert new.resume_run(run_id, "new") == Claimed(run_id, "new", 2, 90)
    fenced = StaleClaim(run_id, stale, 2, Status.RUNNING)
    assert old.heartbeat(run_id, stale) == fenced
    assert old.record_node_result(run_id, stale, NodeResult("n", "h", "old")) == fenced
    assert old.save_loop_session(run_id, stale, "n", 1, "s-old") == fenced
    assert old.pause_at_gate(run_id, stale, GateSpec("g")) == fenced
    assert old.fail_run(run_id, stale, "old says no") == fenced
    assert old.complete_run(run_id, stale) == fenced
    assert new.complete_run(run_id, 2) == Transitioned(run_id, Status.COMPLETED)
    assert old.complete_run(run_id, stale) == StaleClaim(run_id, stale, 2, Status.COMPLETED)
    run = get(new, run_id)
    assert (run.status, run.error, run.nodes, run.loop) == (Status.COMPLETED, None, (), None)


def resume_in_process(
    url: str, run_id: str, holder: str, barrier: Any, answers: Any
) -> None:  # pragma: no cover - runs in a child process
    """A child process: open the store by URL, wait for the others, resume, report."""
    with SqlRunStore.from_url(url, migrate=False) as store:
        store.now()
        barrier.wait(timeout=60)
        answers.put(outcome(store.resume_run(run_id, holder)))


def test_concurrent_resumers_in_separate_processes_have_exactly_one_winner(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    run_id = failed(store)
    spawn = multiprocessing.get_context("spawn")
    processes, barrier, answers = 3, spawn.Barrier(3), spawn.Queue()
    children = [
        spawn.Process(
            target=resume_in_process,
            args=(store.connect_url(), run_id, f"process-{i}", barrier, answers),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    results = sorted(str(answers.get(timeout=120)) for _ in children)
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert results == sorted(
        [str(("Claimed", 2))] + [str(("RunNotResumable", "running"))] * (processes - 1)
    )
    assert _claimed_epochs(store, run_id) == [1, 2]
