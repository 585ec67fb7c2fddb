"""Family 4, seed scenarios: every acceptance criterion of the five seed bug reports, as a case.

Each case drives the reference orchestrator (:mod:`runlife.impl.orchestrator`) on the store
under test through one user story from a seed: a fresh run beside a failed one, an approval in
chat, two resumers racing, a producer whose bad output stayed cached, an interactive loop
resumed after its session expired. The orchestrator carries out the spec's policies; whether
the story ends as the seed requires depends on the store answering as the contract says.

Scenario workflows are built per case (:class:`Bench`); every node body notes that it ran, so
"nothing executed" is checked, not assumed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.impl.conversations import ConversationRegistry
from runlife.impl.orchestrator import (
    Approval,
    Completed,
    Decided,
    Did,
    DispatchResult,
    DispatchUnavailable,
    Executed,
    Execution,
    Failed,
    FakeProvider,
    Loop,
    NodeContext,
    NodeFailed,
    NotContinued,
    Orchestrator,
    Paused,
    Prompted,
    Stopped,
    Task,
    Workflow,
)
from runlife.impl.orchestrator.gates import WebDispatch
from runlife.impl.orchestrator.workflows import source
from runlife.spec.contract import Capability, ClockControl, RunStore
from runlife.spec.dispatch import AlreadyBeingResumed, DispatchRequest
from runlife.spec.gates import Ended, NotResumed, NotResumedReason, Resumed
from runlife.spec.loop import Fresh, FreshReason, Reuse
from runlife.spec.records import Conversation, NewRun, Run
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    GateDecision,
    Invalidated,
    InvalidInput,
    Platform,
    RunNotFound,
    RunNotResumable,
    StaleClaim,
    Status,
    Transitioned,
    show,
)

T = TypeVar("T")
CLOCK = frozenset({Capability.CLOCK})
NOTHING: frozenset[Capability] = frozenset()

SESSION_TTL = 600.0
"""How long the scenario provider's sessions live after their last use (store seconds)."""
RENDEZVOUS_SECONDS = 10.0
"""How long a racing executor waits for the other resumer before going on regardless."""

GOOD_SOURCE = '["alpha", "beta"]'
CORRUPT_SOURCE = "['alpha', 'beta'"


