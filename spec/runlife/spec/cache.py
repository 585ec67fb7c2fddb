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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from runlife.spec import store
from runlife.spec.checker import Action, Asymmetric, Goal, Invariant, Progress, StepProperty
from runlife.spec.core import _doc
from runlife.spec.records import NewRun, NodeResult, Timing
from runlife.spec.results import Claimed, Invalidated, Status
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import Step, StoreState, create_run
from runlife.spec.variants import Variant


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
    """The preview of a resume: one decision per node, in ``dag`` order, before anything
    executes.

    A node's inputs are the recorded outputs of the dependencies the plan skips; a dependency
    that runs again may produce another output, so every node reading it is planned to run
    (``input_changed``). The executor itself decides node by node with :func:`decide_node` on
    the outputs actually produced, so it may still skip a consumer whose producer re-ran to
    the same output; it never runs a node this preview skips (the machine checks that).
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


# --- the machine ---------------------------------------------------------------------------
#
# The seed's workflow: a producer ``persist`` writes a JSON draft, ``parse`` reads it, ``publish``
# uses the parsed result. The author fixes ``persist`` (its first version exits 0 with
# garbage) and ``publish`` (its first version fails). Each execution starts or resumes the one
# run, decides node by node, runs or replays each node, records what ran, and fails at the
# first node that fails. Between executions the user may invalidate a node, alone or with everything
# downstream, and may execute with no resume.

SEED = "002"
RUN_ID = "r0"
TIMING = Timing(lease_ttl=1, stale_after=1)
PRODUCER, CONSUMER, PUBLISHER = "persist", "parse", "publish"
DAG: Dag = (Node(PRODUCER), Node(CONSUMER, (PRODUCER,)), Node(PUBLISHER, (CONSUMER,)))
FIXABLE = (PRODUCER, PUBLISHER)
GARBAGE = "{garbage"


def definition(node: str, fixed: bool) -> str:
    """A node's resolved definition: the first version, or the one the author fixed."""
    return f"{node} v2" if fixed else f"{node} v1"


def produce(node: str, fixed: bool, inputs: Mapping[str, str]) -> str | None:
    """What running ``node`` outputs from ``inputs`` (``None``: it fails). The ground truth the
    cache must agree with: the producer's first version exits 0 with garbage; the consumer
    fails on garbage; the publisher's first version fails."""
    if node == PRODUCER:
        return '{"draft": 1}' if fixed else GARBAGE
    if GARBAGE in inputs.values() or (node == PUBLISHER and not fixed):
        return None
    return f"{node}({','.join(inputs.values())})"


@dataclass(frozen=True, slots=True)
class NodeStep:
    """What one node did in an execution: the decision, the outputs it read, and what it
    output (replayed when skipped; ``None`` when it failed)."""

    decision: NodeDecision
    inputs: tuple[tuple[str, str], ...]
    output: str | None


@dataclass(frozen=True, slots=True)
class Execution:
    """What an execution did, node by node, beside the plan :func:`plan_resume` previewed."""

    preview: tuple[NodeDecision, ...]
    steps: tuple[NodeStep, ...]


@dataclass(frozen=True, slots=True)
class CacheState:
    """The store (one run), the nodes the author has fixed, and the nodes the user asked to
    invalidate that have not run since."""

    store: StoreState
    fixed: frozenset[str] = frozenset()
    asked: frozenset[str] = frozenset()


NodePolicy = Callable[[Node, str, Mapping[str, str] | None, NodeResult | None, bool], NodeDecision]
"""The per-node decision, as :func:`decide_node`."""


@dataclass(frozen=True)
class CacheBounds:
    """How much to explore: how many executions (claims) the run may have."""

    epochs: int = 4


Steps = Iterator[tuple[Action, CacheState]]


