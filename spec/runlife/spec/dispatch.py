"""Dispatch (seed 000): what a ``runlife run`` or ``runlife resume`` request does to prior runs.

The original bug: a fresh ``run X "B"`` found a prior *failed* run of X in the same
conversation and silently resumed it, executing that run's stale message "A"; "B" was
discarded with no signal, and abandon refused the failed run as terminal. The policy below
continues a run implicitly only when it is *paused* (waiting for this very reply); a failed
run (or a stale running orphan) found implicitly makes the user choose, with three escapes;
``--force`` starts fresh, an explicit resume (the ``resume`` command, or an approval given in
chat, which names the approved run) resumes without asking.

Nothing here touches a store: the orchestrator looks up the candidate with ``find_resumable``,
asks :func:`decide_dispatch`, claims with ``resume_run`` and reads the claim's answer through
:func:`dispatch_outcome_after_claim`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from runlife.spec.checker import Action, Asymmetric, Goal, Invariant, Progress, StepProperty
from runlife.spec.core import _doc
from runlife.spec.records import Conversation, GateSpec, NewRun, Run, Timing
from runlife.spec.results import (
    Claimed,
    Found,
    GateDecision,
    GateResolved,
    GateState,
    InvalidInput,
    Platform,
    RunNotFound,
    RunNotResumable,
    Status,
)
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import StoreState, create_run, tick
from runlife.spec.variants import Variant, abandon_refusing_failed

PREVIEW_CHARS = 160
"""The most characters of a prior run's message a prompt shows (ellipsis included)."""


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    """What the user asked for: run ``workflow`` with ``message`` in this conversation.

    ``force`` starts a fresh run whatever prior runs exist; ``resume_run_id`` names the run to
    resume (the ``resume`` command, or the run a chat approval approved). The two exclude each
    other.
    """

    workflow: str
    message: str
    conversation_id: str | None
    codebase: str = "main"
    force: bool = False
    resume_run_id: str | None = None

    def __post_init__(self) -> None:
        if self.force and self.resume_run_id is not None:
            raise ValueError(
                f"--force starts a fresh run and cannot resume run {self.resume_run_id};"
                " drop --force to resume it, or drop the run id to start fresh"
            )


# --- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartFresh:
    """Create and start a new run with ``message``; prior runs are left as they are."""

    message: str


@dataclass(frozen=True, slots=True)
class ContinueRun:
    """Claim ``run_id`` with ``resume_run`` and execute it.

    ``explicit``: the user named the run (resume command or chat approval); otherwise the run
    was found paused, waiting for this reply. ``message`` is the request's message, handed to
    the continued run as the user's input; it is never dropped.
    """

    run_id: str
    explicit: bool
    message: str
    expected_epoch: int | None = None
    """For an implicit continue, the epoch of the pause it was decided on: the claim passes it
    to ``resume_run`` so a run claimed (and perhaps failed) in between is not continued."""


@dataclass(frozen=True, slots=True)
class PromptForFailedRun:
    """Execute nothing: ask the user what to do about the failed (or orphaned) run found.

    ``message`` is the new request's message, kept so no intent is lost; ``preview`` is the
    prior run's stored message, shortened, so the user can tell whether resuming matches
    what they want; ``escapes`` are the three commands that resolve the question: resume
    that run, abandon it (then run again), or start fresh with ``--force``.
    """

    run_id: str
    workflow: str
    status: Status
    message: str
    preview: str
    escapes: tuple[str, str, str]


DispatchDecision = StartFresh | ContinueRun | PromptForFailedRun


def decide_dispatch(request: DispatchRequest, candidate: Run | None) -> DispatchDecision:
    """What to do with ``request``, given the run ``find_resumable`` found for it (if any).

    An explicit resume continues the named run; ``--force`` starts fresh; a paused candidate is
    continued with the request's message as its input; a failed candidate (or a running one,
    which ``find_resumable`` returns only once it is a stale orphan) is never continued
    implicitly: the user is prompted. No candidate, or one that is not resumable, starts fresh.
    """
    if request.resume_run_id is not None:
        return ContinueRun(request.resume_run_id, explicit=True, message=request.message)
    if request.force or candidate is None:
        return StartFresh(request.message)
    if candidate.status is Status.PAUSED:
        return ContinueRun(candidate.id, False, request.message, expected_epoch=candidate.epoch)
    if candidate.status in (Status.FAILED, Status.RUNNING):
        return prompt_for(candidate, request)
    return StartFresh(request.message)


