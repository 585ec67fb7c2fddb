"""Pictures of the spec, generated from it: a small graph model, DOT text and mermaid text.

Nothing here is drawn by hand. The lifecycle view's edges are the status changes the model
checker reaches at the machine's bound, each labelled with the actor's role, the action and its
guard in short (:data:`runlife.spec.store.GUARDS`). The reachable view draws the abstract graph
of one run (:meth:`CoreMachine.abstract`) and can mark the edges a conformance check exercised;
the gates, dispatch and loop views draw their machines' explored graphs the same way. A
counterexample becomes a sequence diagram: one lane per actor, one for the store.

Standard library only; :mod:`runlife.conformance.render` turns the DOT text into SVG or PNG.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from runlife.spec import store
from runlife.spec.checker import Action, Exploration, Machine, Violation, explore
from runlife.spec.core import Bounds, CoreMachine, CoreState
from runlife.spec.results import TERMINAL, Claimed, Status, is_refusal, show

S = TypeVar("S")

ABSENT = "absent"
"""The node a run is in before it is created (drawn as the initial dot)."""
FINISHED = frozenset(str(s) for s in TERMINAL)
"""The terminal statuses, as node names (drawn final)."""
STORE = "store"
"""The sequence diagram's lane for the store every action is sent to."""

ROLE_COLORS = {"user": "#1f5fbf", "executor": "#222222", "clock": "#7a7a7a"}
COVERED_COLOR, UNCOVERED_COLOR, BROKEN_COLOR = "#2e7d32", "#9e9e9e", "#c62828"
FONT = "Helvetica"


# --- the graph model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A state of the picture. ``final`` ones are drawn with a double border."""

    id: str
    label: str
    final: bool = False
    initial: bool = False


@dataclass(frozen=True)
class Edge:
    """An arrow; ``transitions`` are the (before, action, after) steps it stands for."""

    source: str
    target: str
    label: str
    role: str
    transitions: tuple[tuple[str, str, str], ...]
    covered: bool | None = None
    """Whether a conformance check exercised it; ``None`` when no report was given."""

    @property
    def id(self) -> str:
        """A stable identity naming every step the arrow stands for (also the SVG id)."""
        return " ".join(f"{b}|{a}|{t}" for b, a, t in self.transitions)


@dataclass(frozen=True)
class Note:
    """Explanatory text pinned next to node ``near``."""

    id: str
    text: str
    near: str


@dataclass(frozen=True)
class Cluster:
    """A box around ``members``; an edge whose source is the cluster leaves each of them."""

    id: str
    label: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Graph:
    """A state diagram: what :func:`to_dot` and :func:`to_mermaid` draw."""

    name: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    notes: tuple[Note, ...] = ()
    caption: str = ""
    clusters: tuple[Cluster, ...] = ()
    finals_apart: bool = False
    """Lay final states out two ranks past the box, so labels of edges leaving it sit clear
    of its border (helps dense views; lengthens sparse ones)."""


@dataclass(frozen=True, order=True)
class Transition:
    """What one step did to one run: ``before --action (by role)--> after``, states being
    statuses (the lifecycle) or abstract states (the other views)."""

    before: str
    action: str
    role: str
    after: str
    noop: bool = False
    """A successful action on a finished run, which changes nothing (cancel is a no-op)."""


AbstractEdge = tuple[str, str, str]
"""One step of one run's abstract state: (before, action, after), states as ``a/b/c``."""


# --- reading the explored graph --------------------------------------------------------------


def role(actor: str) -> str:
    """The part an actor plays in the pictures: ``user``, ``clock`` or ``executor``."""
    return "executor" if re.fullmatch(r"a\d+", actor) else actor


def successors(machine: Machine[S], ex: Exploration[S]) -> Iterator[tuple[S, Action, S]]:
    """Every explored step (before, action, after), ``after`` exactly as the step made it.

    The exploration's own edges end at each symmetry class's first-found member, whose runs
    may be renamed; re-expanding the explored states gives the concrete successor instead.
    """
    for index, state in enumerate(ex.states):
        if index not in ex.truncated:
            for action, after in machine.next(state):
                yield state, action, after


