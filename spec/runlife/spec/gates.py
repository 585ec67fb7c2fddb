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

from runlife.spec.records import Gate, Run
from runlife.spec.results import (
    Claimed,
    GateDecision,
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


def needs_dispatch(run: Run, parent: ParentLookup) -> bool:
    """Whether a decision on ``run`` should be dispatched for auto-resume at all.

    Only a run still paused after the decision, started from a web conversation that still
    exists: the web dispatcher would misroute a CLI, Slack or Telegram parent.
    """
    return (
        run.status is Status.PAUSED
        and isinstance(parent, ParentFound)
        and parent.platform is Platform.WEB
    )


def auto_resume_after_decision(
    run: Run, parent: ParentLookup, dispatch_ok: bool, claim: DispatchClaim
) -> AutoResumeOutcome:
    """What a gate decision on ``run`` (as it is after the decision) leads to.

    ``dispatch_ok`` says whether the dispatch to the web orchestrator went through; ``claim``
    is what its ``resume_run`` answered (``None`` if it never got that far). The reasons are
    checked in this order: the run ended; no parent; parent missing; a non-web parent; the
    dispatch failed; the claim lost to another resumer.
    """
    if run.status is not Status.PAUSED:
        return Ended(run.id, run.status)
    decision = _decision(run)
    match parent:
        case NoParent():
            reason = NotResumedReason.NO_PARENT
        case ParentMissing():
            reason = NotResumedReason.NO_PLATFORM_CONVERSATION
        case ParentFound(platform=platform) if platform is not Platform.WEB:
            reason = NotResumedReason.NON_WEB_PARENT
        case _ if not dispatch_ok or claim is None:
            reason = NotResumedReason.DISPATCH_FAILED
        case _ if isinstance(claim, Claimed):
            return Resumed(run.id)
        case _:
            lost = NotResumedReason.LOST_RACE
            return NotResumed(run.id, lost, manual_resume_hint(run.id, lost, decision, claim))
    return NotResumed(run.id, reason, manual_resume_hint(run.id, reason, decision))


def _decision(run: Run) -> GateDecision:
    """The decision a paused run's gate carries (a staged rework means it was rejected)."""
    rejected = run.gate is not None and run.gate.state is GateState.REWORK
    return GateDecision.REJECT if rejected else GateDecision.APPROVE


def manual_resume_hint(
    run_id: str,
    reason: NotResumedReason,
    decision: GateDecision,
    lost_to: RunNotResumable | None = None,
) -> str:
    """The next step for a run a decision did not resume: why, and the exact command."""
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
            status = lost_to.status if lost_to is not None else Status.RUNNING
            return (
                f"Run {run_id} is already being resumed ({status}). If it stops again, run"
                f" {command}."
            )
