"""Dispatch (seed 000): a ``run`` or ``resume`` request carried out against a store.

The decision is the spec's :func:`runlife.spec.dispatch.decide_dispatch`, given the run
``find_resumable`` returns: a failed (or orphaned) prior run is never continued implicitly; the
user is prompted and nothing executes. ``--force`` starts fresh, an explicit resume (the
``resume`` command, an approval) continues the named run. A continuation claims the run with
``resume_run``; a lost claim is reported as it is (:func:`dispatch_outcome_after_claim`),
never turned into a fresh run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from runlife.impl.orchestrator.executor import Executor
from runlife.impl.orchestrator.report import Execution
from runlife.impl.orchestrator.workflows import Workflow, find_workflow
from runlife.spec.contract import RunStore
from runlife.spec.dispatch import (
    ClaimOutcome,
    Continued,
    ContinueRun,
    DispatchRequest,
    PromptForFailedRun,
    ResumeAnswer,
    StartFresh,
    decide_dispatch,
    dispatch_outcome_after_claim,
    format_prompt,
    resume_request,
)
from runlife.spec.limits import check_text
from runlife.spec.records import Conversation, NewRun, Run
from runlife.spec.results import (
    Claimed,
    Created,
    InvalidInput,
    Platform,
    RunNotFound,
    RunNotStartable,
)


@dataclass(frozen=True)
class Prompted:
    """Nothing executed: the user must choose what to do about the failed run found.
    ``text`` is the prompt as shown; ``prompt.message`` keeps the new request's message."""

    prompt: PromptForFailedRun
    text: str


@dataclass(frozen=True)
class Executed:
    """A run was claimed (``claim``) and executed: a new one (``fresh``) or a continued one."""

    run_id: str
    fresh: bool
    claim: Claimed
    execution: Execution


@dataclass(frozen=True)
class NotContinued:
    """The continuation executed nothing and started nothing: its claim lost (someone else
    moved the run first) or it named no run. ``outcome`` is what the user is told (never
    :class:`Continued`), ``answer`` what the store said."""

    run_id: str
    outcome: ClaimOutcome
    answer: ResumeAnswer | RunNotFound | InvalidInput


@dataclass(frozen=True)
class NotStarted:
    """A fresh run was refused: bad input, or it was cancelled before it could start."""

    refusal: InvalidInput | RunNotStartable | RunNotFound


DispatchResult = Prompted | Executed | NotContinued | NotStarted


def resume_by_name(run: Run, message: str | None = None) -> DispatchRequest:
    """The spec's request resuming ``run`` by name (:func:`resume_request`), handing it
    ``message`` as its user input when given (its own request otherwise)."""
    request = resume_request(run)
    return request if message is None else replace(request, message=message)


class Dispatcher:
    """Carries out dispatch requests on ``store`` as ``holder``, executing with ``executor``."""

    def __init__(
        self,
        store: RunStore,
        workflows: Mapping[str, Workflow],
        executor: Executor,
        holder: str,
    ) -> None:
        self.store, self.workflows, self.executor, self.holder = store, workflows, executor, holder

    def dispatch(
        self, request: DispatchRequest, platform: Platform = Platform.WEB, reuse: bool = True
    ) -> DispatchResult:
        """Decide ``request`` and carry the decision out.

        ``platform``: where the request's conversation lives (recorded on a fresh run).
        ``reuse`` False executes every node again, ignoring recorded outputs (``--no-resume``).
        An unknown workflow raises :class:`~runlife.impl.orchestrator.workflows.UnknownWorkflow`
        before anything is stored or claimed.
        """
        find_workflow(self.workflows, request.workflow)
        if bad := check_text("message", request.message):
            return NotStarted(bad)  # refused before any run is looked at, claimed or created
        decision = decide_dispatch(request, self._candidate(request))
        match decision:
            case PromptForFailedRun():
                return Prompted(decision, format_prompt(decision))
            case StartFresh(message=message):
                conversation = (
                    None
                    if request.conversation_id is None
                    else Conversation(request.conversation_id, platform)
                )
                new = NewRun(request.workflow, message, request.codebase, conversation)
                return self.start_fresh(new, reuse)
            case ContinueRun():
                return self.continue_run(decision, reuse)

    def _candidate(self, request: DispatchRequest) -> Run | None:
        """The run ``find_resumable`` offers for ``request``, as stored now."""
        found = self.store.find_resumable(
            request.workflow, request.conversation_id, request.codebase
        )
        if isinstance(found, InvalidInput) or found.run_id is None:
            return None
        run = self.store.get_run(found.run_id)
        return run if isinstance(run, Run) else None

    def start_fresh(self, new: NewRun, reuse: bool = True) -> Executed | NotStarted:
        """Create and start a new run of ``new`` and execute it."""
        workflow = find_workflow(self.workflows, new.workflow)
        created = self.store.create_run(new)
        if not isinstance(created, Created):
            return NotStarted(created)
        claim = self.store.start_run(created.run_id, self.holder)
        if not isinstance(claim, Claimed):
            return NotStarted(claim)
        return self._execute(created.run_id, workflow, claim, True, None, reuse)

    def continue_run(self, decision: ContinueRun, reuse: bool = True) -> Executed | NotContinued:
        """Claim ``decision.run_id`` with ``resume_run`` and execute it, handing it the
        decision's message; a lost claim is reported, never replaced by a fresh run."""
        run = self.store.get_run(decision.run_id)
        if not isinstance(run, Run):
            return NotContinued(decision.run_id, run, run)
        workflow = find_workflow(self.workflows, run.workflow)
        answer = self.store.resume_run(decision.run_id, self.holder, decision.expected_epoch)
        outcome = dispatch_outcome_after_claim(decision, answer)
        if isinstance(outcome, Continued) and isinstance(answer, Claimed):
            return self._execute(run.id, workflow, answer, False, decision.message, reuse)
        return NotContinued(decision.run_id, outcome, answer)

    def _execute(
        self,
        run_id: str,
        workflow: Workflow,
        claim: Claimed,
        fresh: bool,
        user_input: str | None,
        reuse: bool,
    ) -> Executed:
        execution = self.executor.execute(
            run_id, workflow, claim.epoch, user_input=user_input, reuse=reuse
        )
        return Executed(run_id, fresh, claim, execution)
