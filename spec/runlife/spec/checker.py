"""An exhaustive, breadth-first explicit-state model checker for the runlife machines.

A machine (see :class:`Machine`) says what its initial states are, what steps each state can
take, how to reduce a state by symmetry, and which invariants, step properties, goals and
progress properties must hold. The checker knows nothing else about it.

Breadth-first order makes every counterexample a shortest one. The explored graph is kept, so
progress (liveness) is checked on it, and other parts of runlife read it: the conformance kit
replays the shortest path to every edge against a store (transition tours), and the diagrams
draw what is actually reachable.
"""

from __future__ import annotations

import builtins
import gc
import time
from array import array
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from runlife.spec.results import show

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a behaviour: who did what, with which arguments, and what it answered."""

    actor: str
    name: str
    args: tuple[object, ...] = ()
    result: object = None

    def __str__(self) -> str:
        args = ", ".join(repr(a) for a in self.args)
        result = "" if self.result is None else f" -> {show(self.result)}"
        return f"{self.actor}: {self.name}({args}){result}"


@dataclass(frozen=True)
class Invariant(Generic[S]):
    """A named predicate every reachable state must satisfy."""

    name: str
    holds: Callable[[S], bool]
    doc: str
    seed: str


@dataclass(frozen=True)
class StepProperty(Generic[S]):
    """A named predicate every step (before, action, after) must satisfy."""

    name: str
    holds: Callable[[S, Action, S], bool]
    doc: str
    seed: str


@dataclass(frozen=True)
class Progress(Generic[S]):
    """From every state where ``pending`` holds, some state where ``done`` holds is reachable.

    States cut off by the bounds count as able to progress: the checker reports only
    violations it has fully explored.
    """

    name: str
    pending: Callable[[S], bool]
    done: Callable[[S], bool]
    doc: str
    seed: str


@dataclass(frozen=True)
class Goal(Generic[S]):
    """A step that must be reachable: it proves the bounds still let the behaviour happen
    (a spec that can never recover an orphan satisfies every safety property vacuously)."""

    name: str
    reached: Callable[[S, Action, S], bool]
    doc: str
    seed: str


class Machine(Protocol[S]):
    """What the checker needs from a machine."""

    @builtins.property
    def name(self) -> str: ...

    @builtins.property
    def invariants(self) -> Sequence[Invariant[S]]: ...

    @builtins.property
    def step_properties(self) -> Sequence[StepProperty[S]]: ...

    @builtins.property
    def progress(self) -> Sequence[Progress[S]]: ...

    def initial(self) -> Iterable[S]: ...

    # Machines may also have ``goals: Sequence[Goal[S]]`` (checked when present) and
    # ``edge(before, action, after) -> Hashable`` (labels for reachable_edges).

    def next(self, state: S) -> Iterable[tuple[Action, S]]:
        """Every step the state can take, refusals (self-loops) included."""
        ...

    def within_bounds(self, state: S) -> bool:
        """False for states beyond the bounds: checked, but not expanded."""
        ...

    def canonical(self, state: S) -> Hashable:
        """A key equal for states that are the same up to renaming interchangeable ids."""
        ...

    def key(self, state: S) -> Hashable:
        """A key equal only for equal states (used when symmetry reduction is off)."""
        ...

    def orbit(self, state: S) -> int:
        """How many distinct states the symmetry class of ``state`` holds."""
        ...

    def describe(self, state: S) -> Mapping[str, object]:
        """The state's fields, flattened, for printing what a step changed."""
        ...


class Asymmetric:
    """For a machine with no interchangeable ids: every state is its own class."""

    def key(self, state: object) -> Hashable:
        return state

    def canonical(self, state: object) -> Hashable:
        return state

    def orbit(self, state: object) -> int:
        return 1


@dataclass
class Violation(Generic[S]):
    """A property that failed, with the shortest behaviour that shows it."""

    property: str
    doc: str
    seed: str
    kind: str  # "invariant", "step", "progress", "goal"
    path: list[tuple[Action | None, S]]

    @builtins.property
    def steps(self) -> list[Action]:
        return [a for a, _ in self.path if a is not None]