def prompt_for(candidate: Run, request: DispatchRequest) -> PromptForFailedRun:
    """The three-way question about ``candidate``, carrying the new request's message.

    The ``--force`` escape repeats the request whole: its conversation (and platform) and
    codebase too, so the fresh run starts where the request was made.
    """
    scope = ""
    if request.conversation_id is not None:
        scope += f' --conversation "{shell_quote(request.conversation_id)}"'
        parent = candidate.conversation
        if parent is not None and parent.platform is not Platform.WEB:
            scope += f" --platform {parent.platform}"
    if request.codebase != "main":
        scope += f' --codebase "{shell_quote(request.codebase)}"'
    rerun = f'runlife run {request.workflow}{scope} --force "{shell_quote(request.message)}"'
    return PromptForFailedRun(
        run_id=candidate.id,
        workflow=request.workflow,
        status=candidate.status,
        message=request.message,
        preview=preview(candidate.user_message),
        escapes=(f"runlife resume {candidate.id}", f"runlife abandon {candidate.id}", rerun),
    )


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shell_quote(text: str) -> str:
    """``text`` made safe inside a double-quoted shell argument and a markdown code span.

    Backslash, double quote and backtick are escaped (a raw backtick would close the code
    fence); so is ``$``, which a shell would otherwise expand inside double quotes.
    """
    return "".join("\\" + c if c in '\\"`$' else c for c in text)


def format_prompt(prompt: PromptForFailedRun) -> str:
    """The prompt as the user reads it: what was found, its message, and the three ways on.

    Commands sit in double-backtick code spans: :func:`shell_quote` leaves no two backticks
    side by side, so no message can close the span early.
    """
    resume, abandon, force = prompt.escapes
    state = "failed" if prompt.status is Status.FAILED else "stopped without finishing"
    return "\n".join(
        (
            f"A previous run of {prompt.workflow} ({prompt.run_id}) {state}; nothing was started.",
            f"  its request: {prompt.preview}",
            f"  your request: {preview(prompt.message)}",
            "Choose one:",
            f"  ``{resume}``  resume that run (it re-runs its own request above)",
            f"  ``{abandon}``  discard it, then run your command again",
            f"  ``{force}``  start fresh and leave that run as it is",
        )
    )


# --- after the claim -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Continued:
    """The resume claim won: the run executes under ``epoch``."""

    run_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class AlreadyBeingResumed:
    """The resume claim lost: someone else moved the run first (``status`` is where it is).

    Reported to the user as is; never turned into a fresh run.
    """

    run_id: str
    status: Status


ResumeAnswer = Claimed | RunNotResumable | RunNotFound | InvalidInput
"""What ``resume_run`` answers."""

ClaimOutcome = Continued | AlreadyBeingResumed | RunNotFound | InvalidInput


def dispatch_outcome_after_claim(decision: ContinueRun, claim: ResumeAnswer) -> ClaimOutcome:
    """What the user is told after ``resume_run`` answered for ``decision``.

    A won claim continues; a lost one (another resumer was first) is reported with the run's
    status, never replaced by a fresh run; an unknown or malformed id is surfaced as is.
    """
    match claim:
        case Claimed(epoch=epoch):
            return Continued(decision.run_id, epoch)
        case RunNotResumable(status=status):
            return AlreadyBeingResumed(decision.run_id, status)
        case _:
            return claim


def format_outcome(outcome: ClaimOutcome) -> str:
    """One line for the user about what a resume claim did."""
    match outcome:
        case Continued(run_id=run_id):
            return f"Resuming run {run_id}."
        case AlreadyBeingResumed(run_id=run_id, status=Status.RUNNING):
            return f"Run {run_id} is already being resumed; nothing new was started."
        case AlreadyBeingResumed(run_id=run_id, status=status):
            return f"Run {run_id} was not resumed: it is {status} now; nothing new was started."
        case RunNotFound(run_id=run_id):
            return f"No run {run_id} exists; check the id."
        case InvalidInput(field=name, reason=reason):
            return f"{name} {reason}."


