"""Running the conformance kit in-process from the kit's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from runlife.conformance.kit import Family, Kit, Outcome
from runlife.conformance.report import Report, check
from runlife.conformance.target import resolve

BROKEN = "tests.conformance.broken_stores"
MEMORY = "examples.memory_store:make_store"
MODEL = "runlife.spec.reference:ModelStore"


@contextmanager
def opened(store: str, seed: int | None = 7, timeout: float = 10.0) -> Iterator[Kit]:
    """A kit on ``store`` with the quick profile, closed afterwards."""
    kit = Kit(resolve(store), "quick", seed=seed, timeout=timeout)
    try:
        yield kit
    finally:
        kit.close()


def report(store: str, *families: Family, seed: int | None = 7) -> Report:
    """The report of running ``families`` on ``store``."""
    with opened(store, seed) as kit:
        return check(kit, families)


def outcomes(result: Report) -> dict[str, Outcome]:
    return {entry.case.name: entry.verdict.outcome for entry in result.entries}