@dataclass
class Exploration(Generic[S]):
    """Everything one run of the checker learned."""

    machine: str
    states: list[S] = field(default_factory=list)
    parent: array[int] = field(default_factory=lambda: array("q"))
    via: list[Action | None] = field(default_factory=list)
    depth: array[int] = field(default_factory=lambda: array("i"))
    edges: list[tuple[int, Action, int, Hashable]] = field(default_factory=list)
    """(source, action, target, label): the target is the stored representative of the
    successor's symmetry class, so the label (the machine's ``edge`` of the concrete step, or
    ``None`` when it has none) is computed before reduction."""
    truncated: set[int] = field(default_factory=set)
    violations: list[Violation[S]] = field(default_factory=list)
    transitions: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    symmetry: bool = True
    unreduced: int | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def max_depth(self) -> int:
        return max(self.depth, default=0)

    @property
    def rate(self) -> float:
        """Distinct states per second of this process's CPU time (robust to a busy machine)."""
        return len(self.states) / self.cpu_seconds if self.cpu_seconds else float("inf")

    def path_to(self, index: int) -> list[tuple[Action | None, S]]:
        """The shortest behaviour from an initial state to state ``index``."""
        path: list[tuple[Action | None, S]] = []
        while index >= 0:
            path.append((self.via[index], self.states[index]))
            index = self.parent[index]
        path.reverse()
        return path


def explore(
    machine: Machine[S],
    *,
    symmetry: bool = True,
    keep_edges: bool = True,
    stop_at_first: bool = True,
    stop_at: str | None = None,
    max_states: int | None = None,
    labels: bool = False,
) -> Exploration[S]:
    """Explore every reachable state breadth-first, checking every property on the way.

    Exploration stops at the first violation (``stop_at_first``), or once the property named
    ``stop_at`` is violated; breadth-first order makes that violation's path a shortest one.
    ``labels`` records the machine's ``edge`` of every step, for :func:`reachable_edges`.
    """
    collecting = gc.isenabled()
    gc.disable()  # millions of long-lived small objects: the cyclic collector only slows us
    try:
        return _explore(machine, symmetry, keep_edges, stop_at_first, stop_at, max_states, labels)
    finally:
        if collecting:
            gc.enable()


def _explore(
    machine: Machine[S],
    symmetry: bool,
    keep_edges: bool,
    stop_at_first: bool,
    stop_at: str | None,
    max_states: int | None,
    labels: bool,
) -> Exploration[S]:
    started, started_cpu = time.perf_counter(), time.process_time()
    result: Exploration[S] = Exploration(machine.name, symmetry=symmetry)
    key = machine.canonical if symmetry else machine.key
    seen: dict[Hashable, int] = {}
    frontier: deque[int] = deque()
    failed: set[str] = set()
    label: Callable[[S, Action, S], Hashable] | None = (
        getattr(machine, "edge", None) if labels else None
    )
    goals: list[Goal[S]] = list(getattr(machine, "goals", ()))
    unreached = {goal.name: goal for goal in goals}
    interned: dict[Hashable, Hashable] = {}  # one object per distinct label

    def add(state: S, parent: int, action: Action | None) -> int:
        index = len(result.states)
        result.states.append(state)
        result.parent.append(parent)
        result.via.append(action)
        result.depth.append(0 if parent < 0 else result.depth[parent] + 1)
        for inv in machine.invariants:
            if inv.name not in failed and not inv.holds(state):
                failed.add(inv.name)
                result.violations.append(
                    Violation(inv.name, inv.doc, inv.seed, "invariant", result.path_to(index))
                )
        if machine.within_bounds(state):
            frontier.append(index)
        else:
            result.truncated.add(index)
        return index

    for state in machine.initial():
        k = key(state)
        if k not in seen:
            seen[k] = add(state, -1, None)

    def done() -> bool:
        if stop_at is not None:
            return stop_at in failed
        return stop_at_first and bool(result.violations)

    while frontier and not done():
        if max_states is not None and len(result.states) >= max_states:
            result.truncated.update(frontier)
            break
        index = frontier.popleft()
        state = result.states[index]
        for action, after in machine.next(state):
            result.transitions += 1
            for prop in machine.step_properties:
                if prop.name not in failed and not prop.holds(state, action, after):
                    failed.add(prop.name)
                    path = [*result.path_to(index), (action, after)]
                    result.violations.append(
                        Violation(prop.name, prop.doc, prop.seed, "step", path)
                    )
            for goal in [g for g in unreached.values() if g.reached(state, action, after)]:
                del unreached[goal.name]
            if after is state:  # a refusal or a query: the state is unchanged
                target = index
            else:
                k = key(after)
                found = seen.get(k)
                target = seen[k] = add(after, index, action) if found is None else found
            if keep_edges:
                edge = None
                if label is not None:
                    edge = label(state, action, after)
                    edge = interned.setdefault(edge, edge)
                result.edges.append((index, action, target, edge))

    if not frontier and not done():  # the whole graph is known: check it as a whole
        if keep_edges:
            result.violations.extend(_check_progress(machine, result))
        for goal in unreached.values():
            result.violations.append(Violation(goal.name, goal.doc, goal.seed, "goal", []))
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - started_cpu
    return result