class CacheMachine(Asymmetric):
    """Executions, fixes and invalidations of a producer -> consumer -> publisher run."""

    name = "cache"

    def __init__(
        self,
        bounds: CacheBounds | None = None,
        rules: Rules = CORRECT,
        decide: NodePolicy = decide_node,
    ) -> None:
        self.bounds = bounds or CacheBounds()
        self.rules = rules
        self.decide = decide
        self.invariants: tuple[Invariant[CacheState], ...] = ()
        self.step_properties = tuple(
            StepProperty(p.__name__, p, _doc(p), SEED)
            for p in (
                cache_never_stale,
                fix_takes_effect,
                invalidation_takes_effect,
                plan_never_overpromises,
            )
        )
        self.progress: tuple[Progress[CacheState], ...] = ()
        self.goals = CACHE_GOALS

    def initial(self) -> Iterator[CacheState]:
        store, _ = create_run(StoreState(), NewRun("release", "draft the changelog"), RUN_ID)
        yield CacheState(store)

    def next(self, s: CacheState) -> Steps:
        for fixable in FIXABLE:
            if fixable not in s.fixed:
                yield Action("author", "fix", (fixable,)), replace(s, fixed=s.fixed | {fixable})
        for node in DAG:
            for downstream in (False, True):
                yield from self.user_invalidates(s, node.id, downstream)
        for resume in (True, False):
            yield from self.execute(s, resume)

    def user_invalidates(self, s: CacheState, node: str, downstream: bool) -> Steps:
        store, result = self.rules.invalidate_nodes(s.store, RUN_ID, node, downstream)
        asked = downstream_of(DAG, node) if downstream else {node}
        after = replace(s, store=store, asked=s.asked | asked)
        yield Action("user", "invalidate", (node, downstream), result), after

    def execute(self, s: CacheState, resume: bool) -> Steps:
        """Claim the run, decide node by node on the outputs actually produced so far, and
        finish the run (failed at the first failing node, or completed)."""
        run = s.store.get(RUN_ID)
        if run is None or run.epoch >= self.bounds.epochs:
            return
        if run.status is Status.PENDING and resume:
            store, claim = self.rules.start_run(s.store, RUN_ID, "executor", TIMING)
        elif run.status is Status.FAILED:
            store, claim = self.rules.resume_run(s.store, RUN_ID, "executor", TIMING)
        else:
            return
        if not isinstance(claim, Claimed):
            return
        recorded = {n.node_id: n for n in run.nodes}
        definitions = {n.id: definition(n.id, n.id in s.fixed) for n in DAG}
        outputs: dict[str, str] = {}
        trace: list[NodeStep] = []
        for node in DAG:
            inputs = {d: outputs[d] for d in node.depends_on}
            prior = recorded.get(node.id)
            decision = self.decide(node, definitions[node.id], inputs, prior, resume)
            if isinstance(decision, Skip) and prior is not None:
                output: str | None = prior.output
            else:
                output = produce(node.id, node.id in s.fixed, inputs)
            trace.append(NodeStep(decision, tuple(inputs.items()), output))
            if output is None:
                store, _ = self.rules.fail_run(store, RUN_ID, claim.epoch, f"{node.id} failed")
                break
            outputs[node.id] = output
            if isinstance(decision, Execute):
                identity = node_identity(definitions[node.id], inputs)
                result = NodeResult(node.id, identity, output, node.depends_on)
                store, _ = self.rules.record_node_result(store, RUN_ID, claim.epoch, result)
        else:
            store, _ = self.rules.complete_run(store, RUN_ID, claim.epoch)
        ran = {step.decision.node for step in trace if isinstance(step.decision, Execute)}
        after = replace(s, store=store, asked=s.asked - ran)
        preview = plan_resume(DAG, definitions, recorded, resume)
        yield Action("executor", "execute", (resume,), Execution(preview, tuple(trace))), after

    def within_bounds(self, s: CacheState) -> bool:
        """Always: the epoch bound disables executions instead of cutting states off."""
        return True

    def describe(self, s: CacheState) -> Mapping[str, object]:
        run = s.store.get(RUN_ID)
        assert run is not None
        fields: dict[str, object] = {
            "run": f"{run.status} epoch {run.epoch}",
            "fixed": ", ".join(sorted(s.fixed)) or "none",
            "asked to invalidate": ", ".join(sorted(s.asked)) or "none",
        }
        for result in run.nodes:
            flag = " (invalidated)" if result.invalidated else ""
            fields[f"cached {result.node_id}"] = f"{result.output}{flag}"
        return fields


# --- properties ----------------------------------------------------------------------------


def _steps(action: Action) -> tuple[NodeStep, ...]:
    return action.result.steps if isinstance(action.result, Execution) else ()


def cache_never_stale(before: CacheState, action: Action, after: CacheState) -> bool:
    """A skipped node's replayed output is exactly what running it now would output, from its
    current definition and the outputs it reads in this execution.

    Protects resumes from replaying a result its node or its inputs no longer produce (seed
    002: the fixed producer stayed cached).
    """
    return all(
        step.output
        == produce(step.decision.node, step.decision.node in before.fixed, dict(step.inputs))
        for step in _steps(action)
        if isinstance(step.decision, Skip)
    )


