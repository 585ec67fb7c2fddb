"""The pictures are the spec: drawn from the explored graph, checked against it, rendered."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runlife.conformance.cli import main
from runlife.conformance.cli.diagram import exercised
from runlife.conformance.diagrams_build import store_actions
from runlife.conformance.render import render, source_hash, stamped_hash
from runlife.spec import diagram, store
from runlife.spec.checker import Exploration, explore
from runlife.spec.core import CoreMachine, CoreState
from runlife.spec.results import TERMINAL
from runlife.spec.variants import find_variant

DOCS = Path(__file__).resolve().parents[2] / "docs"

Step = tuple[str, str, str, str]
"""(status before, action, role of the actor, status after)."""


def reachable_status_changes(machine: CoreMachine, ex: Exploration[CoreState]) -> set[Step]:
    """Asked of the model checker directly: from every explored state, every step that
    changes any run's status or epoch (or creates it), by the role of the actor that took it."""
    found: set[Step] = set()
    for state in ex.states:
        for action, after in machine.next(state):
            for run in after.store.runs:
                old = state.store.get(run.id)
                if old is not None and (old.status, old.epoch) == (run.status, run.epoch):
                    continue
                actor = "executor" if action.actor.startswith("a") else action.actor
                was = "absent" if old is None else str(old.status)
                found.add((was, action.name, actor, str(run.status)))
    return found


def drawn_steps(dot: str) -> set[Step]:
    """Every (before, action, role, after) a DOT lifecycle draws, read back from its edges:
    the edge id names the steps, the label's first line names the role."""
    found: set[Step] = set()
    for ident, label in re.findall(r'\[id="([^"]+)", label="([^"]*)"', dot):
        role = label.split("\\n")[0].split(":")[0]
        for step in ident.split(" "):
            before, action, after = step.split("|")
            found.add((before, action, role, after))
    return found


def svg_steps(svg: str) -> set[tuple[str, ...]]:
    """The steps a rendered SVG's edges are named after (``<g id=... class="edge">``)."""
    found: set[tuple[str, ...]] = set()
    for ident in re.findall(r'<g id="([^"]+)" class="edge">', svg):
        found.update(tuple(s.split("|")) for s in ident.split(" "))
    return found


@pytest.mark.slow
def test_the_lifecycle_draws_exactly_the_status_changes_the_checker_reaches(
    atlas: diagram.Atlas,
) -> None:
    machine, ex = atlas.explored("core")
    assert isinstance(machine, CoreMachine)
    reachable = reachable_status_changes(machine, ex)
    drawn = drawn_steps(diagram.to_dot(atlas.view("lifecycle")))
    assert drawn - reachable == set(), "the lifecycle draws steps the checker never reaches"
    assert reachable - drawn == set(), "the lifecycle misses steps the checker reaches"
    assert ("running", "resume_run", "executor", "running") in drawn, "orphan takeover"


@pytest.mark.slow
def test_the_committed_lifecycle_picture_draws_exactly_the_reachable_status_changes(
    atlas: diagram.Atlas,
) -> None:
    machine, ex = atlas.explored("core")
    assert isinstance(machine, CoreMachine)
    reachable = {(b, a, t) for b, a, _, t in reachable_status_changes(machine, ex)}
    assert svg_steps((DOCS / "diagrams" / "lifecycle.svg").read_text()) == reachable


def test_the_cross_check_sees_an_edge_that_is_not_reachable() -> None:
    machine = CoreMachine(diagram.REACHABLE_BOUNDS)
    ex = explore(machine, keep_edges=False)
    dot = diagram.to_dot(diagram.lifecycle(machine, ex))
    assert drawn_steps(dot) == reachable_status_changes(machine, ex)
    forged = dot.replace('id="pending|start_run|running"', 'id="pending|start_run|completed"')
    assert forged != dot
    assert drawn_steps(forged) != reachable_status_changes(machine, ex)


def test_every_store_action_has_a_guard_summary_and_nothing_else_does() -> None:
    assert set(store.GUARDS) == {name for name, _ in store_actions()}


