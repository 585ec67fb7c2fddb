"""``runlife approve ID``: approve the run's open gate. A run started from a live web
conversation resumes by itself; any other says why not and names ``runlife resume ID``."""

from __future__ import annotations

import argparse

HELP = "approve a paused run's gate; says whether it resumed, and if not why and how"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    parser.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")
    parser.add_argument("--message", metavar="TEXT", help="what the approver said")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import orchestrator, report_decision, resolve_id

    with orchestrator(args) as orchestra:
        answer = orchestra.approve(resolve_id(orchestra, args.run_id), args.message)
        return report_decision("approve", answer)
