"""Rendering the spec's pictures: DOT text to SVG or PNG with Graphviz's ``dot``.

The ``graphviz`` Python package drives the ``dot`` program (Debian: ``apt-get install
graphviz``; ``make dot`` installs it). Without ``dot``, DOT and mermaid text still work; SVG and
PNG raise :class:`DotMissing`, whose message says how to install it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import graphviz

from runlife.spec import diagram
from runlife.spec.checker import Violation

FORMATS = ("svg", "png", "dot", "mermaid")
SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
"""The format a file name's suffix asks for."""
INSTALL_HINT = (
    "graphviz's `dot` program is not installed: apt-get install graphviz (or `make dot`);"
    " DOT and mermaid output need no dot"
)
SOURCE_STAMP = "<!-- runlife-dot-sha256: {} -->"
"""Written into every SVG: the hash of the DOT text it was rendered from."""


class OutputError(Exception):
    """A picture cannot be written where or how it was asked for; the message says why."""


class DotMissing(OutputError):
    """Graphviz's ``dot`` program is not on PATH."""


class RenderFailed(Exception):
    """``dot`` refused the DOT text (a bug in the generator: the message has dot's reason)."""


def render(dot: str, fmt: str) -> bytes:
    """``dot`` text rendered as ``svg`` or ``png``; an SVG carries the hash of its source."""
    try:
        picture: bytes = graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DotMissing(INSTALL_HINT) from None
    except graphviz.CalledProcessError as error:
        reason = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise RenderFailed(f"dot could not render: {reason[0] if reason else error}") from None
    return stamp(picture, dot) if fmt == "svg" else picture


def stamp(svg: bytes, dot: str) -> bytes:
    """``svg`` with a comment naming the hash of ``dot``, after the XML declaration."""
    head, _, rest = svg.partition(b"?>")
    mark = SOURCE_STAMP.format(source_hash(dot)).encode()
    return head + b"?>\n" + mark + rest if rest else mark + b"\n" + svg


def source_hash(dot: str) -> str:
    return hashlib.sha256(dot.encode()).hexdigest()


def stamped_hash(svg: bytes) -> str | None:
    """The source hash an SVG written by :func:`render` carries, or None."""
    prefix, _, suffix = SOURCE_STAMP.partition("{}")
    start = svg.find(prefix.encode())
    if start < 0:
        return None
    end = svg.find(suffix.encode(), start + len(prefix))
    return svg[start + len(prefix) : end].decode()


def check_output(path: Path | None, fmt: str) -> None:
    """Raise :class:`OutputError` now, before slow work, if the picture could not be written:
    its directory is missing, or ``fmt`` needs ``dot`` and there is none."""
    if path is not None and not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: {path.parent} is not a directory")
    if fmt in ("svg", "png"):
        render("digraph probe {}", "svg")


def graph_output(graph: diagram.Graph, fmt: str) -> bytes:
    """A state diagram in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "mermaid":
        return diagram.to_mermaid(graph).encode()
    dot = diagram.to_dot(graph)
    return dot.encode() if fmt == "dot" else render(dot, fmt)


def sequence_output(sequence: diagram.Sequence, fmt: str) -> bytes:
    """A sequence diagram in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "mermaid":
        return diagram.sequence_to_mermaid(sequence).encode()
    dot = diagram.sequence_to_dot(sequence)
    return dot.encode() if fmt == "dot" else render(dot, fmt)


def trace_svg(violation: Violation[Any], describe: Callable[[Any], Mapping[str, object]]) -> bytes:
    """A model checker's counterexample as an SVG sequence diagram (one lane per actor, one
    for the store; the step that broke the property in red). A failed ``runlife check`` trace
    can be drawn the same way: build a :class:`diagram.Sequence` and call
    :func:`sequence_output`."""
    return sequence_output(diagram.counterexample(violation, describe), "svg")


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file: never half a picture."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
