"""Differential smoke test: random operation sequences on SqlRunStore and on the spec's
ModelStore must give the same outcomes and leave the same runs behind.

The two stores choose their own run ids, so ids are mapped in creation order. Both run on a
manual clock starting at 0 with the same timing, so even times compare exactly. A failing
sequence is printed as a numbered program; its seed reruns it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from runlife.impl import ManualClock, SqlRunStore
from runlife.spec.contract import RunStore
from runlife.spec.records import Conversation, GateSpec, NewRun, NodeResult, Run, Timing
from runlife.spec.reference import ModelStore
from runlife.spec.results import Created, Found, GateDecision, Platform, Status, outcome

TIMING = Timing(lease_ttl=2, stale_after=3)
NODES = ("a", "b", "c", "d")
UNKNOWN, MALFORMED = "unknown", "malformed"


@dataclass(frozen=True)
class Op:
    """One operation: its name and arguments, with runs named by index (or UNKNOWN/MALFORMED)."""

    name: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.name}{self.args!r}"


class Twin:
    """A store under test and the ids it gave each created run, in creation order."""

    def __init__(self, store: RunStore, unknown: str) -> None:
        self.store = store
        self.ids: list[str] = []
        self.unknown = unknown

    def run_id(self, run: object) -> str:
        if run == UNKNOWN:
            return self.unknown
        if run == MALFORMED:
            return "not an id"
        assert isinstance(run, int)
        return self.ids[run]

    def apply(self, op: Op) -> object:
        if op.name == "tick":
            self.store.advance_clock(op.args[0])  # type: ignore[attr-defined]
            return None
        if op.name == "create_run":
            created = self.store.create_run(op.args[0])
            if isinstance(created, Created):
                self.ids.append(created.run_id)
            return created
        if op.name == "find_resumable":
            found = self.store.find_resumable(*op.args)
            assert isinstance(found, Found)
            return Found(None if found.run_id is None else str(self.ids.index(found.run_id)))
        method: Callable[..., object] = getattr(self.store, op.name)
        return method(self.run_id(op.args[0]), *op.args[1:])

    def run(self, index: int) -> object:
        """Run ``index`` as stored, under its index instead of its id."""
        run = self.store.get_run(self.ids[index])
        return replace(run, id=str(index)) if isinstance(run, Run) else run

    def touched(self, op: Op) -> list[object]:
        """The runs ``op`` may have changed (only the run it names; a create adds one)."""
        if op.name == "create_run":
            return [self.run(i) for i in range(len(self.ids))[-1:]]
        if op.name in ("tick", "find_resumable"):
            return []
        named = op.args[0]
        return [self.run(named)] if isinstance(named, int) else []


WEIGHTS = {
    "start_run": 8,
    "resume_run": 8,
    "heartbeat": 5,
    "pause_at_gate": 7,
    "resolve_gate": 8,
    "complete_run": 3,
    "fail_run": 4,
    "cancel_run": 1,
    "abandon_run": 1,
    "record_node_result": 7,
    "invalidate_nodes": 4,
    "save_loop_session": 3,
    "find_resumable": 4,
    "tick": 6,
    "get_run": 1,
}
"""How often each operation is drawn when any may come next."""

NEXT: dict[Status, tuple[str, ...]] = {
    Status.PENDING: ("start_run",),
    Status.RUNNING: (
        "heartbeat",
        "pause_at_gate",
        "pause_at_gate",
        "record_node_result",
        "invalidate_nodes",
        "save_loop_session",
        "complete_run",
        "fail_run",
        "tick",
    ),
    Status.PAUSED: ("resolve_gate", "resolve_gate", "resume_run"),
    Status.FAILED: ("resume_run", "resume_run", "abandon_run"),
}
"""What usually comes next for a run in each status, so sequences reach deep into a run's life."""