def status_changes(machine: CoreMachine, ex: Exploration[CoreState]) -> frozenset[Transition]:
    """Every reachable status change: a successful step that moves the run it acts on to
    another status (or creates it), or hands it to a new claim (a resumed orphan stays
    running under a new epoch)."""
    found: set[Transition] = set()
    for before, action, after in successors(machine, ex):
        if not action.args or is_refusal(action.result):
            continue
        run_id = str(action.args[0])
        old, new = before.store.get(run_id), after.store.get(run_id)
        if new is None or (old is not None and (old.status, old.epoch) == (new.status, new.epoch)):
            continue
        was = ABSENT if old is None else str(old.status)
        found.add(Transition(was, action.name, role(action.actor), str(new.status)))
    return frozenset(found)


def abstract_steps(
    machine: Machine[Any], ex: Exploration[Any], with_gate: bool = False
) -> frozenset[Transition]:
    """Every reachable change of a run's abstract state, and every successful action on a run
    (a heartbeat may change nothing abstract, but a store takes it).

    A run's abstract state is the machine's ``abstract(state, run_id)`` joined with ``/``
    (``running/live/fresh`` for the core machine); for a machine without one, its status and,
    ``with_gate``, the state of the gate an unfinished run is at (``paused/gate rework``).
    """
    state_of = _abstraction(machine, with_gate)
    found: set[Transition] = set()
    for before, action, after in successors(machine, ex):
        found.update(run_steps(machine, before, action, after, state_of))
    return frozenset(found)


def run_steps(
    machine: Machine[Any],
    before: object,
    action: Action,
    after: object,
    state_of: Callable[[object, str], str] | None = None,
) -> set[Transition]:
    """What one step did to each run: a change of its abstract state, or a successful action
    on it that left the abstract state as it was."""
    state_of = state_of or _abstraction(machine)
    runs = _store(machine, after).runs
    acted = acted_on(action, tuple(r.id for r in runs))
    found = set()
    for run in runs:
        was, now = state_of(before, run.id), state_of(after, run.id)
        if was != now or (acted == run.id and not is_refusal(action.result)):
            noop = was == now and was in FINISHED
            found.add(Transition(was, step_name(action), role(action.actor), now, noop))
    return found


def acted_on(action: Action, run_ids: tuple[str, ...]) -> str | None:
    """The run an action acts on: the one its first argument names; for a machine's own
    action, else the run its answer names (a prompt about a failed run), else the only run."""
    if action.args and str(action.args[0]) in run_ids:
        return str(action.args[0])
    if action.name in store.GUARDS or action.result is None or is_refusal(action.result):
        return None
    named = getattr(action.result, "run_id", None)
    if isinstance(named, str):
        return named
    return run_ids[0] if len(run_ids) == 1 else None


def step_name(action: Action) -> str:
    """A store action's name; a machine's own action also names the kind of its answer
    (``auto_resume→NotResumed``), which is what tells its outcomes apart."""
    if action.name in store.GUARDS or action.result is None or is_refusal(action.result):
        return action.name
    return f"{action.name}\u2192{type(action.result).__name__}"


class ViewUnavailable(Exception):
    """A view cannot be drawn (its machine is missing or holds no runs); says why."""


def _store(machine: Machine[Any], state: object) -> store.StoreState:
    held = getattr(state, "store", None)
    if not isinstance(held, store.StoreState):
        raise ViewUnavailable(f"the {machine.name} machine's states hold no run store to draw")
    return held


def _abstraction(machine: Machine[Any], with_gate: bool = False) -> Callable[[object, str], str]:
    abstract = getattr(machine, "abstract", None)
    if callable(abstract):
        return lambda state, run_id: "/".join(abstract(state, run_id))

    def status(state: object, run_id: str) -> str:
        run = _store(machine, state).get(run_id)
        if run is None:
            return ABSENT
        if not with_gate or run.gate is None or run.status in TERMINAL:
            return str(run.status)
        return f"{run.status}/gate {run.gate.state}"

    return status


def _order(action: str) -> int:
    names = [*store.GUARDS, "tick", "crash"]
    return names.index(action) if action in names else len(names)


def _label(role_name: str, actions: Iterable[str], noop: bool = False) -> str:
    """``role: action, action`` over ``[guard]``; one line per action if their guards differ.

    A step that changed nothing says so instead of naming a guard it did not pass.
    """
    names = sorted(set(actions), key=lambda a: (_order(a), a))
    guards = {"changes nothing" if noop else store.GUARDS.get(a) for a in names}
    if len(guards) > 1:
        return "\n".join(_label(role_name, [a]).replace("\n", " ") for a in names)
    guard = guards.pop()
    head = textwrap.wrap(
        f"{role_name}: {', '.join(names)}", 40, break_long_words=False, break_on_hyphens=False
    )
    return "\n".join(head) + ("" if guard is None else f"\n[{guard}]")


