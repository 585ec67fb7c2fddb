"""The committed docs are what the generators produce now, and the benchmark page has its shape.

When a test here fails, run ``make diagrams`` (pictures, spec.md, cli.md) and commit the result.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from runlife.conformance.diagrams_build import build, stale_pictures
from runlife.conformance.render import source_hash, stamped_hash
from runlife.spec.diagram import Atlas

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REGENERATE = "out of date: run `make diagrams` and commit docs/"


@pytest.mark.slow
def test_the_generated_docs_are_current(atlas: Atlas) -> None:
    built = build(atlas, tests=REPO / "tests", svg=False)
    stale = []
    for relative, content in built.files.items():
        path = DOCS / relative
        if not path.exists() or path.read_bytes() != content:
            stale.append(relative)
    for relative, dot in built.dots.items():
        path = DOCS / relative
        if not path.exists() or stamped_hash(path.read_bytes()) != source_hash(dot):
            stale.append(relative)
    stale += [str(p.relative_to(DOCS)) for p in stale_pictures(DOCS, built)]
    assert stale == [], f"{', '.join(sorted(stale))} {REGENERATE}"


def test_a_changed_picture_is_noticed(tmp_path: Path) -> None:
    """The comparison above can fail: a picture whose source changed no longer matches."""
    svg = (DOCS / "diagrams" / "lifecycle.svg").read_bytes()
    dot = (DOCS / "diagrams" / "lifecycle.dot").read_text()
    assert stamped_hash(svg) == source_hash(dot)
    assert stamped_hash(svg) != source_hash(dot.replace("pending", "queued"))


def test_every_relative_link_in_the_docs_exists() -> None:
    for page in sorted(DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_index_embeds_the_lifecycle_picture() -> None:
    assert "](diagrams/lifecycle.svg)" in (DOCS / "index.md").read_text()


@pytest.mark.slow
def test_bench_quick_writes_the_table(tmp_path: Path) -> None:
    """A smoke run of every measurement (about a minute and a half with the databases up)."""
    out = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "runlife.conformance.bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    header = lines.index("| measurement | database | figure | reproduce with | note |")
    assert lines[header + 1] == "|---|---|---|---|---|"
    rows = [line for line in lines[header + 2 :] if line.startswith("| ")]
    assert len(rows) >= 8
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert len(cells) == 5, row
        what, _, figure, command, _ = cells
        assert what and figure and command, row
        assert re.search(r"\d", figure) or figure.startswith("not measured: "), row
    figures = {c[0]: c[2] for c in (re.split(r"\s*\|\s*", r)[1:] for r in rows)}
    assert figures["model checker states/s, symmetry on"].endswith("states/s")
    assert figures["symmetry reduction factor, 3 runs x 3 actors"].endswith("x")
