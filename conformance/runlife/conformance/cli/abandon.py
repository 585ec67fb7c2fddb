"""``runlife abandon ID``: discard a run that is pending, running, paused or failed; it becomes
cancelled, so the next ``runlife run`` no longer asks about it (seed 000)."""

from __future__ import annotations

import argparse

HELP = "discard a pending, running, paused or failed run (it becomes cancelled)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli import EXIT_OK
    from runlife.conformance.cli.lifecycle import on_run, refuse
    from runlife.spec.results import Transitioned

    match on_run(args, lambda orchestrator, run_id: orchestrator.abandon(run_id)):
        case Transitioned(run_id=run_id, status=status):
            print(f"run {run_id}: abandoned ({status}); `runlife run` will not ask about it again")
            return EXIT_OK
        case refusal:
            return refuse("abandon", refusal)
