"""What the run-management commands share (``runs``, ``run``, ``resume``, ``cancel``,
``abandon``, ``approve``, ``reject``, ``invalidate``); not a command itself.

Each command opens the SQL run store at ``--store`` (default ``$RUNLIFE_STORE``, else
``sqlite:///runlife.db`` in the working directory), puts the reference orchestrator with the
built-in demo workflows on it, does one thing, and prints what happened. Run ids may be given
by a unique prefix.

Exit status: 0 done (the run completed or is waiting at a gate, the decision was taken);
1 the lifecycle said no (a prompt about a failed run, a refusal, a lost race, a failed run);
2 bad input or the store cannot be opened. Every refusal is one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select

from runlife.conformance.cli import EXIT_OK, UsageError
from runlife.impl import SqlRunStore
from runlife.impl.conversations import ConversationRegistry
from runlife.impl.errors import StoreError
from runlife.impl.orchestrator import (
    Completed,
    Decided,
    DispatchResult,
    Executed,
    NotContinued,
    NotStarted,
    Orchestrator,
    Paused,
    Prompted,
    UnknownNode,
    UnknownWorkflow,
)
from runlife.impl.orchestrator.builtin import CLI_WORKFLOWS
from runlife.impl.schema import runs
from runlife.spec.contract import RunStore
from runlife.spec.dispatch import AlreadyBeingResumed
from runlife.spec.gates import Ended, NotResumed, Resumed
from runlife.spec.limits import check_run_id
from runlife.spec.records import Run
from runlife.spec.results import (
    GateDecision,
    GateNotOpen,
    GateState,
    InvalidInput,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    Status,
)

Answer = TypeVar("Answer")

EXIT_REFUSED = 1
"""The lifecycle said no; the same code as a violation for ``runlife check``."""

DEFAULT_STORE = "sqlite:///runlife.db"
EXIT_CODES = (
    "exit status: 0 done (completed, waiting at a gate, decision taken); 1 refused by the "
    "lifecycle (prompt, not resumable, already finished, failed run); 2 bad input or store "
    "unavailable"
)

DECIDED = {GateDecision.APPROVE: "approved", GateDecision.REJECT: "rejected"}

NOT_RESUMABLE_BECAUSE = {
    Status.RUNNING: "someone else is already resuming it",
    Status.PENDING: "it has not started yet",
    Status.COMPLETED: "it has finished",
    Status.CANCELLED: "it was cancelled",
}


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """``--store URL`` and the exit codes, for every run-management command."""
    parser.add_argument(
        "--store",
        metavar="URL",
        help=f"the run store's database URL (default $RUNLIFE_STORE, else {DEFAULT_STORE})",
    )
    parser.epilog = EXIT_CODES


def add_run_id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")


@contextmanager
def orchestrator(args: argparse.Namespace) -> Iterator[Orchestrator]:
    """The reference orchestrator on the store at ``--store`` (or its default), closed after.

    A store that cannot be opened or stops answering, an unknown workflow or node: each
    becomes a one-line :class:`UsageError` (exit 2).
    """
    url = args.store or os.environ.get("RUNLIFE_STORE") or DEFAULT_STORE
    try:
        store = SqlRunStore.from_url(url)
    except StoreError as error:
        raise UsageError(f"--store {url}: {error}") from error
    try:
        conversations = ConversationRegistry(trust_recorded=True)
        yield Orchestrator(
            store, CLI_WORKFLOWS, conversations=conversations, holder=f"cli-{os.getpid()}"
        )
    except StoreError as error:
        raise UsageError(f"the run store stopped answering: {error}") from error
    except (UnknownWorkflow, UnknownNode) as error:
        raise UsageError(str(error.args[0])) from error
    finally:
        store.close()


def run_ids(store: RunStore, status: Status | None = None, prefix: str = "") -> list[str]:
    """The ids of the stored runs, oldest first: those with ``status``, starting with
    ``prefix`` (the run store contract has no listing; this reads the SQL table)."""
    if not isinstance(store, SqlRunStore):
        raise UsageError("listing runs needs the SQL run store (a database URL)")
    query = select(runs.c.id).order_by(runs.c.seq)
    if status is not None:
        query = query.where(runs.c.status == status.value)
    if prefix:
        query = query.where(runs.c.id.startswith(prefix, autoescape=True))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def resolve_id(orchestrator: Orchestrator, text: str) -> str:
    """The run id ``text`` names: itself, or the one run whose id starts with it."""
    store = orchestrator.store
    if check_run_id(text) is not None or isinstance(store.get_run(text), Run):
        return text
    matches = run_ids(store, prefix=text)[:2]
    if len(matches) > 1:
        raise UsageError(f"run id {text!r} matches several runs; give more of it")
    return matches[0] if matches else text


def on_run(args: argparse.Namespace, act: Callable[[Orchestrator, str], Answer]) -> Answer:
    """``act(orchestrator, run_id)`` for the run ``args.run_id`` names in ``args.store``."""
    with orchestrator(args) as orchestra:
        return act(orchestra, resolve_id(orchestra, args.run_id))


def refuse(command: str, refusal: object) -> int:
    """Report a refusal the store answered: bad input (exit 2), else one line (exit 1)."""
    if isinstance(refusal, InvalidInput):
        raise bad_input(refusal)
    return refused(command, refusal_line(refusal))


def refused(command: str, line: str) -> int:
    """Print a refusal as one line on stderr; the exit code for it."""
    print(f"runlife {command}: {line}", file=sys.stderr)
    return EXIT_REFUSED


def refusal_line(refusal: object) -> str:
    """One line saying why the lifecycle refused, and what to do instead."""
    match refusal:
        case RunNotFound(run_id=run_id):
            return f"run {run_id} not found; `runlife runs list` shows the runs there are"
        case (
            RunNotResumable(run_id=run_id, status=status)
            | AlreadyBeingResumed(run_id=run_id, status=status)
        ):
            why = NOT_RESUMABLE_BECAUSE.get(status, "it is not waiting to be resumed")
            return f"run {run_id} is not resumable (status: {status}): {why}"
        case RunAlreadyTerminal(run_id=run_id, status=status):
            return f"run {run_id} cannot be abandoned (status: {status}): it has already finished"
        case RunNotStartable(run_id=run_id, status=status):
            return f"run {run_id} could not start (status: {status}): it was cancelled first"
        case GateNotOpen(run_id=run_id, status=status, gate=gate):
            decided = (
                f"; its gate was already {gate} (`runlife resume {run_id}` continues it)"
                if status is Status.PAUSED and gate is not GateState.OPEN and gate is not None
                else ""
            )
            return f"run {run_id} has no open gate to decide (status: {status}){decided}"
    return f"refused: {refusal}"


def bad_input(refusal: InvalidInput) -> UsageError:
    return UsageError(f"{refusal.field} {refusal.reason}")


def report_dispatch(command: str, result: DispatchResult) -> int:
    """Print what a dispatch did; its exit code."""
    match result:
        case Prompted(text=text):
            print(text)
            return EXIT_REFUSED
        case Executed():
            return report_execution(result)
        case (
            NotContinued(outcome=InvalidInput() as bad) | NotStarted(refusal=InvalidInput() as bad)
        ):
            raise bad_input(bad)
        case NotContinued(outcome=outcome):
            return refused(command, refusal_line(outcome))
        case NotStarted(refusal=refusal):
            return refused(command, refusal_line(refusal))


def report_execution(executed: Executed) -> int:
    """Print each node's fate and how the execution ended; 0 unless it failed or stopped."""
    execution = executed.execution
    how = "started" if executed.fresh else "resumed"
    print(f"run {execution.run_id}: {how} (claim epoch {execution.epoch})")
    width = max((len(step.node) for step in execution.steps), default=0)
    for step in execution.steps:
        print(f"  {step.node:<{width}}  {step.did:<8}  {step.why}")
    for use in execution.sessions:
        print(f"  {use.node}: {use.describe()}")
    print(execution.describe())
    if isinstance(execution.end, Paused):
        print(
            f"  next: `runlife approve {execution.run_id}`, or"
            f" `runlife reject {execution.run_id} --reason TEXT`"
        )
    return EXIT_OK if isinstance(execution.end, Completed | Paused) else EXIT_REFUSED


