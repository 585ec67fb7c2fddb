"""Counterexamples as data and as code: ``trace.json``, its replay, and pasteable tests.

A sequential failure is a list of :class:`~runlife.conformance.lockstep.Step` values. It is
written to ``trace.json`` (:func:`write_traces`), re-run against a store by ``runlife replay``
(:func:`replay_trace`), and printed as a short pytest test built on :class:`Program`::

    from runlife.conformance.replay import Program


    def test_cancel_keeps_a_completed_run():
        p = Program("examples.memory_store:make_store")
        r0 = p.create_run()
        p.start_run(r0, "a0")
        p.complete_run(r0, "a0")
        p.cancel_run(r0)
        p.close()

Each :class:`Program` call performs one step on a fresh store and on the spec and raises
:class:`~runlife.conformance.lockstep.Divergence` (an ``AssertionError``) where they differ.
A concurrent failure (a race's history) is re-judged offline by the concurrency family's judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runlife.conformance.guard import (
    DEFAULT_TIMEOUT,
    KitThread,
    StoreHung,
    StoreRaised,
    Watch,
    guarded,
)
from runlife.conformance.lockstep import (
    CLAIM_OPS,
    EXECUTOR_OPS,
    Divergence,
    Json,
    Lockstep,
    Step,
)
from runlife.conformance.target import Target, resolve
from runlife.spec.contract import Capability, Resettable, RunStore
from runlife.spec.core import CODEBASE, WORKFLOW

TRACE_VERSION = 1

# --- pasteable programs --------------------------------------------------------------------


class Program:
    """Steps written as code: each method performs one step on the store and on the spec.

    ``store`` is a ``STORE`` string (as for ``runlife check``), a callable returning a store,
    or a store. Executor methods write under the claim the actor holds unless ``epoch`` is
    given. Every method returns the store's answer.
    """

    def __init__(
        self, store: str | Callable[[], RunStore] | RunStore, watch: Watch | None = None
    ) -> None:
        self.target: Target | None = None
        if isinstance(store, str):
            self.target = resolve(store)
            opened = self.target.open()
        else:
            is_factory = isinstance(store, type) or not hasattr(store, "get_run")
            opened = store() if is_factory and callable(store) else store  # type: ignore[assignment]
        if Capability.RESET in opened.capabilities:
            resettable: Resettable = opened  # type: ignore[assignment]
            resettable.reset()
        self.lockstep = Lockstep(guarded(opened, watch or Watch()))

    def do(self, step: Step) -> object:
        return self.lockstep.step(step)

    def create_run(
        self, workflow: str = WORKFLOW, conversation: str | None = None, codebase: str = CODEBASE
    ) -> str:
        name = f"r{len(self.lockstep.names)}"
        plain = (workflow, conversation, codebase) == (WORKFLOW, None, CODEBASE)
        self.do(
            Step("user", "create_run", name, () if plain else (workflow, conversation, codebase))
        )
        return name

    def start_run(self, run: str, actor: str) -> object:
        return self.do(Step(actor, "start_run", run))

    def resume_run(self, run: str, actor: str, expected_epoch: int | None = None) -> object:
        args: tuple[Json, ...] = () if expected_epoch is None else (expected_epoch,)
        return self.do(Step(actor, "resume_run", run, args))

    def heartbeat(self, run: str, actor: str, *, epoch: int | None = None) -> object:
        return self.do(Step(actor, "heartbeat", run, (), epoch))

    def pause_at_gate(
        self,
        run: str,
        actor: str,
        node_id: str = "review",
        on_reject: bool = False,
        max_attempts: int = 3,
        *,
        epoch: int | None = None,
    ) -> object:
        return self.do(Step(actor, "pause_at_gate", run, (node_id, on_reject, max_attempts), epoch))

    def complete_run(self, run: str, actor: str, *, epoch: int | None = None) -> object:
        return self.do(Step(actor, "complete_run", run, (), epoch))

    def fail_run(
        self, run: str, actor: str, error: str = "boom", *, epoch: int | None = None
    ) -> object:
        return self.do(Step(actor, "fail_run", run, (error,), epoch))

    def record_node_result(
        self,
        run: str,
        actor: str,
        node_id: str,
        identity: str,
        output: str,
        depends_on: Sequence[str] = (),
        *,
        epoch: int | None = None,
    ) -> object:
        args: tuple[Json, ...] = (node_id, identity, output, tuple(depends_on))
        return self.do(Step(actor, "record_node_result", run, args, epoch))

    def save_loop_session(
        self,
        run: str,
        actor: str,
        node_id: str,
        iteration: int,
        session_id: str,
        *,
        epoch: int | None = None,
    ) -> object:
        args: tuple[Json, ...] = (node_id, iteration, session_id)
        return self.do(Step(actor, "save_loop_session", run, args, epoch))

    def resolve_gate(self, run: str, decision: str) -> object:
        return self.do(Step("user", "resolve_gate", run, (decision,)))

    def cancel_run(self, run: str) -> object:
        return self.do(Step("user", "cancel_run", run))

    def abandon_run(self, run: str) -> object:
        return self.do(Step("user", "abandon_run", run))

    def invalidate_nodes(self, run: str, node_id: str, downstream: bool = False) -> object:
        return self.do(Step("user", "invalidate_nodes", run, (node_id, downstream)))

    def find_resumable(
        self, workflow: str = WORKFLOW, conversation: str | None = None, codebase: str = CODEBASE
    ) -> object:
        plain = (workflow, conversation, codebase) == (WORKFLOW, None, CODEBASE)
        args = () if plain else (workflow, conversation, codebase)
        return self.do(Step("user", "find_resumable", None, args))

    def get_run(self, run: str) -> object:
        return self.do(Step("user", "get_run", run))

    def node_results(self, run: str) -> object:
        return self.do(Step("user", "node_results", run))

    def loop_session(self, run: str) -> object:
        return self.do(Step("user", "loop_session", run))

    def tick(self, seconds: float) -> None:
        self.do(Step("clock", "tick", None, (seconds,)))

    def crash(self, actor: str) -> None:
        self.do(Step(actor, "crash"))

    def close(self) -> None:
        self.lockstep.store.store.close()
        if self.target is not None:
            self.target.cleanup()


def program_line(step: Step, created: set[str]) -> str:
    """The :class:`Program` call that performs ``step``."""
    run = step.run if step.run in created else repr(step.run)
    plain = step.op in ("create_run", "find_resumable") and step.args == (WORKFLOW, None, CODEBASE)
    args = [] if plain else [_literal(a) for a in step.args]
    if step.epoch is not None:
        args.append(f"epoch={step.epoch}")
    if step.op == "create_run":
        created.add(str(step.run))
        return f"{step.run} = p.create_run({', '.join(args)})"
    if step.op == "tick":
        return f"p.tick({', '.join(args)})"
    if step.op == "crash":
        return f"p.crash({step.actor!r})"
    if step.op == "find_resumable":
        return f"p.find_resumable({', '.join(args)})"
    who = [run, repr(step.actor)] if step.op in CLAIM_OPS | EXECUTOR_OPS else [run]
    return f"p.{step.op}({', '.join(who + args)})"


def _literal(value: Json) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    return repr(list(value) if isinstance(value, tuple) else value)


def program_text(store: str, steps: Sequence[Step], title: str) -> str:
    """A pytest test that performs ``steps`` on ``store`` and the spec, failing where the store
    differs from the spec."""
    name = re.sub(r"\W+", "_", title.lower()).strip("_")[:60] or "counterexample"
    created: set[str] = set()
    body = [f"    p = Program({store!r})"]
    body += [f"    {program_line(step, created)}" for step in steps]
    body.append("    p.close()")
    return "\n".join(
        ["from runlife.conformance.replay import Program", "", "", f"def test_{name}():", *body]
    )


# --- trace.json ------------------------------------------------------------------------------


def write_traces(path: Path, store: str, failures: Sequence[Mapping[str, Any]]) -> None:
    """Write every failure's counterexample to ``path`` (``trace.json``)."""
    data = {"runlife_trace": TRACE_VERSION, "store": store, "failures": list(failures)}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class TraceError(ValueError):
    """A trace file that cannot be read; the message says what is wrong with it."""


