"""The concurrency family: clients race on shared runs, and every race is judged.

K clients (threads, each with its own connection; and OS processes when the store declares
``Capability.PROCESSES``) wait at a barrier, then all call the store at once. Every call's
invocation and answer is recorded (:mod:`runlife.conformance.history`). Each race's history
is then judged twice (:func:`judge`):

* linearizability against the spec (:mod:`runlife.conformance.linearizability`): is there one
  order of the calls, each at an instant between its call and its answer, in which the spec
  gives exactly the store's answers?
* directly, for the harm seed 001 describes: two claims under one epoch (a double claim), a
  claim taken while another holder's lease was live and never released (overlapping holders),
  and a write accepted from a holder a newer claim had fenced out (stale write accepted).

Each named scenario (:data:`SCENARIOS`) prepares its runs through the contract, races, and
returns a :class:`ScenarioResult` whose counterexample (the smallest failing part of a race and
the longest order the spec accepts) is plain data: ``to_data`` writes it as JSON and
:func:`judge` re-judges it offline.

Time. The spec's clock stands still during a race; a stale orphan is made by advancing the
store's clock (``Capability.CLOCK``) by ``stale_after`` during setup, and the model advances by
the same amount. A store whose clock runs in real time is judged only when the whole round
took less than half its ``stale_after``, so no run can turn stale while the model thinks it
fresh; slower rounds are counted as not judged.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, cast

from runlife.conformance import post_run
from runlife.conformance.history import (
    Call,
    History,
    Operation,
    Unknown,
    apply_spec,
    record,
)
from runlife.conformance.linearizability import (
    Verdict,
    check,
    describe_operation,
    minimize,
    run_store_model,
    show_answer,
)
from runlife.spec.contract import Capability, MultiProcess, RunStore
from runlife.spec.core import EXECUTOR_WRITES
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Renewed,
    Status,
    Transitioned,
)

BARRIER_TIMEOUT = 30.0
"""Seconds a client waits for the others at the barrier, and the coordinator for answers."""


@dataclass(frozen=True)
class StoreUnderTest:
    """How the kit reaches the store under test.

    ``open()`` returns a new connection to the same underlying store; the kit opens one per
    client and one to prepare races, and closes each. ``open_url(url)`` opens the store from
    the ``connect_url()`` of a store with ``Capability.PROCESSES``, inside another OS process;
    it must be picklable (a module-level function or a classmethod such as
    ``SqlRunStore.from_url``). Without it, races use threads only.

    The store's ``timing`` and ``capabilities`` are read from the first connection. With
    ``Capability.CLOCK``, ``advance_clock`` must move the clock every connection reads.
    """

    open: Callable[[], RunStore]
    name: str = "store"
    open_url: Callable[[str], RunStore] | None = None


class ScenarioStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    """A race was not linearizable, or a double claim or overlapping holders were found."""
    INCONCLUSIVE = "inconclusive"
    """No violation, but some race could not be decided within the checker's time budget."""
    BROKEN = "broken"
    """The store raised, or refused a call that prepares a race; see ``reason``."""
    NOT_EXERCISED = "not exercised"
    """The store lacks a capability the scenario needs; see ``reason``."""


