"""The store under test and the spec, stepped side by side.

Every family of the kit speaks in :class:`Step` values: who calls which contract operation on
which run. :class:`Lockstep` performs each step on the store and on the spec (a
:class:`~runlife.spec.reference.ModelStore` with the store's timing) and, after each one,
checks that

* both answered the same (:func:`runlife.spec.results.outcome`, run ids mapped);
* every run looks the same in both (status, epochs, claim, error, gate, texts, node results,
  loop session; and, when the kit controls the store's clock, the ages of its times);
* a run the spec left untouched is untouched in the store (the whole ``Run`` compared);
* the spec's own invariants and step properties (:mod:`runlife.spec.core`) hold on the store's
  observable state and on what the executors believe they hold.

The first check that fails raises :class:`Divergence`, which names the step and shows what the
spec expected and what the store did.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runlife.spec.checker import Action
from runlife.spec.contract import Capability, ClockControl, RunStore
from runlife.spec.core import (
    CODEBASE,
    CORE_INVARIANTS,
    CORE_STEP_PROPERTIES,
    WORKFLOW,
    CoreState,
    Holding,
)
from runlife.spec.records import Conversation, GateSpec, LoopSession, NewRun, NodeResult, Run
from runlife.spec.reference import ModelStore
from runlife.spec.results import (
    Claimed,
    Created,
    Found,
    GateDecision,
    Platform,
    Recorded,
    Renewed,
    outcome,
    show,
)
from runlife.spec.store import StoreState

Json = str | int | float | bool | None | list["Json"] | tuple["Json", ...]

EXECUTOR_OPS = frozenset(
    {
        "heartbeat",
        "pause_at_gate",
        "complete_run",
        "fail_run",
        "record_node_result",
        "save_loop_session",
    }
)
"""Operations an executor makes under the epoch of the claim it holds."""
CLAIM_OPS = frozenset({"start_run", "resume_run"})
NODE_OPS = frozenset({"record_node_result", "invalidate_nodes", "save_loop_session"})
READ_OPS = frozenset({"get_run", "node_results", "loop_session"})
ALL_OPS = (
    "create_run",
    *sorted(CLAIM_OPS),
    *sorted(EXECUTOR_OPS),
    "resolve_gate",
    "cancel_run",
    "abandon_run",
    "find_resumable",
    "invalidate_nodes",
    *sorted(READ_OPS),
    "tick",
    "crash",
)


@dataclass(frozen=True, slots=True)
class Step:
    """One call of a program: ``actor`` calls ``op`` on ``run`` with ``args``.

    ``run`` is the kit's name for a run (``r0``: the first run the program created), which each
    store maps to its own id; a name the program never created is passed on as a literal id
    (``"no-such-run"``, ``""``). An executor operation without ``epoch`` uses the epoch of the
    claim the actor holds; with ``epoch`` it writes under exactly that epoch.

    ``args`` per operation: ``create_run(workflow, conversation, codebase)``,
    ``resume_run(expected_epoch)`` (optional), ``fail_run(error)``,
    ``pause_at_gate(node_id, on_reject, max_attempts)``,
    ``resolve_gate(decision)``, ``find_resumable(workflow, conversation, codebase)``,
    ``record_node_result(node_id, identity, output, depends_on)``,
    ``invalidate_nodes(node_id, downstream)``, ``save_loop_session(node_id, iteration,
    session_id)``, ``tick(seconds)``; the others take none.
    """

    actor: str
    op: str
    run: str | None = None
    args: tuple[Json, ...] = ()
    epoch: int | None = None

    def __str__(self) -> str:
        shown = [repr(self.run)] if self.run is not None else []
        shown += [repr(a) for a in self.args]
        if self.epoch is not None:
            shown.append(f"epoch={self.epoch}")
        return f"{self.actor}: {self.op}({', '.join(shown)})"

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"actor": self.actor, "op": self.op}
        if self.run is not None:
            data["run"] = self.run
        if self.args:
            data["args"] = list(self.args)
        if self.epoch is not None:
            data["epoch"] = self.epoch
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Step:
        op = data.get("op")
        if op not in ALL_OPS:
            raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(ALL_OPS)}")
        args = data.get("args", [])
        return cls(
            str(data.get("actor", "user")),
            str(op),
            None if data.get("run") is None else str(data["run"]),
            tuple(tuple(a) if isinstance(a, list) else a for a in args),
            None if data.get("epoch") is None else int(data["epoch"]),
        )


def default_gate() -> tuple[Json, ...]:
    """The arguments of the core machine's gate (``GateSpec("review")``)."""
    return ("review", False, 3)


@dataclass(frozen=True, slots=True)
class Record:
    """A performed step with what the spec answered and what the store answered."""

    step: Step
    expected: object
    got: object

    def to_data(self) -> dict[str, Any]:
        return {**self.step.to_data(), "expected": _show(self.expected), "got": _show(self.got)}