def read_traces(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TraceError(
            f"{path}: no such file; `runlife check --trace PATH` writes one"
        ) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TraceError(f"{path} is not a runlife trace: {error}") from error
    if not isinstance(data, dict) or data.get("runlife_trace") != TRACE_VERSION:
        raise TraceError(f"{path} is not a runlife trace (version {TRACE_VERSION} expected)")
    if not isinstance(data.get("failures"), list):
        raise TraceError(f"{path} has no list of failures")
    return data


@dataclass(frozen=True)
class Replayed:
    """What replaying one failure found: ``reproduced`` (still fails), ``fixed`` (no longer
    fails), or ``broken`` (the store raised or could not be opened)."""

    case: str
    status: str
    message: str


def replay_failure(
    failure: Mapping[str, Any], store: str, timeout: float = DEFAULT_TIMEOUT
) -> Replayed:
    """Re-run a sequential failure on ``store``, or re-judge a concurrent one offline. A store
    call taking longer than ``timeout`` seconds makes the store broken, as in ``runlife
    check``."""
    case = f"{failure.get('family', '?')} {failure.get('case', '?')}"
    if failure.get("kind") == "concurrent":
        return _rejudge(case, failure)
    try:
        steps = [Step.from_data(s) for s in failure.get("steps", [])]
    except (TypeError, ValueError, KeyError) as error:
        raise TraceError(f"{case}: a step is malformed: {error}") from error
    watch = Watch()
    thread = KitThread(watch, timeout)
    try:
        return thread.run(lambda: _rerun(case, store, steps, watch))
    except (StoreRaised, StoreHung) as error:
        return Replayed(case, "broken", str(error))
    finally:
        thread.close()


def _rerun(case: str, store: str, steps: Sequence[Step], watch: Watch) -> Replayed:
    program = Program(store, watch)
    try:
        for step in steps:
            program.do(step)
    except Divergence as divergence:
        return Replayed(case, "reproduced", str(divergence))
    finally:
        program.close()
    return Replayed(case, "fixed", f"all {len(steps)} steps now agree with the spec")


def _rejudge(case: str, failure: Mapping[str, Any]) -> Replayed:
    from runlife.conformance.concurrency import judge
    from runlife.conformance.history import History, HistoryFormatError

    try:
        history = History.from_data(failure["history"])
    except (KeyError, HistoryFormatError) as error:
        raise TraceError(f"{case}: the recorded history is malformed: {error}") from error
    judgement = judge(history)
    if judgement.violated:
        detail = "; ".join(f.detail for f in judgement.findings) or str(judgement.verdict)
        return Replayed(case, "reproduced", f"the recorded race is still judged {detail}")
    return Replayed(case, "fixed", f"the recorded race is judged {judgement.verdict}")
