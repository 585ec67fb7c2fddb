"""Fault scenarios: what a run store does on its worst day, on any store they apply to.

Each scenario prepares runs through the contract, injects a real fault, and judges the result
twice: by what the scenario expects (a fenced holder is refused, a recovery waits for the
lease), and by the post-run invariant check (:mod:`runlife.conformance.post_run`) with every
answer the clients were given.

* :func:`killed_executor`: an OS process claims a run and is SIGKILLed. Nobody may take the run
  while its lease is live; after ``stale_after`` someone recovers it under a higher epoch.
* :func:`frozen_executor`: the claiming process is SIGSTOPped instead, recovered from, then
  SIGCONTed: every write it then attempts must be refused (fencing).
* :func:`stale_holder_fenced`: the same in one process, on a store with a hand-moved clock.
* :func:`reconnect_keeps_acknowledged`: a client brings runs to every state, then its
  connection is closed; a new connection must find every acknowledged state.

The process scenarios need ``Capability.PROCESSES``, an ``open_url`` and the store's own clock
(a hand-moved clock cannot be shared with another process); a store without them is reported as
not exercised. Use short leases (``lease_ttl=1``, ``stale_after=1.5``) to keep them to seconds.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from runlife.conformance.concurrency import StoreUnderTest
from runlife.conformance.post_run import Breach, check, finished_as, snapshot
from runlife.spec.contract import Capability, ClockControl, MultiProcess, RunStore
from runlife.spec.records import GateSpec, NewRun, NodeResult
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    GateDecision,
    GateResolved,
    Renewed,
    RunNotResumable,
    StaleClaim,
    Status,
    Transitioned,
    show,
)

WAIT = 10.0
"""Seconds to wait for a child's message beyond what the store's timing explains."""

POLL = 0.05
"""Seconds between recovery attempts."""

GATE = GateSpec("review", on_reject=False, max_attempts=1)


class FaultStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_EXERCISED = "not exercised"


@dataclass(frozen=True)
class FaultResult:
    """What one fault scenario found: the broken expectations (``problems``), the breaches of
    the post-run invariants, and measured ``figures`` (seconds, counts)."""

    name: str
    status: FaultStatus
    problems: tuple[str, ...] = ()
    breaches: tuple[Breach, ...] = ()
    figures: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def __str__(self) -> str:
        figures = ", ".join(f"{k}={v:g}" for k, v in self.figures.items())
        head = f"{self.name}: {self.status}" + (f" ({figures})" if figures else "")
        lines = [head + (f": {self.reason}" if self.reason else "")]
        lines += [f"  {problem}" for problem in self.problems]
        lines += [f"  {breach}" for breach in self.breaches]
        return "\n".join(lines)


class _Judge:
    """Collects what a scenario saw: answers clients got, broken expectations, figures."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.acknowledged: list[object] = []
        self.problems: list[str] = []
        self.figures: dict[str, float] = {}

    def answer(self, result: object) -> object:
        self.acknowledged.append(result)
        return result

    def expect(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)

    def verdict(self, store: RunStore, run_ids: list[str], **history: Any) -> FaultResult:
        found = check(store, run_ids, acknowledged=self.acknowledged, **history)
        failed = bool(self.problems or found)
        return FaultResult(
            self.name,
            FaultStatus.FAILED if failed else FaultStatus.PASSED,
            tuple(self.problems),
            tuple(found),
            dict(self.figures),
        )


def _not_exercised(name: str, reason: str) -> FaultResult:
    return FaultResult(name, FaultStatus.NOT_EXERCISED, reason=reason)


def _new_run(store: RunStore, label: str) -> str:
    created = store.create_run(NewRun(f"fault-{label}-{uuid.uuid4().hex[:8]}", label))
    if not isinstance(created, Created):
        raise RuntimeError(f"create_run answered {show(created)}")
    return created.run_id


def _fenced(judge: _Judge, writes: list[tuple[str, object]], who: str) -> None:
    for method, answer in writes:
        judge.answer(answer)
        judge.expect(
            isinstance(answer, StaleClaim),
            f"{who}'s {method} after the recovery was answered {show(answer)}, not StaleClaim",
        )


# --- in one process, on a hand-moved clock ----------------------------------------------