def _edges(
    steps: Iterable[Transition],
    box: Cluster,
    covered: Collection[AbstractEdge] | None = None,
) -> tuple[Edge, ...]:
    """One edge per (before, after, role, exercised or not), listing its actions; a state's
    self-loops are one edge whatever the roles (one line each); actions leading from every
    member of ``box`` to the same place are drawn once, from the box."""
    Kind = tuple[str, bool, bool | None]  # role ("*" on a self-loop), no-op, exercised
    by_pair: dict[tuple[str, str, Kind], list[tuple[str, str]]] = defaultdict(list)
    for step in sorted(steps, key=lambda t: (_state_order(t.before), _order(t.action), t)):
        hit = None if covered is None else (step.before, step.action, step.after) in covered
        kind = ("*" if step.before == step.after else step.role, step.noop, hit)
        by_pair[(step.before, step.after, kind)].append((step.role, step.action))
    sources: dict[tuple[str, Kind, tuple[tuple[str, str], ...]], set[str]] = defaultdict(set)
    for (before, after, kind), taken in by_pair.items():
        sources[(after, kind, tuple(taken))].add(before)
    edges: list[Edge] = []
    for (before, after, kind), taken in by_pair.items():
        _, noop, hit = kind
        befores = sources[(after, kind, tuple(taken))]
        from_box = len(box.members) > 1 and befores == set(box.members)
        if from_box and before != box.members[0]:
            continue
        tails = box.members if from_box else (before,)
        steps_drawn = tuple((b, a, after) for b in tails for _, a in taken)
        roles = dict.fromkeys(r for r, _ in taken)
        label = "\n".join(_label(r, [a for who, a in taken if who == r], noop) for r in roles)
        role_name = next(iter(roles)) if len(roles) == 1 else "mixed"
        source = box.id if from_box else before
        edges.append(Edge(source, after, label, role_name, steps_drawn, hit))
    return tuple(edges)


def _doc(obj: object, paragraph: int) -> str:
    """One paragraph of a docstring, reflowed, reST markup dropped."""
    text = (getattr(obj, "__doc__", None) or "").strip()
    parts = [" ".join(p.split()) for p in text.split("\n\n")]
    chosen = parts[paragraph] if paragraph < len(parts) else ""
    return re.sub(r":\w+:`([^`]+)`", r"\1", chosen).replace("``", "")


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _graph(
    name: str,
    title: str,
    steps: frozenset[Transition],
    caption: str,
    covered: Collection[AbstractEdge] | None = None,
    notes: tuple[Note, ...] = (),
    finals_apart: bool = False,
) -> Graph:
    """Nodes for every state the steps touch; unfinished ones boxed as "not terminal"."""
    present = sorted({t.before for t in steps} | {t.after for t in steps}, key=_state_order)
    box = Cluster(
        "unfinished", "not terminal", tuple(s for s in present if s not in FINISHED | {ABSENT})
    )
    edges = _edges(steps, box, covered)
    nodes = tuple(
        Node(s, "" if s == ABSENT else s.replace("/", "\n"), s in FINISHED, s == ABSENT)
        for s in present
    )
    boxed = (box,) if any(e.source == box.id for e in edges) else ()
    return Graph(name, title, nodes, edges, notes, _wrap(caption, 110), boxed, finals_apart)


# --- views -----------------------------------------------------------------------------------


def lifecycle(machine: CoreMachine, ex: Exploration[CoreState]) -> Graph:
    """The run lifecycle as the model checker reaches it: statuses and the actions between."""
    resumable = f"[resumable(run)] {_doc(store.resumable, 1)}"
    fencing = f"[epoch is current] {_doc(Claimed, 0)} {_doc(Claimed, 1)}"
    return _graph(
        "lifecycle",
        "The run lifecycle",
        status_changes(machine, ex),
        f"Every status change the model checker reaches at {_bounds(machine)} "
        f"({len(ex.states):,} states). Edges read role: action [guard]; double border: terminal.",
        notes=(
            Note("resumable", _wrap(resumable), str(Status.FAILED)),
            Note("fencing", _wrap(fencing), str(Status.RUNNING)),
        ),
    )