def report_decision(command: str, answer: object) -> int:
    """Print a gate decision and what it led to; its exit code."""
    match answer:
        case Decided(resolved=resolved, outcome=outcome, dispatched=dispatched):
            rejections = f", {resolved.rejections} rejection(s)" if resolved.rejections else ""
            print(f"run {resolved.run_id}: {DECIDED[resolved.decision]}{rejections}")
            match outcome:
                case Resumed():
                    print("resumed by itself (its parent is a live web conversation):")
                    return EXIT_OK if dispatched is None else report_dispatch(command, dispatched)
                case NotResumed(reason=reason, hint=hint):
                    print(f"not resumed ({reason}): {hint}")
                case Ended(status=status):
                    print(f"the run is {status} now: that was the last rejection it allowed")
            return EXIT_OK
    return refuse(command, answer)


def when(seconds: float | None) -> str | None:
    """A store time as a person reads it (database clocks count seconds since 1970)."""
    if seconds is None:
        return None
    if seconds > 1e9:
        return datetime.fromtimestamp(seconds).isoformat(sep=" ", timespec="seconds")
    return f"{seconds:g}"


def run_data(run: Run) -> dict[str, Any]:
    """A run as JSON-ready data (``runs list --json``, ``runs show --json``)."""
    gate, loop = run.gate, run.loop
    return {
        "id": run.id,
        "workflow": run.workflow,
        "status": str(run.status),
        "user_message": run.user_message,
        "codebase": run.codebase,
        "conversation": None
        if run.conversation is None
        else {"id": run.conversation.id, "platform": str(run.conversation.platform)},
        "created_at": when(run.created_at),
        "last_activity_at": when(run.last_activity_at),
        "completed_at": when(run.completed_at),
        "error": run.error,
        "epoch": run.epoch,
        "holder": None if run.claim is None else run.claim.holder,
        "gate": None
        if gate is None
        else {"node": gate.spec.node_id, "state": str(gate.state), "rejections": gate.rejections},
        "nodes": [
            {"node": n.node_id, "output": n.output, "invalidated": n.invalidated} for n in run.nodes
        ],
        "loop": None
        if loop is None
        else {"node": loop.node_id, "iteration": loop.iteration, "session": loop.session_id},
    }


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
