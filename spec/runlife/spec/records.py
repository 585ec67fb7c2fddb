"""The records a run store keeps, as frozen values shared by the spec and every store.

A store returns these from its queries (``get_run``, ``node_results``, ``loop_session``), so the
conformance kit can compare what a store holds with what the spec says it should hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runlife.spec.results import GateState, Platform, Status


@dataclass(frozen=True, slots=True)
class Timing:
    """The two time thresholds of a store, in the store's time unit (seconds for SQL).

    ``lease_ttl``: how long a claim lasts after a claim or heartbeat.
    ``stale_after``: inactivity after which a running run counts as an orphan and may be
    resumed by someone else. It must be at least ``lease_ttl``, or a live holder could lose its
    run while it still believes it holds it.
    """

    lease_ttl: float = 2
    stale_after: float = 2

    def __post_init__(self) -> None:
        if self.lease_ttl <= 0:
            raise ValueError(f"lease_ttl must be positive, got {self.lease_ttl}")
        if self.stale_after < self.lease_ttl:
            raise ValueError(
                f"stale_after ({self.stale_after}) must be at least lease_ttl ({self.lease_ttl})"
            )


@dataclass(frozen=True, slots=True)
class Conversation:
    """The conversation a run was started from: its id and the platform it lives on."""

    id: str
    platform: Platform


@dataclass(frozen=True, slots=True)
class NewRun:
    """What a caller supplies to create a run."""

    workflow: str
    user_message: str
    codebase: str = "main"
    conversation: Conversation | None = None
    working_path: str = ""


@dataclass(frozen=True, slots=True)
class Claim:
    """Who may execute a running run, under which fencing epoch, until when."""

    holder: str
    epoch: int
    lease_expires: float


@dataclass(frozen=True, slots=True)
class GateSpec:
    """An approval gate an executor pauses at."""

    node_id: str
    on_reject: bool = False
    """Whether a rejection stages a rework (the on-reject prompt) instead of cancelling."""
    max_attempts: int = 3
    """The rejection that reaches this count cancels the run instead of staging a rework."""


@dataclass(frozen=True, slots=True)
class Gate:
    """The gate a paused run waits at, and the decisions taken on it so far."""

    spec: GateSpec
    state: GateState = GateState.OPEN
    rejections: int = 0


@dataclass(frozen=True, slots=True)
class NodeResult:
    """A node's recorded output, keyed by its identity (seed 002).

    ``identity`` is a content hash of the node's resolved definition and inputs; a changed
    definition gives a new identity and so never matches a prior success.
    """

    node_id: str
    identity: str
    output: str
    depends_on: tuple[str, ...] = ()
    invalidated: bool = False


@dataclass(frozen=True, slots=True)
class LoopSession:
    """The provider session an interactive loop node last used (seed 004)."""

    node_id: str
    iteration: int
    session_id: str
    saved_at: float


@dataclass(frozen=True, slots=True)
class Run:
    """A workflow run as the store holds it."""

    id: str
    workflow: str
    user_message: str
    codebase: str = "main"
    conversation: Conversation | None = None
    working_path: str = ""
    status: Status = Status.PENDING
    created_at: float = 0
    started_at: float | None = None
    last_activity_at: float = 0
    completed_at: float | None = None
    error: str | None = None
    claim: Claim | None = None
    epoch: int = 0
    """The last fencing epoch issued; the next claim takes ``epoch + 1``."""
    gate: Gate | None = None
    nodes: tuple[NodeResult, ...] = field(default=())
    loop: LoopSession | None = None
