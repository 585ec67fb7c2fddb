"""``runlife reject ID``: reject the run's open gate. With an on-reject prompt and attempts
left, the rework is staged (and runs on resume, reading ``--reason``); otherwise the run is
cancelled. Says whether the run resumed, and if not why and how."""

from __future__ import annotations

import argparse

HELP = "reject a paused run's gate (--reason for the rework); says how it goes on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    parser.add_argument("--reason", metavar="TEXT", help="why; the rework reads it")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import on_run, report_decision

    answer = on_run(args, lambda orchestrator, run_id: orchestrator.reject(run_id, args.reason))
    return report_decision("reject", answer)
