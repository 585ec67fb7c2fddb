"""Running the families into a :class:`Report`, and the report as a table, JSON and JUnit XML.

Exit codes: 0 every case passed (or was not exercised), 1 the store violates the spec, 2 the
store is broken (raised, hung, could not be used). A family that was not run is listed, and a
run that left out a core family says it is partial.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runlife.conformance.families import all_families
from runlife.conformance.guard import StoreHung, StoreRaised
from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.conformance.progress import Progress

EXIT_OK, EXIT_VIOLATION, EXIT_BROKEN = 0, 1, 2
SHOWN_FAILURES = 3
"""Failures printed in full in the summary; the rest are listed by name (all are in JSON)."""


@dataclass
class Entry:
    family: Family
    case: Case
    verdict: Verdict


@dataclass
class Report:
    """Every case's verdict, with what was checked and how."""

    store: str
    profile: str
    seed: int | None
    capabilities: list[str]
    timing: dict[str, float]
    families: list[Family]
    left_out: list[Family] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        outcomes = {e.verdict.outcome for e in self.entries}
        if Outcome.BROKEN in outcomes:
            return EXIT_BROKEN
        return EXIT_VIOLATION if Outcome.FAILED in outcomes else EXIT_OK

    def of(self, family: Family) -> list[Entry]:
        return [e for e in self.entries if e.family.number == family.number]

    def failures(self) -> list[Entry]:
        return [e for e in self.entries if e.verdict.outcome in (Outcome.FAILED, Outcome.BROKEN)]

    def traces(self) -> list[dict[str, Any]]:
        """Every failure's counterexample, for ``trace.json``."""
        return [e.verdict.trace for e in self.failures() if e.verdict.trace is not None]

    # -- the human summary ----------------------------------------------------------------------

    def summary(self) -> str:
        lines = [
            f"runlife check {self.store}  (profile {self.profile}"
            + ("" if self.seed is None else f", seed {self.seed}")
            + ")",
            f"capabilities: {', '.join(self.capabilities) or 'none'}; timing: lease "
            f"{self.timing['lease_ttl']:g} s, stale after {self.timing['stale_after']:g} s",
            "",
            f"  # {'family':<31}{'passed':>7}{'failed':>7}{'broken':>7}"
            f"{'not exercised':>15}  {'covered':<20}{'time':>7}",
        ]
        for family in self.families:
            entries = self.of(family)
            counts = Counter(e.verdict.outcome for e in entries)
            seconds = sum(e.verdict.seconds for e in entries)
            covered = f"{counts[Outcome.PASSED]}/{len(entries)} {family.unit}"
            lines.append(
                f"  {family.number} {family.title:<31}{counts[Outcome.PASSED]:>7}"
                f"{counts[Outcome.FAILED]:>7}{counts[Outcome.BROKEN]:>7}"
                f"{counts[Outcome.NOT_EXERCISED]:>15}  {covered:<20}{seconds:>6.1f}s"
            )
        lines += self._notes()
        for family in self.families:
            if family.summarize is not None and self.of(family):
                results = [(e.case, e.verdict) for e in self.of(family)]
                lines += ["", f"{family.title}:", *(f"  {x}" for x in family.summarize(results))]
        lines += self._failure_lines()
        lines += ["", self.verdict_line()]
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        notes = []
        skipped = Counter(
            (e.family.title, e.verdict.message)
            for e in self.entries
            if e.verdict.outcome is Outcome.NOT_EXERCISED
        )
        for (title, message), count in sorted(skipped.items()):
            notes.append(f"  {title}: {count} {message}")
        if self.left_out:
            names = ", ".join(f"{f.number} {f.name}" for f in self.left_out)
            core = [f for f in self.left_out if f.core]
            notes.append(
                f"  not run (--families): {names}"
                + ("; partial check: core families left out" if core else "")
            )
        return ["", *notes] if notes else []

    def _failure_lines(self) -> list[str]:
        failures = self.failures()
        if not failures:
            return []
        lines = ["", "failures:"]
        for entry in failures[:SHOWN_FAILURES]:
            lines.append(f"- {entry.family.name} {entry.case.name} ({entry.verdict.outcome}):")
            lines += [f"    {line}".rstrip() for line in entry.verdict.message.splitlines()]
        for entry in failures[SHOWN_FAILURES:]:
            first = entry.verdict.message.splitlines()[0] if entry.verdict.message else ""
            lines.append(f"- {entry.family.name} {entry.case.name}: {first}")
        return lines

    def verdict_line(self) -> str:
        """One line: the conclusion."""
        counts = Counter(e.verdict.outcome for e in self.entries)
        total = len(self.entries)
        if self.exit_code == EXIT_BROKEN:
            first = next(e for e in self.entries if e.verdict.outcome is Outcome.BROKEN)
            reason = first.verdict.message.splitlines()[0]
            return f"BROKEN: the store is broken: {reason}"
        if self.exit_code == EXIT_VIOLATION:
            return (
                f"FAILED: the store violates the spec in {counts[Outcome.FAILED]} of {total} cases"
            )
        partial = " (partial: core families left out)" if any(f.core for f in self.left_out) else ""
        return (
            f"PASSED: {counts[Outcome.PASSED]} of {total} cases passed, "
            f"{counts[Outcome.NOT_EXERCISED]} not exercised, in {self.seconds:.1f} s{partial}"
        )

    # -- machine-readable -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "profile": self.profile,
            "seed": self.seed,
            "capabilities": self.capabilities,
            "timing": self.timing,
            "exit_code": self.exit_code,
            "verdict": self.verdict_line(),
            "seconds": round(self.seconds, 3),
            "not_run": [f.name for f in self.left_out],
            "families": [
                {
                    "number": family.number,
                    "name": family.name,
                    "title": family.title,
                    "core": family.core,
                    "counts": {
                        str(o): sum(e.verdict.outcome is o for e in self.of(family))
                        for o in Outcome
                    },
                    "cases": [
                        {
                            "name": e.case.name,
                            "method": e.case.method,
                            "outcome": str(e.verdict.outcome),
                            "message": e.verdict.message,
                            "seconds": round(e.verdict.seconds, 4),
                            "detail": e.verdict.detail,
                        }
                        for e in self.of(family)
                    ],
                }
                for family in self.families
            ],
            "failures": self.traces(),
        }

    def junit_xml(self) -> str:
        """One testsuite per family, one testcase per case, named ``method`` / case."""
        root = ET.Element("testsuites", name=f"runlife check {self.store}")
        for family in self.families:
            entries = self.of(family)
            counts = Counter(e.verdict.outcome for e in entries)
            suite = ET.SubElement(
                root,
                "testsuite",
                name=f"runlife.{family.name}",
                tests=str(len(entries)),
                failures=str(counts[Outcome.FAILED]),
                errors=str(counts[Outcome.BROKEN]),
                skipped=str(counts[Outcome.NOT_EXERCISED]),
                time=f"{sum(e.verdict.seconds for e in entries):.3f}",
            )
            for entry in entries:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"runlife.{family.name}.{entry.case.method}",
                    name=entry.case.name,
                    time=f"{entry.verdict.seconds:.3f}",
                )
                message = entry.verdict.message
                first = message.splitlines()[0] if message else ""
                tag = {
                    Outcome.FAILED: "failure",
                    Outcome.BROKEN: "error",
                    Outcome.NOT_EXERCISED: "skipped",
                }.get(entry.verdict.outcome)
                if tag is not None:
                    ET.SubElement(case, tag, message=first).text = message
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def check(kit: Kit, families: Sequence[Family], progress: Progress | None = None) -> Report:
    """Run every case of ``families`` on the kit's store, in order, into a report."""
    progress = progress or Progress()
    chosen = {f.number for f in families}
    report = Report(
        store=kit.target.name,
        profile=kit.profile.name,
        seed=kit.seed,
        capabilities=sorted(str(c) for c in kit.capabilities),
        timing={"lease_ttl": kit.timing.lease_ttl, "stale_after": kit.timing.stale_after},
        families=list(families),
        left_out=[f for f in all_families() if f.number not in chosen and not f.opt_in],
    )
    started = time.perf_counter()
    for family in families:
        try:
            cases = _cases(kit, family)
        except (StoreRaised, StoreHung) as error:
            setup = Case("setting up the family", "-", lambda _: Verdict.passed())
            report.entries.append(Entry(family, setup, Verdict(Outcome.BROKEN, str(error))))
            continue
        progress.start(family, len(cases))
        for case in cases:
            verdict = _hung(kit) or kit.run(case)
            report.entries.append(Entry(family, case, verdict))
            progress.advance(case, verdict)
        progress.finish()
    report.seconds = time.perf_counter() - started
    return report


def _cases(kit: Kit, family: Family) -> list[Case]:
    cases = list(kit.thread.run(lambda: family.cases(kit))) if _hung(kit) is None else []
    if family.needs:
        return [Case(c.name, c.method, c.check, c.needs | family.needs) for c in cases]
    return cases


def _hung(kit: Kit) -> Verdict | None:
    """After a hang the kit's thread is stuck; later cases are not run, and say why."""
    hung: StoreHung | None = kit.thread.hung
    if hung is None:
        return None
    return Verdict(Outcome.BROKEN, f"not run: {hung}")
