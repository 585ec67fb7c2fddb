"""Approval gates (seed 003): deciding a gate, passing it, and resuming after a decision.

The gate's store semantics are :func:`runlife.spec.store.resolve_gate` and
:func:`runlife.spec.store.pause_at_gate` (one decision per open gate, rejections counted,
approve resets them). This module adds the two policies around them:

* what a resumed executor does at the gate (:func:`at_gate`): pass it only once approved,
  run the staged rework after a rejection, otherwise wait again;
* whether a decision taken in the web UI resumes the run by itself
  (:func:`auto_resume_after_decision`): only for a run started from a live web conversation
  and only if the dispatch claims it. Every other case answers *why not* and names the exact
  command that resumes it (:func:`manual_resume_hint`); before the fix the answer was a vague
  "will run on resume" and users had to read the database schema to find the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runlife.spec.records import Gate
from runlife.spec.results import (
    Claimed,
    GateDecision,
    GateResolved,
    GateState,
    Platform,
    RunNotResumable,
    Status,
)

# --- at the gate ---------------------------------------------------------------------------


class GateAction(StrEnum):
    """What an executor resumed at a gate does next."""

    PASS = "pass"
    """The gate was approved: go on past it."""
    REWORK = "rework"
    """A rejection staged the on-reject prompt: run it, then pause at the same gate again."""
    WAIT = "wait"
    """No decision yet (the run was resumed by hand): pause at the gate again."""


def at_gate(gate: Gate | None) -> GateAction:
    """What an executor resumed at ``gate`` does: it advances only on an approval."""
    if gate is None or gate.state is GateState.OPEN:
        return GateAction.WAIT
    if gate.state is GateState.APPROVED:
        return GateAction.PASS
    return GateAction.REWORK


# --- auto-resume after a decision ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoParent:
    """The run was started without a conversation (from the CLI)."""


@dataclass(frozen=True, slots=True)
class ParentMissing:
    """The run names a conversation that no longer exists (deleted, or no platform thread)."""


@dataclass(frozen=True, slots=True)
class ParentFound:
    """The run's conversation exists and lives on ``platform``."""

    platform: Platform


ParentLookup = NoParent | ParentMissing | ParentFound


class NotResumedReason(StrEnum):
    """Why a decision did not resume the run by itself."""

    NO_PARENT = "no_parent"
    NO_PLATFORM_CONVERSATION = "no_platform_conversation"
    NON_WEB_PARENT = "non_web_parent"
    DISPATCH_FAILED = "dispatch_failed"
    LOST_RACE = "lost_race"


@dataclass(frozen=True, slots=True)
class Resumed:
    """The decision's dispatch claimed the run; it is executing again."""

    run_id: str


@dataclass(frozen=True, slots=True)
class NotResumed:
    """The run waits for a manual resume; ``hint`` says why and names the command."""

    run_id: str
    reason: NotResumedReason
    hint: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The decision ended the run (a rejection without rework, or the last attempt)."""

    run_id: str
    status: Status


AutoResumeOutcome = Resumed | NotResumed | Ended
DispatchClaim = Claimed | RunNotResumable | None
"""What the auto-resume dispatch's ``resume_run`` answered; ``None`` when it never claimed."""


def parent_blocker(parent: ParentLookup) -> NotResumedReason | None:
    """Why a run with this parent cannot be auto-resumed, or None for a live web parent.

    The auto-resume dispatcher talks to the web orchestrator only: it would misroute a CLI,
    Slack or Telegram parent, and there is nobody to route to without a conversation.
    """
    match parent:
        case NoParent():
            return NotResumedReason.NO_PARENT
        case ParentMissing():
            return NotResumedReason.NO_PLATFORM_CONVERSATION
        case ParentFound(platform=platform) if platform is not Platform.WEB:
            return NotResumedReason.NON_WEB_PARENT
    return None


def needs_dispatch(resolved: GateResolved, parent: ParentLookup) -> bool:
    """Whether a decision should be dispatched for auto-resume: the run still waits, and its
    parent is a live web conversation."""
    return resolved.status is Status.PAUSED and parent_blocker(parent) is None


def auto_resume_after_decision(
    resolved: GateResolved, parent: ParentLookup, dispatch_ok: bool, claim: DispatchClaim
) -> AutoResumeOutcome:
    """What the gate decision ``resolved`` leads to.

    ``dispatch_ok`` says whether the dispatch to the web orchestrator went through; ``claim``
    is what its ``resume_run`` answered (``None`` if it never got that far). A decision that
    ended the run resumes nothing; otherwise the run resumes only if the parent is a live web
    conversation, the dispatch went through and its claim won. Every other case is a
    :class:`NotResumed` whose hint names the command that resumes the run by hand.
    """
    if resolved.status is not Status.PAUSED:
        return Ended(resolved.run_id, resolved.status)
    reason = parent_blocker(parent)
    if reason is None:
        if dispatch_ok and isinstance(claim, Claimed):
            return Resumed(resolved.run_id)
        lost = dispatch_ok and isinstance(claim, RunNotResumable)
        reason = NotResumedReason.LOST_RACE if lost else NotResumedReason.DISPATCH_FAILED
    status = claim.status if isinstance(claim, RunNotResumable) else None
    hint = manual_resume_hint(resolved.run_id, reason, resolved.decision, status)
    return NotResumed(resolved.run_id, reason, hint)


def manual_resume_hint(
    run_id: str,
    reason: NotResumedReason,
    decision: GateDecision,
    status: Status | None = None,
) -> str:
    """The next step for a run a decision did not resume: why, and the exact command.

    ``status`` is the run's status when a resume claim lost the race (``lost_race`` only).
    """
    command = f"`runlife resume {run_id}`"
    goal = "continue the run" if decision is GateDecision.APPROVE else "apply the on-reject prompt"
    match reason:
        case NotResumedReason.NO_PARENT:
            return f"Run {command} from the working directory to {goal}."
        case NotResumedReason.NO_PLATFORM_CONVERSATION:
            return (
                f"The conversation that started this run is no longer available. Run {command}"
                f" from the working directory to {goal}."
            )
        case NotResumedReason.NON_WEB_PARENT:
            return (
                "This run was started outside the web UI. Send a message in the originating"
                f" thread, or run {command} from the working directory, to {goal}."
            )
        case NotResumedReason.DISPATCH_FAILED:
            return f"Auto-resume dispatch failed. Run {command} from a terminal to {goal}."
        case NotResumedReason.LOST_RACE:
            return (
                f"Run {run_id} is already being resumed ({status or Status.RUNNING}). If it"
                f" stops again, run {command} to {goal}."
            )
