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

from dataclasses import dataclass

from runlife.spec.records import Run
from runlife.spec.results import (
    Claimed,
    InvalidInput,
    RunNotFound,
    RunNotResumable,
    Status,
)

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
        return ContinueRun(candidate.id, explicit=False, message=request.message)
    if candidate.status in (Status.FAILED, Status.RUNNING):
        return prompt_for(candidate, request)
    return StartFresh(request.message)


def prompt_for(candidate: Run, request: DispatchRequest) -> PromptForFailedRun:
    """The three-way question about ``candidate``, carrying the new request's message."""
    rerun = f'runlife run {request.workflow} --force "{shell_quote(request.message)}"'
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
        case AlreadyBeingResumed(run_id=run_id, status=status):
            return f"Run {run_id} was not resumed: it is {status} now; another resume was first."
        case RunNotFound(run_id=run_id):
            return f"No run {run_id} exists; check the id."
        case InvalidInput(field=name, reason=reason):
            return f"{name} {reason}."