# --- judging a history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A harm found directly in a history, without the linearizability search.

    ``kind`` is ``double claim``, ``overlapping holders`` or ``stale write accepted``;
    ``operations`` are indices into the history.
    """

    kind: str
    run: str
    operations: tuple[int, ...]
    detail: str

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "run": self.run,
            "operations": list(self.operations),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Counterexample:
    """A race the spec cannot explain, made small.

    ``history``: the smallest failing sub-history found (the race's setup is always kept).
    ``linearization``: indices into ``history.operations`` of the longest order the spec
    accepts; ``explanation``: that order, then what the spec answers to each call left over.
    ``full``: the whole race it was cut from.
    """

    history: History
    linearization: tuple[int, ...]
    explanation: tuple[str, ...]
    full: History

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": "concurrent",
            "history": self.history.to_data(),
            "linearization": list(self.linearization),
            "explanation": list(self.explanation),
            "full": self.full.to_data(),
        }

    def __str__(self) -> str:
        return "\n".join(self.explanation)


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` found in one history."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    counterexample: Counterexample | None

    @property
    def violated(self) -> bool:
        return self.verdict is Verdict.NOT_LINEARIZABLE or bool(self.findings)


def judge(history: History, budget: float = 2.0) -> Judgement:
    """Judge a recorded history: linearizability against the spec, then the direct checks.

    Works offline on a history loaded with :meth:`History.from_json`. ``budget`` bounds the
    linearizability search (and separately the shrinking of a counterexample), in seconds.
    """
    model = run_store_model(history.timing)
    result = check(model, history.operations, budget)
    findings = holder_findings(history)
    counterexample = None
    if result.verdict is Verdict.NOT_LINEARIZABLE:
        counterexample = _counterexample(history, budget)
    elif findings:
        counterexample = Counterexample(
            history, result.linearization, tuple(f.detail for f in findings), history
        )
    return Judgement(result.verdict, findings, counterexample)


def history_in(document: object) -> History:
    """The history a JSON document holds: a history itself, a counterexample (its smallest
    failing part), or a scenario result (its counterexample's). Raises HistoryFormatError."""
    if isinstance(document, dict) and isinstance(document.get("counterexample"), dict):
        document = document["counterexample"]
    if isinstance(document, dict) and "history" in document:
        document = document["history"]
    return History.from_data(document)


def _counterexample(history: History, budget: float) -> Counterexample:
    model = run_store_model(history.timing)
    kept = minimize(model, history.operations, range(history.setup), budget)
    indices = kept if kept is not None else tuple(range(len(history.operations)))
    small = History(
        tuple(history.operations[i] for i in indices),
        history.timing,
        sum(1 for i in indices if i < history.setup),
        f"{history.label} (smallest failing part)".strip(),
    )
    order = check(model, small.operations, budget).linearization
    return Counterexample(small, order, explain(small, order), history)


def explain(history: History, order: Sequence[int]) -> tuple[str, ...]:
    """The order the spec accepts, then each call left over with the spec's answer to it.

    Each call shows when it was invoked and answered, in milliseconds from the first call.
    """
    model = run_store_model(history.timing)
    start = min((op.call for op in history.operations), default=0)

    def line(op: Operation[Call]) -> str:
        answered = "?" if op.unknown else f"{(op.return_ - start) / 1e6:.3f}"
        return f"  [{(op.call - start) / 1e6:.3f}..{answered} ms] {model.describe(op)}"

    state = model.init()
    lines = ["The spec accepts the store's answers in this order:"]
    for index in order:
        op = history.operations[index]
        lines.append(line(op))
        state = model.step(state, op.input, op.output)[1]
    lines.append("but then no remaining call can take effect next:")
    for index, op in enumerate(history.operations):
        if index not in order:
            expected = apply_spec(state, op.input, history.timing)[1]
            lines.append(f"{line(op)}, where the spec answers {show_answer(expected)}")
    return tuple(lines)


def holder_findings(history: History) -> tuple[Finding, ...]:
    """Double claims, overlapping holders and accepted stale writes, read off the history.

    Concurrent calls get the benefit of the doubt: a release or renewal counts as possibly
    before a claim when it was invoked before the claim answered. A finding is reported only
    when no order of the concurrent calls could excuse it.
    """
    findings: list[Finding] = []
    for run, claims in _claims_by_run(history.operations).items():
        findings += _double_claims(history, run, claims)
        findings += _overlapping_holders(history, run, claims)
        findings += _stale_writes(history, run, claims)
    return tuple(findings)


def _double_claims(
    history: History, run: str, claims: Sequence[tuple[int, Claimed]]
) -> list[Finding]:
    """Two or more claims answered with one epoch: two executors believe they hold the run."""
    by_epoch: dict[int, list[int]] = {}
    for index, claim in claims:
        by_epoch.setdefault(claim.epoch, []).append(index)
    return [
        Finding(
            "double claim",
            run,
            tuple(indices),
            f"{len(indices)} claims of {run} under epoch {epoch}: "
            + "; ".join(_who(history.operations, i) for i in indices),
        )
        for epoch, indices in by_epoch.items()
        if len(indices) > 1
    ]


def _overlapping_holders(
    history: History, run: str, claims: Sequence[tuple[int, Claimed]]
) -> list[Finding]:
    """A claim taken while the previous holder's lease was live and never released.

    A newer epoch fences the old holder's store writes, but not its work: while its lease is
    live it still executes, so two executors share one worktree (seed 001).
    """
    ops, ttl = history.operations, history.timing.lease_ttl
    slack = 1e-6 * max(1.0, ttl)
    ordered = sorted(claims, key=lambda claim: claim[1].epoch)
    found = []
    for (i, before), (j, after) in itertools.pairwise(ordered):
        if before.epoch == after.epoch:
            continue
        held = _held_until(ops, i, ops[j])
        taken = after.lease_expires - ttl
        if held is not None and taken < held - slack:
            detail = (
                f"{_who(ops, j)} claimed {run} at store time {taken:g}, while the lease of "
                f"{_who(ops, i)} ran until {held:g} and was never released"
            )
            found.append(Finding("overlapping holders", run, (i, j), detail))
    return found


def _claims_by_run(ops: Sequence[Operation[Call]]) -> dict[str, list[tuple[int, Claimed]]]:
    claims: dict[str, list[tuple[int, Claimed]]] = {}
    for index, op in enumerate(ops):
        if isinstance(op.output, Claimed) and op.input.run is not None:
            claims.setdefault(op.input.run, []).append((index, op.output))
    return claims


def _claimed(op: Operation[Call]) -> Claimed:
    assert isinstance(op.output, Claimed)
    return op.output


def _who(ops: Sequence[Operation[Call]], index: int) -> str:
    return f"#{index} {describe_operation(ops[index])}"


def _held_until(
    ops: Sequence[Operation[Call]], holder: int, later: Operation[Call]
) -> float | None:
    """When the claim made by ``ops[holder]`` ended as far as ``later`` could know: its lease
    expiry (extended by renewals that may precede ``later``), or ``None`` if a release may
    precede ``later``."""
    claim = _claimed(ops[holder])
    run = ops[holder].input.run
    until = claim.lease_expires
    for op in ops:
        if op.input.run != run or op.call >= later.return_ or op is ops[holder]:
            continue
        answer = op.output
        if isinstance(answer, CancelOutcome) and answer.cancelled:
            return None
        if op.input.action == "abandon_run" and isinstance(answer, Transitioned):
            return None
        if op.input.action in EXECUTOR_WRITES and op.input.arg("epoch") == claim.epoch:
            if isinstance(answer, Renewed):
                until = max(until, answer.lease_expires)
            elif isinstance(answer, Transitioned) and answer.status is not Status.RUNNING:
                return None
    return until


def _stale_writes(
    history: History, run: str, claims: Sequence[tuple[int, Claimed]]
) -> list[Finding]:
    """An executor write accepted although a newer claim had answered before it was made."""
    ops = history.operations
    found = []
    for index, op in enumerate(ops):
        if op.input.run != run or op.input.action not in EXECUTOR_WRITES:
            continue
        epoch = op.input.arg("epoch")
        if not isinstance(op.output, Renewed | Transitioned) or not isinstance(epoch, int):
            continue
        newer = [i for i, claim in claims if claim.epoch > epoch and ops[i].return_ < op.call]
        if newer:
            detail = f"{_who(ops, index)} was accepted after {_who(ops, newer[0])} fenced it out"
            found.append(Finding("stale write accepted", run, (newer[0], index), detail))
    return found


# --- preparing a race ----------------------------------------------------------------------


class SetupRefused(Exception):
    """A call that prepares a race was not answered as the spec says; the race cannot run."""


class Setup:
    """Prepares the runs of one race through the contract, recording every call it makes."""

    HOLDER = "setup"

    def __init__(self, store: RunStore, label: str) -> None:
        self.store = store
        self.timing = store.timing
        self.clock = Capability.CLOCK in store.capabilities
        self.workflow = f"race-{label}-{uuid.uuid4().hex[:8]}"
        self.operations: list[Operation[Call]] = []
        self.advanced = 0.0

    def _do(self, call: Call, answer: type) -> Any:
        op = record(self.store, "setup", call)
        self.operations.append(op)
        if not isinstance(op.output, answer):
            raise SetupRefused(f"{describe_operation(op)}; expected {answer.__name__}")
        return op.output

    def pending(self) -> str:
        new = Call.of(
            "create_run",
            workflow=self.workflow,
            user_message="race",
            codebase="main",
            conversation=None,
            platform=None,
        )
        created: Created = self._do(new, Created)
        return created.run_id

    def running(self) -> tuple[str, int]:
        """A running run and its holder's epoch."""
        run = self.pending()
        claimed: Claimed = self._do(Call.of("start_run", run, holder=self.HOLDER), Claimed)
        return run, claimed.epoch

    def failed(self) -> str:
        run, epoch = self.running()
        self._do(Call.of("fail_run", run, epoch=epoch, error="boom"), Transitioned)
        return run

    def paused(self) -> str:
        run, epoch = self.running()
        pause = Call.of(
            "pause_at_gate", run, epoch=epoch, gate="review", on_reject=False, max_attempts=3
        )
        self._do(pause, Transitioned)
        return run

    def stale(self) -> tuple[str, int]:
        """A running run whose executor went silent ``stale_after`` ago (needs CLOCK)."""
        run, epoch = self.running()
        self._do(Call.of("advance_clock", seconds=self.timing.stale_after), type(None))
        self.advanced += self.timing.stale_after
        return run, epoch

    def resumable(self, round_: int) -> str:
        """A failed, paused or (with CLOCK) stale run, in turn."""
        kinds = 3 if self.clock else 2
        return (self.failed, self.paused, lambda: self.stale()[0])[round_ % kinds]()


Plan = list[list[Call]]
"""The calls each client makes in one race, in order."""


def _holder(i: int) -> str:
    return f"c{i}"


def _prepare_claim_vs_claim(setup: Setup, clients: int, round_: int) -> Plan:
    run = setup.resumable(round_)
    return [[Call.of("resume_run", run, holder=_holder(i))] for i in range(clients)]


def _prepare_resume_vs_cancel(setup: Setup, clients: int, round_: int) -> Plan:
    run = setup.failed() if round_ % 2 == 0 else setup.paused()
    resume = [Call.of("resume_run", run, holder=_holder(i)) for i in range(clients)]
    return [[resume[i] if i % 2 == 0 else Call.of("cancel_run", run)] for i in range(clients)]


def _prepare_cancel_vs_complete(setup: Setup, clients: int, round_: int) -> Plan:
    run, epoch = setup.running()
    complete = Call.of("complete_run", run, epoch=epoch)
    users = (Call.of("cancel_run", run), Call.of("abandon_run", run))
    return [[complete if i == 0 else users[(i + round_) % 2]] for i in range(clients)]


def _racing_the_silent_holder(action: str) -> Callable[[Setup, int, int], Plan]:
    """Client 0 is the stale run's old holder and calls ``action``; the others resume it."""

    def prepare(setup: Setup, clients: int, round_: int) -> Plan:
        run, epoch = setup.stale()
        old = Call.of(action, run, epoch=epoch)
        resume = [Call.of("resume_run", run, holder=_holder(i)) for i in range(clients)]
        return [[old if i == 0 else resume[i]] for i in range(clients)]

    return prepare


def _prepare_start_vs_cancel(setup: Setup, clients: int, round_: int) -> Plan:
    run = setup.pending()
    start = [Call.of("start_run", run, holder=_holder(i)) for i in range(clients)]
    return [[start[i] if i % 2 == 0 else Call.of("cancel_run", run)] for i in range(clients)]


@dataclass(frozen=True)
class Scenario:
    """A named race: how to prepare it and what each of the K clients calls.

    Calling a scenario races it: ``claim_vs_claim(sut, clients=4, rounds=10)``.
    """

    name: str
    doc: str
    prepare: Callable[[Setup, int, int], Plan]
    """``prepare(setup, clients, round)``: make the runs, return each client's calls."""
    needs_clock: bool = False

    def __call__(
        self, sut: StoreUnderTest, clients: int = 4, rounds: int = 10, **options: Any
    ) -> ScenarioResult:
        """Race this scenario; ``options`` are :func:`run_family`'s keyword arguments."""
        return run_family(sut, clients, rounds, scenarios=(self,), **options)[0]


claim_vs_claim = Scenario(
    "claim_vs_claim",
    "K clients resume the same failed, paused or stale run: exactly one may win (seed 001).",
    _prepare_claim_vs_claim,
)
resume_vs_cancel = Scenario(
    "resume_vs_cancel",
    "Resumers race cancellers on a failed or paused run: a cancel that wins sticks.",
    _prepare_resume_vs_cancel,
)
cancel_vs_complete = Scenario(
    "cancel_vs_complete",
    "The holder completes while users cancel and abandon: one finish wins, no resurrection.",
    _prepare_cancel_vs_complete,
)
complete_vs_stale_recovery = Scenario(
    "complete_vs_stale_recovery",
    "A silent holder completes while others recover its stale run: the loser is fenced.",
    _racing_the_silent_holder("complete_run"),
    needs_clock=True,
)
recovery_vs_heartbeat = Scenario(
    "recovery_vs_heartbeat",
    "A late heartbeat races recovery of a stale run: never both the old and a new holder.",
    _racing_the_silent_holder("heartbeat"),
    needs_clock=True,
)
start_vs_cancel = Scenario(
    "start_vs_cancel",
    "Starters race cancellers on a pending run: one start at most, a cancel that wins sticks.",
    _prepare_start_vs_cancel,
)

SCENARIOS: tuple[Scenario, ...] = (
    claim_vs_claim,
    resume_vs_cancel,
    cancel_vs_complete,
    complete_vs_stale_recovery,
    recovery_vs_heartbeat,
    start_vs_cancel,
)
"""Every race of the concurrency family, in the order they run."""


# --- clients -------------------------------------------------------------------------------


class _Queue(Protocol):
    def put(self, item: Any) -> None: ...
    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


class _Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...
    def abort(self) -> None: ...


def _serve(
    open_store: Callable[[], RunStore], client: str, inbox: _Queue, outbox: _Queue, start: _Barrier
) -> None:
    """A client: open a connection; for each plan, read the clock, wait at the barrier, call.

    Answers ``(client, operations, clock)``, or ``(client, reason)`` when it cannot race.
    """
    try:
        store = open_store()
    except Exception as error:
        outbox.put((client, f"could not open the store: {type(error).__name__}: {error}"))
        return
    try:
        while (calls := inbox.get()) is not None:
            try:
                clock = store.now()
                start.wait(BARRIER_TIMEOUT)
            except threading.BrokenBarrierError:
                outbox.put((client, "the race was abandoned at the barrier"))
                continue
            except Exception as error:
                outbox.put((client, f"now() raised {type(error).__name__}: {error}"))
                continue
            outbox.put((client, [record(store, client, call) for call in calls], clock))
    finally:
        store.close()


class ClientsBroken(Exception):
    """A client could not open the store or reach the barrier."""


class Clients:
    """K racing clients: ``threads`` threads and ``processes`` OS processes (spawned)."""

    def __init__(self, sut: StoreUnderTest, store: RunStore, threads: int, processes: int):
        self.names = [_holder(i) for i in range(threads + processes)]
        self.processes = processes
        self.broken = ""
        context = multiprocessing.get_context("spawn")
        self.outbox: _Queue = context.Queue() if processes else queue.Queue()
        self.barrier: _Barrier = (
            context.Barrier(len(self.names)) if processes else threading.Barrier(len(self.names))
        )
        self.inboxes: list[_Queue] = []
        self.workers: list[threading.Thread | multiprocessing.process.BaseProcess] = []
        for index, name in enumerate(self.names):
            if index < threads:
                inbox: _Queue = queue.Queue()
                worker: Any = threading.Thread(
                    target=_serve,
                    args=(sut.open, name, inbox, self.outbox, self.barrier),
                    daemon=True,
                )
            else:
                assert sut.open_url is not None
                url = cast(MultiProcess, store).connect_url()
                inbox = context.Queue()
                worker = context.Process(
                    target=_serve,
                    args=(
                        functools.partial(sut.open_url, url),
                        name,
                        inbox,
                        self.outbox,
                        self.barrier,
                    ),
                    daemon=True,
                )
            worker.start()
            self.inboxes.append(inbox)
            self.workers.append(worker)

    def race(self, plan: Plan) -> tuple[list[Operation[Call]], dict[str, float]]:
        """Give each client its calls; all start together. Returns every operation, and the
        time each client's store read just before the race."""
        if self.broken:
            raise ClientsBroken(self.broken)
        for inbox, calls in zip(self.inboxes, plan, strict=True):
            inbox.put(calls)
        answers: dict[str, list[Operation[Call]]] = {}
        clocks: dict[str, float] = {}
        for _ in self.names:
            try:
                client, *answer = self.outbox.get(timeout=BARRIER_TIMEOUT + 5)
            except queue.Empty:
                answer = ["clients did not answer in time"]
                client = "a client"
            if len(answer) == 1:
                self.barrier.abort()
                self.broken = f"{client}: {answer[0]}"
                raise ClientsBroken(self.broken)
            answers[client], clocks[client] = answer
        return [op for name in self.names for op in answers[name]], clocks

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for worker in self.workers:
            worker.join(timeout=10)
            if isinstance(worker, multiprocessing.process.BaseProcess) and worker.is_alive():
                worker.terminate()


SWITCH_INTERVAL = 1e-5
"""Seconds between thread switches while racing (CPython's default is 5 ms, which makes a
pure-Python read-then-write nearly atomic: measured 8 of 100 double claims found in 2 s by
default, 100 of 100 at this interval)."""


@contextmanager
def _interleaving_threads() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextmanager
def _clients(sut: StoreUnderTest, store: RunStore, count: int, processes: int) -> Iterator[Clients]:
    pool = Clients(sut, store, count - processes, processes)
    try:
        yield pool
    finally:
        pool.close()


# --- running the family --------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioResult:
    """What racing one scenario found. ``verdict`` is the worst over the judged rounds
    (``None`` when none was judged); ``counterexample`` is the first violating round's."""

    name: str
    status: ScenarioStatus
    rounds: int
    histories_checked: int
    verdict: Verdict | None
    findings: tuple[Finding, ...] = ()
    counterexample: Counterexample | None = None
    reason: str = ""
    clients: int = 0
    processes: int = 0
    elapsed: float = 0.0
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        kind = f"{self.clients} clients" + (
            f", {self.processes} processes" if self.processes else ""
        )
        rounds = f"{self.rounds} round" + ("" if self.rounds == 1 else "s")
        head = f"{self.name}: {self.status} after {rounds} ({kind})"
        lines = [head + (f": {self.reason}" if self.reason else "")]
        lines += [f"  {finding.kind}: {finding.detail}" for finding in self.findings]
        if self.counterexample is not None and self.verdict is Verdict.NOT_LINEARIZABLE:
            lines += [f"  {line}" for line in self.counterexample.explanation]
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])

    def to_data(self) -> dict[str, Any]:
        counterexample = self.counterexample
        return {
            "name": self.name,
            "status": str(self.status),
            "rounds": self.rounds,
            "histories_checked": self.histories_checked,
            "verdict": None if self.verdict is None else str(self.verdict),
            "findings": [f.to_data() for f in self.findings],
            "counterexample": None if counterexample is None else counterexample.to_data(),
            "reason": self.reason,
            "clients": self.clients,
            "processes": self.processes,
            "elapsed": round(self.elapsed, 3),
            "notes": list(self.notes),
        }


