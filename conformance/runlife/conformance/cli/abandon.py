"""``runlife abandon ID``: discard a run that is pending, running, paused or failed; it becomes
cancelled, so the next ``runlife run`` no longer asks about it (seed 000)."""

from __future__ import annotations

import argparse

HELP = "discard a pending, running, paused or failed run (it becomes cancelled)"


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
    from runlife.spec.results import InvalidInput, Transitioned

    with orchestrator(args) as orchestra:
        outcome = orchestra.abandon(resolve_id(orchestra, args.run_id))
    match outcome:
        case Transitioned(run_id=run_id, status=status):
            print(f"run {run_id}: abandoned ({status}); `runlife run` will not ask about it again")
            return EXIT_OK
        case InvalidInput():
            raise bad_input(outcome)
    return refused("abandon", refusal_line(outcome))