class Mismatch(Exception):
    """The story did not end as its seed requires; the message says where it went wrong."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Mismatch(message)


def expect_a(kind: type[T], value: object, what: str) -> T:
    """``value`` as a ``kind``, or a mismatch naming what was expected and what came back."""
    if not isinstance(value, kind):
        raise Mismatch(f"{what}: expected {kind.__name__}, got {brief(value)}")
    return value


def brief(value: object) -> str:
    text = show(value)
    return text if len(text) <= 400 else text[:399] + "…"


@dataclass(frozen=True)
class Scenario:
    """One acceptance criterion as a case: its name, the contract method at its heart, the
    story that must end as the seed requires, and the capabilities the story needs."""

    name: str
    method: str
    story: Callable[[Bench], None]
    needs: frozenset[Capability] = NOTHING

    def check(self, kit: Kit) -> Verdict:
        """Tell the story on a fresh store: passed if it ends as required."""
        try:
            self.story(Bench(kit.fresh()))
        except Mismatch as mismatch:
            return Verdict(Outcome.FAILED, str(mismatch))
        return Verdict.passed()


SCENARIOS: list[Scenario] = []
"""Every case, in the order the seeds list their criteria."""


def seed_case(
    name: str, method: str, needs: frozenset[Capability] = NOTHING
) -> Callable[[Callable[[Bench], None]], Callable[[Bench], None]]:
    """Register the decorated story as the case ``name``."""

    def register(story: Callable[[Bench], None]) -> Callable[[Bench], None]:
        SCENARIOS.append(Scenario(name, method, story, needs))
        return story

    return register


# --- the bench: a store, scenario workflows and an orchestrator ---------------------------------


Compute = Callable[["Bench", NodeContext], str]


class Bench:
    """One case's world: the store under test, conversations, the scenario workflows and an
    orchestrator on them.

    ``calls`` lists node bodies as they run; ``during`` runs a hook inside a node's body (a
    cancel from elsewhere, say); ``source`` and ``publish_up`` are the outside world the
    pipeline reads; ``race_armed`` and ``rendezvous`` steer the race target.
    """

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.calls: list[str] = []
        self.during: dict[str, Callable[[NodeContext], None]] = {}
        self.source = GOOD_SOURCE
        self.publish_up = True
        self.race_armed = False
        self.rendezvous: Rendezvous | None = None
        self.conversations = ConversationRegistry()
        self.web = self.conversations.open(Conversation("web-1", Platform.WEB))
        self.workflows = scenario_workflows(self)
        self.provider = FakeProvider(SESSION_TTL, store.now)
        self.orchestrator = self.orchestrator_as("seeds")

    def orchestrator_as(self, holder: str, web_dispatch: WebDispatch | None = None) -> Orchestrator:
        return Orchestrator(
            self.store,
            self.workflows,
            conversations=self.conversations,
            provider=self.provider,
            holder=holder,
            web_dispatch=web_dispatch,
        )

    def task(
        self,
        node_id: str,
        compute: Compute,
        depends_on: tuple[str, ...] = (),
        always_run: bool = False,
    ) -> Task:
        """A node that notes its call, runs any hook, then computes; its definition is
        ``compute``'s source, so swapping ``compute`` changes the node's identity."""

        def body(context: NodeContext) -> str:
            self.calls.append(node_id)
            hook = self.during.pop(node_id, None)
            if hook is not None:
                hook(context)
            return compute(self, context)

        return Task(node_id, body, depends_on, always_run, definition=source(compute))

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` of store time pass (stories that do need the clock capability)."""
        clock: ClockControl = self.store  # type: ignore[assignment]
        clock.advance_clock(seconds)

    def get(self, run_id: str) -> Run:
        return expect_a(Run, self.store.get_run(run_id), f"get_run({run_id})")

    @staticmethod
    def executed(result: DispatchResult | None, what: str) -> Execution:
        return expect_a(Executed, result, what).execution

    def run_to(self, end: type, workflow: str, message: str, **options: Any) -> str:
        """Start a fresh ``workflow`` run that must end in ``end`` (Paused, Failed...); its id."""
        result = self.orchestrator.run(workflow, message, force=True, **options)
        execution = self.executed(result, f"run {workflow} {message!r}")
        expect_a(end, execution.end, f"the first execution of {workflow} {message!r}")
        self.calls.clear()
        return execution.run_id

    def failed_edit(self) -> str:
        """An edit run in the web conversation that failed at ``parse-args``."""
        return self.run_to(Failed, "edit", "bad request A", conversation=self.web)

    def failed_pipeline(self, conversation: Conversation | None = None) -> str:
        """A pipeline run that failed at ``publish`` (publishing was down); publishing is
        back up afterwards, so a resume can finish it."""
        self.publish_up = False
        run_id = self.run_to(Failed, "pipeline", "ship it", conversation=conversation)
        self.publish_up = True
        return run_id


class Rendezvous:
    """Two parties meet: the winning executor waits inside its node until the other resumer
    has its answer, so the run is still running when the second claim is tried."""

    def __init__(self, parties: int) -> None:
        self.parties, self.arrived = parties, 0
        self._ready = threading.Condition()

    def arrive_and_wait(self) -> None:
        with self._ready:
            self.arrived += 1
            self._ready.notify_all()
            self._ready.wait_for(lambda: self.arrived >= self.parties, RENDEZVOUS_SECONDS)

    def arrive(self) -> None:
        with self._ready:
            self.arrived += 1
            self._ready.notify_all()


# --- scenario workflows ------------------------------------------------------------------------


def parse_args(bench: Bench, context: NodeContext) -> str:
    if context.message.startswith("bad"):
        raise NodeFailed(f"cannot parse {context.message!r}")
    return context.message


def edit(bench: Bench, context: NodeContext) -> str:
    return f"edited {context.inputs['parse-args']}"


def finish(bench: Bench, context: NodeContext) -> str:
    return f"done: {context.inputs['review']}"


def rework(context: NodeContext) -> str:
    return f"{context.inputs['edit']} reworked ({context.user_input})"


