"""Measurements of the conformance kit, for the benchmark page.

:func:`fuzz_rate` runs the fuzzing family against a store and counts the steps it performed
(each step runs on the store and on the spec and is compared); :func:`check_time` times a whole
``runlife check`` at a profile. Both take ``STORE`` as ``runlife check`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from runlife.conformance.families import fuzz, select
from runlife.conformance.kit import PROFILES, Kit, Outcome
from runlife.conformance.lockstep import Lockstep
from runlife.conformance.report import check
from runlife.conformance.target import resolve


class CountingKit(Kit):
    """A kit that remembers every lockstep it hands out, to count the steps taken."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.locksteps: list[Lockstep] = []

    def lockstep(self, every_run: bool = True) -> Lockstep:
        made = super().lockstep(every_run)
        self.locksteps.append(made)
        return made

    @property
    def steps(self) -> int:
        return sum(len(lockstep.records) for lockstep in self.locksteps)


@dataclass(frozen=True)
class FuzzRate:
    """Fuzzing throughput on one store: programs' steps per second of wall time."""

    store: str
    profile: str
    steps: int
    seconds: float
    passed: bool

    @property
    def per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


def fuzz_rate(
    store: str, profile: str = "default", seed: int = 1, every_run: bool | None = None
) -> FuzzRate:
    """Run every fuzzing case of ``profile`` on ``store``; steps counted, time measured.

    ``every_run`` overrides the profile's choice of reading back every run after each step.
    """
    chosen = PROFILES[profile]
    if every_run is not None:
        chosen = replace(chosen, fuzz_every_run=every_run)
    kit = CountingKit(resolve(store), chosen, seed=seed)
    try:
        started = time.perf_counter()
        verdicts = [kit.run(case) for case in fuzz.cases(kit)]
        seconds = time.perf_counter() - started
        passed = all(v.outcome is Outcome.PASSED for v in verdicts)
        return FuzzRate(kit.target.name, chosen.name, kit.steps, seconds, passed)
    finally:
        kit.close()


@dataclass(frozen=True)
class CheckTime:
    """How long a whole ``runlife check`` took, and how it ended."""

    store: str
    profile: str
    seconds: float
    exit_code: int
    cases: int


def check_time(store: str, profile: str, seed: int = 1, families: str | None = None) -> CheckTime:
    """Wall time of ``runlife check STORE --profile PROFILE``, opening and closing included."""
    started = time.perf_counter()
    kit = Kit(resolve(store), profile, seed=seed)
    try:
        report = check(kit, select(families))
    finally:
        kit.close()
    seconds = time.perf_counter() - started
    return CheckTime(kit.target.name, profile, seconds, report.exit_code, len(report.entries))
