"""What a store accepts as input. Part of the contract: every store refuses the same inputs.

Text is stored exactly as given (any Unicode, quotes, emoji) except NUL, which PostgreSQL
cannot keep in a text column; a store refuses NUL rather than altering the text.
"""

from __future__ import annotations

from runlife.spec.records import GateSpec, NewRun
from runlife.spec.results import InvalidInput, Platform

MAX_NAME = 200
"""Characters in a workflow name, codebase, node id, holder or conversation id."""
MAX_TEXT = 1_048_576
"""Characters in a user message, an error, a node output or a working path (1 MiB)."""
MAX_RUN_ID = 64
MAX_INT = 2**63 - 1
"""Counts (attempts, iterations) fit a signed 64-bit column."""


def _encodable(value: str) -> bool:
    """False for text with a lone surrogate, which no database can store as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_name(field: str, value: str) -> InvalidInput | None:
    """Refuse an empty, oversized, NUL- or control-character-laden short name."""
    if not isinstance(value, str) or not value.strip():
        return InvalidInput(field, "must be a non-empty string")
    if len(value) > MAX_NAME:
        return InvalidInput(field, f"is {len(value)} characters; at most {MAX_NAME} are allowed")
    if any(ord(c) < 32 for c in value):
        return InvalidInput(field, "must not contain NUL or control characters")
    if not _encodable(value):
        return InvalidInput(field, "is not valid Unicode (it holds a lone surrogate)")
    return None


def check_text(field: str, value: str) -> InvalidInput | None:
    """Refuse oversized or NUL-laden free text; everything else is kept byte for byte."""
    if not isinstance(value, str):
        return InvalidInput(field, "must be a string")
    if len(value) > MAX_TEXT:
        return InvalidInput(field, f"is {len(value)} characters; at most {MAX_TEXT} are allowed")
    if "\x00" in value:
        return InvalidInput(field, "must not contain NUL characters")
    if not _encodable(value):
        return InvalidInput(field, "is not valid Unicode (it holds a lone surrogate)")
    return None


def check_run_id(run_id: str) -> InvalidInput | None:
    """Refuse a run id no store could have issued (empty, oversized, NUL or spaces)."""
    if not isinstance(run_id, str) or not run_id:
        return InvalidInput("run_id", "must be a non-empty string")
    if len(run_id) > MAX_RUN_ID:
        return InvalidInput("run_id", f"is not a run id (ids have at most {MAX_RUN_ID} characters)")
    if any(ord(c) <= 32 for c in run_id):
        return InvalidInput("run_id", "is not a run id (ids have no spaces or control characters)")
    return None


def check_count(field: str, value: int, least: int) -> InvalidInput | None:
    """Refuse a count that is not a whole number from ``least`` to a 64-bit maximum."""
    if isinstance(value, bool) or not isinstance(value, int):
        return InvalidInput(field, "must be a whole number")
    if value < least:
        return InvalidInput(field, f"must be at least {least}")
    if value > MAX_INT:
        return InvalidInput(field, f"must be at most {MAX_INT} (a 64-bit integer)")
    return None


def check_new_run(new: NewRun) -> InvalidInput | None:
    """The first problem with a new run's fields, or None when all are acceptable."""
    conversation_id = new.conversation.id if new.conversation is not None else None
    if new.conversation is not None and not isinstance(new.conversation.platform, Platform):
        choices = ", ".join(p.value for p in Platform)
        return InvalidInput("platform", f"must be one of {choices}")
    return (
        check_name("workflow", new.workflow)
        or check_name("codebase", new.codebase)
        or (check_name("conversation", conversation_id) if conversation_id is not None else None)
        or check_text("user_message", new.user_message)
        or check_text("working_path", new.working_path)
    )


def check_gate(gate: GateSpec) -> InvalidInput | None:
    """Refuse a gate with a bad node id or a max_attempts below one."""
    return check_count("max_attempts", gate.max_attempts, 1) or check_name("node_id", gate.node_id)
