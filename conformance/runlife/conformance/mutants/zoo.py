"""Running the kit against every mutant: who kills it, and how fast.

Each store (every mutant, and the correct :class:`~runlife.impl.SqlRunStore` as the control)
gets a fresh private store on the given database: a scratch SQLite file, or a namespace of its
own on a server, removed afterwards. The kit's families then run in order, at the quick
profile, and stop at the first case that fails or finds the store broken: that family and case
killed the mutant, and the seconds from the first case to that verdict are its time to kill.
The control must pass every family.
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from runlife.conformance.guard import StoreHung, StoreRaised
from runlife.conformance.kit import Case, Family, Kit, Outcome
from runlife.conformance.mutants.base import BACKEND_NAMES, BACKENDS, Mutant
from runlife.conformance.mutants.registry import all_mutants
from runlife.conformance.target import KIT_TIMING, Target, TargetError, validate
from runlife.impl import ManualClock, SqlRunStore, StoreError
from runlife.impl.dialects import describe_url, parse_url
from runlife.impl.isolation import drop_isolated, isolated_url

ZOO_PROFILE = "quick"
"""The profile every mutant faces: the zoo measures how fast the cheapest pass catches a bug."""

CONTROL = "correct store"
"""The name the control (the unmutated SqlRunStore) goes by in results and tables."""

KIT_FAILED = "the kit itself failed"
"""How a verdict starts when the kit, not the store, raised (see Kit.run)."""


class Fate(StrEnum):
    KILLED = "killed"
    """A family failed the store or found it broken."""
    SURVIVED = "survived"
    """Every family passed it (what the control must do, and no mutant may)."""
    NOT_APPLICABLE = "not applicable here"
    """The bug cannot exist on this backend."""
    ERROR = "error"
    """The store could not be checked: it could not be opened, or the kit itself failed."""


@dataclass(frozen=True)
class ZooResult:
    """What the kit did to one store of the zoo."""

    mutant: str
    origin: str
    fate: Fate
    family: str = ""
    case: str = ""
    seconds: float = 0.0
    message: str = ""
    control: bool = False

    @property
    def ok(self) -> bool:
        """The control survived; a mutant was killed or cannot exist here."""
        if self.control:
            return self.fate is Fate.SURVIVED
        return self.fate in (Fate.KILLED, Fate.NOT_APPLICABLE)

    def to_data(self) -> dict[str, Any]:
        return {**asdict(self), "fate": str(self.fate), "seconds": round(self.seconds, 3)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ZooResult:
        return cls(**{**data, "fate": Fate(data["fate"])})


@dataclass(frozen=True)
class ZooFigures:
    """Seconds to kill over the killed mutants, and how many were killed of those that apply."""

    median_seconds: float
    max_seconds: float
    killed: int
    applicable: int
    slowest: str
    survivors: tuple[str, ...]


# --- one store -----------------------------------------------------------------------------


def zoo_target(store_class: type[SqlRunStore], url: str) -> Target:
    """A target opening ``store_class`` on a fresh private store on ``url``'s database: a
    namespace of its own on a server, a scratch file for SQLite (in-memory SQLite too, whose
    one shared connection would hide the races and reconnections some mutants need)."""
    parsed = parse_url(url)
    name = f"{store_class.__name__} on {describe_url(parsed)}"
    cleanup: Callable[[], None]
    if parsed.get_backend_name() != "sqlite":
        namespace = f"runlife_zoo_{uuid.uuid4().hex[:12]}"
        private = isolated_url(url, namespace)
        cleanup = lambda: drop_isolated(url, namespace)  # noqa: E731
    else:
        directory = Path(tempfile.mkdtemp(prefix="runlife-zoo-"))
        private = f"sqlite:///{directory / 'runs.db'}"
        cleanup = lambda: shutil.rmtree(directory, ignore_errors=True)  # noqa: E731

    def open_store() -> SqlRunStore:
        store = store_class.from_url(private, timing=KIT_TIMING, clock=ManualClock())
        validate(store, name)
        return store

    return Target(name, open_store, "database", cleanup)


def hunt(
    store_class: type[SqlRunStore],
    url: str,
    *,
    profile: str = ZOO_PROFILE,
    families: str | None = None,
    seed: int | None = None,
    timeout: float = 10.0,
) -> ZooResult:
    """Run the kit's families in order against ``store_class`` on ``url`` until one kills it
    (``families``: a ``--families`` list to run instead of all of them)."""

    from runlife.conformance.families import select

    if issubclass(store_class, Mutant):
        result = _Result(store_class.name, store_class.origin, control=False)
        applies_to = store_class.applies_to
    else:
        name = CONTROL if store_class is SqlRunStore else store_class.__name__
        origin = f"{store_class.__module__}.{store_class.__qualname__}"
        result, applies_to = _Result(name, origin, control=True), BACKENDS
    backend = parse_url(url).get_backend_name()
    if backend not in applies_to:
        where = ", ".join(BACKEND_NAMES[b] for b in sorted(applies_to))
        return result(Fate.NOT_APPLICABLE, message=f"applies to {where} only")
    try:
        target = zoo_target(store_class, url)
    except StoreError as error:
        return result(Fate.ERROR, message=f"cannot make a private store: {error}")
    try:
        kit = Kit(target, profile, seed=seed, timeout=timeout)
    except (StoreRaised, StoreHung, TargetError) as error:
        target.cleanup()
        return result(Fate.ERROR, message=f"cannot open it: {error}")
    try:
        return _first_kill(kit, select(families), result)
    finally:
        # A store that breaks on close was already judged; its namespace is dropped anyway.
        with contextlib.suppress(StoreRaised, StoreHung):
            kit.close()


def _first_kill(kit: Kit, families: Sequence[Family], result: _Result) -> ZooResult:
    """Run the families in order until a case fails the store or finds it broken. A case in
    which the kit itself failed kills nothing: the hunt goes on, and reports it if nothing
    else kills the store."""
    started = time.perf_counter()
    kit_failure = ""
    for family in families:
        try:
            cases = _cases(kit, family)
        except (StoreRaised, StoreHung) as error:
            seconds = time.perf_counter() - started
            return result(Fate.KILLED, family.name, "setting up the family", seconds, str(error))
        for case in cases:
            verdict = kit.run(case)
            if verdict.outcome not in (Outcome.FAILED, Outcome.BROKEN):
                continue
            first = verdict.message.splitlines()[0] if verdict.message else ""
            if first.startswith(KIT_FAILED):
                kit_failure = kit_failure or f"{family.name} {case.name}: {first}"
                continue
            seconds = time.perf_counter() - started
            return result(Fate.KILLED, family.name, case.name, seconds, first)
    seconds = time.perf_counter() - started
    if kit_failure:
        return result(Fate.ERROR, seconds=seconds, message=kit_failure)
    return result(Fate.SURVIVED, seconds=seconds)


class _Result:
    """Builds the results of one store (its name and origin said once)."""

    def __init__(self, mutant: str, origin: str, control: bool) -> None:
        self.mutant, self.origin, self.control = mutant, origin, control

    def __call__(
        self, fate: Fate, family: str = "", case: str = "", seconds: float = 0.0, message: str = ""
    ) -> ZooResult:
        return ZooResult(
            self.mutant, self.origin, fate, family, case, seconds, message, self.control
        )


def _cases(kit: Kit, family: Family) -> list[Case]:
    """The family's cases, each needing what the family needs too."""
    cases = kit.thread.run(lambda: list(family.cases(kit)))
    return [Case(c.name, c.method, c.check, c.needs | family.needs) for c in cases]