def fix_takes_effect(before: CacheState, action: Action, after: CacheState) -> bool:
    """Once the producer is fixed, the consumer never again reads the broken producer's
    garbage; the very next execution takes the fix, without renaming any node.

    Protects the author's fix-and-resume loop (seed 002: only renaming the node helped).
    """
    if PRODUCER not in before.fixed:
        return True
    return all(
        GARBAGE not in dict(step.inputs).values()
        for step in _steps(action)
        if step.decision.node == CONSUMER
    )


def invalidation_takes_effect(before: CacheState, action: Action, after: CacheState) -> bool:
    """A node the user invalidated (alone, or as downstream of an invalidated node) runs
    again on the next execution that reaches it; it is never skipped.

    Protects the escape hatch for outputs the cache cannot see are bad (seed 002).
    """
    return not any(
        isinstance(step.decision, Skip) and step.decision.node in before.asked
        for step in _steps(action)
    )


def plan_never_overpromises(before: CacheState, action: Action, after: CacheState) -> bool:
    """Every node the up-front plan says will be reused is reused by the execution.

    Protects whoever shows the plan before a resume from promising a skip that will not
    happen (seed 002).
    """
    if not isinstance(action.result, Execution):
        return True
    actual = {step.decision.node: step.decision for step in action.result.steps}
    return all(
        isinstance(actual.get(planned.node, planned), Skip)
        for planned in action.result.preview
        if isinstance(planned, Skip)
    )


def _decides(decision: NodeDecision) -> Callable[[CacheState, Action, CacheState], bool]:
    return lambda before, action, after: any(s.decision == decision for s in _steps(action))


CACHE_GOALS: tuple[Goal[CacheState], ...] = (
    Goal("consumer_reused", _decides(Skip(CONSUMER)), "a resume reuses the consumer", SEED),
    Goal(
        "fixed_producer_reruns",
        _decides(Execute(PRODUCER, RunReason.DEFINITION_CHANGED)),
        "the fixed producer runs again",
        SEED,
    ),
    Goal(
        "invalidated_consumer_reruns",
        _decides(Execute(CONSUMER, RunReason.INVALIDATED)),
        "an invalidated consumer runs again",
        SEED,
    ),
    Goal(
        "run_completes",
        lambda before, action, after: after.store.runs[0].status is Status.COMPLETED,
        "the run completes once both nodes are fixed",
        SEED,
    ),
)
"""Steps the bounds must let happen, or the properties above would hold vacuously."""


# --- variants: the historical bugs ---------------------------------------------------------


def decide_keyed_by_node_id(
    node: Node,
    definition: str,
    inputs: Mapping[str, str] | None,
    prior: NodeResult | None,
    resume: bool,
) -> NodeDecision:
    """Seed 002 before the fix: on resume every node with a recorded success is skipped
    (``prior_success``); the cache key is the node id, so a changed node still matches."""
    if resume and prior is not None and not prior.invalidated and not node.always_run:
        return Skip(node.id)
    return decide_node(node, definition, inputs, prior, resume)


def invalidate_ignored(s: StoreState, run_id: str, node_id: str, downstream: bool) -> Step:
    """An invalidate command that answers but marks nothing."""
    _, result = store.invalidate_nodes(s, run_id, node_id, downstream)
    return s, replace(result, nodes=()) if isinstance(result, Invalidated) else result


def invalidate_only_the_node(s: StoreState, run_id: str, node_id: str, downstream: bool) -> Step:
    """``--downstream-of`` that invalidates only the named node, not its consumers."""
    return store.invalidate_nodes(s, run_id, node_id, False)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "cache_keyed_by_node_id",
        "resume skips every node with a recorded success, whatever changed since",
        SEED,
        "cache_never_stale",
        lambda: CacheMachine(decide=decide_keyed_by_node_id),
    ),
    Variant(
        "invalidate_ignored",
        "invalidating a node leaves its cached result in use",
        SEED,
        "invalidation_takes_effect",
        lambda: CacheMachine(rules=replace(CORRECT, invalidate_nodes=invalidate_ignored)),
    ),
    Variant(
        "downstream_not_invalidated",
        "invalidating downstream of a node leaves its consumers cached",
        SEED,
        "invalidation_takes_effect",
        lambda: CacheMachine(rules=replace(CORRECT, invalidate_nodes=invalidate_only_the_node)),
    ),
)
