"""The reference orchestrator: the spec's policies carried out against any run store.

Where each concern lives:

* :mod:`~runlife.impl.orchestrator.workflows`: what a workflow is (tasks, approvals, loops).
* :mod:`~runlife.impl.orchestrator.dispatch`: ``run`` and ``resume`` requests, the prompt
  about a failed run, lost claims (seed 000).
* :mod:`~runlife.impl.orchestrator.gates`: approve, reject, and the auto-resume after (seed 003).
* :mod:`~runlife.impl.orchestrator.executor`: executing a claimed run node by node, with the
  node cache (seed 002); :mod:`~runlife.impl.orchestrator.loops`: interactive loops and the
  provider sessions they send (seed 004); :mod:`~runlife.impl.orchestrator.claims`: the
  epoch-fenced writes that stop an executor whose claim was lost (seed 001).
* :mod:`~runlife.impl.orchestrator.report`: what an execution did.
* :mod:`~runlife.impl.orchestrator.builtin`: the demo workflows ``runlife run`` drives.

:class:`Orchestrator` puts them together for one store; everything it does goes through the
:class:`~runlife.spec.contract.RunStore` contract.
"""

from __future__ import annotations

from collections.abc import Mapping

from runlife.impl.conversations import ConversationRegistry, Conversations
from runlife.impl.orchestrator.dispatch import (
    Dispatcher,
    DispatchResult,
    Executed,
    NotContinued,
    NotStarted,
    Prompted,
    resume_by_name,
)
from runlife.impl.orchestrator.executor import Executor
from runlife.impl.orchestrator.gates import (
    Decided,
    DispatchUnavailable,
    GateAnswer,
    WebDispatch,
    decide_gate,
)
from runlife.impl.orchestrator.loops import DEFAULT_SESSION_TTL, FakeProvider, Provider
from runlife.impl.orchestrator.report import (
    Completed,
    Did,
    Execution,
    Failed,
    Paused,
    Stopped,
)
from runlife.impl.orchestrator.workflows import (
    Approval,
    Loop,
    NodeContext,
    NodeFailed,
    Task,
    UnknownNode,
    UnknownWorkflow,
    Workflow,
    find_workflow,
)
from runlife.spec.contract import RunStore
from runlife.spec.dispatch import DispatchRequest
from runlife.spec.records import Conversation, Run
from runlife.spec.results import (
    CancelOutcome,
    GateDecision,
    Invalidated,
    InvalidInput,
    Platform,
    RunAlreadyTerminal,
    RunNotFound,
    Transitioned,
)

__all__ = [
    "Approval",
    "Completed",
    "ConversationRegistry",
    "Decided",
    "Did",
    "DispatchResult",
    "DispatchUnavailable",
    "Executed",
    "Execution",
    "Failed",
    "FakeProvider",
    "Loop",
    "NodeContext",
    "NodeFailed",
    "NotContinued",
    "NotStarted",
    "Orchestrator",
    "Paused",
    "Prompted",
    "Stopped",
    "Task",
    "UnknownNode",
    "UnknownWorkflow",
    "Workflow",
]


class Orchestrator:
    """Runs, resumes and decides workflow runs on ``store``, claiming them as ``holder``.

    ``workflows``: the workflows it can execute, by name (a dict may be changed later: a fixed
    node definition takes effect on the next execution). ``conversations``: where runs'
    parent conversations live (for the auto-resume after a gate decision). ``provider``: the
    model provider loop nodes talk to (default: a :class:`FakeProvider` on the store's clock).
    ``web_dispatch``: how a decision's auto-resume reaches the web orchestrator (default: this
    orchestrator's own :meth:`dispatch`).
    """

    def __init__(
        self,
        store: RunStore,
        workflows: Mapping[str, Workflow],
        *,
        conversations: Conversations | None = None,
        provider: Provider | None = None,
        holder: str = "orchestrator",
        web_dispatch: WebDispatch | None = None,
    ) -> None:
        self.store, self.workflows, self.holder = store, workflows, holder
        self.conversations = conversations or ConversationRegistry()
        self.provider = provider or FakeProvider(DEFAULT_SESSION_TTL, store.now)
        self.executor = Executor(store, self.provider)
        self.dispatcher = Dispatcher(store, workflows, self.executor, holder)
        self.web_dispatch: WebDispatch = web_dispatch or self.dispatch

    # --- requests (seed 000) ---------------------------------------------------------------

    def dispatch(
        self, request: DispatchRequest, platform: Platform = Platform.WEB, reuse: bool = True
    ) -> DispatchResult:
        """Carry out ``request`` (see :meth:`Dispatcher.dispatch`)."""
        return self.dispatcher.dispatch(request, platform, reuse)

    def run(
        self,
        workflow: str,
        message: str,
        conversation: Conversation | None = None,
        *,
        codebase: str = "main",
        force: bool = False,
        reuse: bool = True,
    ) -> DispatchResult:
        """``runlife run WORKFLOW MESSAGE``: a fresh run, unless a prior run answers for it.

        ``force``: start fresh whatever prior runs exist. ``reuse`` False (``--no-resume``)
        implies ``force`` and executes every node, ignoring any recorded output.
        """
        conversation_id = None if conversation is None else conversation.id
        request = DispatchRequest(
            workflow, message, conversation_id, codebase, force=force or not reuse
        )
        platform = Platform.CLI if conversation is None else conversation.platform
        return self.dispatch(request, platform, reuse)

    def resume(self, run_id: str, message: str | None = None) -> DispatchResult:
        """``runlife resume ID``: continue that run by name, no prompt and no fresh run.

        The run receives ``message`` as its user input, or its own request without one.
        """
        run = self.store.get_run(run_id)
        if not isinstance(run, Run):
            return NotContinued(run_id, run, run)
        return self.dispatch(resume_by_name(run, message))

    # --- gate decisions (seed 003) ---------------------------------------------------------

    def approve(self, run_id: str, words: str | None = None) -> GateAnswer:
        """Approve the run's open gate (in the UI, or in chat with ``words``), then auto-resume."""
        return decide_gate(
            self.store, self.conversations, self.web_dispatch, run_id, GateDecision.APPROVE, words
        )

    def reject(self, run_id: str, reason: str | None = None) -> GateAnswer:
        """Reject the run's open gate; its rework receives ``reason`` on the auto-resume."""
        return decide_gate(
            self.store, self.conversations, self.web_dispatch, run_id, GateDecision.REJECT, reason
        )

    # --- the rest of the lifecycle ---------------------------------------------------------

    def cancel(self, run_id: str) -> CancelOutcome | RunNotFound | InvalidInput:
        """Cancel unless finished; ``cancelled`` says whether anything changed (seed 001)."""
        return self.store.cancel_run(run_id)

    def abandon(
        self, run_id: str
    ) -> Transitioned | RunAlreadyTerminal | RunNotFound | InvalidInput:
        """Discard a pending, running, paused or failed run (seed 000's escape)."""
        return self.store.abandon_run(run_id)

    def invalidate(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | RunNotFound | InvalidInput:
        """Make node ``node_id``'s recorded output (and with ``downstream`` its consumers')
        unusable on resume (seed 002). A node the run's workflow does not have raises
        :class:`UnknownNode`; an unknown workflow :class:`UnknownWorkflow`."""
        run = self.store.get_run(run_id)
        if not isinstance(run, Run):
            return run
        find_workflow(self.workflows, run.workflow).node(node_id)
        return self.store.invalidate_nodes(run_id, node_id, downstream)
