"""The built-in demo workflows: small, deterministic, and enough to drive every seed by hand.

* ``demo-edit`` (seeds 000, 003): ``parse-args`` wants a message starting with a ``.py`` file
  and fails otherwise (as the seed's parse-args script did), ``edit`` edits it, ``review`` is
  an approval gate whose rejection reworks the edit, ``finish`` reports.
* ``demo-pipeline`` (seed 002): ``produce`` reads the JSON file the message names, ``consume``
  parses it, ``notify`` (``always_run``) reports. A bad file makes ``consume`` fail; after
  fixing the file, ``produce`` is still cached until it is invalidated.
* ``demo-loop`` (seed 004): an interactive loop of three iterations, pausing for the user
  after each; it needs a provider that outlives the process, so the CLI does not offer it.
"""

from __future__ import annotations

import json
from pathlib import Path

from runlife.impl.orchestrator.workflows import (
    Approval,
    Loop,
    NodeContext,
    NodeFailed,
    Task,
    Workflow,
)


def parse_args(context: NodeContext) -> str:
    first, _, task = context.message.strip().partition(" ")
    if not first.endswith(".py") or not task.strip():
        raise NodeFailed(
            f"the first argument must be a file ending in .py, then the task (got {first!r});"
            ' e.g. "notes.py remove the unused imports"'
        )
    return f"{first}: {task.strip()}"


def edit(context: NodeContext) -> str:
    return f"edited {context.inputs['parse-args']}"


def rework_edit(context: NodeContext) -> str:
    return f"{context.inputs['edit']}, reworked after review ({context.user_input})"


def finish(context: NodeContext) -> str:
    return f"done: {context.inputs['review']}"


DEMO_EDIT = Workflow(
    "demo-edit",
    (
        Task("parse-args", parse_args),
        Task("edit", edit, ("parse-args",)),
        Approval("review", ("edit",), rework=rework_edit),
        Task("finish", finish, ("review",)),
    ),
    about="parse-args -> edit -> review (approval gate) -> finish",
)


def produce(context: NodeContext) -> str:
    path = Path(context.message.strip())
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise NodeFailed(f"cannot read {path}: {error.strerror}") from error


def consume(context: NodeContext) -> str:
    try:
        entries = json.loads(context.inputs["produce"])
    except json.JSONDecodeError as error:
        raise NodeFailed(f"produce's output is not valid JSON ({error.msg})") from error
    return f"{len(entries)} entries"


def notify(context: NodeContext) -> str:
    return f"notified: {context.inputs['consume']}"


DEMO_PIPELINE = Workflow(
    "demo-pipeline",
    (
        Task("produce", produce),
        Task("consume", consume, ("produce",)),
        Task("notify", notify, ("consume",), always_run=True),
    ),
    about="produce (reads the JSON file named) -> consume (parses it) -> notify (always runs)",
)


def refine_prompt(context: NodeContext, iteration: int) -> str:
    feedback = f" (feedback: {context.user_input})" if context.user_input else ""
    return f"iteration {iteration} of refining {context.message!r}{feedback}"


def refined(reply: str) -> bool:
    return "iteration 3 " in reply


DEMO_LOOP = Workflow(
    "demo-loop",
    (Loop("refine", refine_prompt, refined, max_iterations=3),),
    about="an interactive loop: three iterations, pausing for the user after each",
)

BUILTIN: dict[str, Workflow] = {w.name: w for w in (DEMO_EDIT, DEMO_PIPELINE, DEMO_LOOP)}
"""Every built-in workflow, by name."""

CLI_WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (DEMO_EDIT, DEMO_PIPELINE)}
"""The workflows ``runlife run`` offers: those whose every step survives between processes."""
