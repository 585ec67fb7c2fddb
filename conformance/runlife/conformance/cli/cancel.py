"""``runlife cancel ID``: cancel a run that has not finished. On a finished run it is a
truthful no-op: it says nothing was cancelled and changes nothing (seed 001)."""

from __future__ import annotations

import argparse

HELP = "cancel a run unless it has finished (then: nothing to cancel, cancelled = false)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    parser.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli import EXIT_OK
    from runlife.conformance.cli.lifecycle import (
        bad_input,
        orchestrator,
        refusal_line,
        refused,
        resolve_id,
    )
    from runlife.spec.results import CancelOutcome, InvalidInput

    with orchestrator(args) as orchestra:
        outcome = orchestra.cancel(resolve_id(orchestra, args.run_id))
    match outcome:
        case CancelOutcome(run_id=run_id, cancelled=True):
            print(f"run {run_id}: cancelled")
        case CancelOutcome(run_id=run_id, status=status):
            print(f"run {run_id}: nothing to cancel, it is {status} already (cancelled = false)")
        case InvalidInput():
            raise bad_input(outcome)
        case _:
            return refused("cancel", refusal_line(outcome))
    return EXIT_OK