def stale_holder_fenced(store: RunStore) -> FaultResult:
    """A holder goes silent, its run is recovered after ``stale_after``, then it wakes and tries
    every executor write under its old epoch: each must be refused, and the run completes once.
    Needs ``Capability.CLOCK``."""
    name = "stale_holder_fenced"
    if Capability.CLOCK not in store.capabilities:
        return _not_exercised(name, "needs clock (the store does not declare Capability.CLOCK)")
    judge = _Judge(name)
    run_id = _new_run(store, name)
    silent = judge.answer(store.start_run(run_id, "silent"))
    if not isinstance(silent, Claimed):
        raise RuntimeError(f"start_run answered {show(silent)}")
    early = judge.answer(store.resume_run(run_id, "rescuer"))
    judge.expect(
        isinstance(early, RunNotResumable),
        f"resume while the holder's lease was live was answered {show(early)}",
    )
    cast(ClockControl, store).advance_clock(store.timing.stale_after)
    rescued = judge.answer(store.resume_run(run_id, "rescuer"))
    judge.expect(
        isinstance(rescued, Claimed) and rescued.epoch > silent.epoch,
        f"recovering the stale run was answered {show(rescued)}",
    )
    writes = [(method, write()) for method, write in stale_writes(store, run_id, silent.epoch)]
    _fenced(judge, writes, "the silent holder")
    if isinstance(rescued, Claimed):
        done = judge.answer(store.complete_run(run_id, rescued.epoch))
        judge.expect(
            done == Transitioned(run_id, Status.COMPLETED),
            f"the rescuer's complete was answered {show(done)}",
        )
    return judge.verdict(store, [run_id])


def reconnect_keeps_acknowledged(open_store: Callable[[], RunStore]) -> FaultResult:
    """A client brings runs to every status, reads them all, completes one more run and is
    gone (it never calls again). A new connection must find every acknowledged answer true:
    every finished run finished as answered, no epoch lower, nothing half-written.

    ``open_store`` opens a new connection to the same store; when the new one knows none of the
    runs (each call makes a separate store), the scenario is not exercised.
    """
    name = "reconnect_keeps_acknowledged"
    judge = _Judge(name)
    first = open_store()
    second = None
    try:
        run_ids = _every_status(first, judge)
        before = snapshot(first, run_ids)
        last, epoch = _claimed(first, judge)
        judge.answer(first.complete_run(last, epoch))
        run_ids.append(last)
        second = open_store()
        if not snapshot(second, run_ids):
            return _not_exercised(name, "a new connection does not see the first one's runs")
        return judge.verdict(second, run_ids, before=before)
    finally:
        first.close()
        if second is not None:
            second.close()


def _claimed(store: RunStore, judge: _Judge) -> tuple[str, int]:
    run_id = _new_run(store, judge.name)
    claim = judge.answer(store.start_run(run_id, "first"))
    if not isinstance(claim, Claimed):
        raise RuntimeError(f"start_run answered {show(claim)}")
    return run_id, claim.epoch


def _every_status(store: RunStore, judge: _Judge) -> list[str]:
    """Runs left completed, cancelled (from pending, from running, by abandon, by a gate
    rejection), failed, paused and running; every answer is acknowledged to ``judge``."""
    made = []
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.record_node_result(run_id, epoch, NodeResult("n", "h", "out")))
    judge.answer(store.complete_run(run_id, epoch))
    made.append(run_id)
    pending = _new_run(store, judge.name)
    judge.answer(store.cancel_run(pending))
    made.append(pending)
    run_id, _ = _claimed(store, judge)
    judge.answer(store.cancel_run(run_id))
    made.append(run_id)
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.fail_run(run_id, epoch, "boom"))
    judge.answer(store.abandon_run(run_id))
    made.append(run_id)
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.pause_at_gate(run_id, epoch, GATE))
    judge.answer(store.resolve_gate(run_id, GateDecision.REJECT))
    made.append(run_id)
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.fail_run(run_id, epoch, "boom"))
    made.append(run_id)
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.pause_at_gate(run_id, epoch, GATE))
    made.append(run_id)
    run_id, epoch = _claimed(store, judge)
    judge.answer(store.heartbeat(run_id, epoch))
    made.append(run_id)
    finished = [a for a in judge.acknowledged if finished_as(a) is not None]
    judge.expect(
        len(finished) == 5,
        f"5 runs should have finished, {len(finished)} answers said so: "
        + ", ".join(show(a) for a in judge.acknowledged if _is_finish(a)),
    )
    return made


def _is_finish(answer: object) -> bool:
    return isinstance(answer, Transitioned | CancelOutcome | GateResolved)


# --- executors in other processes ---------------------------------------------------------


