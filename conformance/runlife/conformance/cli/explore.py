"""``runlife explore``: model-check the spec, or one of its weakened variants."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runlife.conformance.cli import EXIT_OK, EXIT_VIOLATION, UsageError
from runlife.conformance.render import OutputError, check_output, trace_svg, write_atomically
from runlife.spec.checker import (
    Exploration,
    Machine,
    Violation,
    count_unreduced,
    explore,
    format_counterexample,
)
from runlife.spec.core import Bounds, CoreMachine
from runlife.spec.machines import MACHINES
from runlife.spec.records import Timing
from runlife.spec.variants import Variant, all_variants, find_variant

HELP = "model-check the spec exhaustively (exit 1 with the shortest counterexample)"

CORE_OPTIONS = ("runs", "actors", "ticks", "epochs", "lease_ttl", "stale_after")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default = Bounds()
    parser.add_argument("--model", default="core", help="which machine (see --list-models)")
    parser.add_argument("--variant", help="explore a weakened spec (see --list-variants)")
    parser.add_argument("--list-variants", action="store_true", help="name and describe each")
    parser.add_argument("--list-models", action="store_true", help="name each machine")
    parser.add_argument("--runs", type=int, help=f"runs (core; default {default.runs})")
    parser.add_argument("--actors", type=int, help=f"executors (core; default {default.actors})")
    parser.add_argument("--ticks", type=int, help=f"clock bound (core; default {default.ticks})")
    parser.add_argument(
        "--epochs", type=int, help=f"claims per run (core; default {default.epochs})"
    )
    parser.add_argument("--lease-ttl", type=int, help="lease length in ticks (core; default 2)")
    parser.add_argument(
        "--stale-after", type=int, help="orphan threshold in ticks (core; default 2)"
    )
    parser.add_argument("--no-symmetry", action="store_true", help="turn symmetry reduction off")
    parser.add_argument("--max-states", type=int, help="stop after this many distinct states")
    parser.add_argument(
        "--trace-svg", type=Path, metavar="PATH", help="draw the counterexample as an SVG"
    )


def run(args: argparse.Namespace) -> int:
    if args.list_variants:
        for each in all_variants():
            print(f"{each.name}  {each.description} (seed {each.seed})")
        return EXIT_OK
    if args.list_models:
        for name in MACHINES:
            print(name)
        return EXIT_OK
    variant: Variant | None = _variant(args.variant) if args.variant else None
    if args.trace_svg is not None:
        try:
            check_output(args.trace_svg, "svg")
        except OutputError as error:
            raise UsageError(str(error)) from None
    machine = variant.build() if variant is not None else _machine(args)
    ex = explore(
        machine,
        symmetry=not args.no_symmetry,
        stop_at=variant.violates if variant else None,
        max_states=args.max_states,
    )
    _print_statistics(machine, ex)
    if variant is not None:
        return _report_variant(machine, ex, variant, args.trace_svg)
    if ex.violations:
        print(format_counterexample(machine, ex.violations[0]))
        _draw(args.trace_svg, machine, ex.violations[0])
        return EXIT_VIOLATION
    checked = [
        *(p.name for p in machine.invariants),
        *(p.name for p in machine.step_properties),
        *(p.name for p in machine.progress),
    ]
    print(f"all {len(checked)} properties hold: {', '.join(checked)}")
    goals = [g.name for g in getattr(machine, "goals", ())]
    if goals:
        print(f"all {len(goals)} goals reached: {', '.join(goals)}")
    return EXIT_OK


def _variant(name: str) -> Variant:
    variant = find_variant(name)
    if variant is None:
        raise UsageError(f"no variant named {name!r}; `runlife explore --list-variants` names them")
    return variant


def _machine(args: argparse.Namespace) -> Machine[Any]:
    given = [o for o in CORE_OPTIONS if getattr(args, o) is not None]
    if args.model != "core":
        if args.model not in MACHINES:
            names = ", ".join(MACHINES)
            raise UsageError(f"no model named {args.model!r}; choose one of: {names}")
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} applies to --model core only")
        return MACHINES[args.model]()
    default = Bounds()
    values = {o: getattr(args, o) for o in given}
    for option, value in values.items():
        if value < (0 if option == "ticks" else 1):
            raise UsageError(f"--{option.replace('_', '-')} must be a positive number, got {value}")
    try:
        timing = Timing(
            lease_ttl=values.get("lease_ttl", default.timing.lease_ttl),
            stale_after=values.get("stale_after", default.timing.stale_after),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    bounds = Bounds(
        runs=values.get("runs", default.runs),
        actors=values.get("actors", default.actors),
        ticks=values.get("ticks", default.ticks),
        epochs=values.get("epochs", default.epochs),
        timing=timing,
    )
    return CoreMachine(bounds)


def _print_statistics(machine: Machine[Any], ex: Exploration[Any]) -> None:
    bounds = getattr(machine, "bounds", None)
    print(f"model {ex.machine}" + (f" at {bounds}" if bounds is not None else ""))
    print(
        f"{len(ex.states):,} distinct states, {ex.transitions:,} transitions, "
        f"depth {ex.max_depth}, {ex.seconds:.2f} s ({ex.cpu_seconds:.2f} s CPU), "
        f"{ex.rate:,.0f} states/s"
    )
    if ex.symmetry and len(ex.states) <= 200_000:
        unreduced = count_unreduced(machine, ex)
        factor = unreduced / len(ex.states)
        print(f"symmetry reduction: about {factor:.1f}x (at most {unreduced:,} states without it)")
    sys.stdout.flush()


def _draw(path: Path | None, machine: Machine[Any], violation: Violation[Any]) -> None:
    if path is not None:
        write_atomically(path, trace_svg(violation, machine.describe))
        print(f"counterexample drawn as a sequence diagram: {path}")


def _report_variant(
    machine: Machine[Any], ex: Exploration[Any], variant: Variant, trace: Path | None
) -> int:
    print(f"variant {variant.name}: {variant.description} (seed {variant.seed})")
    if not ex.violations:
        print(f"no violation found: the variant should break {variant.violates}")
        return EXIT_OK
    expected = [v for v in ex.violations if v.property == variant.violates]
    shown = min(expected or ex.violations, key=lambda v: len(v.steps))
    print(format_counterexample(machine, shown))
    _draw(trace, machine, shown)
    others = sorted({v.property for v in ex.violations} - {shown.property})
    if others:
        print(f"also violated: {', '.join(others)}")
    return EXIT_VIOLATION
