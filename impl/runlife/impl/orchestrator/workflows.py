"""Workflows the reference orchestrator executes: small DAGs of named nodes.

A node is one of three kinds:

* :class:`Task`: a Python callable ``body(context) -> output``; it fails the run by raising
  (:class:`NodeFailed`, or any exception its code raises, like a script exiting non-zero).
* :class:`Approval`: a human gate. The run pauses there until someone approves or rejects; a
  rejection runs the optional ``rework`` (the on-reject prompt), then pauses again.
* :class:`Loop`: an interactive loop talking to a model provider, one iteration per execution
  when ``interactive``; between iterations the run pauses at the loop's own gate.

A node's *definition* is the text its cache identity is hashed from (seed 002): by default the
source code of its callables and its settings, so editing a node's code changes its identity
and its old output is never reused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runlife.spec import cache
from runlife.spec.records import Gate, GateSpec, Run


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What a node body sees.

    ``message``: the run's own request. ``inputs``: the outputs of the nodes it depends on.
    ``user_input``: what the user handed this execution (a resume's message, an approval's
    words, a rejection's reason), or None on a fresh run.
    """

    run_id: str
    message: str
    inputs: Mapping[str, str]
    user_input: str | None = None


class NodeFailed(Exception):
    """Raised by a node body to fail the run with this message."""


class UnknownWorkflow(LookupError):
    """A request names a workflow the orchestrator does not have; the message lists those it has."""


class UnknownNode(LookupError):
    """A node id that the run's workflow does not have; the message lists those it has."""


Body = Callable[[NodeContext], str]


@dataclass(frozen=True)
class Task:
    """A node that runs ``body`` and records what it returns.

    ``always_run``: never reuse its recorded output on resume. ``definition``: the text its
    identity is hashed from, when the body's source is not the whole story (it reads a file).
    """

    id: str
    body: Body
    depends_on: tuple[str, ...] = ()
    always_run: bool = False
    definition: str = ""


@dataclass(frozen=True)
class Approval:
    """A gate a person approves or rejects. ``rework`` is the on-reject prompt: with one, a
    rejection runs it (with the reason as ``user_input``) and asks again, up to
    ``max_attempts`` rejections; without one, a rejection cancels the run."""

    id: str
    depends_on: tuple[str, ...] = ()
    rework: Body | None = None
    max_attempts: int = 3

    @property
    def gate(self) -> GateSpec:
        return GateSpec(self.id, on_reject=self.rework is not None, max_attempts=self.max_attempts)


@dataclass(frozen=True)
class Loop:
    """An interactive loop: each iteration sends ``prompt(context, iteration)`` to the provider
    and stops when ``until(reply)`` holds or after ``max_iterations``. ``interactive`` pauses at
    the loop's gate after every iteration that does not stop it; ``fresh_context`` starts
    every iteration in a new provider session."""

    id: str
    prompt: Callable[[NodeContext, int], str]
    until: Callable[[str], bool]
    depends_on: tuple[str, ...] = ()
    max_iterations: int = 10
    interactive: bool = True
    fresh_context: bool = False

    @property
    def gate(self) -> GateSpec:
        return GateSpec(self.id)


Node = Task | Approval | Loop


def source(function: Callable[..., object] | None) -> str:
    """The source code of ``function`` (its qualified name when the source is unavailable)."""
    if function is None:
        return "-"
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"


def definition(node: Node) -> str:
    """The text ``node``'s cache identity is hashed from: its kind, settings and code."""
    match node:
        case Task():
            return f"task {node.id}\n{node.definition or source(node.body)}"
        case Approval():
            return f"approval {node.id} max_attempts={node.max_attempts}\n{source(node.rework)}"
        case Loop():
            settings = (
                f"max_iterations={node.max_iterations} interactive={node.interactive}"
                f" fresh_context={node.fresh_context}"
            )
            return f"loop {node.id} {settings}\n{source(node.prompt)}\n{source(node.until)}"


@dataclass(frozen=True)
class Workflow:
    """A named DAG of nodes, listed in dependency order; ``about`` is one line for listings."""

    name: str
    nodes: tuple[Node, ...]
    about: str = ""
    definitions: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cache.check_dag(self.dag)
        object.__setattr__(self, "definitions", {n.id: definition(n) for n in self.nodes})

    @property
    def dag(self) -> cache.Dag:
        """The nodes as the cache policy sees them."""
        return tuple(
            cache.Node(n.id, n.depends_on, isinstance(n, Task) and n.always_run) for n in self.nodes
        )

    def node(self, node_id: str) -> Node:
        """The node called ``node_id``; :class:`UnknownNode` names the ones there are."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        known = ", ".join(n.id for n in self.nodes)
        raise UnknownNode(f"workflow {self.name} has no node {node_id!r}; its nodes: {known}")


def gate_of(run: Run, node_id: str) -> Gate | None:
    """The gate ``run`` waits at, if it is node ``node_id``'s (a decision on another gate
    means nothing to this node)."""
    return run.gate if run.gate is not None and run.gate.spec.node_id == node_id else None


def find_workflow(workflows: Mapping[str, Workflow], name: str) -> Workflow:
    """The workflow called ``name``; :class:`UnknownWorkflow` names the ones there are."""
    workflow = workflows.get(name)
    if workflow is None:
        known = ", ".join(sorted(workflows)) or "none"
        raise UnknownWorkflow(f"no workflow named {name!r}; known workflows: {known}")
    return workflow