def produce(bench: Bench, context: NodeContext) -> str:
    return bench.source


def produce_with_quoting_bug(bench: Bench, context: NodeContext) -> str:
    return bench.source.replace('"', "'")


def consume(bench: Bench, context: NodeContext) -> str:
    try:
        return f"{len(json.loads(context.inputs['produce']))} entries"
    except json.JSONDecodeError as error:
        raise NodeFailed(f"produce wrote bad JSON ({error.msg})") from error


def publish(bench: Bench, context: NodeContext) -> str:
    if not bench.publish_up:
        raise NodeFailed("publishing is down")
    return f"published {context.inputs['consume']}"


def stamp(bench: Bench, context: NodeContext) -> str:
    return f"stamped ({len(bench.calls)} calls so far)"


def race_work(bench: Bench, context: NodeContext) -> str:
    if not bench.race_armed:
        raise NodeFailed("the first attempt fails")
    if bench.rendezvous is not None:
        bench.rendezvous.arrive_and_wait()
    return "worked"


def loop_prompt(context: NodeContext, iteration: int) -> str:
    return f"iteration {iteration}: {context.message} ({context.user_input or 'no feedback'})"


def loop_done(reply: str) -> bool:
    return "iteration 3:" in reply


def scenario_workflows(bench: Bench) -> dict[str, Workflow]:
    """The workflows the cases drive: an edit behind a review gate, a producer/consumer
    pipeline with an always-run node, a one-node race target and an interactive loop."""
    edit_nodes = (
        bench.task("parse-args", parse_args),
        bench.task("edit", edit, ("parse-args",)),
        Approval("review", ("edit",), rework=rework, max_attempts=2),
        bench.task("finish", finish, ("review",)),
    )
    return {
        "edit": Workflow("edit", edit_nodes),
        "pipeline": pipeline(bench, produce),
        "race": Workflow("race", (bench.task("work", race_work),)),
        "loop": Workflow("loop", (Loop("refine", loop_prompt, loop_done, max_iterations=3),)),
    }


def pipeline(bench: Bench, producer: Compute) -> Workflow:
    return Workflow(
        "pipeline",
        (
            bench.task("stamp", stamp, always_run=True),
            bench.task("produce", producer),
            bench.task("consume", consume, ("produce",)),
            bench.task("publish", publish, ("consume",)),
        ),
    )


# --- seed 000: dispatch ------------------------------------------------------------------------


@seed_case(
    "fresh run with a prior failed run prompts and executes nothing; the new message is kept",
    "find_resumable",
)
def prompt_for_failed_run(bench: Bench) -> None:
    failed = bench.failed_edit()
    before = bench.get(failed)
    message = 'task B with "quotes", a \\ and `ticks`'
    result = bench.orchestrator.run("edit", message, bench.web)
    prompted = expect_a(Prompted, result, f"a fresh run beside failed run {failed}")
    prompt = prompted.prompt
    expect(bench.calls == [], f"the prompt executed nodes {bench.calls}; it must execute nothing")
    expect(prompt.run_id == failed, f"the prompt asks about {prompt.run_id}, not {failed}")
    expect(prompt.message == message, f"the new message became {prompt.message!r}")
    expect(prompt.preview == "bad request A", f"the preview is {prompt.preview!r}")
    escaped = 'task B with \\"quotes\\", a \\\\ and \\`ticks\\`'
    expect(escaped in prompt.escapes[2], f"the --force escape is {prompt.escapes[2]!r}")
    expect(f"runlife resume {failed}" in prompted.text, "the prompt does not offer resume")
    expect(f"runlife abandon {failed}" in prompted.text, "the prompt does not offer abandon")
    expect(bench.get(failed) == before, f"the prompt changed failed run {failed}")


@seed_case("--force starts fresh and leaves the failed row untouched", "create_run")
def force_starts_fresh(bench: Bench) -> None:
    failed = bench.failed_edit()
    before = bench.get(failed)
    result = bench.orchestrator.run("edit", "task B", bench.web, force=True)
    execution = bench.executed(result, "run --force beside a failed run")
    fresh = bench.get(execution.run_id)
    expect(fresh.id != failed, f"--force continued failed run {failed}")
    expect(fresh.user_message == "task B", f"the fresh run's message is {fresh.user_message!r}")
    expect_a(Paused, execution.end, "the fresh run")
    expect(bench.get(failed) == before, f"--force changed failed run {failed}")


