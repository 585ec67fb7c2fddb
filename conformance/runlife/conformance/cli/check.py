"""``runlife check STORE``: run the conformance kit against a store.

Exit 0: the store does what the spec does in every case exercised. Exit 1: it violates the
spec (each failure's smallest counterexample goes to ``--trace``, for ``runlife replay``).
Exit 2: the store or the command is broken (cannot import, cannot connect, not a store, a
method raised or hung), with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runlife.conformance.cli import EXIT_BROKEN, UsageError

HELP = "check a run store against the spec (exit 0 conforms, 1 violates it, 2 broken)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "store",
        metavar="STORE",
        help="a database URL (sqlite://, postgresql+psycopg://HOST/DB, mysql+pymysql://HOST/DB) "
        "or module:factory returning a store",
    )
    parser.add_argument(
        "--profile",
        choices=("quick", "default", "thorough"),
        default="default",
        help="how hard to try (quick: under 30 s)",
    )
    parser.add_argument("--seed", type=int, help="seed for fuzzing, to repeat a run exactly")
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="K", help="clients per race (default 4)"
    )
    parser.add_argument(
        "--families", metavar="LIST", help="comma-separated families to run (names or numbers)"
    )
    parser.add_argument("--junit-xml", type=Path, metavar="PATH", help="write a JUnit XML report")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report")
    parser.add_argument(
        "--trace",
        type=Path,
        default=Path("trace.json"),
        metavar="PATH",
        help="where failures' counterexamples go (default trace.json; written only on failure)",
    )
    parser.add_argument(
        "--mutants", action="store_true", help="also run the opt-in mutant zoo family"
    )
    add_timeout_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    """``--timeout SECONDS``: the per-call limit after which a store counts as hung."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long one store call may take before the store counts as hung (default 10)",
    )


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.families import select
    from runlife.conformance.guard import StoreHung, StoreRaised
    from runlife.conformance.kit import Kit
    from runlife.conformance.progress import progress_for
    from runlife.conformance.replay import write_traces
    from runlife.conformance.report import check
    from runlife.conformance.target import TargetError, resolve

    if args.concurrency < 2:
        raise UsageError(f"--concurrency must be at least 2, got {args.concurrency}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    try:
        families = select(args.families, opt_in=args.mutants)
    except ValueError as error:
        raise UsageError(f"--families: {error}") from error
    if args.mutants and not any(f.opt_in for f in families):
        raise UsageError(
            "--mutants runs the mutant zoo: leave --families out, or add 'mutants' to it"
        )
    try:
        target = resolve(args.store)
    except TargetError as error:
        raise UsageError(str(error)) from error
    try:
        kit = Kit(
            target,
            args.profile,
            seed=args.seed,
            concurrency=args.concurrency,
            timeout=args.timeout,
            debug=args.debug,
        )
    except (StoreRaised, StoreHung, TargetError) as error:
        target.cleanup()
        print(f"runlife check: store broken: {error}", file=sys.stderr)
        return EXIT_BROKEN
    try:
        report = check(kit, families, progress_for(sys.stderr, args.quiet))
    finally:
        try:
            kit.close()
        except (StoreRaised, StoreHung) as error:
            print(f"runlife check: closing the store: {error}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    if args.junit_xml is not None:
        args.junit_xml.write_text(report.junit_xml(), encoding="utf-8")
    traces = report.traces()
    if traces:
        write_traces(args.trace, report.store, traces)
        print(f"counterexamples: {args.trace} (rerun with: runlife replay {args.trace})")
    print(report.summary())
    return report.exit_code
