"""The linearizability checker on hand-written histories, each a named case."""

from __future__ import annotations

import itertools
import re

import pytest

from runlife.conformance.history import (
    UNKNOWN,
    Call,
    History,
    HistoryFormatError,
    Operation,
    Unknown,
)
from runlife.conformance.linearizability import (
    Model,
    Verdict,
    check,
    check_history,
    minimize,
    partition_by_run,
    run_store_model,
)
from runlife.spec.records import Timing
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    RunNotResumable,
    Status,
    Transitioned,
)
from runlife.spec.store import StoreState

TIMING = Timing(lease_ttl=30, stale_after=60)


def op(client: str, call: Call, start: int, end: int, output: object) -> Operation[Call]:
    return Operation(client, call, output, start, end)


def failed_run(run: str = "r0", at: int = 0, workflow: str = "wf") -> list[Operation[Call]]:
    """Create, start and fail ``run``, one call after another, from time ``at``."""
    create = Call.of(
        "create_run",
        run,
        workflow=workflow,
        user_message="hi",
        codebase="main",
        conversation=None,
        platform=None,
    )
    start = Call.of("start_run", run, holder="s")
    fail = Call.of("fail_run", run, epoch=1, error="x")
    return [
        op("setup", create, at, at + 1, Created(run)),
        op("setup", start, at + 2, at + 3, Claimed(run, "s", 1, 30)),
        op("setup", fail, at + 4, at + 5, Transitioned(run, Status.FAILED)),
    ]


def resume(client: str, start: int, end: int, output: object, run: str = "r0") -> Operation[Call]:
    return op(client, Call.of("resume_run", run, holder=client), start, end, output)


def won(epoch: int = 2, client: str = "a", run: str = "r0") -> Claimed:
    return Claimed(run, client, epoch, 30)


LOST = RunNotResumable("r0", Status.RUNNING)


def history(*ops: Operation[Call], setup: int = 3) -> History:
    return History(tuple(ops), TIMING, setup)


def test_overlapping_resumes_one_winning_are_linearizable() -> None:
    # b answers first, yet a's claim may have taken effect before b's refusal.
    h = history(*failed_run(), resume("a", 10, 30, won()), resume("b", 12, 20, LOST))
    result = check_history(h)
    assert result.verdict is Verdict.LINEARIZABLE
    assert result.linearization == (0, 1, 2, 3, 4)


def test_a_refusal_that_answered_before_the_winner_was_called_is_not_linearizable() -> None:
    h = history(*failed_run(), resume("b", 10, 12, LOST), resume("a", 20, 30, won()))
    assert check_history(h).verdict is Verdict.NOT_LINEARIZABLE


def test_the_double_claim_of_seed_001_is_not_linearizable() -> None:
    h = history(
        *failed_run(), resume("a", 10, 30, won(client="a")), resume("b", 11, 29, won(client="b"))
    )
    result = check_history(h)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert result.failing == (0, 1, 2, 3, 4)
    assert len(result.linearization) == 4  # the setup and one of the two claims


def test_shrinking_keeps_the_setup_and_the_two_claims() -> None:
    noise = [resume(f"n{i}", 40 + 10 * i, 45 + 10 * i, LOST) for i in range(4)]
    h = history(*failed_run(), resume("a", 10, 30, won()), resume("b", 11, 29, won()), *noise)
    model = _spec_model()
    assert minimize(model, h.operations, keep=range(3)) == (0, 1, 2, 3, 4)


def test_shrinking_a_linearizable_history_finds_nothing() -> None:
    h = history(*failed_run(), resume("a", 10, 30, won()), resume("b", 12, 20, LOST))
    assert minimize(_spec_model(), h.operations) is None


def test_an_unknown_outcome_may_have_taken_effect() -> None:
    # a timed out; b was refused because a's claim had in fact happened.
    h = history(*failed_run(), resume("a", 10, 20, UNKNOWN), resume("b", 30, 40, LOST))
    assert check_history(h).verdict is Verdict.LINEARIZABLE


def test_an_unknown_outcome_may_never_take_effect() -> None:
    # a timed out at 20; b claimed at 30-40 with epoch 2, so a's call never happened (yet).
    h = history(*failed_run(), resume("a", 10, 20, Unknown("timeout")), resume("b", 30, 40, won()))
    assert check_history(h).verdict is Verdict.LINEARIZABLE


def test_an_unknown_outcome_cannot_take_effect_before_its_call() -> None:
    cancelled = RunNotResumable("r0", Status.CANCELLED)
    cancel = op("u", Call.of("cancel_run", "r0"), 30, 31, UNKNOWN)
    h = history(*failed_run(), resume("a", 10, 20, cancelled), cancel)
    assert check_history(h).verdict is Verdict.NOT_LINEARIZABLE


def test_runs_are_checked_in_separate_partitions() -> None:
    first, second = failed_run("r0"), failed_run("r1", at=100, workflow="other")
    race = [
        resume("a", 200, 230, won()),
        resume("b", 201, 229, won(run="r1"), run="r1"),
        resume("c", 202, 228, won(run="r1"), run="r1"),
    ]
    h = History((*first, *second, *race), TIMING, 6)
    result = check_history(h)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert result.partitions == 2
    assert result.failing == (3, 4, 5, 7, 8)


def test_a_clock_advance_belongs_to_every_partition() -> None:
    tick = op("setup", Call.of("advance_clock", seconds=60), 50, 51, None)
    h = History((*failed_run("r0"), *failed_run("r1", at=20), tick), TIMING, 7)
    assert partition_by_run(h.operations) == [[0, 1, 2, 6], [3, 4, 5, 6]]