def reachable(
    machine: Machine[Any],
    ex: Exploration[Any],
    covered: Collection[AbstractEdge] | None = None,
    name: str = "reachable",
    with_gate: bool = False,
) -> Graph:
    """Each run's reachable abstract graph; with ``covered``, marks the steps a check took.
    ``with_gate``: see :func:`abstract_steps`."""
    steps = abstract_steps(machine, ex, with_gate)
    exercised = ""
    if covered is not None:
        hit = sum(1 for t in steps if (t.before, t.action, t.after) in covered)
        exercised = f" Green: exercised by the check ({hit} of {len(steps)} steps); grey: not."
    abstract = getattr(machine, "abstract", None)
    meaning = (
        _doc(abstract, 0)
        if abstract is not None
        else "A run's abstract state: its status"
        + (", and the state of the gate it is at." if with_gate else ".")
    )
    return _graph(
        name,
        f"{machine.name} machine: one run's reachable abstract states",
        steps,
        f"{meaning} Every change the model checker reaches at {_bounds(machine)} "
        f"({len(ex.states):,} states); refused actions are not drawn.{exercised}",
        covered,
        finals_apart=True,
    )


REACHABLE_BOUNDS = Bounds(runs=1, actors=2, ticks=3, epochs=3)
"""The small bound the ``reachable`` view explores the core machine at (one run: readable)."""

VIEWS: dict[str, str] = {
    "lifecycle": "every status change the model checker reaches (core machine, default bound)",
    "reachable": "one run's reachable abstract states (core machine, small bound); "
    "marks the steps a conformance report exercised",
    "gates": "the gates machine's reachable abstract states (seed 003)",
    "dispatch": "the dispatch machine's reachable abstract states (seed 000)",
    "loop": "the loop machine's reachable abstract states (seed 004)",
}
"""Every view ``runlife diagram --view`` draws, with what it shows."""

GATE_VIEWS = frozenset({"gates", "loop"})
"""Views of machines about a gate: a run's abstract state includes its gate's state."""


class Atlas:
    """Draws the views, exploring each machine once, on first use, and keeping the result."""

    def __init__(self, machines: Mapping[str, Callable[[], Machine[Any]]] | None = None) -> None:
        """``machines``: name -> factory; by default :data:`runlife.spec.machines.MACHINES`."""
        if machines is None:
            from runlife.spec.machines import MACHINES

            machines = MACHINES
        self.machines = machines
        self._explored: dict[str, tuple[Machine[Any], Exploration[Any]]] = {}

    def explored(self, name: str) -> tuple[Machine[Any], Exploration[Any]]:
        """Machine ``name`` (or ``reachable``: the core at :data:`REACHABLE_BOUNDS`), explored."""
        if name not in self._explored:
            if name == "reachable":
                machine: Machine[Any] = CoreMachine(REACHABLE_BOUNDS)
            elif name in self.machines:
                machine = self.machines[name]()
            else:
                known = ", ".join(self.machines)
                raise ViewUnavailable(
                    f"no {name} machine is registered in runlife.spec.machines.MACHINES"
                    f" (registered: {known})"
                )
            self._explored[name] = (machine, explore(machine, keep_edges=False))
        return self._explored[name]

    def view(self, name: str, covered: Collection[AbstractEdge] | None = None) -> Graph:
        """The graph of view ``name`` (one of :data:`VIEWS`)."""
        if name not in VIEWS:
            raise ViewUnavailable(f"no view named {name!r}; choose one of: {', '.join(VIEWS)}")
        if name == "lifecycle":
            core, ex = self.explored("core")
            assert isinstance(core, CoreMachine)
            return lifecycle(core, ex)
        machine, ex = self.explored(name)
        return reachable(machine, ex, covered, name, name in GATE_VIEWS)


def _state_order(state: str) -> tuple[int, str]:
    head = state.split("/")[0]
    names = [ABSENT, *(str(s) for s in Status)]
    return (names.index(head) if head in names else len(names), state)


def _bounds(machine: object) -> str:
    bounds = getattr(machine, "bounds", None)
    if bounds is None:
        return "its default bound"
    shown = ", ".join(
        f"{name} {getattr(bounds, name)}"
        for name in ("runs", "actors", "ticks", "epochs")
        if hasattr(bounds, name)
    )
    return f"the bound {shown}"