class Divergence(AssertionError):
    """The store did not do what the spec does. ``check`` names what was compared."""

    def __init__(self, index: int, step: Step, check: str, expected: str, got: str) -> None:
        self.index, self.step, self.check = index, step, check
        self.expected, self.got = expected, got
        where = f"step {index + 1}, {step}"
        if check.startswith(("invariant", "step property")):
            super().__init__(f"{where}: the store broke {check} ({expected}): {got}")
        else:
            super().__init__(f"{where}: {check}: the spec says {expected}, the store gave {got}")

    def signature(self) -> tuple[str, str]:
        """What kind of failure this is (the operation and the check, run names left out),
        for deciding whether a smaller program fails alike."""
        return self.step.op, re.sub(r"^r\d+[. ]", "", self.check)


class InvalidStep(ValueError):
    """A step that cannot be performed in this program (an actor writing without a claim)."""


@dataclass
class Side:
    """One store's half of a lockstep: the store, its ids, and what its executors hold."""

    store: RunStore
    ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    runs: dict[str, Run | object] = field(default_factory=dict)

    def run_id(self, name: str) -> str:
        return self.ids.get(name, name)

    def perform(self, step: Step, epoch: int | None) -> object:
        """Call the contract operation ``step`` names; ``tick`` and ``crash`` as the kit does."""
        s, a, run = self.store, step.args, self.run_id(step.run or "")
        match step.op:
            case "create_run":
                workflow, conversation, codebase = a if a else (WORKFLOW, None, CODEBASE)
                new = NewRun(
                    str(workflow),
                    f"message {step.run}",
                    str(codebase),
                    None if conversation is None else Conversation(str(conversation), Platform.WEB),
                )
                return s.create_run(new)
            case "start_run":
                return s.start_run(run, step.actor)
            case "resume_run":
                if a:
                    return s.resume_run(run, step.actor, int(a[0]))  # type: ignore[arg-type]
                return s.resume_run(run, step.actor)
            case "heartbeat":
                return s.heartbeat(run, _epoch(epoch))
            case "pause_at_gate":
                node, on_reject, attempts = a or default_gate()
                gate = GateSpec(str(node), bool(on_reject), int(attempts))  # type: ignore[arg-type]
                return s.pause_at_gate(run, _epoch(epoch), gate)
            case "complete_run":
                return s.complete_run(run, _epoch(epoch))
            case "fail_run":
                return s.fail_run(run, _epoch(epoch), str(a[0]) if a else "boom")
            case "resolve_gate":
                return s.resolve_gate(run, GateDecision(str(a[0])))
            case "cancel_run":
                return s.cancel_run(run)
            case "abandon_run":
                return s.abandon_run(run)
            case "find_resumable":
                workflow, conversation, codebase = a if a else (WORKFLOW, None, CODEBASE)
                return s.find_resumable(
                    str(workflow),
                    None if conversation is None else str(conversation),
                    str(codebase),
                )
            case "record_node_result":
                node, identity, output, depends = a
                depends_on = tuple(str(d) for d in depends) if isinstance(depends, Iterable) else ()
                result = NodeResult(str(node), str(identity), str(output), depends_on)
                return s.record_node_result(run, _epoch(epoch), result)
            case "invalidate_nodes":
                return s.invalidate_nodes(run, str(a[0]), bool(a[1]))
            case "save_loop_session":
                node, iteration, session = a
                return s.save_loop_session(
                    run,
                    _epoch(epoch),
                    str(node),
                    int(iteration),  # type: ignore[arg-type]
                    str(session),
                )
            case "get_run":
                return s.get_run(run)
            case "node_results":
                return s.node_results(run)
            case "loop_session":
                return s.loop_session(run)
            case "tick":
                seconds = float(a[0])  # type: ignore[arg-type]
                clock: ClockControl = s  # type: ignore[assignment]
                clock.advance_clock(seconds)
                return None
            case "crash":
                return None
        raise InvalidStep(f"unknown operation {step.op!r}")

    def learn(self, step: Step, result: object) -> None:
        """Update ids and what the actor believes it holds, as a real executor would: a claim
        gives it the run, a heartbeat of its own claim extends the lease, any other answer to
        its write (and a crash) leaves it holding nothing."""
        if isinstance(result, Created) and step.run is not None:
            self.ids[step.run] = result.run_id
            self.names[result.run_id] = step.run
        if step.op == "crash":
            self.holdings.pop(step.actor, None)
        elif isinstance(result, Claimed):
            self.holdings[step.actor] = Holding(result.run_id, result.epoch, result.lease_expires)
        elif isinstance(result, Renewed):
            held = self.holdings.get(step.actor)
            if held is not None and (held.run_id, held.epoch) == (result.run_id, result.epoch):
                self.holdings[step.actor] = Holding(held.run_id, held.epoch, result.lease_expires)
        elif step.op in EXECUTOR_OPS and not isinstance(result, Recorded):
            self.holdings.pop(step.actor, None)

    def comparable(self, result: object) -> tuple[object, ...]:
        """The result's outcome, with a found run id written as the kit's name for it."""
        if isinstance(result, Found) and result.run_id is not None:
            return ("Found", self.names.get(result.run_id, f"unknown id {result.run_id}"))
        return outcome(result)

    def snapshot(self, names: Iterable[str]) -> dict[str, Run | object]:
        return {name: self.store.get_run(self.run_id(name)) for name in names}

    def describe(self, now: float) -> str:
        """The runs and what each executor holds, as a person reads them."""
        parts = []
        for name, run in self.runs.items():
            if not isinstance(run, Run):
                parts.append(f"{name}: {_show(run)}")
                continue
            claim = run.claim
            held = "" if claim is None else f", claim {claim.holder}@{claim.epoch} until "
            held += "" if claim is None else f"{claim.lease_expires:g}"
            parts.append(f"{name}: {run.status}, epoch {run.epoch}{held}")
        for actor, h in self.holdings.items():
            parts.append(
                f"{actor} holds {self.names.get(h.run_id, h.run_id)}@{h.epoch} until "
                f"{h.lease_expires:g}"
            )
        return f"at {now:g}: " + "; ".join(parts)

    def core_state(self, runs: Mapping[str, Run | object], clock: float) -> CoreState:
        """The store's observable state as the core machine's state, for its invariants."""
        stored = tuple(r for r in runs.values() if isinstance(r, Run))
        return CoreState(StoreState(clock, stored), tuple(self.holdings.values()))


