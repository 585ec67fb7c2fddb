"""``runlife resume ID``: continue that run by name: no prompt, no fresh run. If someone else
got to it first, say so (it is running now) and do nothing."""

from __future__ import annotations

import argparse

HELP = "resume a failed or paused run by id (no prompt, never a fresh run)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    parser.add_argument(
        "--message",
        metavar="TEXT",
        help="what to hand the run (a rework's reason, a loop's feedback); default its request",
    )
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import on_run, report_dispatch

    result = on_run(args, lambda orchestrator, run_id: orchestrator.resume(run_id, args.message))
    return report_dispatch("resume", result)
