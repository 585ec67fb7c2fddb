"""``runlife approve ID``: approve the run's open gate. A run started from a live web
conversation resumes by itself; any other says why not and names ``runlife resume ID``."""

from __future__ import annotations

import argparse

HELP = "approve a paused run's gate; says whether it resumed, and if not why and how"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    parser.add_argument("--message", metavar="TEXT", help="what the approver said")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import on_run, report_decision

    answer = on_run(args, lambda orchestrator, run_id: orchestrator.approve(run_id, args.message))
    return report_decision("approve", answer)
