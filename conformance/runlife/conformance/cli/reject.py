"""``runlife reject ID``: reject the run's open gate. With an on-reject prompt and attempts
left, the rework is staged (and runs on resume, reading ``--reason``); otherwise the run is
cancelled. Says whether the run resumed, and if not why and how."""

from __future__ import annotations

import argparse

HELP = "reject a paused run's gate (--reason for the rework); says how it goes on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    parser.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")
    parser.add_argument("--reason", metavar="TEXT", help="why; the rework reads it")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import orchestrator, report_decision, resolve_id

    with orchestrator(args) as orchestra:
        answer = orchestra.reject(resolve_id(orchestra, args.run_id), args.reason)
        return report_decision("reject", answer)