def _check_progress(machine: Machine[S], ex: Exploration[S]) -> list[Violation[S]]:
    """For each progress property: states from which ``done`` can never be reached."""
    predecessors: list[list[int]] = [[] for _ in ex.states]
    for source, _, target, _ in ex.edges:
        predecessors[target].append(source)
    found: list[Violation[S]] = []
    for prop in machine.progress:
        good = [i for i, s in enumerate(ex.states) if prop.done(s) or i in ex.truncated]
        can = set(good)
        queue = deque(good)
        while queue:
            for p in predecessors[queue.popleft()]:
                if p not in can:
                    can.add(p)
                    queue.append(p)
        stuck = [i for i, s in enumerate(ex.states) if i not in can and prop.pending(s)]
        if stuck:
            worst = min(stuck, key=lambda i: ex.depth[i])
            found.append(Violation(prop.name, prop.doc, prop.seed, "progress", ex.path_to(worst)))
    return found


def count_unreduced(machine: Machine[S], ex: Exploration[S]) -> int:
    """The states of every symmetry class found: an upper bound on what the exploration would
    find without symmetry reduction (a renamed twin can be unreachable, e.g. when creation
    order shows in the times). ``explore(symmetry=False)`` gives the exact figure."""
    return sum(machine.orbit(s) for s in ex.states)


def format_counterexample(machine: Machine[S], violation: Violation[S]) -> str:
    """Numbered steps a person can read: actor, action, arguments, result, what changed."""
    lines = [
        f"{violation.kind} violated: {violation.property} (seed {violation.seed})",
        f"  {violation.doc}",
        f"shortest counterexample, {len(violation.steps)} steps:",
    ]
    previous: Mapping[str, object] | None = None
    for number, (action, state) in enumerate(violation.path):
        now = machine.describe(state)
        if action is None:
            lines.append("  0. initial state")
        else:
            lines.append(f"  {number}. {action}")
            assert previous is not None
            for name, value in now.items():
                before = previous.get(name, _ABSENT)
                if before is _ABSENT and value in (None, "none", "nothing"):
                    continue
                if before != value:
                    shown = "-" if before is _ABSENT else before
                    lines.append(f"       {name}: {shown} -> {value}")
        previous = now
    if violation.kind == "progress":
        lines.append("  from here no continuation reaches the goal")
    if violation.kind == "goal":
        lines[2] = "never reached in the whole explored graph: the bounds are too small"
    return "\n".join(lines)


_ABSENT = object()


def reachable_edges(
    ex: Exploration[S], label: Callable[[S, Action, S], Hashable] | None = None
) -> dict[Hashable, list[Action]]:
    """Every distinct edge label, with the shortest behaviour ending in such an edge.

    The labels are the machine's ``edge`` of each concrete step, recorded while exploring with
    ``labels=True`` (``label`` is accepted for callers that name it, and must be that same
    method). The result
    maps each label to the actions from an initial state up to and including that edge.
    """
    best: dict[Hashable, tuple[int, int, Action]] = {}
    for source, action, _, edge in ex.edges:
        if edge is None:
            raise ValueError(
                f"the {ex.machine} exploration has no edge labels: explore it with labels=True"
                " (the machine needs an edge() method)"
            )
        length = ex.depth[source]
        if edge not in best or length < best[edge][0]:
            best[edge] = (length, source, action)
    tours: dict[Hashable, list[Action]] = {}
    for edge, (_, source, action) in best.items():
        tours[edge] = [a for a, _ in ex.path_to(source) if a is not None] + [action]
    return tours
