"""``runlife invalidate ID NODE``: never reuse NODE's recorded output when the run resumes;
with ``--downstream``, nor that of any node that read it (seed 002)."""

from __future__ import annotations

import argparse

HELP = "make a node's recorded output (and with --downstream its consumers') re-run on resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    parser.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")
    parser.add_argument("node", metavar="NODE", help="the node whose output to drop")
    parser.add_argument(
        "--downstream", action="store_true", help="also every node that consumed its output"
    )
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
    from runlife.spec.results import Invalidated, InvalidInput

    with orchestrator(args) as orchestra:
        run_id = resolve_id(orchestra, args.run_id)
        outcome = orchestra.invalidate(run_id, args.node, args.downstream)
    match outcome:
        case Invalidated(nodes=()):
            print(f"run {run_id}: {args.node} has no recorded output yet; nothing to invalidate")
            return EXIT_OK
        case Invalidated(nodes=nodes):
            them = "it" if len(nodes) == 1 else "them"
            print(f"run {run_id}: invalidated {', '.join(nodes)}")
            print(f"  the next `runlife resume {run_id}` re-runs {them}")
            return EXIT_OK
        case InvalidInput():
            raise bad_input(outcome)
    return refused("invalidate", refusal_line(outcome))