def test_terminal_statuses_are_drawn_final_and_the_rules_are_on_the_picture() -> None:
    machine = CoreMachine(diagram.REACHABLE_BOUNDS)
    graph = diagram.lifecycle(machine, explore(machine, keep_edges=False))
    dot = diagram.to_dot(graph)
    for node in graph.nodes:
        final = re.search(rf'^  "{node.id}" \[[^\n]*peripheries=2', dot, re.M) is not None
        assert final == (node.id in {str(s) for s in TERMINAL}), node.id
    flat = " ".join(dot.replace("\\l", " ").split())
    assert "Failed and paused runs are resumable" in flat  # store.resumable's docstring
    assert "a write with an older epoch is refused" in flat  # the fencing rule (Claimed)
    labels = [e.label for e in graph.edges]
    assert "executor: start_run\n[status is pending]" in labels
    assert "user: cancel_run, abandon_run\n[not terminal]" in labels


def test_mermaid_is_a_state_diagram_with_every_edge() -> None:
    machine = CoreMachine(diagram.REACHABLE_BOUNDS)
    graph = diagram.lifecycle(machine, explore(machine, keep_edges=False))
    text = diagram.to_mermaid(graph)
    assert "\nstateDiagram-v2\n" in text
    assert "    [*] --> pending: user: create_run [id is new]" in text
    assert "    completed --> [*]" in text and "    cancelled --> [*]" in text
    arrows = {tuple(m) for m in re.findall(r"^    (\w+) --> (\w+):", text, re.M)}
    for edge in graph.edges:
        for before, _, after in edge.transitions:
            assert (before.replace("absent", "[*]"), after) in arrows or before == "absent"


def test_the_reachable_view_marks_what_a_report_covered() -> None:
    machine = CoreMachine(diagram.REACHABLE_BOUNDS)
    ex = explore(machine, keep_edges=False)
    report = {"covered_edges": [["pending", "start_run", "running/live/fresh"]]}
    graph = diagram.reachable(machine, ex, diagram.covered_edges(report))
    covered = [e for e in graph.edges if e.covered]
    assert [e.transitions for e in covered] == [(("pending", "start_run", "running/live/fresh"),)]
    assert all(e.covered is False for e in graph.edges if e not in covered)
    assert "(1 of" in graph.caption
    dot = diagram.to_dot(graph)
    assert dot.count(diagram.COVERED_COLOR) == 2  # the edge and its label


