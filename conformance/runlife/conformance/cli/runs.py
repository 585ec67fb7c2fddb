"""``runlife runs list|show``: the runs in the store, or one run in full."""

from __future__ import annotations

import argparse

from runlife.conformance.cli import EXIT_OK
from runlife.spec.results import Status

HELP = "list the runs in the store (runs list), or show one run (runs show ID)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from runlife.conformance.cli.lifecycle import add_run_id_argument, add_store_argument

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per run, oldest first")
    listing.add_argument("--status", choices=[str(s) for s in Status], help="only these runs")
    listing.add_argument("--json", action="store_true", help="print the runs as JSON")
    showing = actions.add_parser("show", help="one run: fields, gate, node results, loop")
    add_run_id_argument(showing)
    showing.add_argument("--json", action="store_true", help="print the run as JSON")
    for sub in (listing, showing):
        add_store_argument(sub)


def run(args: argparse.Namespace) -> int:
    return show(args) if args.action == "show" else listing(args)


def show(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import on_run, print_json, refuse, run_data
    from runlife.spec.records import Run

    found = on_run(args, lambda orchestrator, run_id: orchestrator.store.get_run(run_id))
    if not isinstance(found, Run):
        return refuse("runs show", found)
    data = run_data(found)
    if args.json:
        print_json(data)
        return EXIT_OK
    for key, value in data.items():
        if key != "nodes":
            print(f"{key:>17}: {'-' if value is None else value}")
    for node in data["nodes"]:
        stale = "  (invalidated)" if node["invalidated"] else ""
        print(f"{'node ' + node['node']:>17}: {node['output']!r}{stale}")
    return EXIT_OK


def listing(args: argparse.Namespace) -> int:
    from runlife.conformance.cli.lifecycle import orchestrator, print_json, run_data, run_ids, when
    from runlife.spec.dispatch import preview
    from runlife.spec.records import Run

    status = None if args.status is None else Status(args.status)
    with orchestrator(args) as orchestra:
        store = orchestra.store
        found = [store.get_run(run_id) for run_id in run_ids(store, status)]
    listed = [r for r in found if isinstance(r, Run)]
    if args.json:
        print_json([run_data(r) for r in listed])
        return EXIT_OK
    if not listed:
        print("no runs" + (f" with status {status}" if status else ""))
    for r in listed:
        gate = f" gate {r.gate.spec.node_id}:{r.gate.state}" if r.gate is not None else ""
        created, message = when(r.created_at), preview(r.user_message, 40)
        print(f"{r.id}  {r.status:<9}  {r.workflow:<14} {created}{gate}  {message!r}")
    return EXIT_OK
