"""Progress while the kit runs: a bar per family on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO

from runlife.conformance.kit import Case, Family, Outcome, Verdict


class Progress:
    """Says nothing; the base of the two that do."""

    def start(self, family: Family, total: int) -> None:
        """A family begins, with ``total`` cases."""

    def advance(self, case: Case, verdict: Verdict) -> None:
        """One case is done."""

    def finish(self) -> None:
        """The family is done."""


class _Counting(Progress):
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.family: Family | None = None
        self.total = self.done = self.bad = 0
        self.started = 0.0

    def start(self, family: Family, total: int) -> None:
        self.family, self.total, self.done, self.bad = family, total, 0, 0
        self.started = time.perf_counter()

    def advance(self, case: Case, verdict: Verdict) -> None:
        self.done += 1
        self.bad += verdict.outcome in (Outcome.FAILED, Outcome.BROKEN)

    @property
    def title(self) -> str:
        assert self.family is not None
        return f"{self.family.number} {self.family.title}"

    @property
    def tally(self) -> str:
        bad = f", {self.bad} failing" if self.bad else ""
        return f"{self.done}/{self.total} {self.family.unit if self.family else ''}{bad}"


class LineProgress(_Counting):
    """A line when a family starts, for each slow or failing case, and when it ends."""

    SLOW = 2.0

    def start(self, family: Family, total: int) -> None:
        super().start(family, total)
        self.stream.write(f"{self.title}: {total} {family.unit}\n")
        self.stream.flush()

    def advance(self, case: Case, verdict: Verdict) -> None:
        super().advance(case, verdict)
        if verdict.outcome in (Outcome.FAILED, Outcome.BROKEN) or verdict.seconds > self.SLOW:
            self.stream.write(f"  {case.name}: {verdict.outcome} ({verdict.seconds:.1f} s)\n")
            self.stream.flush()

    def finish(self) -> None:
        seconds = time.perf_counter() - self.started
        self.stream.write(f"{self.title}: {self.tally} done in {seconds:.1f} s\n")
        self.stream.flush()


class BarProgress(_Counting):
    """One bar per family, redrawn in place."""

    WIDTH = 30

    def _draw(self, end: str = "") -> None:
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        seconds = time.perf_counter() - self.started
        self.stream.write(f"\r{self.title:<34} [{bar}] {self.tally} {seconds:5.1f} s{end}")
        self.stream.flush()

    def start(self, family: Family, total: int) -> None:
        super().start(family, total)
        self._draw()

    def advance(self, case: Case, verdict: Verdict) -> None:
        super().advance(case, verdict)
        self._draw()

    def finish(self) -> None:
        self._draw("\n")


def progress_for(stream: TextIO, quiet: bool = False) -> Progress:
    """Bars on a terminal, lines elsewhere, nothing when ``quiet``."""
    if quiet:
        return Progress()
    return BarProgress(stream) if stream.isatty() else LineProgress(stream)