def resume_request(run: Run) -> DispatchRequest:
    """The request that resumes ``run`` by name: the ``resume`` command, and an approval given
    in chat (which must resume the run it approved, never prompt)."""
    conversation = run.conversation.id if run.conversation is not None else None
    return DispatchRequest(
        run.workflow, run.user_message, conversation, run.codebase, resume_run_id=run.id
    )


# --- the machine ---------------------------------------------------------------------------
#
# One workflow in one conversation. The user sends requests (a new message, with or without
# --force), resumes a run by name, approves a paused run in chat, and abandons runs; a second
# resumer (the web Resume button on another device) can claim any resumable run between the
# user's decision and its claim; the executor pauses, fails or completes what runs; the clock
# makes unattended running runs stale orphans.

WORKFLOW = "wf"
CONVERSATION = Conversation("chat", Platform.WEB)
GATE = GateSpec("review")
TIMING = Timing(lease_ttl=1, stale_after=1)
SEED = "000"


@dataclass(frozen=True)
class DispatchPolicy:
    """The dispatch decisions the machine follows; a variant swaps one of them."""

    decide: Callable[[DispatchRequest, Run | None], DispatchDecision] = decide_dispatch
    after_claim: Callable[[ContinueRun, ResumeAnswer], ClaimOutcome | StartFresh] = (
        dispatch_outcome_after_claim
    )
    resume: Callable[[Run], DispatchRequest] = resume_request
    """The request the ``resume <id>`` command sends."""
    approval: Callable[[Run], DispatchRequest] = resume_request
    """The request a chat approval of a paused run sends."""


CORRECT_POLICY = DispatchPolicy()


@dataclass(frozen=True)
class DispatchBounds:
    """How much to explore: at most ``runs`` runs, each claimed at most ``epochs`` times."""

    runs: int = 2
    epochs: int = 3
    ticks: int = 0
    """Clock ticks; with one, unattended running runs become stale orphans that prompt too."""
    messages: tuple[str, ...] = ("A", "B")
    """What the user types: ``A`` for the first run, ``B`` (the new intent) after that."""


@dataclass(frozen=True, slots=True)
class HeldPrompt:
    """The first prompt the user is holding: which run (at which epoch) it asked about, and the
    message the user wants to run."""

    run_id: str
    epoch: int
    message: str


@dataclass(frozen=True, slots=True)
class DispatchState:
    """The store; the user's decided but not yet claimed continuation; the prompt the user
    holds; and how the last step escaped it (``force``/``abandon``), if it did."""

    store: StoreState
    inflight: ContinueRun | None = None
    inflight_epoch: int | None = None
    """The run's epoch when the in-flight continuation was decided (what the user saw)."""
    held: HeldPrompt | None = None
    escaped: str | None = None


Steps = Iterator[tuple[Action, DispatchState]]


