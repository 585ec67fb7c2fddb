"""Conversations a run can be started from, and whether a run's parent still exists (seed 003).

The auto-resume after a gate decision routes to the run's parent conversation, and only a live
web conversation can take it. A parent can be absent (the run was started from the CLI),
deleted, never known to this process, or on another platform (CLI, chat); each answers with a
:data:`~runlife.spec.gates.ParentLookup` the gate policy turns into a reason and a hint.
"""

from __future__ import annotations

import threading
from typing import Protocol

from runlife.spec.gates import NoParent, ParentFound, ParentLookup, ParentMissing
from runlife.spec.records import Conversation


class Conversations(Protocol):
    """Where a run's parent conversation lives now, if anywhere."""

    def lookup(self, conversation: Conversation | None) -> ParentLookup: ...


class ConversationRegistry:
    """The conversations this process knows, by id; thread-safe.

    ``trust_recorded``: a conversation a run recorded counts as live on the platform the run
    recorded, unless it was deleted here. The CLI uses this: it has no conversation service to
    ask, so it believes what the run says. Otherwise only conversations opened here exist.
    """

    def __init__(self, *, trust_recorded: bool = False) -> None:
        self.trust_recorded = trust_recorded
        self._live: dict[str, Conversation] = {}
        self._deleted: set[str] = set()
        self._lock = threading.Lock()

    def open(self, conversation: Conversation) -> Conversation:
        """Make ``conversation`` live (again) and return it."""
        with self._lock:
            self._live[conversation.id] = conversation
            self._deleted.discard(conversation.id)
        return conversation

    def delete(self, conversation_id: str) -> None:
        """The conversation is gone: runs that name it lose their parent."""
        with self._lock:
            self._live.pop(conversation_id, None)
            self._deleted.add(conversation_id)

    def lookup(self, conversation: Conversation | None) -> ParentLookup:
        if conversation is None:
            return NoParent()
        with self._lock:
            if conversation.id in self._deleted:
                return ParentMissing()
            live = self._live.get(conversation.id)
        if live is not None:
            return ParentFound(live.platform)
        return ParentFound(conversation.platform) if self.trust_recorded else ParentMissing()