@pytest.mark.parametrize(
    "report",
    [{}, {"covered_edges": "x"}, {"covered_edges": [["a", "b"]]}, {"covered_edges": [[1, 2, 3]]}],
)
def test_a_malformed_coverage_report_is_refused(report: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        diagram.covered_edges(report)


@pytest.mark.slow
def test_a_check_report_marks_every_step_of_its_passing_tours(tmp_path: Path) -> None:
    """A real `runlife check --json` on SQLite: the tours' steps land on the drawn graph."""
    path = tmp_path / "report.json"
    store_url = f"sqlite:///{tmp_path / 'runs.db'}"
    code = main(["check", store_url, "--families", "tours", "--json", str(path), "--quiet"])
    assert code == 0
    covered = exercised(json.loads(path.read_text()))
    machine = CoreMachine(diagram.REACHABLE_BOUNDS)
    drawn = {
        (t.before, t.action, t.after)
        for t in diagram.abstract_steps(machine, explore(machine, keep_edges=False))
    }
    assert ("pending", "start_run", "running/live/fresh") in covered
    assert ("running/no-live-holder/fresh", "tick", "running/no-live-holder/stale") in covered
    assert len(covered & drawn) >= len(drawn) - 2, sorted(drawn - covered)


def test_a_counterexample_is_a_sequence_diagram_showing_the_double_claim() -> None:
    variant = find_variant("resume_without_status_guard")
    assert variant is not None
    machine = variant.build()
    ex = explore(machine, stop_at=variant.violates)
    violation = next(v for v in ex.violations if v.property == variant.violates)
    sequence = diagram.counterexample(violation, machine.describe)
    assert sequence.lanes == ("user", "a0", "a1", "store")
    claims = [m for m in sequence.messages if m.reply.startswith("Claimed(")]
    assert [m.sender for m in claims] == ["a0", "a1"], "two executors each told they won"
    assert sequence.messages[-1].broke and not any(m.broke for m in sequence.messages[:-1])
    assert "no_double_claim" in sequence.title and "no_double_claim" in sequence.verdict
    text = diagram.sequence_to_mermaid(sequence)
    assert text.startswith("sequenceDiagram\n")
    assert "    a1->>store: resume_run(r0)" in text
    svg = render(diagram.sequence_to_dot(sequence), "svg").decode()
    assert svg.count("Claimed(run_id=&#39;r0&#39;") == 2


def test_rendering_gives_svg_stamped_with_its_source_and_png() -> None:
    dot = 'digraph g { a -> b [id="x"]; }'
    svg = render(dot, "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert stamped_hash(svg) == source_hash(dot)
    assert render(dot, "png").startswith(b"\x89PNG")


def _without_dot() -> dict[str, str]:
    """An environment whose PATH finds no ``dot`` (nothing else is needed: the CLI runs from
    the interpreter's absolute path)."""
    empty = Path(os.environ.get("TMPDIR", "/tmp")) / "runlife-no-dot"
    empty.mkdir(exist_ok=True)
    env = dict(os.environ, PATH=str(empty))
    return env


def _runlife(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from runlife.conformance.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_without_dot_svg_and_png_fail_in_one_line_and_text_formats_work(tmp_path: Path) -> None:
    env = _without_dot()
    assert shutil.which("dot", path=env["PATH"]) is None
    for fmt in ("svg", "png"):
        done = _runlife(
            "diagram",
            "--view",
            "reachable",
            "--format",
            fmt,
            "-o",
            str(tmp_path / f"x.{fmt}"),
            env=env,
        )
        assert done.returncode == 2, done.stderr
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert len(errors) == 1 and "apt-get install graphviz" in errors[0], done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / f"x.{fmt}").exists()
    for fmt, start in (("dot", 'digraph "reachable"'), ("mermaid", "---\ntitle:")):
        done = _runlife("diagram", "--view", "reachable", "--format", fmt, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(start)


def test_the_diagram_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    cases = [
        (["--view", "lifecycle", "--report", str(tmp_path / "r.json")], "--view reachable only"),
        (["--view", "reachable", "--report", str(tmp_path / "none.json")], "cannot read"),
        (["--view", "reachable", "-o", str(tmp_path / "no" / "x.svg")], "not a directory"),
    ]
    (tmp_path / "bad.json").write_text("{not json")
    cases.append((["--view", "reachable", "--report", str(tmp_path / "bad.json")], "not JSON"))
    for args, expected in cases:
        done = _runlife("diagram", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_diagram_command_writes_the_format_its_suffix_names(tmp_path: Path) -> None:
    for suffix, start in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".mmd", b"---")):
        out = tmp_path / f"reachable{suffix}"
        assert main(["diagram", "--view", "reachable", "-o", str(out)]) == 0
        assert out.read_bytes().startswith(start)


@pytest.mark.parametrize("name", ["gates", "dispatch", "loop"])
def test_each_smaller_machine_view_draws_its_explored_steps(
    atlas: diagram.Atlas, name: str
) -> None:
    machine, ex = atlas.explored(name)
    graph = atlas.view(name)
    drawn = {step for edge in graph.edges for step in edge.transitions}
    steps = diagram.abstract_steps(machine, ex, with_gate=name in diagram.GATE_VIEWS)
    assert drawn == {(t.before, t.action, t.after) for t in steps}
    assert graph.edges, f"the {name} view draws no steps"


def test_the_views_show_what_each_seed_is_about(atlas: diagram.Atlas) -> None:
    gates = {s for e in atlas.view("gates").edges for s in e.transitions}
    assert ("paused/gate open", "decide\u2192GateResolved", "paused/gate rework") in gates
    dispatch = {s for e in atlas.view("dispatch").edges for s in e.transitions}
    assert ("failed", "run\u2192PromptForFailedRun", "failed") in dispatch  # seed 000
    loop = {s for e in atlas.view("loop").edges for s in e.transitions}
    assert ("running/gate approved", "iterate\u2192Fresh", "running/gate approved") in loop


def test_a_view_whose_machine_is_missing_says_which() -> None:
    atlas = diagram.Atlas({"core": lambda: CoreMachine(diagram.REACHABLE_BOUNDS)})
    with pytest.raises(diagram.ViewUnavailable, match="no gates machine is registered"):
        atlas.view("gates")