def test_find_resumable_joins_the_runs_it_may_answer() -> None:
    find = Call.of("find_resumable", workflow="wf", conversation=None, codebase="main")
    ops = (*failed_run("r0"), *failed_run("r1", at=20), op("u", find, 40, 41, Found("r1")))
    assert partition_by_run(ops) == [[0, 1, 2, 3, 4, 5, 6]]
    assert check_history(History(ops, TIMING, 6)).verdict is Verdict.LINEARIZABLE
    stale = (*ops[:-1], op("u", find, 40, 41, Found("r0")))
    assert check_history(History(stale, TIMING, 6)).verdict is Verdict.NOT_LINEARIZABLE


def test_a_cancel_that_won_sticks() -> None:
    cancel = op(
        "u", Call.of("cancel_run", "r0"), 10, 20, CancelOutcome("r0", True, Status.CANCELLED)
    )
    h = history(*failed_run(), cancel, resume("a", 30, 40, won()))
    assert check_history(h).verdict is Verdict.NOT_LINEARIZABLE


# --- the checker is generic: a register, Porcupine's first example ---------------------------


def _register() -> Model[int, tuple[str, int]]:
    def step(value: int, call: tuple[str, int], output: object) -> tuple[bool, int]:
        kind, argument = call
        if kind == "write":
            return True, argument
        return output == value or isinstance(output, Unknown), value

    return Model(init=lambda: 0, step=step)


def rw(
    client: str, kind: str, value: int, start: int, end: int, out: object = None
) -> Operation[tuple[str, int]]:
    return Operation(client, (kind, value), out, start, end)  # fmt: skip


def test_register_reads_see_a_concurrent_write_or_not() -> None:
    ops = [rw("w", "write", 1, 0, 10), rw("r1", "read", 0, 1, 3, 1), rw("r2", "read", 0, 4, 6, 0)]
    assert check(_register(), ops).verdict is Verdict.NOT_LINEARIZABLE  # 1 then 0: no order
    ops[2] = rw("r2", "read", 0, 4, 6, 1)
    assert check(_register(), ops).verdict is Verdict.LINEARIZABLE


def test_an_exhausted_budget_answers_unknown_without_hanging() -> None:
    # 22 concurrent distinct writes and reads, then a read of a value nobody wrote: proving
    # it not linearizable means visiting about 2**22 subsets, far beyond a 0.2 s budget.
    n = 22
    writes = [rw(f"w{i}", "write", i + 1, i, 1000 + i) for i in range(n)]
    reads = [rw(f"r{i}", "read", 0, 2 * n + i, 900, i + 1) for i in range(n)]
    impossible = rw("x", "read", 0, 2000, 2001, -1)
    result = check(_register(), [*writes, *reads, impossible], budget=0.2)
    assert result.verdict is Verdict.UNKNOWN
    assert result.elapsed < 5  # bounded by the budget, not by the search


def test_memoisation_decides_a_symmetric_history_within_budget() -> None:
    # 12 concurrent writes of one value have 12! orders but only 2**12 linearized sets.
    writes = [rw(f"w{i}", "write", 7, i, 100 + i) for i in range(12)]
    impossible = rw("x", "read", 0, 200, 201, 8)
    assert check(_register(), [*writes, impossible], budget=5).verdict is Verdict.NOT_LINEARIZABLE


@pytest.mark.parametrize("clients", [2, 3, 4])
def test_every_interleaving_of_one_winner_is_linearizable(clients: int) -> None:
    for winner in range(clients):
        race = [
            resume(f"c{i}", 10 + i, 50 - i, won(client=f"c{i}") if i == winner else LOST)
            for i in range(clients)
        ]
        assert check_history(history(*failed_run(), *race)).verdict is Verdict.LINEARIZABLE


# --- histories as JSON ---------------------------------------------------------------------


def test_a_history_survives_json() -> None:
    h = history(*failed_run(), resume("a", 10, 30, won()), resume("b", 11, 29, Unknown("reset")))
    again = History.from_json(h.to_json())
    assert again == h
    assert check_history(again).verdict is check_history(h).verdict


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "history: must be a JSON object"),
        ('{"timing": {"lease_ttl": 1, "stale_after": 1}}', "operations: must be a list"),
        (
            '{"timing": {"lease_ttl": 1, "stale_after": 1}, "operations": [{"action": "fly",'
            ' "call": 1, "return": 2}]}',
            "unknown action 'fly'",
        ),
        (
            '{"timing": {"lease_ttl": 1, "stale_after": 1}, "operations": [{"action":'
            ' "cancel_run", "run": "r0", "call": 1, "return": 2, "output": {"kind": "Nope"}}]}',
            "operations[0].output: unknown result kind 'Nope'",
        ),
        (
            '{"timing": {"lease_ttl": 1, "stale_after": 1}, "operations": [{"action":'
            ' "cancel_run", "run": "r0", "call": 3, "return": 2}]}',
            "operations[0]: call and return must be integers",
        ),
    ],
)
def test_a_malformed_history_is_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(HistoryFormatError, match=re.escape(message)) as caught:
        History.from_json(text)
    assert "\n" not in str(caught.value)


def _spec_model() -> Model[StoreState, Call]:
    return run_store_model(TIMING)


def test_permuting_a_linearizable_history_keeps_it_linearizable() -> None:
    race = [resume("a", 10, 30, won()), resume("b", 12, 20, LOST)]
    for order in itertools.permutations(race):
        assert check_history(history(*failed_run(), *order)).verdict is Verdict.LINEARIZABLE
