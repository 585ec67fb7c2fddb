"""Interactive loop nodes and the model provider they talk to (seed 004).

Which session an iteration sends is the spec's :func:`runlife.spec.loop.choose_loop_session`:
an expired session is never sent, a valid one is kept. :class:`FakeProvider` is a deterministic
stand-in for a model provider whose sessions expire ``session_ttl`` after their last use; sent
an expired session it fails the way the real one did (``error_during_execution``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from runlife.impl.orchestrator.claims import Fenced
from runlife.impl.orchestrator.report import Did, Failed, Log, Paused, SessionUse
from runlife.impl.orchestrator.workflows import Loop, NodeContext, gate_of
from runlife.spec.gates import GateAction, at_gate
from runlife.spec.loop import Reuse, choose_loop_session
from runlife.spec.records import Run

DEFAULT_SESSION_TTL = 3600.0
"""Seconds a provider session lives after its last use, unless the provider says otherwise."""


class SessionExpired(Exception):
    """The provider refused a session it has forgotten (``error_during_execution``)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The provider's answer and the session it continued (or started)."""

    session_id: str
    text: str


class Provider(Protocol):
    """A model provider: answers a prompt in a session (None starts a new one)."""

    session_ttl: float

    def send(self, prompt: str, session_id: str | None) -> Reply: ...


class FakeProvider:
    """A deterministic provider: the reply echoes the prompt with the session and turn number.

    ``now`` is the clock sessions age by (pass the store's ``now`` so both agree). ``sent``
    lists every ``(prompt, session_id)`` it was sent, for tests and the demo.
    """

    def __init__(self, session_ttl: float, now: Callable[[], float]) -> None:
        self.session_ttl, self.now = session_ttl, now
        self.sent: list[tuple[str, str | None]] = []
        self._last_used: dict[str, float] = {}
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()

    def send(self, prompt: str, session_id: str | None) -> Reply:
        now = self.now()
        with self._lock:
            self.sent.append((prompt, session_id))
            if session_id is None:
                session_id = f"session-{len(self._last_used) + 1}"
            else:
                last = self._last_used.get(session_id)
                if last is None or now - last >= self.session_ttl:
                    raise SessionExpired(
                        f"error_during_execution: session {session_id} expired or unknown"
                    )
            self._last_used[session_id] = now
            turn = self._turns[session_id] = self._turns.get(session_id, 0) + 1
        return Reply(session_id, f"[{session_id} turn {turn}] {prompt}")


def run_loop(
    loop: Loop,
    run: Run,
    context: NodeContext,
    claim: Fenced,
    provider: Provider,
    log: Log,
) -> str | Failed | Paused:
    """Execute ``loop`` on ``run``: its final reply, a failure, or its gate once the run paused
    there (after an iteration that did not stop it, or because no decision was taken yet).

    A run paused at this loop's gate and approved continues with the iteration after the one
    it saved; each iteration sends the session :func:`choose_loop_session` chooses.
    """
    gate = gate_of(run, loop.id)
    stored = claim.loop_session(loop.id)
    if gate is not None and at_gate(gate) is GateAction.WAIT:
        claim.pause(loop.gate)
        log.step(loop.id, Did.PAUSED, "waiting for the user's reply")
        return Paused(loop.gate)
    resuming = gate is not None
    start = stored.iteration + 1 if resuming and stored is not None else 1
    user_input = context.user_input
    for iteration in range(start, loop.max_iterations + 1):
        claim.heartbeat()
        choice = choose_loop_session(
            stored,
            claim.store.now(),
            provider.session_ttl,
            resuming,
            iteration,
            start,
            loop.fresh_context,
        )
        sent = choice.session_id if isinstance(choice, Reuse) else None
        try:
            prompt = loop.prompt(replace(context, user_input=user_input), iteration)
            reply = provider.send(prompt, sent)
        except Exception as error:  # the loop's own code or the provider failed the node
            return Failed(loop.id, f"iteration {iteration}: {error}")
        claim.save_session(loop.id, iteration, reply.session_id)
        log.sessions.append(SessionUse(loop.id, iteration, choice, sent, reply.session_id))
        if loop.until(reply.text) or iteration == loop.max_iterations:
            return reply.text
        if loop.interactive:
            claim.pause(loop.gate)
            log.step(loop.id, Did.PAUSED, f"waiting for the user after iteration {iteration}")
            return Paused(loop.gate)
        stored, user_input = claim.loop_session(loop.id), None
    return Failed(loop.id, f"resumed after its last iteration ({loop.max_iterations})")
