"""A linearizability checker for histories of concurrent calls, and the run store's model.

A history is linearizable when every operation can be given one instant between its call and
its return such that, taken in that order, the answers are the ones a sequential model gives.
The search is Wing & Gong's, with Lowe's memoisation (as in Porcupine): operations are tried
in call order, a step is taken only if the model agrees with the recorded answer, and a
(set of linearized operations, model state) pair seen before is never explored again.

A :class:`Model` is four small functions (initial state, step, state key, describer) and an
optional partition: operations in different partitions must commute (for the run store,
operations on different runs), so each partition is checked on its own (P-compositionality),
which keeps the search small.

An operation whose answer is :class:`~runlife.conformance.history.Unknown` returns "at
infinity": it may be linearized at any point after its call, and the model accepts any answer
for it. Linearized last, it affects no other answer, so "it never happened" is covered too.

The search is bounded by a time budget and answers UNKNOWN when the budget runs out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from runlife.conformance.history import (
    Call,
    History,
    Operation,
    Unknown,
    apply_spec,
)
from runlife.spec.records import Timing
from runlife.spec.results import Created, outcome
from runlife.spec.store import StoreState

S = TypeVar("S")
In = TypeVar("In")


class Verdict(StrEnum):
    LINEARIZABLE = "linearizable"
    NOT_LINEARIZABLE = "not linearizable"
    UNKNOWN = "unknown"
    """The time budget ran out before the search finished."""


def _describe(op: Operation[Any]) -> str:
    return f"{op.client}: {op.input} -> {op.output}"


def _whole(operations: Sequence[Operation[In]]) -> list[list[int]]:
    return [list(range(len(operations)))]


def _same(state: S) -> Hashable:
    return state


@dataclass(frozen=True)
class Model(Generic[S, In]):
    """A sequential object: what the checker needs to know about it, and nothing more.

    ``step(state, input, output)`` answers whether the object, in ``state``, may answer
    ``output`` to ``input``, and the state after. ``key`` maps a state to a hashable value equal
    for equal states. ``partition`` groups operation indices into independent sub-histories.
    """

    init: Callable[[], S]
    step: Callable[[S, In, object], tuple[bool, S]]
    key: Callable[[S], Hashable] = _same
    describe: Callable[[Operation[In]], str] = _describe
    partition: Callable[[Sequence[Operation[In]]], list[list[int]]] = _whole


@dataclass(frozen=True)
class CheckResult:
    """What the checker found.

    ``linearization``: indices into the history, in linearization order. For a linearizable
    history, a complete witness (partitions one after another); otherwise the longest partial
    linearization found in the first failing (or unfinished) partition. ``failing``: the
    indices of that partition, in history order (empty when linearizable).
    """

    verdict: Verdict
    linearization: tuple[int, ...]
    failing: tuple[int, ...] = ()
    partitions: int = 1
    explored: int = 0
    elapsed: float = 0.0


class _OutOfTime(Exception):
    pass


@dataclass
class _Search(Generic[S, In]):
    """One Wing-Gong-Lowe search over one partition."""

    model: Model[S, In]
    ops: Sequence[Operation[In]]
    deadline: float
    explored: int = 0
    longest: list[int] = field(default_factory=list)

    def run(self) -> bool:
        """True if linearizable; ``longest`` then holds a witness. Raises _OutOfTime."""
        n = len(self.ops)
        events = sorted(
            [(op.call, 0, j) for j, op in enumerate(self.ops)]
            + [(math.inf if op.unknown else op.return_, 1, j) for j, op in enumerate(self.ops)]
        )
        # A doubly linked list over the events, calls before returns at equal times; ``head``
        # is a sentinel at index 2n and -1 marks the end.
        head = 2 * n
        nxt = [*range(1, 2 * n), -1, 0]
        prv = [head, *range(2 * n - 1), -1]
        op_at = [j for _, _, j in events]
        is_call = [kind == 0 for _, kind, _ in events]
        return_at = [0] * n
        for position, (_, kind, j) in enumerate(events):
            if kind == 1:
                return_at[j] = position

        def lift(c: int) -> None:
            r = return_at[op_at[c]]
            nxt[prv[c]], prv[nxt[c]] = nxt[c], prv[c]
            nxt[prv[r]] = nxt[r]
            if nxt[r] != -1:
                prv[nxt[r]] = prv[r]

        def unlift(c: int) -> None:
            r = return_at[op_at[c]]
            nxt[prv[r]] = r
            if nxt[r] != -1:
                prv[nxt[r]] = r
            nxt[prv[c]] = c
            prv[nxt[c]] = c

        state = self.model.init()
        linearized = 0
        seen: set[tuple[int, Hashable]] = set()
        stack: list[tuple[int, S]] = []
        entry = nxt[head]
        while nxt[head] != -1:
            self.explored += 1
            if self.explored & 255 == 0 and time.monotonic() > self.deadline:
                raise _OutOfTime
            if is_call[entry]:
                op = self.ops[op_at[entry]]
                ok, after = self.model.step(state, op.input, op.output)
                if ok:
                    marked = linearized | (1 << op_at[entry])
                    key = (marked, self.model.key(after))
                    if key not in seen:
                        seen.add(key)
                        stack.append((entry, state))
                        state, linearized = after, marked
                        lift(entry)
                        entry = nxt[head]
                        continue
                entry = nxt[entry]
            else:
                # A return whose call could not be linearized before it: backtrack.
                if len(stack) > len(self.longest):
                    self.longest = [op_at[e] for e, _ in stack]
                if not stack:
                    return False
                entry, state = stack.pop()
                linearized &= ~(1 << op_at[entry])
                unlift(entry)
                entry = nxt[entry]
        self.longest = [op_at[e] for e, _ in stack]
        return True


def check(
    model: Model[S, In], operations: Sequence[Operation[In]], budget: float = 5.0
) -> CheckResult:
    """Whether ``operations`` is linearizable with respect to ``model``, within ``budget``
    seconds (then UNKNOWN). Smaller partitions are searched first."""
    started = time.monotonic()
    deadline = started + budget
    groups = sorted(model.partition(operations), key=len)
    witness: list[int] = []
    explored = 0
    for group in groups:
        search = _Search(model, [operations[i] for i in group], deadline)
        try:
            ok = search.run()
        except _OutOfTime:
            ok = None
        explored += search.explored
        found = [group[j] for j in search.longest]
        if ok is True:
            witness += found
            continue
        verdict = Verdict.UNKNOWN if ok is None else Verdict.NOT_LINEARIZABLE
        elapsed = time.monotonic() - started
        return CheckResult(verdict, tuple(found), tuple(group), len(groups), explored, elapsed)
    return CheckResult(
        Verdict.LINEARIZABLE, tuple(witness), (), len(groups), explored, time.monotonic() - started
    )


def minimize(
    model: Model[S, In],
    operations: Sequence[Operation[In]],
    keep: Sequence[int] = (),
    budget: float = 5.0,
) -> tuple[int, ...] | None:
    """A small non-linearizable sub-history: indices, in history order, or ``None`` if the
    history was not found non-linearizable within ``budget`` seconds.

    Greedy: starting from the failing partition, each operation not in ``keep`` is dropped if
    the rest is still not linearizable. Put in ``keep`` the operations that give the others
    their meaning (the ones that created and prepared the runs); dropping them would leave a
    history that fails for a different, meaningless reason.
    """
    deadline = time.monotonic() + budget
    first = check(model, operations, budget)
    if first.verdict is not Verdict.NOT_LINEARIZABLE:
        return None
    kept = set(keep)
    current = list(first.failing)
    for index in reversed(first.failing):
        if index in kept:
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        trial = [i for i in current if i != index]
        attempt = check(model, [operations[i] for i in trial], remaining)
        if attempt.verdict is Verdict.NOT_LINEARIZABLE:
            current = trial
    return tuple(current)


# --- the run store model: the spec ---------------------------------------------------------


def run_store_model(timing: Timing) -> Model[StoreState, Call]:
    """The spec as a sequential object: a step applies the spec action the call names and
    compares the decisive part of its answer (:func:`~runlife.spec.results.outcome`) with the
    store's answer.

    Time: the model's clock moves only on ``advance_clock`` calls and stands still otherwise,
    so a race must be short compared with the store's ``lease_ttl`` and ``stale_after`` (the
    concurrency kit checks that it was). Lease expiry times are not compared, only epochs,
    statuses and flags, so the store's clock need not match the spec's.

    Run ids are the store's own: the spec creates each run under the id the store answered.
    """

    def step(state: StoreState, call: Call, output: object) -> tuple[bool, StoreState]:
        if isinstance(output, Unknown):
            if call.action == "create_run" and call.run is None:
                return True, state  # no id was learned, so no later call can name this run
            return True, apply_spec(state, call, timing)[0]
        after, expected = apply_spec(state, call, timing)
        if output is None or expected is None:
            return output is expected, after
        return outcome(expected) == outcome(output), after

    return Model(
        init=StoreState,
        step=step,
        describe=describe_operation,
        partition=partition_by_run,
    )


def describe_operation(op: Operation[Call]) -> str:
    """``c1: resume_run(r3, holder='c1') -> Claimed(epoch=2)`` (decisive fields only)."""
    return f"{op.client}: {op.input} -> {show_answer(op.output)}"


def show_answer(output: object) -> str:
    """An answer's kind and decisive fields: ``Claimed(2)``, ``RunNotResumable(running)``."""
    if output is None:
        return "nothing"
    if isinstance(output, Unknown):
        return f"unknown ({output.reason})" if output.reason else "unknown"
    kind, *decisive = outcome(output)
    if isinstance(output, Created):
        decisive = [output.run_id]
    return f"{kind}({', '.join(map(str, decisive))})"