def _executor(
    open_url: Callable[[str], RunStore],
    url: str,
    run_id: str,
    pipe: Connection,
    calling: Any,
) -> None:
    """A minimal executor in its own process: claim, then heartbeat every quarter lease until a
    heartbeat is refused; then try every other write under the lost claim. Sends each answer;
    ``calling`` (a shared flag) is set while it is inside a store call."""
    store = open_url(url)

    def call(method: str, make: Callable[[], object]) -> object:
        calling.value = 1
        answer = make()
        calling.value = 0
        pipe.send((method, answer))
        return answer

    claim = call("start_run", lambda: store.start_run(run_id, "executor"))
    if not isinstance(claim, Claimed):
        return
    beat: object = None
    while beat is None or isinstance(beat, Renewed):
        time.sleep(store.timing.lease_ttl / 4)
        beat = call("heartbeat", lambda: store.heartbeat(run_id, claim.epoch))
    for method, write in stale_writes(store, run_id, claim.epoch)[1:]:
        call(method, write)
    pipe.send(("done", None))
    store.close()


def stale_writes(
    store: RunStore, run_id: str, epoch: int
) -> list[tuple[str, Callable[[], object]]]:
    """Every executor write under ``epoch``, not yet made: once a newer claim took the run,
    each must be refused (fencing)."""
    return [
        ("heartbeat", lambda: store.heartbeat(run_id, epoch)),
        (
            "record_node_result",
            lambda: store.record_node_result(run_id, epoch, NodeResult("n", "h", "o")),
        ),
        ("save_loop_session", lambda: store.save_loop_session(run_id, epoch, "loop", 1, "s")),
        ("pause_at_gate", lambda: store.pause_at_gate(run_id, epoch, GATE)),
        ("fail_run", lambda: store.fail_run(run_id, epoch, "late failure")),
        ("complete_run", lambda: store.complete_run(run_id, epoch)),
    ]


def _process_context() -> Any:
    """Children forked from a server that has already imported runlife: ~20 ms each."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["runlife.conformance.faults"])
    return context


@dataclass
class _Child:
    """The executor process, the pipe its answers come through, and its in-a-call flag."""

    process: Any
    pipe: Connection
    calling: Any
    timeout: float

    def receive(self) -> tuple[str, object]:
        """The next answer the executor sent; an error if it died or went quiet first."""
        deadline = time.monotonic() + self.timeout
        while not self.pipe.poll(POLL):
            if not self.process.is_alive() and not self.pipe.poll(0):
                raise RuntimeError(f"the executor process died (exit code {self.process.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the executor process sent nothing for {self.timeout:g} s")
        message: tuple[str, object] = self.pipe.recv()
        return message

    def kill(self) -> float:
        """SIGKILL it; when that happened (monotonic)."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(WAIT)
        return time.monotonic()

    def freeze(self) -> tuple[list[tuple[str, object]], float]:
        """SIGSTOP it between two store calls (a frozen call would hold a transaction open);
        the answers it sent meanwhile, and when it froze (monotonic)."""
        sent = []
        while True:
            os.kill(self.process.pid, signal.SIGSTOP)
            _stopped(self.process.pid)
            if not self.calling.value:
                while self.pipe.poll(0):
                    sent.append(self.pipe.recv())
                return sent, time.monotonic()
            os.kill(self.process.pid, signal.SIGCONT)
            sent.append(self.receive())

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _stopped(pid: int) -> None:
    """Wait until process ``pid`` is stopped (a signal takes effect a moment after it is sent)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        time.sleep(POLL)  # no /proc: give the signal time to land
        return
    deadline = time.monotonic() + WAIT
    while (
        stat.read_text().rpartition(")")[2].split()[0] not in "Tt" and time.monotonic() < deadline
    ):
        time.sleep(0.001)


@contextmanager
def _executor_process(sut: StoreUnderTest, store: RunStore, run_id: str) -> Iterator[_Child]:
    assert sut.open_url is not None
    context = _process_context()
    ours, theirs = context.Pipe()
    calling = context.Value("b", 0, lock=False)
    url = cast(MultiProcess, store).connect_url()
    process = context.Process(
        target=_executor, args=(sut.open_url, url, run_id, theirs, calling), daemon=True
    )
    process.start()
    timing = store.timing
    child = _Child(process, ours, calling, WAIT + timing.stale_after + timing.lease_ttl)
    try:
        yield child
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        process.join(timeout=WAIT)
        ours.close()


def _process_scenario_problem(sut: StoreUnderTest, store: RunStore) -> str | None:
    if Capability.PROCESSES not in store.capabilities or sut.open_url is None:
        return "needs processes (Capability.PROCESSES and an open_url)"
    if Capability.CLOCK in store.capabilities:
        return "needs the store's own clock (a hand-moved clock is not shared across processes)"
    return None


def _recover(store: RunStore, judge: _Judge, run_id: str, deadline: float) -> Claimed | None:
    """Resume ``run_id`` until it is won or ``deadline`` (monotonic) passes; every refusal
    before that must say the run is running."""
    while time.monotonic() < deadline:
        answer = store.resume_run(run_id, "rescuer")
        if isinstance(answer, Claimed):
            judge.answer(answer)
            return answer
        judge.expect(
            answer == RunNotResumable(run_id, Status.RUNNING),
            f"a recovery attempt was answered {show(answer)}",
        )
        time.sleep(POLL)
    judge.expect(False, "the orphaned run was never recovered")
    return None


def _recovered(judge: _Judge, lost: Claimed, rescued: Claimed, lease_ttl: float) -> None:
    """The recovery took the next epoch, and not before the lost holder's lease ran out."""
    taken = rescued.lease_expires - lease_ttl
    judge.expect(
        rescued.epoch == lost.epoch + 1,
        f"recovered under epoch {rescued.epoch}; the lost claim had epoch {lost.epoch}",
    )
    judge.expect(
        taken >= lost.lease_expires,
        f"recovered at store time {taken:g}, while the lost lease ran until {lost.lease_expires:g}",
    )
    judge.figures["store_seconds_after_lease"] = round(taken - lost.lease_expires, 3)


