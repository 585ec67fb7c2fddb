"""A client's connection dies in the middle of a resume or a complete.

On PostgreSQL another connection ends the client's session (``pg_terminate_backend``), on
MariaDB it is ``KILL``ed; on SQLite the client's process is SIGKILLed. The moment is exact: the
client is stopped by an engine hook inside its transaction (after the guarded UPDATE, before
COMMIT) or right after its COMMIT. Afterwards the run is exactly as before the write or exactly
as the write leaves it, its event log agrees (the post-run check), the client never hangs, and
it carries on with its next call.

What the client hears: PostgreSQL notices the dead session only when it sends COMMIT, so it
gets ``StoreUnavailable`` saying the change may or may not have been made (it was not); MariaDB
notices at the next statement, before COMMIT, so the store reconnects and writes again; killed
after COMMIT, the client has its answer and the next call takes a fresh connection.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from tests.conftest import StoreFactory
from tests.faults.conftest import FAULT_TIMING
from tests.faults.sql_faults import MOMENTS, Pause, kill_session, paused_writer, stored
from tests.impl.store_helpers import claimed, failed

from runlife.impl import SqlRunStore, StoreUnavailable
from runlife.spec.records import Run
from runlife.spec.results import Claimed, Status, Transitioned

ANSWER_LIMIT = 10.0
"""Seconds a client whose connection was killed may take to answer (it must not hang)."""


def _prepared(store: SqlRunStore, action: str) -> tuple[str, int]:
    """A run the write can take: failed (for resume) or running under ``epoch`` (complete)."""
    if action == "resume":
        return failed(store), 0
    return claimed(store)


def _write(store: SqlRunStore, action: str, run_id: str, epoch: int) -> object:
    if action == "resume":
        return store.resume_run(run_id, "victim")
    return store.complete_run(run_id, epoch)


def _after(action: str, run_id: str, answer: object) -> bool:
    if action == "resume":
        return isinstance(answer, Claimed) and answer.epoch == 2
    return answer == Transitioned(run_id, Status.COMPLETED)


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("action", ["resume", "complete"])
@pytest.mark.parametrize("backend", ["postgres", "mysql"])
def test_a_session_killed_mid_write_leaves_the_run_before_or_after_it(
    make_store: StoreFactory, action: str, moment: str
) -> None:
    client, admin = make_store(timing=FAULT_TIMING), make_store(timing=FAULT_TIMING)
    run_id, epoch = _prepared(admin, action)
    before = stored(admin, run_id)
    pause = Pause(client.engine, moment)
    answers: list[object] = []

    def write() -> None:
        try:
            answers.append(_write(client, action, run_id, epoch))
        except Exception as error:
            answers.append(error)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert pause.reached.wait(ANSWER_LIMIT), "the write never reached the pause"
    assert pause.session is not None
    kill_session(admin, pause.session)
    pause.release()
    writer.join(ANSWER_LIMIT)
    assert not writer.is_alive(), "the client hangs after its session was killed"
    [answer] = answers
    if isinstance(answer, StoreUnavailable):
        # Killed before its COMMIT reached the server: nothing changed, and the client was told
        # the outcome is unknown (it lost the connection while committing).
        assert moment == "inside"
        assert len(str(answer).splitlines()) == 1 and "may or may not" in str(answer)
        assert stored(admin, run_id) == before
        assert _after(action, run_id, _write(client, action, run_id, epoch))
    else:
        # Killed after COMMIT, or before it and the client reconnected and wrote again.
        assert _after(action, run_id, answer), repr(answer)
    _is_after(admin, action, run_id)
    assert isinstance(client.get_run(run_id), Run)  # the client carries on, reconnected


def _is_after(store: SqlRunStore, action: str, run_id: str) -> None:
    """The run is as the write left it: claimed under epoch 2, or completed."""
    run = store.get_run(run_id)
    assert isinstance(run, Run), run
    if action == "resume":
        assert (run.status, run.epoch, run.claim and run.claim.holder) == (
            Status.RUNNING,
            2,
            "victim",
        )
    else:
        assert (run.status, run.claim) == (Status.COMPLETED, None)


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("action", ["resume", "complete"])
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_sqlite_writer_killed_mid_write_leaves_the_run_before_or_after_it(
    make_store: StoreFactory, action: str, moment: str
) -> None:
    store = make_store(timing=FAULT_TIMING)
    run_id, epoch = _prepared(store, action)
    before = stored(store, run_id)
    context = multiprocessing.get_context("forkserver")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=paused_writer,
        args=(store.connect_url(), FAULT_TIMING, moment, action, run_id, epoch, theirs),
        daemon=True,
    )
    child.start()
    try:
        assert ours.poll(ANSWER_LIMIT) and ours.recv() == "paused"
        child.kill()
        child.join(ANSWER_LIMIT)
    finally:
        if child.is_alive():
            child.kill()
    if moment == "inside":
        assert stored(store, run_id) == before
    else:
        _is_after(store, action, run_id)
    # The dead writer's lock is gone: this write neither waits for it nor finds it half-done.
    answers: list[object] = []
    writer = threading.Thread(
        target=lambda: answers.append(_write(store, action, run_id, epoch)), daemon=True
    )
    writer.start()
    writer.join(ANSWER_LIMIT)
    assert not writer.is_alive(), "the next writer waits for the killed one's lock"
    [answer] = answers
    assert _after(action, run_id, answer) == (moment == "inside"), repr(answer)