def covered_edges(report: Mapping[str, Any]) -> frozenset[AbstractEdge]:
    """The abstract steps a conformance report says were exercised.

    Reads ``{"covered_edges": [...]}``: each entry is ``[before, action, ..., after]`` (a JSON'd
    :meth:`CoreMachine.edge` label qualifies) or ``{"before", "action", "after"}``; a state is a
    string ``"running/live/fresh"`` or a list of its parts. Raises ValueError on anything else.
    """
    entries = report.get("covered_edges")
    if not isinstance(entries, list):
        raise ValueError('the report has no "covered_edges" list')
    found: set[AbstractEdge] = set()
    for entry in entries:
        if isinstance(entry, dict):
            parts: list[object] = [entry.get("before"), entry.get("action"), entry.get("after")]
        elif isinstance(entry, list) and len(entry) >= 3:
            parts = [entry[0], entry[1], entry[-1]]
        else:
            raise ValueError(f"covered edge {entry!r} is not [before, action, ..., after]")
        before, action, after = (_state_name(p) for p in parts)
        found.add((before, action, after))
    return frozenset(found)


def _state_name(part: object) -> str:
    if isinstance(part, str) and part:
        return part
    if isinstance(part, list) and part and all(isinstance(p, str) for p in part):
        return "/".join(part)
    raise ValueError(f"{part!r} is not a state or action name")


# --- DOT and mermaid -------------------------------------------------------------------------


