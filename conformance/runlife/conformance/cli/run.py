"""``runlife run WORKFLOW MESSAGE``: start a run of a built-in workflow, unless a prior run of
it answers for the message (seed 000): a failed one prompts and nothing executes; a paused
one continues with the message. ``--force`` starts fresh regardless; ``--no-resume`` too, and
re-runs every node."""

from __future__ import annotations

import argparse

from runlife.spec.results import Platform

HELP = "run a workflow (demo-edit, demo-pipeline) with a message; prompts about a failed run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    parser.add_argument("workflow", metavar="WORKFLOW", help="demo-edit or demo-pipeline")
    parser.add_argument("message", metavar="MESSAGE", help="the request, in quotes")
    parser.add_argument("--conversation", metavar="ID", help="the conversation it comes from")
    parser.add_argument(
        "--platform",
        choices=[str(p) for p in Platform],
        help="where the conversation lives (default web); needs --conversation",
    )
    parser.add_argument(
        "--force", action="store_true", help="start fresh; leave any prior failed run as it is"
    )
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="start fresh and re-run every node, reusing no recorded output",
    )
    parser.add_argument("--codebase", default="main", help="the codebase (default main)")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli import UsageError
    from runlife.conformance.cli.lifecycle import orchestrator, report_dispatch
    from runlife.impl.orchestrator import Executed
    from runlife.spec.records import Conversation

    if args.platform is not None and args.conversation is None:
        raise UsageError("--platform needs --conversation ID (the conversation it names)")
    conversation = None
    if args.conversation is not None:
        conversation = Conversation(args.conversation, Platform(args.platform or Platform.WEB))
    with orchestrator(args) as orchestra:
        result = orchestra.run(
            args.workflow,
            args.message,
            conversation,
            codebase=args.codebase,
            force=args.force,
            reuse=not args.no_resume,
        )
        if isinstance(result, Executed) and not result.fresh:
            print(
                f"run {result.run_id} was paused, waiting for a reply: continuing it with your"
                " message (--force starts a fresh run instead)"
            )
        return report_dispatch("run", result)
