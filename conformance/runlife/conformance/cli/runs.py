"""``runlife runs list|show``: the runs in the store, or one run in full."""

from __future__ import annotations

import argparse

from runlife.conformance.cli import EXIT_OK
from runlife.spec.results import Status

HELP = "list the runs in the store (runs list), or show one run (runs show ID)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_store_argument

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per run, oldest first")
    listing.add_argument("--status", choices=[str(s) for s in Status], help="only these runs")
    listing.add_argument("--json", action="store_true", help="print the runs as JSON")
    showing = actions.add_parser("show", help="one run: fields, gate, node results, loop")
    showing.add_argument("run_id", metavar="ID", help="a run id (or a unique prefix of one)")
    showing.add_argument("--json", action="store_true", help="print the run as JSON")
    for sub in (listing, showing):
        add_store_argument(sub)


def run(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import (
        bad_input,
        orchestrator,
        print_json,
        refusal_line,
        refused,
        resolve_id,
        run_data,
        run_ids,
        when,
    )
    from runlife.spec.records import Run
    from runlife.spec.results import InvalidInput

    with orchestrator(args) as orchestra:
        store = orchestra.store
        if args.action == "show":
            run_id = resolve_id(orchestra, args.run_id)
            found = store.get_run(run_id)
            if isinstance(found, InvalidInput):
                raise bad_input(found)
            if not isinstance(found, Run):
                return refused("runs show", refusal_line(found))
            data = run_data(found)
            if args.json:
                print_json(data)
            else:
                for key, value in data.items():
                    if key != "nodes":
                        print(f"{key:>17}: {'-' if value is None else value}")
                for node in data["nodes"]:
                    stale = "  (invalidated)" if node["invalidated"] else ""
                    print(f"{'node ' + node['node']:>17}: {node['output']!r}{stale}")
            return EXIT_OK
        status = None if args.status is None else Status(args.status)
        listed = [store.get_run(run_id) for run_id in run_ids(store, status)]
        found_runs = [r for r in listed if isinstance(r, Run)]
        if args.json:
            print_json([run_data(r) for r in found_runs])
            return EXIT_OK
        if not found_runs:
            print("no runs" + (f" with status {status}" if status else ""))
        for r in found_runs:
            gate = f" gate {r.gate.spec.node_id}:{r.gate.state}" if r.gate is not None else ""
            message = r.user_message if len(r.user_message) <= 40 else r.user_message[:39] + "…"
            print(
                f"{r.id}  {r.status:<9}  {r.workflow:<14} {when(r.created_at)}{gate}  {message!r}"
            )
        return EXIT_OK
