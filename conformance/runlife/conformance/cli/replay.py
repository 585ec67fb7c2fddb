"""``runlife replay trace.json``: re-run the counterexamples ``runlife check`` wrote.

A sequential failure's steps are performed again on the store (``--store``, or the one it was
found on) beside the spec; a race's recorded history is judged again offline. Exit 1 while any
failure still reproduces, 0 when none does, 2 when the store or the trace is broken.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runlife.conformance.cli import EXIT_BROKEN, EXIT_OK, EXIT_VIOLATION, UsageError
from runlife.conformance.cli.check import add_timeout_option

HELP = "re-run the counterexamples in a trace.json against a store (or re-judge races)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, metavar="TRACE", help="a trace.json from runlife check")
    parser.add_argument(
        "--store", metavar="STORE", help="replay against this store instead of the recorded one"
    )
    parser.add_argument("--case", metavar="NAME", help="replay only the failures of this case")
    add_timeout_option(parser)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.replay import TraceError, read_traces, replay_failure
    from runlife.conformance.target import TargetError

    try:
        data = read_traces(args.trace)
    except TraceError as error:
        raise UsageError(str(error)) from error
    failures = [f for f in data["failures"] if args.case is None or f.get("case") == args.case]
    if not failures:
        raise UsageError(
            f"{args.trace} holds no failure" + (f" of case {args.case!r}" if args.case else "")
        )
    codes = []
    for failure in failures:
        try:
            store = args.store or failure.get("store") or data["store"]
            replayed = replay_failure(failure, str(store), args.timeout)
        except (TraceError, TargetError) as error:
            raise UsageError(str(error)) from error
        print(f"{replayed.case}: {replayed.status}: {replayed.message}")
        codes.append(
            {"reproduced": EXIT_VIOLATION, "fixed": EXIT_OK}.get(replayed.status, EXIT_BROKEN)
        )
    return max(codes)
