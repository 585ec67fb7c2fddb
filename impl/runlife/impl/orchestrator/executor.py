"""The executor: runs a claimed run's workflow node by node, under the claim's epoch.

For each node it asks the spec's cache policy (:func:`runlife.spec.cache.decide_node`) whether
the recorded output may be reused: only when the node's content-addressed identity (its
definition and its inputs) is unchanged, it is not ``always_run``, not invalidated, and resume
is on (seed 002). A gate node asks :func:`runlife.spec.gates.at_gate` whether to pass, rework
or wait (seed 003); a loop node is run by :mod:`runlife.impl.orchestrator.loops` (seed 004).

Before each node it heartbeats; every write carries the epoch. A refused write means another
holder has the run now (or it was cancelled): the executor stops at once (:class:`Stopped`).
"""

from __future__ import annotations

from collections.abc import Mapping

from runlife.impl.orchestrator.claims import ClaimLost, Fenced
from runlife.impl.orchestrator.loops import Provider, run_loop
from runlife.impl.orchestrator.report import (
    Completed,
    Did,
    End,
    Execution,
    Failed,
    Log,
    Paused,
    Stopped,
)
from runlife.impl.orchestrator.workflows import (
    Approval,
    Body,
    Loop,
    Node,
    NodeContext,
    NodeFailed,
    Task,
    Workflow,
    gate_of,
)
from runlife.spec.cache import Skip, decide_node, node_identity
from runlife.spec.contract import RunStore
from runlife.spec.gates import GateAction, at_gate
from runlife.spec.limits import check_text
from runlife.spec.records import NodeResult, Run


def rework_id(gate_id: str) -> str:
    """The node id a gate's rework output is recorded under."""
    return f"{gate_id}.rework"


class Executor:
    """Executes runs of workflows on ``store``; loop nodes talk to ``provider``."""

    def __init__(self, store: RunStore, provider: Provider) -> None:
        self.store, self.provider = store, provider

    def execute(
        self,
        run_id: str,
        workflow: Workflow,
        epoch: int,
        *,
        user_input: str | None = None,
        reuse: bool = True,
    ) -> Execution:
        """Execute run ``run_id``, claimed under ``epoch``, until it completes, pauses at a
        gate, fails, or loses its claim. ``reuse`` False re-runs every node (no resume)."""
        claim = Fenced(self.store, run_id, epoch)
        log = Log()
        try:
            end = self._walk(claim.run(), workflow, claim, user_input, reuse, log)
        except ClaimLost as lost:
            end = Stopped(lost.refusal)
        return Execution(run_id, epoch, end, tuple(log.steps), tuple(log.sessions))

    def _walk(
        self,
        run: Run,
        workflow: Workflow,
        claim: Fenced,
        user_input: str | None,
        reuse: bool,
        log: Log,
    ) -> End:
        recorded = claim.recorded()
        outputs: dict[str, str] = {}
        for node, cached in zip(workflow.nodes, workflow.dag, strict=True):
            claim.heartbeat()
            inputs = {d: outputs[d] for d in node.depends_on}
            definition = workflow.definitions[node.id]
            prior = recorded.get(node.id)
            decision = decide_node(cached, definition, inputs, prior, reuse)
            if isinstance(decision, Skip) and prior is not None:
                outputs[node.id] = prior.output
                log.step(node.id, Did.SKIPPED, decision.reason)
                continue
            context = NodeContext(run.id, run.user_message, inputs, user_input)
            produced = self._node(node, run, context, recorded, claim, log)
            if isinstance(produced, Failed):
                claim.fail(f"{produced.node}: {produced.error}")
                log.step(node.id, Did.FAILED, produced.error)
                return produced
            if isinstance(produced, Paused):
                return produced
            identity = node_identity(definition, inputs)
            claim.record(NodeResult(node.id, identity, produced, node.depends_on))
            did = Did.PASSED if isinstance(node, Approval) else Did.RAN
            log.step(node.id, did, "approved" if did is Did.PASSED else str(decision.reason))
            outputs[node.id] = produced
        claim.complete()
        return Completed(outputs[workflow.nodes[-1].id])

    def _node(
        self,
        node: Node,
        run: Run,
        context: NodeContext,
        recorded: Mapping[str, NodeResult],
        claim: Fenced,
        log: Log,
    ) -> str | Failed | Paused:
        """Run one node: its output, its failure, or the gate the run paused at."""
        match node:
            case Task():
                return _call(node.id, node.body, context)
            case Approval():
                return _approval(node, run, context, recorded, claim, log)
            case Loop():
                return run_loop(node, run, context, claim, self.provider, log)


def _call(node_id: str, body: Body, context: NodeContext) -> str | Failed:
    """``body(context)``, or the failure it raised (the workflow's code, like a script's exit)."""
    try:
        output = body(context)
    except NodeFailed as error:
        return Failed(node_id, str(error))
    except Exception as error:  # any error in the workflow's own code fails the node
        return Failed(node_id, f"{type(error).__name__}: {error}")
    bad = check_text("output", output)
    return Failed(node_id, f"its output {bad.reason}") if bad is not None else output


def _approval(
    node: Approval,
    run: Run,
    context: NodeContext,
    recorded: Mapping[str, NodeResult],
    claim: Fenced,
    log: Log,
) -> str | Failed | Paused:
    """Pass an approved gate (its output: the latest rework, else its inputs); after a
    rejection run the rework and ask again; with no decision yet, pause again."""
    action = at_gate(gate_of(run, node.id))
    if action is GateAction.PASS:
        rework = recorded.get(rework_id(node.id))
        if rework is not None and not rework.invalidated:
            return rework.output
        return "\n".join(context.inputs.values())
    if action is GateAction.REWORK and node.rework is not None:
        produced = _call(node.id, node.rework, context)
        if isinstance(produced, Failed):
            return produced
        reason = context.user_input or ""
        identity = node_identity(f"rework of {node.id}", {"reason": reason})
        claim.record(NodeResult(rework_id(node.id), identity, produced, (node.id,)))
        log.step(node.id, Did.REWORKED, f"on-reject prompt ran with {reason!r}")
    claim.pause(node.gate)
    log.step(node.id, Did.PAUSED, "waiting for a decision")
    return Paused(node.gate)