@seed_case("abandon of a failed run cancels it and the next run does not prompt", "abandon_run")
def abandon_failed(bench: Bench) -> None:
    failed = bench.failed_edit()
    abandoned = bench.orchestrator.abandon(failed)
    expect(
        abandoned == Transitioned(failed, Status.CANCELLED),
        f"abandon of failed run {failed} answered {brief(abandoned)}",
    )
    expect(bench.get(failed).status is Status.CANCELLED, "the abandoned run is not cancelled")
    result = bench.orchestrator.run("edit", "task B", bench.web)
    execution = bench.executed(result, "the next run after abandoning the failed one")
    expect(execution.run_id != failed, "the next run continued the abandoned run")


@seed_case("a paused gate approved in natural language resumes without a prompt", "resolve_gate")
def approval_in_chat_resumes(bench: Bench) -> None:
    waiting = bench.run_to(Paused, "edit", "task P", conversation=bench.web)
    newer = bench.run_to(Failed, "edit", "bad request F", conversation=bench.web)
    before = bench.get(newer)
    decided = expect_a(Decided, bench.orchestrator.approve(waiting, "looks good"), "approve")
    expect(decided.outcome == Resumed(waiting), f"the approval led to {brief(decided.outcome)}")
    execution = bench.executed(decided.dispatched, "the approval's dispatch")
    expect(execution.run_id == waiting, f"the approval resumed {execution.run_id}")
    expect_a(Completed, execution.end, "the approved run")
    expect(bench.get(newer) == before, f"the approval touched the newer failed run {newer}")


@seed_case("explicit resume resumes with no prompt loop and no fresh run", "resume_run")
def explicit_resume(bench: Bench) -> None:
    failed = bench.failed_pipeline(bench.web)
    result = bench.orchestrator.resume(failed)
    execution = bench.executed(result, f"resume {failed}")
    expect(execution.run_id == failed, f"resume {failed} executed run {execution.run_id}")
    expect(not expect_a(Executed, result, "resume").fresh, "resume started a fresh run")
    expect(execution.epoch == 2, f"the resume's claim has epoch {execution.epoch}, not 2")
    expect_a(Completed, execution.end, "the resumed run")


@seed_case(
    "a continuation whose claim loses the race is reported, never a silent fresh run", "resume_run"
)
def lost_claim_is_reported(bench: Bench) -> None:
    waiting = bench.run_to(Paused, "edit", "task P", conversation=bench.web)
    store = cast(RunStore, Interloper(bench.store, waiting))
    result = Orchestrator(store, bench.workflows).run("edit", "task B", bench.web)
    lost = expect_a(NotContinued, result, "a continuation whose claim lost the race")
    expect(
        lost.outcome == AlreadyBeingResumed(waiting, Status.RUNNING),
        f"the lost claim was reported as {brief(lost.outcome)}",
    )
    expect(bench.calls == [], f"the lost continuation executed {bench.calls}")
    claim = bench.get(waiting).claim
    expect(claim is not None and claim.holder == "interloper", f"the run's claim is {claim}")