class DispatchMachine(Asymmetric):
    """Requests, prompts, escapes and resume races in one conversation (seed 000)."""

    name = "dispatch"

    def __init__(
        self,
        bounds: DispatchBounds | None = None,
        rules: Rules = CORRECT,
        policy: DispatchPolicy = CORRECT_POLICY,
    ) -> None:
        self.bounds = bounds or DispatchBounds()
        self.rules = rules
        self.policy = policy
        self.invariants: tuple[Invariant[DispatchState], ...] = ()
        self.step_properties = tuple(
            StepProperty(p.__name__, p, _doc(p), SEED)
            for p in (
                intent_preserved,
                implicit_continue_keeps_the_pause,
                explicit_resume_resumes,
                approved_pause_resumes,
                lost_race_is_reported,
            )
        )
        self.progress = tuple(
            Progress(
                f"escape_by_{way}", holds_prompt(self), escaped_by(way), _doc(escaped_by), SEED
            )
            for way in ("force", "abandon")
        )

    # -- Init ---------------------------------------------------------------------------------

    def initial(self) -> Iterator[DispatchState]:
        yield DispatchState(StoreState())

    # -- Next ---------------------------------------------------------------------------------

    def next(self, s: DispatchState) -> Steps:
        s = replace(s, escaped=None)
        for action, after in self._steps(s):
            yield action, _settle(after)

    def _steps(self, s: DispatchState) -> Steps:
        if s.inflight is None:
            for force in (False, True):
                yield from self.user_runs(s, self._next_message(s), force)
            for run in s.store.runs:
                yield from self.user_resumes(s, run)
                yield from self.user_approves_in_chat(s, run)
        else:
            yield from self.user_claims(s, s.inflight)
        for run in s.store.runs:
            yield from self.user_abandons(s, run)
            yield from self.other_resumer_claims(s, run)
            yield from self.executor_finishes(s, run)
        yield from self.time_passes(s)

    def user_runs(self, s: DispatchState, message: str, force: bool) -> Steps:
        request = DispatchRequest(WORKFLOW, message, CONVERSATION.id, force=force)
        decision = self.policy.decide(request, self._candidate(s))
        yield from self._decided(s, Action("user", "run", (message, force), decision), request)

    def user_resumes(self, s: DispatchState, run: Run) -> Steps:
        request = self.policy.resume(run)
        decision = self.policy.decide(request, self._candidate(s))
        yield from self._decided(s, Action("user", "resume", (run.id,), decision), request)

    def user_approves_in_chat(self, s: DispatchState, run: Run) -> Steps:
        if run.gate is None or run.gate.state is not GateState.OPEN:
            return
        store, resolved = self.rules.resolve_gate(s.store, run.id, GateDecision.APPROVE)
        approved = store.get(run.id)
        if not isinstance(resolved, GateResolved) or approved is None:
            return
        request = self.policy.approval(approved)
        after = replace(s, store=store)
        decision = self.policy.decide(request, self._candidate(after))
        action = Action("user", "approve_in_chat", (run.id,), decision)
        yield from self._decided(after, action, request)

    def user_claims(self, s: DispatchState, decision: ContinueRun) -> Steps:
        store, answer = self.rules.resume_run(
            s.store, decision.run_id, "user", TIMING, decision.expected_epoch
        )
        outcome = self.policy.after_claim(decision, answer)  # type: ignore[arg-type]
        after: DispatchState | None = replace(s, store=store, inflight=None, inflight_epoch=None)
        if isinstance(outcome, StartFresh):
            after = self._start(s, outcome.message, force=False)
        if after is not None:
            yield Action("user", "claim", (decision.run_id,), outcome), after

    def user_abandons(self, s: DispatchState, run: Run) -> Steps:
        store, result = self.rules.abandon_run(s.store, run.id)
        if store is not s.store:
            yield Action("user", "abandon", (run.id,), result), replace(s, store=store)

    def other_resumer_claims(self, s: DispatchState, run: Run) -> Steps:
        if run.epoch >= self.bounds.epochs:
            return
        store, result = self.rules.resume_run(s.store, run.id, "web", TIMING)
        if store is not s.store:
            yield Action("web", "resume_run", (run.id,), result), replace(s, store=store)

    def executor_finishes(self, s: DispatchState, run: Run) -> Steps:
        if run.claim is None:
            return
        epoch = run.claim.epoch
        writes = (
            ("pause_at_gate", self.rules.pause_at_gate(s.store, run.id, epoch, GATE)),
            ("fail_run", self.rules.fail_run(s.store, run.id, epoch, "boom")),
            ("complete_run", self.rules.complete_run(s.store, run.id, epoch)),
        )
        for name, (store, result) in writes:
            yield Action("executor", name, (run.id,), result), replace(s, store=store)

    def time_passes(self, s: DispatchState) -> Steps:
        if s.store.clock < self.bounds.ticks:
            yield Action("clock", "tick"), replace(s, store=tick(s.store))

    # -- applying a decision --------------------------------------------------------------------

    def _next_message(self, s: DispatchState) -> str:
        """What the user types: the first message for the first run, then the next ones."""
        messages = self.bounds.messages
        return messages[min(len(s.store.runs), len(messages) - 1)]

    def _candidate(self, s: DispatchState) -> Run | None:
        _, found = self.rules.find_resumable(s.store, WORKFLOW, CONVERSATION.id, "main", TIMING)
        return s.store.get(found.run_id) if isinstance(found, Found) and found.run_id else None

    def _decided(self, s: DispatchState, action: Action, request: DispatchRequest) -> Steps:
        """The step that carries out the decision in ``action.result``, if the bounds allow it:
        a fresh start needs room for one more run, a continuation a run below the epoch bound.
        """
        match action.result:
            case StartFresh(message=message):
                after = self._start(s, message, request.force)
            case ContinueRun(run_id=run_id):
                run = s.store.get(run_id)
                room = run is None or run.epoch < self.bounds.epochs
                seen = None if run is None else run.epoch
                after = replace(s, inflight=action.result, inflight_epoch=seen) if room else None
            case PromptForFailedRun(run_id=run_id, message=message):
                after = replace(s, held=s.held or self._hold(s, run_id, message))
        if after is not None:
            yield action, after

    @staticmethod
    def _hold(s: DispatchState, run_id: str, message: str) -> HeldPrompt:
        run = s.store.get(run_id)
        return HeldPrompt(run_id, run.epoch if run is not None else 0, message)

    def _start(self, s: DispatchState, message: str, force: bool) -> DispatchState | None:
        """Create and start a fresh run, if there is room for one, and note whether that
        escaped the prompt the user holds."""
        if not self.room(s):
            return None
        run_id = f"r{len(s.store.runs)}"
        store, _ = create_run(s.store, NewRun(WORKFLOW, message, "main", CONVERSATION), run_id)
        store, _ = self.rules.start_run(store, run_id, "user", TIMING)
        escaped = _escape(s, message, force)
        held = None if escaped else s.held
        return replace(
            s, store=store, inflight=None, inflight_epoch=None, held=held, escaped=escaped
        )

    def room(self, s: DispatchState) -> bool:
        """Whether the bounds allow one more run."""
        return len(s.store.runs) < self.bounds.runs

    # -- bounds and symmetry --------------------------------------------------------------------

    def within_bounds(self, s: DispatchState) -> bool:
        """Always: the bounds disable actions instead (no more runs, no claims beyond the epoch
        bound), so a state the escapes cannot leave is a real violation, not a cut-off one."""
        return True

    def describe(self, s: DispatchState) -> Mapping[str, object]:
        fields: dict[str, object] = {"clock": s.store.clock}
        for run in s.store.runs:
            fields[f"{run.id}"] = f"{run.status} epoch {run.epoch} message {run.user_message!r}"
            if run.gate is not None:
                fields[f"{run.id}.gate"] = str(run.gate.state)
        fields["claim pending"] = "none" if s.inflight is None else s.inflight.run_id
        fields["prompt held"] = (
            "none" if s.held is None else f"{s.held.run_id}@{s.held.epoch} for {s.held.message!r}"
        )
        fields["escaped"] = s.escaped or "none"
        return fields