def _quote(text: str, left: bool = False) -> str:
    """A DOT string; ``left`` justifies every line to the left."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    lines = escaped.replace("\n", "\\l") + "\\l" if left else escaped.replace("\n", "\\n")
    return f'"{lines}"'


class _Left(str):
    """A label whose lines are justified to the left."""


Attr = str | float


def _stmt(target: str, **attrs: Attr) -> str:
    """One DOT statement: ``target [name=value, ...];`` (floats bare, strings quoted)."""
    parts = [
        f"{k}={v if isinstance(v, float) else _quote(v, left=isinstance(v, _Left))}"
        for k, v in attrs.items()
    ]
    return f"  {target} [{', '.join(parts)}];"


GRAPH_STYLE: dict[str, Attr] = {
    "rankdir": "LR",
    "compound": "true",
    "fontname": FONT,
    "fontsize": 11.0,
    "nodesep": 0.5,
    "ranksep": 0.9,
    "labelloc": "b",
    "pad": 0.3,
}
STATE_STYLE: dict[str, Attr] = {
    "fontname": FONT,
    "fontsize": 12.0,
    "shape": "circle",
    "style": "filled",
    "fillcolor": "#f5f5f5",
    "color": "#444444",
    "margin": 0.05,
}
EDGE_STYLE: dict[str, Attr] = {"fontname": FONT, "fontsize": 10.0, "arrowsize": 0.7}
FINAL_STYLE: dict[str, Attr] = {"peripheries": 2.0, "fillcolor": "#e8e8e8"}
INITIAL_STYLE: dict[str, Attr] = {"shape": "point", "width": 0.18, "fillcolor": "#222222"}
BOX_STYLE: dict[str, Attr] = {"style": "rounded,dashed", "color": "#888888", "labelloc": "t"}
NOTE_STYLE: dict[str, Attr] = {
    "shape": "note",
    "fillcolor": "#fff8dc",
    "color": "#b8a04a",
    "fontsize": 10.0,
}


def to_dot(graph: Graph) -> str:
    """The graph as Graphviz DOT text (render it with ``dot -Tsvg``)."""
    lines = [
        f"digraph {_quote(graph.name)} {{",
        _stmt("graph", **GRAPH_STYLE, label=graph.caption),
        _stmt("node", **STATE_STYLE),
        _stmt("edge", **EDGE_STYLE),
    ]
    for node in graph.nodes:
        style = INITIAL_STYLE if node.initial else FINAL_STYLE if node.final else {}
        lines.append(_stmt(_quote(node.id), **style, label=node.label))
    for cluster in graph.clusters:
        lines.append(f"  subgraph {_quote('cluster_' + cluster.id)} {{")
        lines.append("  " + _stmt("graph", **BOX_STYLE, label=cluster.label))
        lines.extend(f"    {_quote(m)};" for m in cluster.members)
        lines.append("  }")
    for note in graph.notes:
        lines.append(_stmt(_quote(note.id), **NOTE_STYLE, label=_Left(note.text)))
    lines.extend(_dot_edge(graph, edge) for edge in graph.edges)
    if graph.finals_apart:
        finals = [n.id for n in graph.nodes if n.final]
        for member in (m for c in graph.clusters for m in c.members):
            lines += [
                _stmt(f"{_quote(member)} -> {_quote(f)}", style="invis", minlen=2.0) for f in finals
            ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_edge(graph: Graph, edge: Edge) -> str:
    """An edge coloured by role (or by coverage); an edge from a box leaves its border."""
    color = ROLE_COLORS.get(edge.role, "#222222")
    style = "dashed" if edge.role == "clock" else "solid"
    width = 1.2
    if edge.covered is True:
        color, width = COVERED_COLOR, 2.4
    elif edge.covered is False:
        color, style = UNCOVERED_COLOR, "dotted"
    # A self-loop is drawn through its label's lower half; blank lines lift the text clear.
    label = edge.label + "\n\n\n" if edge.source == edge.target else edge.label
    attrs: dict[str, Attr] = {"id": edge.id, "label": label, "color": color}
    attrs |= {"fontcolor": color, "style": style, "penwidth": width}
    tail = edge.source
    boxed = {m: c for c in graph.clusters for m in c.members}
    box = next((c for c in graph.clusters if c.id == edge.source), None)
    if box is not None:
        tail = box.members[-1]
        attrs |= {"ltail": "cluster_" + box.id, "minlen": 2.0}
    elif edge.source in boxed and edge.target not in boxed:
        attrs["minlen"] = 2.0  # leaves the box: room for the label outside its border
    return _stmt(f"{_quote(tail)} -> {_quote(edge.target)}", **attrs)


def _mermaid_id(state: str) -> str:
    return re.sub(r"\W", "_", state)


def to_mermaid(graph: Graph) -> str:
    """The graph as a mermaid ``stateDiagram-v2``."""
    lines = ["---", f"title: {graph.title}", "---", "stateDiagram-v2", "    direction LR"]
    for node in graph.nodes:
        if not node.initial and _mermaid_id(node.id) != node.id:
            lines.append(f'    state "{node.id}" as {_mermaid_id(node.id)}')
    for edge in graph.edges:
        text = edge.label.replace("\n", " ")
        for source in dict.fromkeys(b for b, _, _ in edge.transitions):
            start = "[*]" if source == ABSENT else _mermaid_id(source)
            lines.append(f"    {start} --> {_mermaid_id(edge.target)}: {text}")
    for node in graph.nodes:
        if node.final:
            lines.append(f"    {_mermaid_id(node.id)} --> [*]")
    for note in graph.notes:
        lines.append(f"    note right of {_mermaid_id(note.near)}")
        lines.extend(f"        {line}" for line in note.text.splitlines())
        lines.append("    end note")
    finals = [_mermaid_id(n.id) for n in graph.nodes if n.final]
    if finals:
        lines.append("    classDef terminal stroke-width:3px")
        lines.append(f"    class {','.join(finals)} terminal")
    return "\n".join(lines) + "\n"


# --- counterexamples as sequence diagrams ----------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One step of a trace: ``sender`` calls the store (or acts alone when ``local``), the
    store replies with the result, and ``changes`` says what the step changed."""

    sender: str
    call: str
    reply: str = ""
    changes: tuple[str, ...] = ()
    local: bool = False
    broke: bool = False
    """The step after which the property no longer held."""


@dataclass(frozen=True)
class Sequence:
    """A behaviour drawn as a sequence diagram: one lane per actor, one for the store."""

    name: str
    title: str
    lanes: tuple[str, ...]
    messages: tuple[Message, ...]
    caption: str = ""
    verdict: str = ""
    """What went wrong, printed under the last step."""


def _changed(before: Mapping[str, object], after: Mapping[str, object]) -> tuple[str, ...]:
    """``field: old -> new`` for each described field the step changed."""
    lines = []
    for name, value in after.items():
        old = before.get(name, None)
        if old != value and not (old is None and value in (None, "none", "nothing")):
            lines.append(f"{name}: {'-' if old is None else old} \u2192 {value}")
    return tuple(lines)