class Interloper:
    """The store under test, except that right before the orchestrator's claim on ``run_id``
    another resumer (the web Resume button) claims it."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self._store, self._run_id = store, run_id
        self.capabilities, self.timing = store.capabilities, store.timing

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | RunNotFound | InvalidInput:
        if run_id == self._run_id:
            expect_a(Claimed, self._store.resume_run(run_id, "interloper"), "the interloper")
        return self._store.resume_run(run_id, holder, expected_epoch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


# --- seed 001: concurrency-safe resume and cancel ----------------------------------------------


@seed_case("second concurrent resumer gets not-resumable (status running)", "resume_run")
def concurrent_resumers(bench: Bench) -> None:
    failed = bench.run_to(Failed, "race", "race me")
    bench.race_armed, rendezvous = True, Rendezvous(2)
    bench.rendezvous = rendezvous
    start = threading.Barrier(2)

    def resumer(holder: str) -> DispatchResult:
        orchestrator = bench.orchestrator_as(holder)
        start.wait(RENDEZVOUS_SECONDS)
        result = orchestrator.resume(failed)
        if not isinstance(result, Executed):
            rendezvous.arrive()
        return result

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(resumer, holder) for holder in ("web", "cli")]
        results = [future.result() for future in futures]
    winners = [r for r in results if isinstance(r, Executed)]
    expect(len(winners) == 1, f"{len(winners)} resumers claimed run {failed}; one must")
    loser = expect_a(NotContinued, next(r for r in results if r not in winners), "the loser")
    expect(
        loser.answer == RunNotResumable(failed, Status.RUNNING),
        f"the second resumer got {brief(loser.answer)}",
    )
    expect_a(Completed, winners[0].execution.end, "the winner's execution")


@seed_case(
    "a stale running orphan is resumable after the threshold and not before",
    "resume_run",
    needs=CLOCK,
)
def stale_orphan(bench: Bench) -> None:
    created = expect_a(Created, bench.store.create_run(NewRun("pipeline", "x")), "create_run")
    orphan = created.run_id
    expect_a(Claimed, bench.store.start_run(orphan, "crashed"), "start_run")
    half = bench.store.timing.stale_after / 2
    bench.wait(half)
    early = expect_a(NotContinued, bench.orchestrator.resume(orphan), "resume before the threshold")
    expect(
        early.answer == RunNotResumable(orphan, Status.RUNNING),
        f"resume of a live running run answered {brief(early.answer)}",
    )
    bench.wait(half)
    execution = bench.executed(bench.orchestrator.resume(orphan), "resume after the threshold")
    expect(execution.epoch == 2, f"the orphan was claimed under epoch {execution.epoch}")
    expect_a(Completed, execution.end, "the recovered orphan")


@seed_case("cancel of a completed run is a no-op that reports cancelled = false", "cancel_run")
def cancel_completed(bench: Bench) -> None:
    done = bench.run_to(Completed, "pipeline", "ship it")
    before = bench.get(done)
    outcome = bench.orchestrator.cancel(done)
    expect(
        outcome == CancelOutcome(done, False, Status.COMPLETED),
        f"cancel of completed run {done} answered {brief(outcome)}",
    )
    expect(bench.get(done) == before, f"cancel changed completed run {done}")


@seed_case("an executor whose run was cancelled stops at its next write", "record_node_result")
def cancelled_executor_stops(bench: Bench) -> None:
    bench.during["produce"] = lambda context: _cancelled(bench.store, context.run_id)
    result = bench.orchestrator.run("pipeline", "ship it")
    execution = bench.executed(result, "a run cancelled while it executes")
    stopped = expect_a(Stopped, execution.end, "the executor of a cancelled run")
    expect_a(StaleClaim, stopped.refusal, "the refused write")
    expect(bench.calls == ["stamp", "produce"], f"after the cancel it still ran {bench.calls}")
    run = bench.get(execution.run_id)
    expect(run.status is Status.CANCELLED, f"the cancelled run is {run.status}")
    expect(all(n.node_id != "produce" for n in run.nodes), "the stopped executor still wrote")


def _cancelled(store: RunStore, run_id: str) -> None:
    expect_a(CancelOutcome, store.cancel_run(run_id), "cancel from elsewhere")


# --- seed 002: the node cache on resume --------------------------------------------------------


@seed_case(
    "unchanged nodes are skipped as prior success on resume; always_run nodes run again",
    "node_results",
)
def skip_unchanged(bench: Bench) -> None:
    failed = bench.failed_pipeline()
    execution = bench.executed(bench.orchestrator.resume(failed), f"resume {failed}")
    expect(
        execution.nodes(Did.SKIPPED) == ("produce", "consume"),
        f"the resume skipped {execution.nodes(Did.SKIPPED)}, not produce and consume",
    )
    expect(execution.why("stamp") == "always_run", f"stamp ran for {execution.why('stamp')}")
    expect(execution.nodes(Did.RAN) == ("stamp", "publish"), f"ran {execution.nodes(Did.RAN)}")


@seed_case(
    "invalidate a node re-runs it on resume; downstream-of re-runs its consumers",
    "invalidate_nodes",
)
def invalidate_reruns(bench: Bench) -> None:
    bench.source = CORRUPT_SOURCE
    trapped = bench.run_to(Failed, "pipeline", "ship it")
    bench.source = GOOD_SOURCE
    again = bench.executed(bench.orchestrator.resume(trapped), "resume with the cache unchanged")
    expect_a(Failed, again.end, "a resume reusing the cached bad output")
    expect(again.why("produce") == "prior_success", f"produce ran for {again.why('produce')}")
    hit = bench.orchestrator.invalidate(trapped, "produce")
    expect(hit == Invalidated(trapped, ("produce",)), f"invalidate answered {brief(hit)}")
    fixed = bench.executed(bench.orchestrator.resume(trapped), "resume after invalidate")
    expect(fixed.why("produce") == "invalidated", f"produce ran for {fixed.why('produce')}")
    expect("consume" in fixed.nodes(Did.RAN), f"consume did not run: {fixed.steps}")
    expect_a(Completed, fixed.end, "the run once produce re-ran")

    failed = bench.failed_pipeline()
    hit = bench.orchestrator.invalidate(failed, "produce", downstream=True)
    expect(
        hit == Invalidated(failed, ("consume", "produce")),
        f"invalidate --downstream answered {brief(hit)}",
    )
    rerun = bench.executed(bench.orchestrator.resume(failed), "resume after --downstream")
    expect(rerun.why("consume") == "invalidated", f"consume ran for {rerun.why('consume')}")
    expect_a(Completed, rerun.end, "the run after invalidating downstream")


@seed_case("a changed node definition is never skipped as prior success", "record_node_result")
def changed_definition(bench: Bench) -> None:
    bench.workflows["pipeline"] = pipeline(bench, produce_with_quoting_bug)
    failed = bench.run_to(Failed, "pipeline", "ship it")
    bench.workflows["pipeline"] = pipeline(bench, produce)
    bench.calls.clear()
    execution = bench.executed(bench.orchestrator.resume(failed), "resume after fixing produce")
    expect(
        execution.why("produce") == "definition_changed",
        f"the fixed producer was {execution.why('produce')}, not re-run as definition_changed",
    )
    expect("produce" in bench.calls, "the fixed producer never ran")
    expect_a(Completed, execution.end, "the run with the fixed producer")


@seed_case("--no-resume starts fresh and re-runs every node", "create_run")
def no_resume_starts_fresh(bench: Bench) -> None:
    failed = bench.failed_pipeline(bench.web)
    before = bench.get(failed)
    result = bench.orchestrator.run("pipeline", "ship it", bench.web, reuse=False)
    execution = bench.executed(result, "run --no-resume beside a failed run")
    expect(execution.run_id != failed, f"--no-resume continued run {failed}")
    reasons = {s.why for s in execution.steps}
    expect(reasons == {"no_resume"}, f"--no-resume ran nodes for {sorted(reasons)}")
    expect(len(execution.nodes(Did.RAN)) == 4, f"--no-resume ran {execution.nodes(Did.RAN)}")
    expect(bench.get(failed) == before, f"--no-resume changed run {failed}")


# --- seed 003: gate decisions and the auto-resume ----------------------------------------------


def _decided_without_resume(
    bench: Bench, conversation: Conversation | None, reason: NotResumedReason
) -> None:
    """Approve one paused run and reject another; neither may resume by itself, each answers
    ``reason`` with a hint naming ``runlife resume <its id>``; resuming by hand then works."""
    for decision in (GateDecision.APPROVE, GateDecision.REJECT):
        waiting = bench.run_to(Paused, "edit", f"task {decision}", conversation=conversation)
        decide = (
            bench.orchestrator.approve
            if decision is GateDecision.APPROVE
            else bench.orchestrator.reject
        )
        decided = expect_a(Decided, decide(waiting, "make it shorter"), f"{decision} {waiting}")
        outcome = expect_a(NotResumed, decided.outcome, f"{decision} of run {waiting}")
        expect(outcome.reason is reason, f"{decision} gave reason {outcome.reason}, not {reason}")
        expect(f"runlife resume {waiting}" in outcome.hint, f"the hint is {outcome.hint!r}")
        expect(bench.calls == [] and decided.dispatched is None, f"{decision} dispatched anyway")
        expect(bench.get(waiting).status is Status.PAUSED, f"{decision} moved the run")
        by_hand = bench.executed(bench.orchestrator.resume(waiting, "make it shorter"), "resume")
        if decision is GateDecision.APPROVE:
            expect_a(Completed, by_hand.end, "the approved run resumed by hand")
        else:
            expect(by_hand.nodes(Did.REWORKED) == ("review",), "the rework did not run")
            expect_a(Paused, by_hand.end, "the reworked run")


@seed_case(
    "approve/reject of a run with no parent returns no_parent and a hint naming the run id",
    "resolve_gate",
)
def no_parent(bench: Bench) -> None:
    _decided_without_resume(bench, None, NotResumedReason.NO_PARENT)


@seed_case(
    "approve/reject of a run with a non-web parent returns non_web_parent and a hint naming"
    " the run id",
    "resolve_gate",
)
def non_web_parent(bench: Bench) -> None:
    chat = bench.conversations.open(Conversation("chat-1", Platform.CHAT))
    _decided_without_resume(bench, chat, NotResumedReason.NON_WEB_PARENT)


@seed_case(
    "approve/reject of a run whose parent was deleted returns no_platform_conversation and a"
    " hint naming the run id",
    "resolve_gate",
)
def deleted_parent(bench: Bench) -> None:
    gone = Conversation("web-gone", Platform.WEB)
    bench.conversations.delete(gone.id)
    _decided_without_resume(bench, gone, NotResumedReason.NO_PLATFORM_CONVERSATION)


@seed_case("approve/reject of a run with a live web parent resumes it by itself", "resolve_gate")
def web_parent_resumes(bench: Bench) -> None:
    approved = bench.run_to(Paused, "edit", "task A", conversation=bench.web)
    decided = expect_a(Decided, bench.orchestrator.approve(approved), "approve")
    expect(decided.outcome == Resumed(approved), f"approve led to {brief(decided.outcome)}")
    expect_a(Completed, bench.executed(decided.dispatched, "the dispatch").end, "the run")

    rejected = bench.run_to(Paused, "edit", "task R", conversation=bench.web)
    decided = expect_a(Decided, bench.orchestrator.reject(rejected, "tighten"), "reject")
    expect(decided.outcome == Resumed(rejected), f"reject led to {brief(decided.outcome)}")
    rework = bench.executed(decided.dispatched, "the rework dispatch")
    expect(rework.nodes(Did.REWORKED) == ("review",), f"the rework steps are {rework.steps}")
    results = bench.store.node_results(rejected)
    reworked = results.get("review.rework") if isinstance(results, Mapping) else None
    expect(
        reworked is not None and "tighten" in reworked.output,
        f"the rework's recorded output is {brief(reworked)}; it must have read the reason",
    )
    expect_a(Paused, rework.end, "the reworked run")
    gate = bench.get(rejected).gate
    expect(gate is not None and gate.rejections == 1, f"the gate after a rejection is {gate}")


@seed_case("a decision whose dispatch fails returns dispatch_failed and the hint", "resolve_gate")
def dispatch_failed(bench: Bench) -> None:
    waiting = bench.run_to(Paused, "edit", "task A", conversation=bench.web)

    def unavailable(request: DispatchRequest) -> DispatchResult:
        raise DispatchUnavailable("the web orchestrator is down")

    orchestrator = bench.orchestrator_as("seeds", web_dispatch=unavailable)
    decided = expect_a(Decided, orchestrator.approve(waiting), "approve")
    outcome = expect_a(NotResumed, decided.outcome, "approve with the dispatch down")
    expect(outcome.reason is NotResumedReason.DISPATCH_FAILED, f"reason {outcome.reason}")
    expect(f"runlife resume {waiting}" in outcome.hint, f"the hint is {outcome.hint!r}")
    expect_a(Completed, bench.executed(orchestrator.resume(waiting), "resume").end, "by hand")


@seed_case("a decision whose resume loses the race returns lost_race and the hint", "resolve_gate")
def decision_lost_race(bench: Bench) -> None:
    waiting = bench.run_to(Paused, "edit", "task A", conversation=bench.web)

    def raced(request: DispatchRequest) -> DispatchResult:
        expect_a(Claimed, bench.store.resume_run(waiting, "web-button"), "the other resumer")
        return bench.orchestrator.dispatch(request)

    decided = expect_a(Decided, bench.orchestrator_as("seeds", raced).approve(waiting), "approve")
    outcome = expect_a(NotResumed, decided.outcome, "approve whose resume lost the race")
    expect(outcome.reason is NotResumedReason.LOST_RACE, f"reason {outcome.reason}")
    expect(f"runlife resume {waiting}" in outcome.hint, f"the hint is {outcome.hint!r}")


@seed_case("the last allowed rejection ends the run instead of reworking it", "resolve_gate")
def last_rejection_ends(bench: Bench) -> None:
    waiting = bench.run_to(Paused, "edit", "task A")
    first = expect_a(Decided, bench.orchestrator.reject(waiting, "no"), "the first rejection")
    expect_a(NotResumed, first.outcome, "the first rejection of a run with no parent")
    rework = bench.executed(bench.orchestrator.resume(waiting, "no"), "resume for the rework")
    expect_a(Paused, rework.end, "the reworked run")
    last = expect_a(Decided, bench.orchestrator.reject(waiting, "still no"), "the last rejection")
    expect(
        last.outcome == Ended(waiting, Status.CANCELLED),
        f"the last allowed rejection led to {brief(last.outcome)}",
    )
    expect(bench.get(waiting).status is Status.CANCELLED, "the run outlived its last rejection")


# --- seed 004: interactive loop sessions -------------------------------------------------------


def _loop_resumed(bench: Bench, wait: float) -> tuple[str, Execution]:
    """A loop run paused after iteration 1, ``wait`` seconds of store time, then approved."""
    run_id = bench.run_to(Paused, "loop", "a poem", conversation=bench.web)
    if wait:
        bench.wait(wait)
    decided = expect_a(Decided, bench.orchestrator.approve(run_id, "shorter"), "approve")
    execution = bench.executed(decided.dispatched, "the loop's resume")
    expect_a(Paused, execution.end, "the loop after its second iteration")
    expect(len(execution.sessions) == 1, f"the resume used sessions {execution.sessions}")
    return run_id, execution


@seed_case("loop resume never sends an expired session", "save_loop_session", needs=CLOCK)
def loop_expired_session(bench: Bench) -> None:
    run_id, execution = _loop_resumed(bench, SESSION_TTL)
    use = execution.sessions[0]
    expect(
        use.choice == Fresh(FreshReason.EXPIRED) and use.sent is None,
        f"iteration 2 after the session expired chose {brief(use.choice)}, sent {use.sent}",
    )
    expect(bench.get(run_id).status is Status.PAUSED, "the resumed loop did not pause again")


@seed_case("loop resume keeps a still-valid session", "loop_session")
def loop_valid_session(bench: Bench) -> None:
    wait = SESSION_TTL / 2 if Capability.CLOCK in bench.store.capabilities else 0
    run_id, execution = _loop_resumed(bench, wait)
    first = bench.provider.sent[0]
    use = execution.sessions[0]
    expect(
        isinstance(use.choice, Reuse) and use.sent is not None and first[1] is None,
        f"iteration 2 with a valid session chose {brief(use.choice)}, sent {use.sent}",
    )
    stored = bench.store.loop_session(run_id)
    expect(
        getattr(stored, "session_id", None) == use.sent and getattr(stored, "iteration", 0) == 2,
        f"the store kept loop session {brief(stored)}",
    )


# --- the family --------------------------------------------------------------------------------


def cases(kit: Kit) -> list[Case]:
    return [Case(s.name, s.method, s.check, s.needs) for s in SCENARIOS]


FAMILY = Family(4, "seeds", "seed scenarios", cases, core=True, unit="scenarios")
