"""Interactive loop sessions (seed 004): which provider session a loop iteration sends.

An interactive loop node pauses at a gate after an iteration and waits for the user, often for
hours. The original bug: the resumed iteration sent the session saved at the gate, long
expired, and every resume crashed (``error_during_execution``). The upstream fix forced a
fresh session on the first iteration of every resume, which also threw away sessions that were
still valid (an approval a minute later lost its conversation); upstream later went back to
keeping them. :func:`choose_loop_session` satisfies both: expiry, not resumption, decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runlife.spec.records import LoopSession


class FreshReason(StrEnum):
    """Why an iteration starts a new provider session."""

    FIRST_ITERATION = "first_iteration"
    FRESH_CONTEXT = "fresh_context"
    NONE_STORED = "none_stored"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reuse:
    """Send ``session_id``: it is still valid, and continuing it keeps the conversation."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Fresh:
    """Start a new provider session, for ``reason``."""

    reason: FreshReason


SessionChoice = Reuse | Fresh


def session_expired(session: LoopSession, now: float, session_ttl: float) -> bool:
    """Whether the provider has forgotten ``session``: ``session_ttl`` has passed since it was
    last used (saved)."""
    return now - session.saved_at >= session_ttl


def choose_loop_session(
    stored: LoopSession | None,
    now: float,
    session_ttl: float,
    resuming: bool,
    iteration: int,
    start_iteration: int,
    fresh_context: bool = False,
) -> SessionChoice:
    """The session loop iteration ``iteration`` sends.

    ``stored`` is the session this loop node saved last (at the gate, for the first iteration
    of a resume; after the previous iteration, otherwise); pass ``None`` when the run's saved
    session belongs to another node. ``resuming`` and ``start_iteration``
    say whether this execution resumed the loop and at which iteration; the choice does not
    depend on them, on purpose: an expired session is never sent, however the loop got here,
    and a valid one is kept, however long ago the resume began.
    """
    if iteration <= 1:
        return Fresh(FreshReason.FIRST_ITERATION)
    if fresh_context:
        return Fresh(FreshReason.FRESH_CONTEXT)
    if stored is None:
        return Fresh(FreshReason.NONE_STORED)
    if session_expired(stored, now, session_ttl):
        return Fresh(FreshReason.EXPIRED)
    return Reuse(stored.session_id)
