"""``runlife diagram``: draw the spec, generated from its transitions and explored graph.

Views: ``lifecycle`` (every status change the model checker reaches), ``reachable`` (one run's
abstract states; with ``--report``, which steps a ``runlife check`` exercised), and one view
per smaller machine (``gates``, ``dispatch``, ``loop``). Formats: SVG and PNG (need Graphviz's
``dot``), DOT and mermaid (need nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runlife.conformance.cli import EXIT_OK, UsageError
from runlife.conformance.render import (
    FORMATS,
    SUFFIXES,
    OutputError,
    RenderFailed,
    check_output,
    graph_output,
    write_atomically,
)
from runlife.spec import diagram
from runlife.spec.checker import Action
from runlife.spec.core import CoreMachine
from runlife.spec.records import Timing

HELP = "draw the lifecycle (or another view) from the spec: SVG, PNG, DOT or mermaid"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--view",
        choices=tuple(diagram.VIEWS),
        default="lifecycle",
        help="what to draw (default lifecycle): "
        + "; ".join(f"{name}: {text}" for name, text in diagram.VIEWS.items()),
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from -o's suffix .svg/.png/.dot/.mmd, else svg)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="PATH", help="write here (default: standard output)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="with --view reachable: a `runlife check --json` report (or "
        '{"covered_edges": [[before, action, after], ...]}); marks the steps it exercised',
    )


def run(args: argparse.Namespace) -> int:
    fmt = args.format or SUFFIXES.get(args.output.suffix if args.output else "", "svg")
    if args.report is not None and args.view != "reachable":
        raise UsageError("--report marks coverage on --view reachable only")
    if fmt == "png" and args.output is None and sys.stdout.isatty():
        raise UsageError("PNG is binary: give -o PATH (or --format svg, dot or mermaid)")
    covered = exercised(_read_report(args.report)) if args.report is not None else None
    try:
        check_output(args.output, fmt)
        print(f"runlife diagram: exploring for the {args.view} view ...", file=sys.stderr)
        graph = diagram.Atlas().view(args.view, covered)
        picture = graph_output(graph, fmt)
    except (OutputError, RenderFailed, diagram.ViewUnavailable) as error:
        raise UsageError(str(error)) from None
    if args.output is None:
        sys.stdout.buffer.write(picture)
        sys.stdout.flush()
    else:
        write_atomically(args.output, picture)
        print(f"wrote {args.output} ({args.view}, {fmt})", file=sys.stderr)
    return EXIT_OK


def _read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read --report {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"--report {path} is not JSON: {error}") from None
    if not isinstance(report, dict):
        raise UsageError(f"--report {path} is not a JSON object")
    return report


def exercised(report: dict[str, Any]) -> frozenset[diagram.AbstractEdge]:
    """The abstract steps a report says were exercised.

    A ``runlife check --json`` report: every step along each passing transition tour (family 0)
    is replayed on the core machine, so side effects (a tick making a run an orphan) count too.
    Otherwise a ``{"covered_edges": [...]}`` list (see :func:`diagram.covered_edges`).
    """
    if "covered_edges" in report:
        try:
            return diagram.covered_edges(report)
        except ValueError as error:
            raise UsageError(f"--report: {error}") from None
    tours = next((f for f in report.get("families", []) if f.get("name") == "tours"), None)
    if tours is None or "timing" not in report:
        raise UsageError(
            "--report has no transition tours: give a `runlife check --json` report that ran"
            ' family 0, or {"covered_edges": [...]}'
        )
    passed = {c["name"] for c in tours.get("cases", []) if c.get("outcome") == "passed"}
    return _tour_steps(Timing(**report["timing"]), passed)


def _tour_steps(timing: Timing, passed: set[str]) -> frozenset[diagram.AbstractEdge]:
    from runlife.conformance.families.tours import edge_name, tour_bounds, tour_clock, tours

    ticks, _ = tour_clock(timing)
    machine = CoreMachine(tour_bounds(ticks))
    found: set[diagram.AbstractEdge] = set()
    for label, path in tours(ticks):
        if edge_name(label) in passed:
            state = next(iter(machine.initial()))
            for action in path:
                after = _replay(machine, state, action)
                steps = diagram.run_steps(machine, state, action, after)
                found.update((t.before, t.action, t.after) for t in steps)
                state = after
    return frozenset(found)


def _replay(machine: CoreMachine, state: Any, action: Action) -> Any:
    """The state ``action`` leads to from ``state`` (the tours were explored on this machine)."""
    return next(after for taken, after in machine.next(state) if taken == action)