# --- the zoo -------------------------------------------------------------------------------


def run_zoo(
    url: str,
    profile: str = ZOO_PROFILE,
    *,
    control: bool = True,
    seed: int | None = None,
    timeout: float = 10.0,
    report: Callable[[ZooResult], None] | None = None,
) -> list[ZooResult]:
    """Hunt every registered mutant on ``url``'s database, after the control when ``control``.

    ``report`` is called with each result as it comes (for progress output).
    """
    stores: list[type[SqlRunStore]] = [SqlRunStore] if control else []
    results = []
    for store_class in [*stores, *all_mutants()]:
        result = hunt(store_class, url, profile=profile, seed=seed, timeout=timeout)
        if report is not None:
            report(result)
        results.append(result)
    return results


def zoo_passed(results: Sequence[ZooResult]) -> bool:
    """Every applicable mutant was killed and the control (if run) passed every family."""
    return all(result.ok for result in results)


def figures(results: Sequence[ZooResult]) -> ZooFigures:
    """Seconds to kill (median and max) over the killed mutants of ``results``."""
    mutants = [r for r in results if not r.control and r.fate is not Fate.NOT_APPLICABLE]
    killed = [r for r in mutants if r.fate is Fate.KILLED]
    seconds = [r.seconds for r in killed] or [0.0]
    slowest = max(killed, key=lambda r: r.seconds).mutant if killed else ""
    return ZooFigures(
        median_seconds=statistics.median(seconds),
        max_seconds=max(seconds),
        killed=len(killed),
        applicable=len(mutants),
        slowest=slowest,
        survivors=tuple(r.mutant for r in mutants if r.fate is not Fate.KILLED),
    )


def table(results: Sequence[ZooResult]) -> list[str]:
    """The zoo as a table: mutant, origin, seconds to kill, killed by family and case; then
    the line ``killed N of M``."""
    width = max([len(r.mutant) for r in results] + [6]) + 2
    origin_width = max([len(r.origin) for r in results] + [6]) + 2
    lines = [f"{'mutant':<{width}}{'origin':<{origin_width}}{'seconds':>8}  killed by"]
    for r in results:
        if r.fate is Fate.KILLED:
            verdict = f"{r.family}: {r.case}"
        elif r.control and r.fate is Fate.SURVIVED:
            verdict = "(passed every family)"
        else:
            verdict = f"{str(r.fate).upper()}" + (f": {r.message}" if r.message else "")
        seconds = f"{r.seconds:>7.2f}s" if r.fate is not Fate.NOT_APPLICABLE else f"{'-':>8}"
        lines.append(f"{r.mutant:<{width}}{r.origin:<{origin_width}}{seconds}  {verdict}")
    found = figures(results)
    summary = f"killed {found.killed} of {found.applicable}"
    if found.killed:
        summary += (
            f"; seconds to kill: median {found.median_seconds:.2f}, max {found.max_seconds:.2f}"
            f" ({found.slowest})"
        )
    absent = sum(r.fate is Fate.NOT_APPLICABLE for r in results)
    if absent:
        summary += f"; {absent} not applicable here"
    return [*lines, summary]