REPLY_CHARS = 160
"""The most characters of a result a sequence diagram shows (the rest is elided)."""


def _brief(text: str) -> str:
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1] + "\u2026"


def _call(action: Action) -> str:
    return f"{action.name}({', '.join(str(a) for a in action.args)})"


def behaviour(
    name: str,
    title: str,
    path: Iterable[tuple[Action | None, S]],
    describe: Callable[[S], Mapping[str, object]],
    caption: str = "",
    verdict: str = "",
) -> Sequence:
    """A path of (action, state after it) pairs, the first action ``None``, as a sequence."""
    messages: list[Message] = []
    previous: Mapping[str, object] = {}
    for action, state in path:
        now = describe(state)
        if action is not None:
            changes = _changed(previous, now)
            local = action.result is None and all(c.startswith(f"{action.actor}.") for c in changes)
            reply = "" if action.result is None else _brief(show(action.result))
            messages.append(Message(action.actor, _call(action), reply, changes, local))
        previous = now
    if verdict and messages:
        last = messages[-1]
        messages[-1] = Message(
            last.sender, last.call, last.reply, last.changes, last.local, broke=True
        )
    actors = dict.fromkeys(m.sender for m in messages)
    lanes = (*sorted(actors, key=_lane_order), STORE)
    return Sequence(name, title, lanes, tuple(messages), caption, verdict)


def _lane_order(actor: str) -> tuple[int, str]:
    rank = {"user": 0, "clock": 2}.get(actor, 1)
    return (rank, actor)


def counterexample(
    violation: Violation[Any], describe: Callable[[Any], Mapping[str, object]]
) -> Sequence:
    """A model checker's counterexample as a sequence diagram; the last step is marked."""
    return behaviour(
        f"counterexample-{violation.property}",
        f"{violation.kind} violated: {violation.property} (seed {violation.seed})",
        violation.path,
        describe,
        _wrap(violation.doc.replace("``", ""), 90),
        f"\u2717 after step {len(violation.steps)}, {violation.property} no longer holds"
        + (": no continuation reaches the goal" if violation.kind == "progress" else ""),
    )


def _extent(text: str, size: float = 10.0) -> tuple[float, float]:
    """Roughly how wide and tall ``text`` is in points (Helvetica averages 0.55 em)."""
    rows = text.splitlines() or [""]
    return max(len(r) for r in rows) * size * 0.55, len(rows) * size * 1.25


SEQUENCE_STYLE: dict[str, Attr] = {
    "layout": "neato",
    "inputscale": 72.0,
    "splines": "false",
    "fontname": FONT,
    "fontsize": 12.0,
    "labelloc": "t",
    "pad": 0.3,
}
LANE_STYLE: dict[str, Attr] = {
    "shape": "box",
    "style": "filled,rounded",
    "color": "#888888",
    "width": 0.9,
    "fontsize": 11.0,
}
LIFELINE_STYLE: dict[str, Attr] = {"style": "dashed", "color": "#bbbbbb", "arrowhead": "none"}