def _escape(s: DispatchState, message: str, force: bool) -> str | None:
    """How a fresh start of ``message`` escapes the held prompt: by ``force``, or after the
    prompted run was abandoned (cancelled without running again); None if it does not."""
    held = s.held
    if held is None or message != held.message:
        return None
    if force:
        return "force"
    run = s.store.get(held.run_id)
    if run is not None and run.status is Status.CANCELLED and run.epoch == held.epoch:
        return "abandon"
    return None


def _settle(s: DispatchState) -> DispatchState:
    """Drop a held prompt once its run was claimed again or completed (an orphan's executor
    may have been merely slow): the question it asked is moot."""
    held = s.held
    if held is None:
        return s
    run = s.store.get(held.run_id)
    if run is not None and run.epoch == held.epoch and run.status is not Status.COMPLETED:
        return s
    return replace(s, held=None)


# --- properties ----------------------------------------------------------------------------


def intent_preserved(before: DispatchState, action: Action, after: DispatchState) -> bool:
    """A new request never executes another run's stored message: it starts a fresh run with
    its own message (leaving every prior run untouched), continues a run that was paused
    waiting for it, or executes nothing and keeps its message in the prompt.

    Protects the user's request from the silent hijack by an old failed run (seed 000).
    """
    if action.name != "run":
        return True
    message, force = action.args
    match action.result:
        case StartFresh():
            started = after.store.runs[len(before.store.runs) :]
            untouched = after.store.runs[: len(before.store.runs)] == before.store.runs
            return untouched and [r.user_message for r in started] == [message]
        case ContinueRun(run_id=run_id, explicit=explicit, message=handed):
            run = before.store.get(run_id)
            paused = run is not None and run.status is Status.PAUSED
            return not force and not explicit and paused and handed == message
        case PromptForFailedRun(message=kept):
            return not force and kept == message and after.store == before.store
    return False


