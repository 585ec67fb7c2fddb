"""The node cache on resume (seed 002): which recorded node results a resume may reuse.

The original trap: on resume every node recorded as completed was skipped (``prior_success``)
and its output replayed, keyed by the node's *id*. A producer that exited 0 with bad output
stayed cached after its author fixed it, so the consumer failed forever; the only escape was
renaming the node. Here a node's identity is a content hash of its resolved definition and
the outputs it reads (:func:`node_identity`): a changed definition or a changed input is a new
identity, and a new identity never matches a prior success. On top of that the user can
invalidate a node (and optionally everything downstream of it), mark a node ``always_run``,
or dispatch with no resume at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from runlife.spec.records import NodeResult


@dataclass(frozen=True, slots=True)
class Node:
    """A node of a workflow DAG: its id, the nodes whose outputs it reads, its cache policy."""

    id: str
    depends_on: tuple[str, ...] = ()
    always_run: bool = False


Dag = tuple[Node, ...]
"""A workflow's nodes in topological order (every node after the nodes it depends on)."""


def check_dag(dag: Dag) -> None:
    """Raise ValueError naming the first node that is duplicated or depends on a node not
    listed before it (the order :func:`plan_resume` walks)."""
    seen: set[str] = set()
    for node in dag:
        if node.id in seen:
            raise ValueError(f"node {node.id!r} appears twice; give every node its own id")
        missing = [d for d in node.depends_on if d not in seen]
        if missing:
            raise ValueError(
                f"node {node.id!r} depends on {missing[0]!r}, which is not listed before it;"
                " list nodes in dependency order"
            )
        seen.add(node.id)


def node_identity(definition: str, inputs: Mapping[str, str]) -> str:
    """A content hash of a node's resolved definition and the outputs it reads.

    Two halves, ``<definition hash>:<inputs hash>`` (sha256, 32 hex digits each), so a
    mismatch can say which one changed. Inputs are hashed in node-id order, as JSON, so the
    order a mapping was built in never matters and no two input sets collide by concatenation.
    """
    encoded = json.dumps(sorted(inputs.items()), ensure_ascii=False, separators=(",", ":"))
    return f"{_digest(definition)}:{_digest(encoded)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RunReason(StrEnum):
    """Why a node runs on this execution instead of reusing its recorded output."""

    NO_RESUME = "no_resume"
    ALWAYS_RUN = "always_run"
    NO_PRIOR_RESULT = "no_prior_result"
    INVALIDATED = "invalidated"
    DEFINITION_CHANGED = "definition_changed"
    INPUT_CHANGED = "input_changed"


@dataclass(frozen=True, slots=True)
class Skip:
    """Reuse the node's recorded output: its identity is unchanged since it succeeded."""

    node: str
    reason: str = "prior_success"


@dataclass(frozen=True, slots=True)
class Execute:
    """Execute the node, for ``reason``."""

    node: str
    reason: RunReason


NodeDecision = Skip | Execute


def decide_node(
    node: Node,
    definition: str,
    inputs: Mapping[str, str] | None,
    prior: NodeResult | None,
    resume: bool,
) -> NodeDecision:
    """Skip ``node`` only if its recorded result ``prior`` is still exactly what it would
    produce: resume is on, the node is not ``always_run``, the result was not invalidated,
    and its identity equals ``node_identity(definition, inputs)``.

    ``inputs`` are the current outputs of the node's dependencies, or ``None`` when one of
    them is about to run again and its output is not known yet (the node then runs).
    """
    if not resume:
        return Execute(node.id, RunReason.NO_RESUME)
    if node.always_run:
        return Execute(node.id, RunReason.ALWAYS_RUN)
    if prior is None:
        return Execute(node.id, RunReason.NO_PRIOR_RESULT)
    if prior.invalidated:
        return Execute(node.id, RunReason.INVALIDATED)
    if prior.identity.partition(":")[0] != _digest(definition):
        return Execute(node.id, RunReason.DEFINITION_CHANGED)
    if inputs is None or node_identity(definition, inputs) != prior.identity:
        return Execute(node.id, RunReason.INPUT_CHANGED)
    return Skip(node.id)


def plan_resume(
    dag: Dag,
    definitions: Mapping[str, str],
    recorded: Mapping[str, NodeResult],
    resume: bool,
) -> tuple[NodeDecision, ...]:
    """One decision per node, in ``dag`` order, before anything executes.

    A node's inputs are the recorded outputs of the dependencies the plan skips; a dependency
    that runs again may produce another output, so every node reading it runs too
    (``input_changed``). An executor that decides node by node as outputs arrive can call
    :func:`decide_node` directly and skip a consumer whose producer re-ran to the same output.
    """
    check_dag(dag)
    undefined = [node.id for node in dag if node.id not in definitions]
    if undefined:
        raise ValueError(f"node {undefined[0]!r} has no definition; define every node")
    decisions: list[NodeDecision] = []
    reused: dict[str, str] = {}
    for node in dag:
        known = all(d in reused for d in node.depends_on)
        inputs = {d: reused[d] for d in node.depends_on} if known else None
        prior = recorded.get(node.id)
        decision = decide_node(node, definitions[node.id], inputs, prior, resume)
        if isinstance(decision, Skip) and prior is not None:
            reused[node.id] = prior.output
        decisions.append(decision)
    return tuple(decisions)


def downstream_of(dag: Dag, node_id: str) -> frozenset[str]:
    """``node_id`` and every node that reads its output, directly or through others."""
    reached = {node_id}
    for node in dag:
        if reached.intersection(node.depends_on):
            reached.add(node.id)
    return frozenset(reached)
