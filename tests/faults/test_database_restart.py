"""PostgreSQL restarts in the middle of a claim storm.

Eight clients, each with its own store, resume, fail and now and then complete forty runs as
fast as they can while the cluster is stopped and started under them. Every error a client
sees must be typed (``StoreError``: one line, what to do), every client must get answers again
once the server is back, and the post-run check, given every answer any client was given, finds
no double claim, no acknowledged terminal state lost and no run stuck in running.

This restarts the machine's PostgreSQL: other tests using it at the same moment fail. CI runs
tests one at a time; the test leaves the cluster running whatever happens.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import StoreFactory, in_ci
from tests.faults.conftest import FAULT_TIMING
from tests.impl.store_helpers import failed

from runlife.conformance.post_run import check, snapshot
from runlife.impl import SqlRunStore, StoreError
from runlife.spec.results import Claimed, Status

CLIENTS = 8
RUNS = 40
COMPLETE_ONE_IN = 20
"""A claim completes its run once in this many; otherwise it fails it, to be resumed again."""
BEFORE, AFTER = 0.5, 0.5
"""Seconds of storm before the restart, and after the first answer that follows it."""
LIMIT = 60.0


@dataclass
class Storm:
    """What the clients saw: every answer, every typed error, anything else raised."""

    answers: list[object] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    failed_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, store: SqlRunStore, runs: list[str], name: str, stop: threading.Event) -> None:
        chance = random.Random(name)
        while not stop.is_set():
            run_id = chance.choice(runs)
            try:
                claim = self.answer(store.resume_run(run_id, name))
                if isinstance(claim, Claimed):
                    if chance.randrange(COMPLETE_ONE_IN) == 0:
                        self.answer(store.complete_run(run_id, claim.epoch))
                    else:
                        self.answer(store.fail_run(run_id, claim.epoch, "again"))
            except StoreError as error:
                with self.lock:
                    self.errors[f"{type(error).__name__}: {_gist(str(error))}"] += 1
                    self.failed_at.append(time.monotonic())
                time.sleep(0.05)
            except Exception as error:
                with self.lock:
                    self.untyped.append(f"{type(error).__name__}: {error}")
                return

    def answer(self, answer: object) -> object:
        with self.lock:
            self.answers.append(answer)
            self.answered_at.append(time.monotonic())
        return answer

    def run(self, stores: list[SqlRunStore], runs: list[str], disrupt: Callable[[], None]) -> None:
        """Storm ``runs`` with one client per store, before, during and after ``disrupt()``."""
        stop = threading.Event()
        clients = [
            threading.Thread(target=self.client, args=(store, runs, f"c{i}", stop), daemon=True)
            for i, store in enumerate(stores)
        ]
        for client in clients:
            client.start()
        try:
            time.sleep(BEFORE)
            disrupt()
            back = time.monotonic()
            while time.monotonic() - back < LIMIT and not any(t > back for t in self.answered_at):
                time.sleep(0.02)
            time.sleep(AFTER)
        finally:
            stop.set()
            for client in clients:
                client.join(LIMIT)

    def outage(self) -> float:
        """Seconds from the first error to the first answer after the last error."""
        if not self.failed_at:
            return 0.0
        last = max(self.failed_at)
        return min((t for t in self.answered_at if t > last), default=math.inf) - min(
            self.failed_at
        )


def _gist(message: str) -> str:
    """What the driver said, without where the server is and the advice (the same each time)."""
    said = message.split("): ", 1)[-1].split("; ")[0]
    return re.sub(r'connection to server at "[^"]*", port \d+ failed: ', "", said)


def _cluster() -> list[str]:
    versions = sorted(path.name for path in Path("/etc/postgresql").glob("*"))
    if not versions or shutil.which("pg_ctlcluster") is None:
        message = "restarting PostgreSQL needs pg_ctlcluster and a cluster in /etc/postgresql"
        if in_ci():
            pytest.fail(f"{message} (CI=true: the restart test must run)")
        pytest.skip(message)
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _ctl(cluster: list[str], action: str) -> None:
    subprocess.run([*cluster, action], check=True, capture_output=True, timeout=LIMIT)


def _running(cluster: list[str]) -> bool:
    status = subprocess.run([*cluster, "status"], capture_output=True, timeout=LIMIT)
    return status.returncode == 0


@pytest.mark.restarts_database
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_claim_storm_survives_a_postgres_restart(make_store: StoreFactory) -> None:
    cluster = _cluster()
    observer = make_store(timing=FAULT_TIMING)
    runs = [failed(observer) for _ in range(RUNS)]
    stores = [make_store(timing=FAULT_TIMING) for _ in range(CLIENTS)]
    storm = Storm()
    try:
        storm.run(stores, runs, lambda: _ctl(cluster, "restart"))
    finally:
        if not _running(cluster):
            _ctl(cluster, "start")
    print(
        f"\n{CLIENTS} clients, {len(storm.answers)} answers, {storm.outage():.2f} s without "
        f"answers; typed errors: {dict(storm.errors)}"
    )
    assert not storm.untyped, storm.untyped
    assert storm.errors, "no client noticed the restart: the test proved nothing"
    assert storm.outage() < LIMIT, "no client got an answer after the restart"
    # Runs whose clients were cut off mid-claim stay running until stale_after has passed;
    # then each must be a recoverable orphan, never stuck.
    time.sleep(FAULT_TIMING.stale_after)
    found = check(observer, runs, acknowledged=storm.answers)
    assert not found, "\n".join(map(str, found))
    orphans = [run.id for run in snapshot(observer, runs).values() if run.status is Status.RUNNING]
    recovered = [observer.resume_run(run_id, "sweeper") for run_id in orphans]
    assert all(isinstance(claim, Claimed) for claim in recovered), recovered
    print(f"{len(orphans)} runs cut off mid-claim, all recovered after stale_after")