def partition_by_run(operations: Sequence[Operation[Call]]) -> list[list[int]]:
    """Group operations by the runs they touch; operations on different runs commute.

    ``find_resumable`` touches every run created under its workflow, conversation and codebase
    (those groups are merged). A call that touches no run (``advance_clock``) belongs to every
    group: it only ever appears before a race, where its place is fixed by real time.
    """
    parent: dict[str, str] = {}

    def root(run: str) -> str:
        while parent.setdefault(run, run) != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    scope: dict[tuple[object, ...], list[str]] = {}
    for op in operations:
        if op.input.action == "create_run" and op.input.run is not None:
            scope.setdefault(_scope(op.input), []).append(op.input.run)
            root(op.input.run)
    touched: list[list[str]] = []
    for op in operations:
        runs = scope.get(_scope(op.input), []) if op.input.action == "find_resumable" else []
        if op.input.run is not None and op.input.action != "find_resumable":
            runs = [op.input.run]
        for run in runs[1:]:
            parent[root(run)] = root(runs[0])
        touched.append(runs)
    groups: dict[str, list[int]] = {}
    everywhere: list[int] = []
    for index, runs in enumerate(touched):
        if runs:
            groups.setdefault(root(runs[0]), []).append(index)
        else:
            everywhere.append(index)
    if not groups:
        return [everywhere]
    return [sorted(group + everywhere) for group in groups.values()]


def _scope(call: Call) -> tuple[object, ...]:
    return tuple(dict(call.args).get(name) for name in ("workflow", "conversation", "codebase"))


def check_history(history: History, budget: float = 5.0) -> CheckResult:
    """Whether a recorded run-store history is linearizable with respect to the spec."""
    return check(run_store_model(history.timing), history.operations, budget)