def implicit_continue_keeps_the_pause(
    before: DispatchState, action: Action, after: DispatchState
) -> bool:
    """An implicit continue claims the run only in the very pause it was decided on; a run
    claimed elsewhere in between (and perhaps failed since) is refused and reported instead.

    Protects against a failed run continued implicitly through a race (seed 000).
    """
    decision = before.inflight
    if action.name != "claim" or decision is None or decision.explicit:
        return True
    if not isinstance(action.result, Continued):
        return True
    run = before.store.get(decision.run_id)
    return run is not None and run.status is Status.PAUSED and run.epoch == before.inflight_epoch


def _resumes_named_run(action: Action, name: str) -> bool:
    """The decision for a request naming a run continues exactly that run."""
    if action.name != name:
        return True
    return isinstance(action.result, ContinueRun) and action.result.run_id == action.args[0]


def explicit_resume_resumes(before: DispatchState, action: Action, after: DispatchState) -> bool:
    """``resume <id>`` continues that run: no prompt (which would only suggest the same command
    again), no other run, no fresh run.

    Protects the explicit resume from a prompt loop (seed 000, entry c).
    """
    return _resumes_named_run(action, "resume")


def approved_pause_resumes(before: DispatchState, action: Action, after: DispatchState) -> bool:
    """An approval given in chat resumes the run it approved, without a prompt, even when a
    newer failed or paused run sits in the same conversation.

    Protects the approval path from the regression the fix invites (seed 000, entry b).
    """
    return _resumes_named_run(action, "approve_in_chat")


def lost_race_is_reported(before: DispatchState, action: Action, after: DispatchState) -> bool:
    """A resume claim that loses to another resumer is reported as such and never becomes a
    fresh run.

    Protects the user from a silent fresh start when the run was taken first (seed 000,
    the trap of the first fix).
    """
    if action.name != "claim" or isinstance(action.result, Continued):
        return True
    created = len(after.store.runs) != len(before.store.runs)
    return not created and isinstance(action.result, AlreadyBeingResumed | RunNotFound)


def holds_prompt(machine: DispatchMachine) -> Callable[[DispatchState], bool]:
    """The user holds a prompt, and the bounds leave room for the fresh run an escape starts."""

    def pending(s: DispatchState) -> bool:
        return s.held is not None and machine.room(s)

    return pending


def escaped_by(way: str) -> Callable[[DispatchState], bool]:
    """From every state in which the user holds a prompt about a failed run, a fresh run of
    the user's message is reachable by that escape: ``--force``, or abandoning the run and
    sending the request again.

    Protects the user's way out of the prompt (seed 000: abandon refused failed runs).
    """

    def done(s: DispatchState) -> bool:
        return s.escaped == way

    return done


def _decided(name: str, kind: type) -> Callable[[DispatchState, Action, DispatchState], bool]:
    return lambda before, action, after: action.name == name and isinstance(action.result, kind)


DISPATCH_GOALS: tuple[Goal[DispatchState], ...] = (
    Goal("failed_run_prompts", _decided("run", PromptForFailedRun), "a request prompts", SEED),
    Goal(
        "reply_continues_paused_run",
        _decided("run", ContinueRun),
        "a request continues a paused run",
        SEED,
    ),
    Goal(
        "approval_continues",
        _decided("approve_in_chat", ContinueRun),
        "a chat approval continues its run",
        SEED,
    ),
    Goal(
        "lost_race_reached",
        _decided("claim", AlreadyBeingResumed),
        "a claim loses to another resumer",
        SEED,
    ),
    Goal(
        "abandon_escape_reached",
        lambda before, action, after: after.escaped == "abandon",
        "abandon then run again starts the new message",
        SEED,
    ),
)
"""Steps the bounds must let happen, or the properties above would hold vacuously."""

