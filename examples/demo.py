"""``make demo``: the seed bugs, fixed, told as five short stories on embedded SQLite.

1. Two resumers race for a failed run: one wins, the other is refused (seed 001).
2. A fresh run beside a failed one prompts and executes nothing; --force and abandon escape
   (seed 000).
3. A gate decision on a CLI-started run says why it did not resume and names the command
   (seed 003).
4. A producer's bad output stays cached until it is invalidated (seed 002).
5. A resumed interactive loop keeps a valid session and never sends an expired one (seed 004).

Everything happens in a temporary directory, through the real CLI (``runlife ...``) where a
person would type, and through the orchestrator's API where two parties act at once.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import threading
from contextlib import redirect_stderr
from pathlib import Path

from runlife.conformance.cli import main as runlife
from runlife.conformance.cli.lifecycle import refusal_line, run_ids
from runlife.impl import ManualClock, SqlRunStore
from runlife.impl.conversations import ConversationRegistry
from runlife.impl.orchestrator import (
    Executed,
    FakeProvider,
    NodeContext,
    NodeFailed,
    NotContinued,
    Orchestrator,
    Task,
    Workflow,
)
from runlife.impl.orchestrator.builtin import BUILTIN
from runlife.impl.orchestrator.loops import SessionExpired
from runlife.spec.records import Conversation, Run
from runlife.spec.results import Platform, Status, show


def say(text: str = "") -> None:
    print(text, flush=True)


def chapter(title: str) -> None:
    say()
    say(f"== {title} " + "=" * max(0, 86 - len(title)))


def cli(*argv: str) -> int:
    """Run ``runlife ARGV`` as a person would type it, showing the command and its output."""
    say(f"$ runlife {shlex.join(argv)}")
    with redirect_stderr(sys.stdout):
        code = runlife(list(argv))
    sys.stdout.flush()
    say(f"  (exit {code})")
    return code


def newest(store: SqlRunStore, status: Status) -> str:
    return run_ids(store, status)[-1]


# --- 1. the race ---------------------------------------------------------------------------


class Gate:
    """Two resumers released at once; the winner's executor waits inside its node until the
    loser has its answer, so the run is certainly still running when the loser tries."""

    def __init__(self) -> None:
        self.start = threading.Barrier(2)
        self.loser_answered = threading.Event()
        self.first_attempt = True


def deploy_workflow(gate: Gate) -> Workflow:
    def deploy(context: NodeContext) -> str:
        if gate.first_attempt:
            raise NodeFailed("the deploy target was down")
        gate.loser_answered.wait(timeout=10)
        return "deployed"

    return Workflow("deploy", (Task("deploy", deploy),))


def race(store: SqlRunStore) -> None:
    chapter("1. Two resumers race for a failed run (seed 001)")
    gate = Gate()
    workflows = {"deploy": deploy_workflow(gate)}
    first = Orchestrator(store, workflows, holder="scheduler").run("deploy", "ship v2")
    assert isinstance(first, Executed)
    run_id = first.run_id
    say(f"run {run_id[:8]} of deploy: {first.execution.describe()}")
    gate.first_attempt = False
    say("The web Resume button and `runlife resume` in a terminal fire at the same instant")
    say("(two threads released by one barrier):")
    answers: dict[str, object] = {}

    def resumer(holder: str) -> None:
        orchestrator = Orchestrator(store, workflows, holder=holder)
        gate.start.wait(timeout=10)
        result = orchestrator.resume(run_id)
        if not isinstance(result, Executed):
            gate.loser_answered.set()
        answers[holder] = result

    threads = [threading.Thread(target=resumer, args=(h,)) for h in ("web-button", "terminal")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for holder, result in answers.items():
        if isinstance(result, Executed):
            say(f"  {holder:>10}: won the claim (epoch {result.claim.epoch}) and executed it:")
            say(f"              {result.execution.describe()}")
        elif isinstance(result, NotContinued):
            say(f"  {holder:>10}: refused with {show(result.answer)}")
            say(f"              -> {refusal_line(result.answer)}")
    winners = [r for r in answers.values() if isinstance(r, Executed)]
    if len(winners) != 1:
        raise SystemExit(f"demo failed: {len(winners)} resumers claimed the run")


# --- 2-4. through the CLI --------------------------------------------------------------------


def fresh_beside_failed(store: SqlRunStore) -> None:
    chapter("2. A fresh run beside a failed one (seed 000)")
    cli("run", "demo-edit", "fix the typo")
    failed = newest(store, Status.FAILED)
    say("The next request is a different task. The old code silently resumed the failed run,")
    say("executing its stale message; now nothing executes until you choose:")
    before = len(run_ids(store))
    cli("run", "demo-edit", "notes.py remove the `tomllib` re-imports")
    say(f"(runs in the store before and after the prompt: {before} and {len(run_ids(store))})")
    say("Escape 1, abandon: a failed run can be abandoned, and then nobody asks about it.")
    cli("abandon", failed[:8])
    cli("run", "demo-edit", "notes.py remove the tomllib re-imports")
    say("Escape 2, --force (in another conversation): a fresh run; the failed one is kept.")
    cli("run", "demo-edit", "typo", "--conversation", "chat-7", "--platform", "chat-other")
    other = newest(store, Status.FAILED)
    kept = store.get_run(other)
    cli(
        "run", "demo-edit", "--force", "notes.py fix the typo",
        "--conversation", "chat-7", "--platform", "chat-other",
    )  # fmt: skip
    untouched = "untouched" if store.get_run(other) == kept else "CHANGED"
    say(f"(failed run {other[:8]} after --force: {untouched})")


def gate_on_cli_run(store: SqlRunStore) -> None:
    chapter("3. Approving a run started from the CLI (seed 003)")
    waiting = run_ids(store, Status.PAUSED)[0]
    say("The web UI approves a run whose parent is the CLI: it cannot be resumed from the web,")
    say("so the answer says why and names the exact command:")
    cli("approve", waiting[:8])
    cli("resume", waiting[:8])


def invalidate_producer(store: SqlRunStore, directory: Path) -> None:
    chapter("4. A producer's bad output stays cached until invalidated (seed 002)")
    data = directory / "data.json"
    data.write_text("['alpha', 'beta'", encoding="utf-8")
    cli("run", "demo-pipeline", "data.json")
    run_id = newest(store, Status.FAILED)[:8]
    say("Fix the file and resume: produce is unchanged (same definition, same inputs), so its")
    say("cached bad output is reused and consume fails again. That was the trap.")
    data.write_text('["alpha", "beta"]', encoding="utf-8")
    cli("resume", run_id)
    say("Invalidate produce and resume: it re-runs, and consume reads the fixed output.")
    cli("invalidate", run_id, "produce")
    cli("resume", run_id)


# --- 5. loop sessions ------------------------------------------------------------------------


def loop_sessions(directory: Path) -> None:
    chapter("5. A resumed interactive loop and its provider session (seed 004)")
    clock = ManualClock()
    with SqlRunStore.from_url(f"sqlite:///{directory / 'loops.db'}", clock=clock) as store:
        provider = FakeProvider(session_ttl=3600, now=store.now)
        conversations = ConversationRegistry()
        web = conversations.open(Conversation("web-3", Platform.WEB))
        orchestrator = Orchestrator(
            store, BUILTIN, conversations=conversations, provider=provider, holder="web"
        )
        started = orchestrator.run("demo-loop", "a haiku about resuming", web)
        assert isinstance(started, Executed)
        run_id = started.run_id
        say(f"run {run_id[:8]} of demo-loop: {started.execution.sessions[0].describe()}")
        say("Provider sessions expire an hour after their last use.")
        for wait, words in ((60, "shorter"), (2 * 3600, "now rhyme")):
            clock.advance(wait)
            say(f"The user approves {wait // 60} minute(s) later ({words!r}):")
            decided = orchestrator.approve(run_id, words)
            dispatched = getattr(decided, "dispatched", None)
            assert isinstance(dispatched, Executed)
            for use in dispatched.execution.sessions:
                say(f"  {use.describe()}")
            say(f"  {dispatched.execution.describe()}")
        stale = "session-1"
        try:
            provider.send("what the old code sent", stale)
        except SessionExpired as error:
            say(f"Sending {stale} now, as the old code did on every resume: {error}")
        run = store.get_run(run_id)
        assert isinstance(run, Run) and run.status is Status.COMPLETED


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="runlife-demo-") as scratch:
        directory = Path(scratch)
        os.chdir(directory)
        say("runlife demo: the five seed bugs, fixed. Embedded SQLite in a temporary directory;")
        say("`runlife` commands use its default store, ./runlife.db.")
        with SqlRunStore.from_url("sqlite:///runlife.db") as store:
            race(store)
            fresh_beside_failed(store)
            gate_on_cli_run(store)
            invalidate_producer(store, directory)
        loop_sessions(directory)
        os.chdir(Path(__file__).resolve().parent)
    say()
    say("Demo finished: every story ended as its seed requires.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