def run_family(
    sut: StoreUnderTest,
    clients: int = 4,
    rounds: int = 10,
    *,
    processes: int = 0,
    time_limit: float | None = None,
    budget: float = 2.0,
    scenarios: Sequence[Scenario] = SCENARIOS,
) -> list[ScenarioResult]:
    """Race each scenario with ``clients`` clients (``processes`` of them OS processes, the
    rest threads), for ``rounds`` rounds each, or until a round fails or ``time_limit``
    seconds have passed in that scenario. ``budget`` bounds each judgement, in seconds.

    Processes need ``Capability.PROCESSES`` and ``sut.open_url``; without them the race uses
    threads only and says so in ``notes``. While racing, the interpreter switches threads
    every :data:`SWITCH_INTERVAL` seconds, so threads interleave even inside a store written
    in pure Python; the previous interval is restored afterwards.
    """
    if clients < 2 or not 0 <= processes <= clients:
        raise ValueError(f"need 2 or more clients and 0 to {clients} processes, got {processes}")
    store = sut.open()
    try:
        notes = []
        if processes and (Capability.PROCESSES not in store.capabilities or sut.open_url is None):
            notes.append(
                "processes not exercised: the store lacks Capability.PROCESSES or open_url"
            )
            processes = 0
        with _clients(sut, store, clients, processes) as pool, _interleaving_threads():
            return [_race(s, store, pool, rounds, time_limit, budget, notes) for s in scenarios]
    finally:
        store.close()