def _epoch(epoch: int | None) -> int:
    if epoch is None:
        raise InvalidStep("an executor write needs an epoch")
    return epoch


class Lockstep:
    """A store and the spec, performing the same steps and compared after each one.

    With ``every_run`` (the default) every run, with its node results and loop session, is read
    back from the store after every step; without it only the run the step names is (its node
    results and loop session after node operations and claims), and the rest is compared when
    a step next names it: cheaper on a database, and a write that strays is still caught, a
    step later.
    """

    def __init__(
        self, store: RunStore, *, check_times: bool | None = None, every_run: bool = True
    ) -> None:
        self.store = Side(store)
        self.spec = Side(ModelStore(store.timing))
        self.check_times = (
            Capability.CLOCK in store.capabilities if check_times is None else check_times
        )
        self.every_run = every_run
        self.clock = store.now()
        """The store's time after the last step."""
        self.records: list[Record] = []
        self.touched: set[str] = set()
        self.expected: object = None
        """The spec's answer to the last step."""

    @property
    def names(self) -> list[str]:
        return list(self.spec.ids)

    def holding(self, actor: str) -> tuple[str, int] | None:
        """The run and epoch ``actor`` believes it holds (the spec's side), if any."""
        held = self.spec.holdings.get(actor)
        return None if held is None else (self.spec.names[held.run_id], held.epoch)

    def step(self, step: Step) -> object:
        """Perform ``step`` on both; raise :class:`Divergence` at the first difference.

        Returns the store's answer.
        """
        index = len(self.records)
        epoch = self._epoch_for(step)
        if step.op == "create_run" and (step.run is None or step.run in self.spec.ids):
            raise InvalidStep(f"create_run needs a new run name, got {step.run!r}")
        if step.op == "tick" and Capability.CLOCK not in self.store.store.capabilities:
            raise InvalidStep("tick needs a store with the clock capability")
        store_before, spec_before, clock_before = self.store.runs, self.spec.runs, self.clock

        expected = self.expected = self.spec.perform(step, epoch)
        try:
            got = self.store.perform(step, epoch)
        except Exception as error:
            self.records.append(Record(step, expected, error))
            raise
        self.records.append(Record(step, expected, got))
        fail = self._failure(index, step)
        if isinstance(got, Created) and got.run_id in self.store.names:
            raise fail("result", "a run id not issued before", _show(got))
        self.spec.learn(step, expected)
        self.store.learn(step, got)
        if step.run is not None and step.op in NODE_OPS:
            self.touched.add(step.run)

        if self.spec.comparable(expected) != self.store.comparable(got):
            raise fail("result", _show(expected), _show(got))
        names = self._reread(step)
        self.spec.runs = {**spec_before, **self.spec.snapshot(names)}
        self.store.runs = {**store_before, **self.store.snapshot(names)}
        self.clock = self.store.store.now()
        cached = self.every_run or step.op in NODE_OPS | CLAIM_OPS
        self._compare_runs(fail, names, cached)
        self._compare_untouched(fail, names, spec_before, store_before)
        self._check_properties(fail, step, epoch, got, store_before, clock_before)
        return got

    def _reread(self, step: Step) -> list[str]:
        """The runs to read back after ``step``."""
        if self.every_run:
            return self.names
        return [step.run] if step.run in self.spec.ids else []

    def _epoch_for(self, step: Step) -> int | None:
        if step.op not in EXECUTOR_OPS or step.epoch is not None:
            return step.epoch
        held = self.holding(step.actor)
        if held is None or held[0] != step.run:
            raise InvalidStep(f"{step.actor} holds no claim on {step.run}")
        return held[1]

    def _failure(self, index: int, step: Step) -> Callable[[str, str, str], Divergence]:
        return lambda check, expected, got: Divergence(index, step, check, expected, got)

    def _compare_runs(
        self, fail: Callable[[str, str, str], Divergence], names: list[str], cached: bool
    ) -> None:
        """Compare the runs ``names``; with ``cached``, their node results and loop session
        too (once a step has recorded any)."""
        now_spec, now_store = self.spec.store.now(), self.clock
        for name in names:
            expected = self._view(self.spec, name, now_spec, cached)
            got = self._view(self.store, name, now_store, cached)
            for key, value in expected.items():
                if got.get(key) != value:
                    raise fail(f"{name}.{key}", _show(value), _show(got.get(key)))

    def _view(self, side: Side, name: str, now: float, cached: bool) -> dict[str, object]:
        """What must be equal about a run in the spec and in the store."""
        run = side.runs.get(name)
        if not isinstance(run, Run):
            return {"exists": _show(run)}
        gate = run.gate
        view: dict[str, object] = {
            "exists": True,
            "status": str(run.status),
            "epoch": run.epoch,
            "claim": None if run.claim is None else (run.claim.holder, run.claim.epoch),
            "error": run.error,
            "started": run.started_at is not None,
            "completed": run.completed_at is not None,
            "gate": None
            if gate is None
            else (
                gate.spec.node_id,
                gate.spec.on_reject,
                gate.spec.max_attempts,
                str(gate.state),
                gate.rejections,
            ),
            "texts": (run.workflow, run.user_message, run.codebase, run.working_path),
            "conversation": None
            if run.conversation is None
            else (run.conversation.id, str(run.conversation.platform)),
        }
        if self.check_times:
            view["idle for"] = _age(now - run.last_activity_at)
            view["lease left"] = None if run.claim is None else _age(run.claim.lease_expires - now)
        if cached and name in self.touched:
            run_id = side.run_id(name)
            nodes = side.store.node_results(run_id)
            view["node results"] = (
                sorted(
                    (n.node_id, n.identity, n.output, tuple(n.depends_on), n.invalidated)
                    for n in nodes.values()
                )
                if isinstance(nodes, Mapping)
                else _show(nodes)
            )
            loop = side.store.loop_session(run_id)
            view["loop session"] = (
                (loop.node_id, loop.iteration, loop.session_id)
                if isinstance(loop, LoopSession)
                else _show(loop)
            )
        return view

    def _compare_untouched(
        self,
        fail: Callable[[str, str, str], Divergence],
        names: list[str],
        spec_before: Mapping[str, object],
        store_before: Mapping[str, object],
    ) -> None:
        """A run the spec did not change at all must not change in the store either."""
        for name in names:
            if name not in spec_before:
                continue
            unchanged = self.spec.runs.get(name) == spec_before[name]
            if unchanged and self.store.runs.get(name) != store_before.get(name):
                raise fail(
                    f"{name} unchanged",
                    _show(store_before.get(name)),
                    _show(self.store.runs.get(name)),
                )

    def _check_properties(
        self,
        fail: Callable[[str, str, str], Divergence],
        step: Step,
        epoch: int | None,
        got: object,
        store_before: Mapping[str, object],
        clock_before: float,
    ) -> None:
        """The spec's invariants and step properties, on the store's observable state."""
        now = self.clock
        after = self.store.core_state(self.store.runs, now)
        for invariant in CORE_INVARIANTS:
            if not invariant.holds(after):
                raise fail(f"invariant {invariant.name}", invariant.doc, self.store.describe(now))
        if step.op in ("tick", "crash", "create_run"):
            return
        before = self.store.core_state(store_before, clock_before)
        run_id = self.store.run_id(step.run or "")
        action = Action(step.actor, step.op, (run_id, epoch), got)
        for prop in CORE_STEP_PROPERTIES:
            if not prop.holds(before, action, after):
                raise fail(f"step property {prop.name}", prop.doc, self.store.describe(now))


def _age(seconds: float) -> float:
    return round(seconds, 3) if math.isfinite(seconds) else seconds


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return show(value)