def _with_executor(
    sut: StoreUnderTest, name: str, act: Callable[[RunStore, _Judge, _Child, Claimed], None]
) -> FaultResult:
    """Start an executor process on a new run; once it has claimed it, ``act`` on it."""
    store = sut.open()
    try:
        if (problem := _process_scenario_problem(sut, store)) is not None:
            return _not_exercised(name, problem)
        judge = _Judge(name)
        run_id = _new_run(store, name)
        with _executor_process(sut, store, run_id) as child:
            _, claim = child.receive()
            if not isinstance(judge.answer(claim), Claimed):
                raise RuntimeError(f"the executor's start_run was answered {show(claim)}")
            act(store, judge, child, cast(Claimed, claim))
        return judge.verdict(store, [run_id])
    finally:
        store.close()


def killed_executor(sut: StoreUnderTest) -> FaultResult:
    """An executor process claims a run and is SIGKILLed: the run stays its own until its lease
    and ``stale_after`` run out, then another client recovers it under the next epoch and
    completes it, once."""

    def kill(store: RunStore, judge: _Judge, child: _Child, claim: Claimed) -> None:
        run_id = claim.run_id
        killed = child.kill()
        early = judge.answer(store.resume_run(run_id, "rescuer"))
        judge.expect(
            early == RunNotResumable(run_id, Status.RUNNING),
            f"resume right after the kill, lease live, was answered {show(early)}",
        )
        rescued = _recover(store, judge, run_id, killed + store.timing.stale_after + WAIT)
        judge.figures["seconds_to_recovery"] = round(time.monotonic() - killed, 3)
        if rescued is not None:
            _recovered(judge, claim, rescued, store.timing.lease_ttl)
            judge.answer(store.complete_run(run_id, rescued.epoch))

    return _with_executor(sut, "killed_executor", kill)


def frozen_executor(sut: StoreUnderTest) -> FaultResult:
    """An executor process claims a run, heartbeats, and is frozen (SIGSTOP) between two calls.
    Once another client has recovered the run it thaws (SIGCONT): its next heartbeat and every
    write after it must be refused, and the run completes once, by the rescuer."""

    def freeze(store: RunStore, judge: _Judge, child: _Child, claim: Claimed) -> None:
        run_id = claim.run_id
        beats = [child.receive()]
        sent, frozen = child.freeze()
        beats += sent
        rescued = _recover(store, judge, run_id, frozen + store.timing.stale_after + WAIT)
        judge.figures["seconds_to_recovery"] = round(time.monotonic() - frozen, 3)
        child.thaw()
        late = []
        while (message := child.receive())[0] != "done":
            late.append(message)
        renewed = [answer for _, answer in beats if isinstance(answer, Renewed)]
        for answer in renewed:
            judge.answer(answer)
        judge.expect(len(renewed) == len(beats), f"a heartbeat before the freeze: {beats}")
        if renewed:
            claim = Claimed(run_id, claim.holder, claim.epoch, renewed[-1].lease_expires)
        judge.expect(bool(late), "the thawed executor sent no answers")
        _fenced(judge, late, "the thawed executor")
        judge.figures["refused_late_writes"] = sum(isinstance(a, StaleClaim) for _, a in late)
        if rescued is not None:
            _recovered(judge, claim, rescued, store.timing.lease_ttl)
            judge.answer(store.heartbeat(run_id, rescued.epoch))
            judge.answer(store.complete_run(run_id, rescued.epoch))

    return _with_executor(sut, "frozen_executor", freeze)


SCENARIOS: tuple[Callable[[StoreUnderTest], FaultResult], ...] = (killed_executor, frozen_executor)
"""The process fault scenarios, for a store reached through a :class:`StoreUnderTest`."""