@dataclass
class _Tally:
    """What the rounds of one scenario added up to."""

    rounds: int = 0
    checked: int = 0
    verdict: Verdict | None = None
    judgement: Judgement | None = None
    trouble: str = ""
    skipped: str = ""
    notes: list[str] = field(default_factory=list)

    def add(self, judgement: Judgement) -> None:
        self.checked += 1
        if self.verdict is None or _SEVERITY[judgement.verdict] > _SEVERITY[self.verdict]:
            self.verdict = judgement.verdict
        if judgement.violated and self.judgement is None:
            self.judgement = judgement

    def status(self) -> ScenarioStatus:
        if self.skipped:
            return ScenarioStatus.NOT_EXERCISED
        if self.judgement is not None:
            return ScenarioStatus.FAILED
        if self.trouble:
            return ScenarioStatus.BROKEN
        if self.verdict is Verdict.UNKNOWN or self.checked == 0:
            return ScenarioStatus.INCONCLUSIVE
        return ScenarioStatus.PASSED


_SEVERITY = {Verdict.LINEARIZABLE: 0, Verdict.UNKNOWN: 1, Verdict.NOT_LINEARIZABLE: 2}


def _race(
    scenario: Scenario,
    store: RunStore,
    pool: Clients,
    rounds: int,
    time_limit: float | None,
    budget: float,
    notes: Sequence[str],
) -> ScenarioResult:
    started = time.monotonic()
    tally = _Tally(notes=list(notes))
    if scenario.needs_clock and Capability.CLOCK not in store.capabilities:
        tally.skipped = "not exercised: needs clock (the store does not declare Capability.CLOCK)"
    while not (tally.skipped or tally.trouble or tally.judgement) and tally.rounds < rounds:
        if time_limit is not None and time.monotonic() - started > time_limit:
            break
        _round(scenario, store, pool, tally, budget)
    judgement = tally.judgement
    return ScenarioResult(
        name=scenario.name,
        status=tally.status(),
        rounds=tally.rounds,
        histories_checked=tally.checked,
        verdict=tally.verdict,
        findings=judgement.findings if judgement else (),
        counterexample=judgement.counterexample if judgement else None,
        reason=tally.skipped or tally.trouble,
        clients=len(pool.names),
        processes=pool.processes,
        elapsed=time.monotonic() - started,
        notes=tuple(tally.notes),
    )


