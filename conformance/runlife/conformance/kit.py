"""The conformance kit's moving parts: profiles, families, cases, verdicts, and the kit itself.

A :class:`Family` is a numbered group of :class:`Case` values (transition tours, the transition
matrix, fuzzing, races...). The registry in :mod:`runlife.conformance.families` lists them;
``runlife check`` and the pytest plugin both run exactly those cases through a :class:`Kit`,
which opens the store under test, hands each case a fresh one, and turns whatever happens into a
:class:`Verdict`: passed, failed (the store did something the spec does not), broken (the store
raised or hung), or not exercised (the store lacks a capability the case needs).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from runlife.conformance.guard import (
    DEFAULT_TIMEOUT,
    KitThread,
    StoreHung,
    StoreRaised,
    Watch,
    guarded,
)
from runlife.conformance.lockstep import Divergence, Lockstep, Step
from runlife.conformance.replay import program_text
from runlife.conformance.target import Target
from runlife.spec.contract import Capability, Resettable, RunStore
from runlife.spec.records import Timing

# --- profiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How hard the kit tries. Fuzzing reads its Hypothesis settings profile
    ``runlife-<name>``; other families read the numbers here."""

    name: str
    doc: str
    race_rounds: int
    race_seconds: float
    fuzz_every_run: bool
    """Whether fuzzing reads every run back after every step, or only the run a step names."""

    @property
    def hypothesis(self) -> settings:
        return settings.get_profile(f"runlife-{self.name}")


def _register(name: str, examples: int, steps: int) -> None:
    settings.register_profile(
        f"runlife-{name}",
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        print_blob=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


_register("quick", examples=25, steps=25)
_register("default", examples=150, steps=50)
_register("thorough", examples=1000, steps=100)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("quick", "a smoke check, well under 30 seconds", 3, 3, fuzz_every_run=False),
        Profile("default", "every edge and cell, ~15,000 fuzzed steps", 10, 10, False),
        Profile("thorough", "~200,000 fuzzed steps, every run read after each", 40, 60, True),
    )
}

# --- families, cases, verdicts -----------------------------------------------------------------


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    """The store did something the spec does not."""
    BROKEN = "broken"
    """The store raised, hung, or could not be used."""
    NOT_EXERCISED = "not exercised"
    """The store lacks a capability the case needs; never counted as passed."""


@dataclass
class Verdict:
    """What one case found. A failure carries its counterexample as plain data (``trace``)."""

    outcome: Outcome
    message: str = ""
    trace: dict[str, Any] | None = None
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, message: str = "", **detail: Any) -> Verdict:
        return cls(Outcome.PASSED, message, detail=detail)

    @classmethod
    def not_exercised(cls, needs: frozenset[Capability] | set[Capability]) -> Verdict:
        names = ", ".join(sorted(str(c) for c in needs))
        return cls(Outcome.NOT_EXERCISED, f"not exercised: needs {names}")


@dataclass(frozen=True)
class Case:
    """One named check. ``method`` is the contract method it exercises, so a failure names
    the method and the case (``complete_run[running, stale epoch]``)."""

    name: str
    method: str
    check: Callable[[Kit], Verdict]
    needs: frozenset[Capability] = frozenset()


@dataclass(frozen=True)
class Family:
    """A numbered group of cases. ``core`` families run on every store; a family that
    ``needs`` capabilities the store lacks is reported as not exercised, case by case."""

    number: int
    name: str
    title: str
    cases: Callable[[Kit], Sequence[Case]]
    needs: frozenset[Capability] = frozenset()
    core: bool = False
    unit: str = "cases"
    summarize: Callable[[list[tuple[Case, Verdict]]], list[str]] | None = None
    """Extra lines for the human report, from the family's verdicts."""
    opt_in: bool = False
    """Runs only when asked for (``runlife check --mutants`` runs the opt-in families)."""


# --- the kit -------------------------------------------------------------------------------------


