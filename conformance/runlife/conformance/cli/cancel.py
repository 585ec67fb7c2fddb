"""``runlife cancel ID``: cancel a run that has not finished. On a finished run it is a
truthful no-op: it says nothing was cancelled and changes nothing (seed 001)."""

from __future__ import annotations

import argparse

HELP = "cancel a run unless it has finished (then: nothing to cancel, cancelled = false)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli import EXIT_OK
    from runlife.conformance.cli.lifecycle import on_run, refuse
    from runlife.spec.results import CancelOutcome

    match on_run(args, lambda orchestrator, run_id: orchestrator.cancel(run_id)):
        case CancelOutcome(run_id=run_id, cancelled=True):
            print(f"run {run_id}: cancelled")
        case CancelOutcome(run_id=run_id, status=status):
            print(f"run {run_id}: nothing to cancel, it is {status} already (cancelled = false)")
        case refusal:
            return refuse("cancel", refusal)
    return EXIT_OK