ORPHAN_PROMPTED: Goal[DispatchState] = Goal(
    "orphan_prompts",
    lambda before, action, after: (
        isinstance(action.result, PromptForFailedRun) and action.result.status is Status.RUNNING
    ),
    "a stale running orphan prompts (with clock ticks)",
    SEED,
)


# --- variants: the historical bugs ---------------------------------------------------------


def decide_continuing_failed(request: DispatchRequest, candidate: Run | None) -> DispatchDecision:
    """Seed 000 before the fix: find-resumable matched failed or paused runs, and dispatch
    resumed whatever it found."""
    implicit = request.resume_run_id is None and not request.force
    if implicit and candidate is not None and candidate.status is Status.FAILED:
        return ContinueRun(candidate.id, explicit=False, message=request.message)
    return decide_dispatch(request, candidate)


def decide_without_epoch_guard(request: DispatchRequest, candidate: Run | None) -> DispatchDecision:
    """The seed's own fix: a paused candidate is continued with a plain resume, so a claim that
    lands after the run was resumed elsewhere and failed continues the failed run."""
    decision = decide_dispatch(request, candidate)
    if isinstance(decision, ContinueRun):
        return replace(decision, expected_epoch=None)
    return decision


def request_without_run_id(run: Run) -> DispatchRequest:
    """An entry that forgets to name the run it means, so dispatch falls back to whatever
    find-resumable returns (the regression the seed warns about for approvals and resume)."""
    return replace(resume_request(run), resume_run_id=None)


def lost_race_starts_fresh(decision: ContinueRun, claim: ResumeAnswer) -> ClaimOutcome | StartFresh:
    """The trap of the first fix (PR #1551): a run another resumer moved first is missed, and
    a fresh run starts with the request's message."""
    if isinstance(claim, RunNotResumable):
        return StartFresh(decision.message)
    return dispatch_outcome_after_claim(decision, claim)


def _with(
    policy: DispatchPolicy = CORRECT_POLICY, rules: Rules = CORRECT
) -> Callable[[], DispatchMachine]:
    return lambda: DispatchMachine(rules=rules, policy=policy)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "continue_without_epoch_guard",
        "an implicit continue claims with a plain resume and can land on a run that failed since",
        SEED,
        "implicit_continue_keeps_the_pause",
        _with(replace(CORRECT_POLICY, decide=decide_without_epoch_guard)),
    ),
    Variant(
        "dispatch_autocontinues_failed",
        "a fresh run request silently resumes a prior failed run with its stale message",
        SEED,
        "intent_preserved",
        _with(replace(CORRECT_POLICY, decide=decide_continuing_failed)),
    ),
    Variant(
        "dispatch_abandon_refuses_failed",
        "abandon rejects a failed run as terminal, so the prompt has no abandon escape",
        SEED,
        "escape_by_abandon",
        _with(rules=replace(CORRECT, abandon_run=abandon_refusing_failed)),
    ),
    Variant(
        "prompt_on_explicit_resume",
        "resume <id> does not name the run, so a failed run prompts to run the same command",
        SEED,
        "explicit_resume_resumes",
        _with(replace(CORRECT_POLICY, resume=request_without_run_id)),
    ),
    Variant(
        "prompt_on_nl_approval",
        "a chat approval does not name the approved run: a newer failed run prompts instead",
        SEED,
        "approved_pause_resumes",
        _with(replace(CORRECT_POLICY, approval=request_without_run_id)),
    ),
    Variant(
        "lost_race_starts_fresh",
        "a resume claim lost to another resumer silently starts a fresh run",
        SEED,
        "lost_race_is_reported",
        _with(replace(CORRECT_POLICY, after_claim=lost_race_starts_fresh)),
    ),
)