def _round(
    scenario: Scenario, store: RunStore, pool: Clients, tally: _Tally, budget: float
) -> None:
    """Prepare, race and judge one round, adding what it found to ``tally``."""
    number = tally.rounds
    tally.rounds += 1
    setup = Setup(store, f"{scenario.name}-{number}")
    before = store.now()
    try:
        plan = scenario.prepare(setup, len(pool.names), number)
        ready = store.now()
        race, clocks = pool.race(plan)
    except (SetupRefused, ClientsBroken) as error:
        tally.trouble = f"round {number}: {error}"
        return
    timing = store.timing
    drift = store.now() - before - setup.advanced
    raised = [op for op in race if isinstance(op.output, Unknown)]
    if raised and not tally.trouble:
        tally.trouble = f"round {number}: the store raised: {describe_operation(raised[0])}"
    skewed = [c for c, clock in clocks.items() if abs(clock - ready) >= timing.stale_after / 2]
    if skewed:
        tally.trouble = (
            f"round {number}: {skewed[0]}'s connection reads the clock as {clocks[skewed[0]]:g} "
            f"but the one that prepared the race as {ready:g}; advance_clock must move the "
            "clock every connection reads"
        )
        return
    if drift >= timing.stale_after / 2:
        tally.notes.append(
            f"round {number} not judged: it took {drift:g} store time units, too long for "
            f"stale_after={timing.stale_after:g}"
        )
        return
    operations = tuple(setup.operations + race)
    label = f"{scenario.name} round {number}"
    history = History(operations, timing, len(setup.operations), label)
    tally.add(after_the_race(judge(history, budget), store, history))


def after_the_race(judgement: Judgement, store: RunStore, history: History) -> Judgement:
    """``judgement`` or, when it found nothing, what the post-run invariant check finds in the
    quiet store given every answer the race's clients had (:mod:`runlife.conformance.post_run`):
    lost acknowledged writes, stuck runs, an event log that disagrees with the rows."""
    if judgement.violated:
        return judgement
    runs = {op.input.run for op in history.operations if op.input.run is not None}
    breaches = post_run.check(store, runs, acknowledged=[op.output for op in history.operations])
    if not breaches:
        return judgement
    findings = tuple(Finding(f"post-run: {b.invariant}", b.run, (), str(b)) for b in breaches)
    explanation = tuple(f.detail for f in findings)
    return Judgement(judgement.verdict, findings, Counterexample(history, (), explanation, history))
