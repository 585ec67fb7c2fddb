"""Family 1, the transition matrix: every action from every status, checked against the spec.

For each situation a run can be in (each of the six statuses, several ways: running with a live
holder, an orphan, a recovered run; paused at an open, approved or reworked gate...) the run is
driven there through the contract, then one action is applied: the store must answer as the
spec does and leave the run in the status the spec leaves it in. A refused action must leave the
run exactly as it was (the whole ``Run`` compared) and its refusal must carry the run's current
status. Unknown and malformed run ids are tried with every action too.

The verdicts add up to the 6x6 matrix of (from status, to status) and the actions that move a
run from one to the other, which the report prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runlife.conformance.kit import Case, Family, Kit, Verdict
from runlife.conformance.lockstep import Json, Step
from runlife.spec.contract import Capability
from runlife.spec.results import Status

CLOCK = frozenset({Capability.CLOCK})
NOTHING: frozenset[Capability] = frozenset()
REWORK_GATE: tuple[Json, ...] = ("review", True, 3)


@dataclass(frozen=True)
class Situation:
    """Where a run stands before the action: its status, how to get it there (``r0``), the
    last epoch issued on it, and the capabilities getting there needs."""

    name: str
    status: Status | None
    steps: tuple[Step, ...]
    epoch: int
    run: str = "r0"
    needs: frozenset[Capability] = NOTHING
    holder: str = "a0"
    """The executor that was given the last epoch."""


def _situations(stale_after: float) -> tuple[Situation, ...]:
    create = Step("user", "create_run", "r0")
    start = Step("a0", "start_run", "r0")
    stale = Step("clock", "tick", args=(stale_after,))
    pause = Step("a0", "pause_at_gate", "r0")
    return (
        Situation("pending", Status.PENDING, (create,), 0),
        Situation("running", Status.RUNNING, (create, start), 1),
        Situation(
            "running, a node recorded under an older definition",
            Status.RUNNING,
            (create, start, Step("a0", "record_node_result", "r0", ("n1", "h0", "old", ()))),
            1,
        ),
        Situation("running, orphaned", Status.RUNNING, (create, start, stale), 1, needs=CLOCK),
        Situation(
            "running, recovered",
            Status.RUNNING,
            (create, start, stale, Step("a2", "resume_run", "r0")),
            2,
            needs=CLOCK,
            holder="a2",
        ),
        Situation("paused at an open gate", Status.PAUSED, (create, start, pause), 1),
        Situation(
            "paused, gate approved",
            Status.PAUSED,
            (create, start, pause, Step("user", "resolve_gate", "r0", ("approve",))),
            1,
        ),
        Situation(
            "paused, rework staged",
            Status.PAUSED,
            (
                create,
                start,
                Step("a0", "pause_at_gate", "r0", REWORK_GATE),
                Step("user", "resolve_gate", "r0", ("reject",)),
            ),
            1,
        ),
        Situation("failed", Status.FAILED, (create, start, Step("a0", "fail_run", "r0")), 1),
        Situation(
            "completed", Status.COMPLETED, (create, start, Step("a0", "complete_run", "r0")), 1
        ),
        Situation("cancelled", Status.CANCELLED, (create, Step("user", "cancel_run", "r0")), 0),
        Situation("unknown run id", None, (), 0, run="no-such-run"),
        Situation("malformed run id", None, (), 0, run="not a run id"),
    )


@dataclass(frozen=True)
class Move:
    """An action applied to the situation's run; ``epoch`` picks the epoch an executor writes
    under (or a resumer expects): the last one issued on the run, by its holder (``current``),
    or the one before, by ``a0`` (``previous``)."""

    method: str
    actor: str
    args: tuple[Json, ...] = ()
    epoch: str = ""

    def step(self, situation: Situation) -> Step:
        if not self.epoch:
            return Step(self.actor, self.method, situation.run, self.args)
        epoch = situation.epoch - (self.epoch == "previous")
        if self.method == "resume_run":  # the epoch the resumer expects the run still has
            return Step(self.actor, self.method, situation.run, (epoch,))
        writer = situation.holder if self.epoch == "current" else "a0"
        return Step(writer, self.method, situation.run, self.args, epoch)

    @property
    def label(self) -> str:
        shown = [repr(a) for a in self.args if not isinstance(a, bool | int)]
        if self.epoch:
            expecting = "expecting the " if self.method == "resume_run" else ""
            shown.append(f"{expecting}{self.epoch} epoch")
        return ", ".join(shown)


def _moves() -> tuple[Move, ...]:
    writes: tuple[tuple[str, tuple[Json, ...]], ...] = (
        ("heartbeat", ()),
        ("pause_at_gate", REWORK_GATE),
        ("complete_run", ()),
        ("fail_run", ("it broke",)),
        ("record_node_result", ("n1", "h1", "out", ("n0",))),
        ("save_loop_session", ("n1", 1, "session-1")),
    )
    return (
        Move("start_run", "a1"),
        Move("resume_run", "a1"),
        *(Move("resume_run", "a1", (), e) for e in ("current", "previous")),
        *(Move(m, "", args, e) for m, args in writes for e in ("current", "previous")),
        Move("resolve_gate", "user", ("approve",)),
        Move("resolve_gate", "user", ("reject",)),
        Move("cancel_run", "user"),
        Move("abandon_run", "user"),
        Move("invalidate_nodes", "user", ("n0", True)),
        Move("get_run", "user"),
    )


def case_name(move: Move, situation: Situation) -> str:
    label = f"{move.label}, " if move.label else ""
    return f"{move.method}[{label}from {situation.name}]"


def cases(kit: Kit) -> list[Case]:
    found = []
    for situation in _situations(kit.timing.stale_after):
        for move in _moves():
            if move.epoch == "previous" and situation.epoch == 0:
                continue
            name = case_name(move, situation)
            steps = (*situation.steps, move.step(situation))
            found.append(Case(name, move.method, _checker(name, steps, situation), situation.needs))
    return found


def _checker(name: str, steps: tuple[Step, ...], situation: Situation) -> Callable[[Kit], Verdict]:
    def check(kit: Kit) -> Verdict:
        verdict = kit.run_steps(steps, "matrix", name)
        if verdict.outcome == "passed" and situation.status is not None:
            assert kit.last_lockstep is not None
            after = kit.last_lockstep.spec.runs.get(situation.run)
            verdict.detail = {
                "from": str(situation.status),
                "to": str(getattr(after, "status", "?")),
                "method": steps[-1].op,
            }
        return verdict

    return check


def summarize(results: list[tuple[Case, Verdict]]) -> list[str]:
    """The (from status, to status) cells of the 6x6 matrix that some action reaches, with
    the actions checked to get there; every other cell no action may reach."""
    cells: dict[tuple[str, str], set[str]] = {}
    for _, verdict in results:
        moved = verdict.detail
        if {"from", "to", "method"} <= moved.keys() and moved["from"] != moved["to"]:
            cells.setdefault((moved["from"], moved["to"]), set()).add(moved["method"])
    order = {str(s): i for i, s in enumerate(Status)}
    return [
        f"{start} -> {end}: {', '.join(sorted(methods))}"
        for (start, end), methods in sorted(
            cells.items(), key=lambda c: (order[c[0][0]], order[c[0][1]])
        )
    ]


FAMILY = Family(
    1, "matrix", "transition matrix", cases, core=True, unit="transitions", summarize=summarize
)
