"""``runlife invalidate ID NODE``: never reuse NODE's recorded output when the run resumes;
with ``--downstream``, nor that of any node that read it (seed 002)."""

from __future__ import annotations

import argparse

HELP = "make a node's recorded output (and with --downstream its consumers') re-run on resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    add_run_id_argument(parser)
    parser.add_argument("node", metavar="NODE", help="the node whose output to drop")
    parser.add_argument(
        "--downstream", action="store_true", help="also every node that consumed its output"
    )
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli import EXIT_OK
    from runlife.conformance.cli.lifecycle import on_run, refuse
    from runlife.impl.orchestrator import Orchestrator
    from runlife.spec.results import Invalidated

    def invalidate(orchestrator: Orchestrator, run_id: str) -> object:
        return orchestrator.invalidate(run_id, args.node, args.downstream)

    match on_run(args, invalidate):
        case Invalidated(run_id=run_id, nodes=()):
            print(f"run {run_id}: {args.node} has no recorded output yet; nothing to invalidate")
        case Invalidated(run_id=run_id, nodes=nodes):
            them = "it" if len(nodes) == 1 else "them"
            print(f"run {run_id}: invalidated {', '.join(nodes)}")
            print(f"  the next `runlife resume {run_id}` re-runs {them}")
        case refusal:
            return refuse("invalidate", refusal)
    return EXIT_OK