def random_op(rng: random.Random, model: Twin) -> Op:
    """An operation a real caller might send next, biased towards the runs that exist."""
    runs = len(model.ids)
    if runs < 2 or rng.random() < 0.05:
        conversation = rng.choice([None, Conversation("c1", Platform.WEB)])
        workflow = rng.choice(["wf", "wf", "wf", "other", ""])
        return Op("create_run", (NewRun(workflow, "m", conversation=conversation),))
    run: object = rng.choice([runs - 1, runs - 1, rng.randrange(runs)])
    run = rng.choices([run, UNKNOWN, MALFORMED], weights=[18, 1, 1])[0]
    current = model.store.get_run(model.ids[run]) if isinstance(run, int) else None
    epoch = current.epoch if isinstance(current, Run) else 1
    epoch = rng.choices([epoch, epoch - 1, epoch + 1], weights=[8, 1, 1])[0]
    node = rng.choice(NODES)
    gate = GateSpec(
        rng.choice(["g1", "g1", "g1", "g2"]), rng.random() < 0.8, rng.choice([0, 1, 2, 3, 3])
    )
    result = NodeResult(node, f"h{rng.randint(0, 2)}", "out", tuple(rng.sample(NODES, 2)))
    arguments: dict[str, tuple[Any, ...]] = {
        "start_run": (run, rng.choice(["x", "y", "y", ""])),
        "resume_run": (run, rng.choice(["x", "y"])),
        "heartbeat": (run, epoch),
        "pause_at_gate": (run, epoch, gate),
        "resolve_gate": (run, rng.choice(list(GateDecision))),
        "complete_run": (run, epoch),
        "fail_run": (run, epoch, rng.choice(["boom", "boom", "x\x00"])),
        "cancel_run": (run,),
        "abandon_run": (run,),
        "record_node_result": (run, epoch, result),
        "invalidate_nodes": (run, node, rng.random() < 0.5),
        "save_loop_session": (run, epoch, node, rng.randint(0, 3), rng.choice(["s1", "s2"])),
        "find_resumable": (rng.choice(["wf", "other"]), rng.choice([None, "c1"]), "main"),
        "tick": (rng.choice([1, 1, 2, 3]),),
        "get_run": (run,),
    }
    likely = NEXT.get(current.status, ()) if isinstance(current, Run) else ()
    if likely and rng.random() < 0.7:
        name = rng.choice(likely)
    else:
        name = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    return Op(name, arguments[name])


def run_sequence(seed: int, sql: SqlRunStore, length: int) -> None:
    """Apply one random sequence to an emptied ``sql`` and a fresh model at the same time."""
    sql.reset()
    model_store = ModelStore(TIMING)
    model_store.advance_clock(sql.now())
    model, twin = Twin(model_store, "r999"), Twin(sql, "0" * 32)
    rng = random.Random(seed)
    program: list[str] = [f"seed {seed}:"]
    for step in range(length):
        op = random_op(rng, model)
        program.append(f"{step:3}: {op}")
        expected, actual = model.apply(op), twin.apply(op)
        assert outcome(actual) == outcome(expected), "\n".join([*program, f"spec: {expected}"])
        changed = model.touched(op)
        assert twin.touched(op) == changed, "\n".join([*program, f"spec's run: {changed}"])
    every_run = range(len(model.ids))
    assert [twin.run(i) for i in every_run] == [model.run(i) for i in every_run]


def test_sql_store_and_spec_agree_on_random_sequences() -> None:
    """300 sequences of 40 operations on in-memory SQLite."""
    with SqlRunStore.from_url("sqlite://", clock=ManualClock(), timing=TIMING) as store:
        for seed in range(300):
            run_sequence(seed, store, length=40)


def test_sql_store_and_spec_agree_on_every_backend(make_store: Callable[..., SqlRunStore]) -> None:
    """A few sequences on each real database, for the dialect-specific statements."""
    store = make_store(clock=ManualClock(), timing=TIMING)
    for seed in range(1000, 1012):
        run_sequence(seed, store, length=40)