class _Canvas:
    """DOT statements with every node pinned at a position in points (y grows upwards)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def node(self, name: str, x: float, y: float, **attrs: Attr) -> None:
        self.lines.append(_stmt(_quote(name), pos=f"{x:.0f},{y:.0f}!", **attrs))

    def text(self, name: str, left: float, y: float, text: str, **attrs: Attr) -> None:
        """Left-justified ``text`` whose left edge is at ``left``, centred on ``y``."""
        width, height = _extent(text, float(attrs.get("fontsize", 10.0)))
        shape: dict[str, Attr] = {"shape": "plaintext", "fixedsize": "true"}
        shape |= {"width": 1.2 * width / 72, "height": height / 72}
        self.node(name, left + 0.6 * width, y, **shape, label=_Left(text), **attrs)

    def line(
        self, name: str, start: tuple[float, float], end: tuple[float, float], **attrs: Attr
    ) -> None:
        self.node(f"{name}@from", *start)
        self.node(f"{name}@to", *end)
        self.lines.append(_stmt(f"{_quote(name + '@from')} -> {_quote(name + '@to')}", **attrs))

    def arrow(
        self, name: str, xs: tuple[float, float], y: float, text: str, **attrs: Attr
    ) -> float:
        """An arrow from ``xs[0]`` to ``xs[1]`` below ``y`` with ``text`` over it; the new y."""
        height = _extent(text)[1]
        self.node(
            f"{name}@text",
            sum(xs) / 2,
            y - 4 - height / 2,
            shape="plaintext",
            label=text,
            fontcolor=attrs["color"],
            height=0.1,
            style="filled",
            fillcolor="white",
            margin="0.02,0",
        )
        y -= height + 10
        self.line(name, (xs[0], y), (xs[1], y), **attrs)
        return y


def sequence_to_dot(seq: Sequence) -> str:
    """The sequence as DOT with every position pinned (the ``neato`` engine keeps them): lanes
    are columns, each call and each reply a straight arrow on its own row, text above it, and
    what each step changed in a column on the right."""
    x = _lane_positions(seq)
    notes = x[STORE] + 40
    canvas = _Canvas()
    for lane in seq.lanes:
        fill = "#fdf1dc" if lane == STORE else "#eef2fb"
        canvas.node(f"{lane}@head", x[lane], 0, **LANE_STYLE, fillcolor=fill, label=lane)
    canvas.text("changes@head", notes, 0, "what changed", fontsize=11.0, fontcolor="#555555")
    y = -30.0
    for k, m in enumerate(seq.messages):
        color = BROKEN_COLOR if m.broke else ROLE_COLORS.get(role(m.sender), "#222222")
        top = y
        if m.local:
            y -= 22
            style: dict[str, Attr] = {"shape": "box", "style": "rounded,filled"}
            style |= {"fillcolor": "white", "color": color, "fontcolor": color}
            canvas.node(f"m{k}", x[m.sender], y, **style, label=m.call)
        else:
            y = canvas.arrow(f"m{k}", (x[m.sender], x[STORE]), y, m.call, color=color)
        if m.reply:
            reply = _wrap(m.reply, 48)
            y = canvas.arrow(
                f"r{k}", (x[STORE], x[m.sender]), y, reply, color=color, style="dashed"
            )
        if m.changes:
            text = "\n".join(m.changes)
            height = _extent(text)[1]
            canvas.text(
                f"c{k}", notes, min((top + y) / 2, top - 4 - height / 2), text, fontcolor=color
            )
            y = min(y, top - height - 8)
        y -= 8
    if seq.verdict:
        canvas.text("verdict", 0, y - 24, seq.verdict, fontsize=11.0, fontcolor=BROKEN_COLOR)
    for lane in seq.lanes:
        canvas.line(f"{lane}@life", (x[lane], -18), (x[lane], y - 10), **LIFELINE_STYLE)
    heading = f"{seq.title}\n{seq.caption}"
    return (
        "\n".join(
            [
                f"digraph {_quote(seq.name)} {{",
                _stmt("graph", **SEQUENCE_STYLE, label=heading),
                _stmt(
                    "node", fontname=FONT, fontsize=10.0, shape="point", width=0.01, color="#bbbbbb"
                ),
                _stmt("edge", **EDGE_STYLE),
                *canvas.lines,
                "}",
            ]
        )
        + "\n"
    )


def _lane_positions(seq: Sequence) -> dict[str, float]:
    """Lanes far enough apart that every message's text fits over its arrow."""
    gap = 110.0
    for m in seq.messages:
        span = abs(seq.lanes.index(m.sender) - seq.lanes.index(STORE)) or 1
        for text in (m.call, _wrap(m.reply, 48)):
            gap = max(gap, (_extent(text)[0] + 24) / span)
    return {lane: i * gap for i, lane in enumerate(seq.lanes)}


def sequence_to_mermaid(seq: Sequence) -> str:
    """The sequence as a mermaid ``sequenceDiagram``."""
    lines = ["sequenceDiagram", f"    title {seq.title}"]
    lines.extend(f"    participant {lane}" for lane in seq.lanes)
    for m in seq.messages:
        if m.local:
            lines.append(f"    Note over {m.sender}: {m.call}")
            continue
        lines.append(f"    {m.sender}->>{STORE}: {m.call}")
        if m.reply:
            lines.append(f"    {STORE}-->>{m.sender}: {m.reply}")
        if m.changes:
            lines.append(f"    Note right of {STORE}: {'<br/>'.join(m.changes)}")
    if seq.caption:
        lines.append(f"    Note over {seq.lanes[0]},{STORE}: {seq.caption.replace(chr(10), ' ')}")
    return "\n".join(lines) + "\n"
