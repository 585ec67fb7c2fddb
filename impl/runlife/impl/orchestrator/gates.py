"""Gate decisions and the auto-resume after them (seed 003).

A decision is one compare-and-swap on the open gate (``resolve_gate``). Then, if the run still
waits and its parent is a live web conversation (:func:`runlife.spec.gates.needs_dispatch`),
the decision is dispatched to the web orchestrator as an explicit resume of that run; whatever
happens, :func:`runlife.spec.gates.auto_resume_after_decision` says what the decision led to:
resumed, ended, or not resumed with the reason and a hint naming ``runlife resume <run id>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runlife.impl.conversations import Conversations
from runlife.impl.errors import StoreError
from runlife.impl.orchestrator.dispatch import (
    DispatchResult,
    Executed,
    NotContinued,
    resume_by_name,
)
from runlife.impl.orchestrator.workflows import UnknownWorkflow
from runlife.spec.contract import RunStore
from runlife.spec.dispatch import DispatchRequest
from runlife.spec.gates import (
    AutoResumeOutcome,
    DispatchClaim,
    auto_resume_after_decision,
    needs_dispatch,
)
from runlife.spec.limits import check_text
from runlife.spec.records import Run
from runlife.spec.results import (
    GateDecision,
    GateNotOpen,
    GateResolved,
    InvalidInput,
    RunNotFound,
    RunNotResumable,
)

WebDispatch = Callable[[DispatchRequest], DispatchResult]
"""Hands a request to the web orchestrator (in process: the orchestrator's own dispatch)."""


class DispatchUnavailable(Exception):
    """The web orchestrator could not take the request (it is down, or refused it)."""


DISPATCH_ERRORS = (DispatchUnavailable, UnknownWorkflow, StoreError)
"""What a failed dispatch raises; a decision whose dispatch raised one is ``dispatch_failed``."""


@dataclass(frozen=True)
class Decided:
    """A decision taken on an open gate: the store's answer, what it led to, and the
    auto-resume dispatch's result when one was made."""

    resolved: GateResolved
    outcome: AutoResumeOutcome
    dispatched: DispatchResult | None


GateAnswer = Decided | GateNotOpen | RunNotFound | InvalidInput


def decide_gate(
    store: RunStore,
    conversations: Conversations,
    web_dispatch: WebDispatch,
    run_id: str,
    decision: GateDecision,
    words: str | None = None,
) -> GateAnswer:
    """Approve or reject run ``run_id``'s open gate, then auto-resume it if the policy says so.

    ``words``: what the person said (an approval in chat, a rejection's reason); the resumed
    run receives them as its user input (the rework reads the reason). Without them the
    resumed run receives its own request, as ``runlife resume`` sends it.
    """
    said = "reason" if decision is GateDecision.REJECT else "message"
    if words is not None and (bad := check_text(said, words)):
        return bad  # refused before the decision is taken
    run = store.get_run(run_id)
    if not isinstance(run, Run):
        return run
    resolved = store.resolve_gate(run_id, decision)
    if not isinstance(resolved, GateResolved):
        return resolved
    parent = conversations.lookup(run.conversation)
    dispatched: DispatchResult | None = None
    if needs_dispatch(resolved, parent):
        try:
            dispatched = web_dispatch(resume_by_name(run, words))
        except DISPATCH_ERRORS:
            dispatched = None
    dispatch_ok = dispatched is not None
    outcome = auto_resume_after_decision(resolved, parent, dispatch_ok, claim_of(dispatched))
    return Decided(resolved, outcome, dispatched)


def claim_of(dispatched: DispatchResult | None) -> DispatchClaim:
    """What the dispatch's ``resume_run`` answered, as the gate policy reads it."""
    match dispatched:
        case Executed(claim=claim):
            return claim
        case NotContinued(answer=RunNotResumable() as lost):
            return lost
    return None