class Kit:
    """The store under test, opened once, and the settings every case reads.

    All store calls happen on the kit's own thread (see :mod:`runlife.conformance.guard`), so a
    store that hangs is reported as broken, naming the method, instead of hanging the kit.
    """

    def __init__(
        self,
        target: Target,
        profile: Profile | str = "default",
        *,
        seed: int | None = None,
        concurrency: int = 4,
        timeout: float = DEFAULT_TIMEOUT,
        debug: bool = False,
    ) -> None:
        self.target, self.debug = target, debug
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.seed, self.concurrency, self.timeout = seed, concurrency, timeout
        self.watch = Watch()
        self.thread = KitThread(self.watch, timeout)
        self._opened: list[RunStore] = []
        self.last_lockstep: Lockstep | None = None
        self._debugged = False
        self.store = self.thread.run(self._open)
        self.timing: Timing = self.store.timing
        self.capabilities: frozenset[Capability] = frozenset(self.store.capabilities)

    def _open(self) -> RunStore:
        store = guarded(self.watch.call(f"{self.target.name}()", self.target.open), self.watch)
        self._opened.append(store)
        return store

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def fresh(self) -> RunStore:
        """An empty store: the store reset, or (without ``Capability.RESET``) a new one."""
        if self.has(Capability.RESET):
            resettable: Resettable = self.store  # type: ignore[assignment]
            resettable.reset()
            return self.store
        while len(self._opened) > 1:
            self._opened.pop().close()
        return self._open()

    def lockstep(self, every_run: bool = True) -> Lockstep:
        """A fresh store and a fresh spec, side by side (see :class:`Lockstep`)."""
        return Lockstep(self.fresh(), every_run=every_run)

    def run(self, case: Case) -> Verdict:
        """Run ``case`` on the kit thread and judge what happened."""
        missing = case.needs - self.capabilities
        if missing:
            return Verdict.not_exercised(missing)
        started = time.perf_counter()
        try:
            verdict = self.thread.run(lambda: case.check(self))
        except (StoreRaised, StoreHung) as error:
            if isinstance(error, StoreRaised):
                self._debug(error)
            verdict = Verdict(Outcome.BROKEN, str(error))
        except Exception as error:
            if self.debug:
                raise
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            verdict = Verdict(
                Outcome.BROKEN, f"the kit itself failed ({reason}); rerun with --debug"
            )
        verdict.seconds = time.perf_counter() - started
        return verdict

    def _debug(self, error: StoreRaised) -> None:
        """With ``debug``, show the first store exception's traceback."""
        if self.debug and not self._debugged:
            self._debugged = True
            traceback.print_exception(error.error)

    def run_steps(self, steps: Sequence[Step], family: str, case: str) -> Verdict:
        """Perform ``steps`` in lockstep on a fresh store; the verdict carries the trace of a
        failure. Call on the kit thread (from a case)."""
        lockstep = self.last_lockstep = self.lockstep()
        try:
            for step in steps:
                lockstep.step(step)
        except (Divergence, StoreRaised) as error:
            if isinstance(error, StoreRaised):
                self._debug(error)
            trace = self.trace(family, case, lockstep, str(error))
            outcome = Outcome.FAILED if isinstance(error, Divergence) else Outcome.BROKEN
            message = f"{error}\n\nrerun it with this test:\n\n{trace['program']}"
            return Verdict(outcome, message, trace)
        return Verdict.passed()

    def trace(self, family: str, case: str, lockstep: Lockstep, failure: str) -> dict[str, Any]:
        """A failure as plain data for ``trace.json`` and ``runlife replay``."""
        steps = [r.step for r in lockstep.records]
        return {
            "kind": "sequential",
            "family": family,
            "case": case,
            "store": self.target.name,
            "failure": failure,
            "steps": [r.to_data() for r in lockstep.records],
            "program": program_text(self.target.name, steps, f"{family} {case}"),
        }

    def close(self) -> None:
        """Close every store the kit opened, then run the target's cleanup."""
        try:
            if self.thread.hung is None:
                for store in reversed(self._opened):
                    self.thread.run(store.close)
        finally:
            self.thread.close()
            self.target.cleanup()
