"""What one execution of a run did: each node's fate, each provider session sent, how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from runlife.spec.loop import Reuse, SessionChoice
from runlife.spec.records import GateSpec
from runlife.spec.results import InvalidInput, RunNotFound, StaleClaim


class Did(StrEnum):
    """What happened to a node on one execution."""

    SKIPPED = "skipped"
    """Its recorded output was reused (``prior_success``)."""
    RAN = "ran"
    PASSED = "passed"
    """An approved gate let the run go on."""
    REWORKED = "reworked"
    """A rejected gate ran its on-reject prompt."""
    PAUSED = "paused"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NodeStep:
    """``node`` was ``did`` because ``why`` (a cache reason, a gate action, an error)."""

    node: str
    did: Did
    why: str


@dataclass(frozen=True, slots=True)
class SessionUse:
    """Loop iteration ``iteration`` of ``node`` chose ``choice``, sent ``sent`` (None: a fresh
    session) and continued in ``received``."""

    node: str
    iteration: int
    choice: SessionChoice
    sent: str | None
    received: str

    def describe(self) -> str:
        if isinstance(self.choice, Reuse):
            return f"iteration {self.iteration}: kept session {self.sent}"
        return (
            f"iteration {self.iteration}: fresh session ({self.choice.reason}) -> {self.received}"
        )


@dataclass(frozen=True, slots=True)
class Completed:
    """The run completed; ``output`` is its last node's output."""

    output: str


@dataclass(frozen=True, slots=True)
class Paused:
    """The run paused at ``gate``, waiting for a decision."""

    gate: GateSpec


@dataclass(frozen=True, slots=True)
class Failed:
    """Node ``node`` failed with ``error``; the run is failed."""

    node: str
    error: str


@dataclass(frozen=True, slots=True)
class Stopped:
    """The executor lost its claim (someone cancelled or took over the run) and stopped
    without writing anything more; ``refusal`` is the write the store refused."""

    refusal: StaleClaim | RunNotFound | InvalidInput


End = Completed | Paused | Failed | Stopped


@dataclass
class Log:
    """The steps and session uses of an execution as they happen."""

    steps: list[NodeStep] = field(default_factory=list)
    sessions: list[SessionUse] = field(default_factory=list)

    def step(self, node: str, did: Did, why: str) -> None:
        self.steps.append(NodeStep(node, did, why))


@dataclass(frozen=True)
class Execution:
    """One execution of run ``run_id`` under claim ``epoch``."""

    run_id: str
    epoch: int
    end: End
    steps: tuple[NodeStep, ...]
    sessions: tuple[SessionUse, ...]

    def nodes(self, did: Did) -> tuple[str, ...]:
        """The nodes that were ``did`` (ran, skipped...), in order."""
        return tuple(s.node for s in self.steps if s.did is did)

    def why(self, node: str) -> str | None:
        """Why ``node`` was skipped, ran or stopped, on this execution (None if not reached)."""
        return next((s.why for s in reversed(self.steps) if s.node == node), None)

    def describe(self) -> str:
        """One line: how the execution ended."""
        match self.end:
            case Completed(output=output):
                return f"run {self.run_id} completed: {output}"
            case Paused(gate=gate):
                return f"run {self.run_id} paused at {gate.node_id}, waiting for a decision"
            case Failed(node=node, error=error):
                return f"run {self.run_id} failed at {node}: {error}"
            case Stopped(refusal=refusal):
                status = getattr(refusal, "status", None)
                now = f" (it is {status} now)" if status is not None else ""
                return f"run {self.run_id}: lost its claim{now}; the executor stopped"
