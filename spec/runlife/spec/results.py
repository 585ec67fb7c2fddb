"""What an action answers: successes and typed refusals, as plain values.

The spec, the store contract and every store share these types; nothing here knows how a
transition is decided. A refusal is a value, never an exception: the caller reads why it was
refused (``RunNotResumable(status=RUNNING)``) and the state is left exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """The lifecycle status of a run."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.CANCELLED})
"""Statuses a run never leaves (seed 001: cancel must not resurrect or re-stamp them)."""

ABANDONABLE: frozenset[Status] = frozenset(
    {Status.PENDING, Status.RUNNING, Status.PAUSED, Status.FAILED}
)
"""Statuses abandon accepts (seed 000: a failed run must be abandonable)."""


class Platform(StrEnum):
    """Where the conversation that started a run lives (seed 003)."""

    WEB = "web"
    CLI = "cli"
    CHAT = "chat-other"


class GateDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class GateState(StrEnum):
    """Where an approval gate stands."""

    OPEN = "open"
    APPROVED = "approved"
    REWORK = "rework"
    """Rejected with an on-reject prompt: the rework is staged and runs on resume."""


# --- successes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    run_id: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A start or resume won: ``holder`` may execute the run while its lease is live.

    Every later executor write must carry ``epoch``; a write with an older epoch is refused.
    """

    run_id: str
    holder: str
    epoch: int
    lease_expires: float


@dataclass(frozen=True, slots=True)
class Renewed:
    """A heartbeat extended the holder's lease."""

    run_id: str
    epoch: int
    lease_expires: float


@dataclass(frozen=True, slots=True)
class Transitioned:
    """A pause, complete, fail or abandon took effect; ``status`` is the new status."""

    run_id: str
    status: Status


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What cancel did. ``cancelled`` is true only if this call changed the run (seed 001)."""

    run_id: str
    cancelled: bool
    status: Status


@dataclass(frozen=True, slots=True)
class Found:
    """What find-resumable answered: the most recent resumable run, or ``None``."""

    run_id: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """A node result or a loop session was stored for the run."""

    run_id: str
    node_id: str


@dataclass(frozen=True, slots=True)
class Invalidated:
    """These cached node results will not be reused on resume (seed 002); sorted node ids."""

    run_id: str
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GateResolved:
    """A decision was taken on an open gate. ``status`` is the run's status afterwards."""

    run_id: str
    decision: GateDecision
    gate: GateState | None
    status: Status
    rejections: int


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunNotFound:
    run_id: str


@dataclass(frozen=True, slots=True)
class RunNotResumable:
    """Resume lost: the run is not (or no longer) resumable. Someone else may be resuming it."""

    run_id: str
    status: Status


@dataclass(frozen=True, slots=True)
class RunNotStartable:
    """Start refused: the run is no longer pending (a cancel that won first sticks)."""

    run_id: str
    status: Status


@dataclass(frozen=True, slots=True)
class RunAlreadyTerminal:
    """Abandon refused: the run is completed or cancelled already."""

    run_id: str
    status: Status


@dataclass(frozen=True, slots=True)
class StaleClaim:
    """An executor write carried an epoch that no longer holds the run (fencing)."""

    run_id: str
    epoch: int
    current_epoch: int
    status: Status


@dataclass(frozen=True, slots=True)
class GateNotOpen:
    """A decision was refused: the run has no open gate (never paused, or already decided)."""

    run_id: str
    status: Status
    gate: GateState | None


@dataclass(frozen=True, slots=True)
class InvalidInput:
    """An argument is malformed (empty name, bad id, oversized text); nothing was stored."""

    field: str
    reason: str


Refusal = (
    RunNotFound
    | RunNotResumable
    | RunNotStartable
    | RunAlreadyTerminal
    | StaleClaim
    | GateNotOpen
    | InvalidInput
)
Success = (
    Created
    | Claimed
    | Renewed
    | Transitioned
    | CancelOutcome
    | Found
    | GateResolved
    | Recorded
    | Invalidated
)
Result = Success | Refusal

REFUSALS: tuple[type, ...] = (
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    RunAlreadyTerminal,
    StaleClaim,
    GateNotOpen,
    InvalidInput,
)


def show(value: object) -> str:
    """A result as a person reads it: ``Claimed(run_id='r0', epoch=2, ...)``, enums by value."""
    from dataclasses import fields, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        parts = ", ".join(f"{f.name}={show(getattr(value, f.name))}" for f in fields(value))
        return f"{type(value).__name__}({parts})"
    if isinstance(value, StrEnum):
        return value.value
    return repr(value)


def is_refusal(result: object) -> bool:
    """True for every refusal value."""
    return isinstance(result, REFUSALS)


def outcome(result: object) -> tuple[object, ...]:
    """The part of a result two stores must agree on: its kind and its decisive fields.

    Times (lease expiry) and run ids are left out: the spec and a store keep their own clocks
    and id schemes. Epochs, statuses and the cancel flag are in: they are the contract.
    """
    kind = type(result).__name__
    match result:
        case Claimed(epoch=epoch) | Renewed(epoch=epoch):
            return (kind, epoch)
        case Transitioned(status=s) | RunNotResumable(status=s) | RunNotStartable(status=s):
            return (kind, str(s))
        case RunAlreadyTerminal(status=s):
            return (kind, str(s))
        case CancelOutcome(cancelled=c, status=s):
            return (kind, c, str(s))
        case StaleClaim(epoch=e, current_epoch=c, status=s):
            return (kind, e, c, str(s))
        case GateNotOpen(status=s, gate=g):
            return (kind, str(s), None if g is None else str(g))
        case GateResolved(decision=d, gate=g, status=s, rejections=n):
            return (kind, str(d), None if g is None else str(g), str(s), n)
        case Found(run_id=r):
            return (kind, r)
        case Invalidated(nodes=nodes):
            return (kind, nodes)
        case InvalidInput(field=f):
            return (kind, f)
        case _:
            return (kind,)
