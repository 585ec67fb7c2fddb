"""The runlife pytest plugin (registered through the ``pytest11`` entry point).

``pytest --runlife-store=STORE`` (or ``runlife_store = STORE`` in the pytest ini settings)
adds the conformance kit's cases to the session as tests: one per family and case, named
``runlife/<family>/<case>``, so a store author's own suite checks the store against the spec.
A failing case shows its smallest counterexample and a test that replays it; a case the store
lacks a capability for is skipped with that reason, never passed.

Without the option the plugin adds nothing and imports nothing beyond this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from runlife.conformance.kit import Case, Family, Kit

KIT: pytest.StashKey[Kit] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runlife", "runlife conformance kit")
    group.addoption(
        "--runlife-store",
        metavar="STORE",
        help="check this run store against the spec: a database URL or module:factory",
    )
    group.addoption(
        "--runlife-profile",
        choices=("quick", "default", "thorough"),
        help="how hard the kit tries (default: the ini setting runlife_profile, else quick)",
    )
    group.addoption("--runlife-families", metavar="LIST", help="comma-separated families to run")
    group.addoption("--runlife-seed", type=int, metavar="N", help="seed for the fuzzing family")
    parser.addini("runlife_store", "the run store the conformance kit checks (STORE)")
    parser.addini("runlife_profile", "the conformance kit's profile", default="quick")


def _store(config: pytest.Config) -> str:
    value = config.getoption("runlife_store") or config.getini("runlife_store")
    return str(value or "").strip()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    store = _store(config)
    if not store:
        return
    items.extend(_collect(session, config, store))


def _collect(session: pytest.Session, config: pytest.Config, store: str) -> list[pytest.Item]:
    from runlife.conformance.families import select
    from runlife.conformance.guard import StoreHung, StoreRaised
    from runlife.conformance.kit import Kit
    from runlife.conformance.target import TargetError, resolve

    root = RunlifeKit.from_parent(session, name="runlife", nodeid="runlife")
    try:
        families = select(config.getoption("runlife_families"))
        kit = Kit(
            resolve(store),
            config.getoption("runlife_profile") or config.getini("runlife_profile"),
            seed=config.getoption("runlife_seed"),
        )
    except (TargetError, ValueError, StoreRaised, StoreHung) as error:
        message = f"runlife cannot check {store}: {error}"
        return [RunlifeProblem.from_parent(root, name="store", message=message)]
    config.stash[KIT] = kit
    items: list[pytest.Item] = []
    for family in families:
        group = RunlifeFamily.from_parent(root, name=family.name, nodeid=f"runlife/{family.name}")
        try:
            cases = kit.thread.run(lambda family=family: list(family.cases(kit)))  # type: ignore[misc]
        except (StoreRaised, StoreHung) as error:
            message = f"runlife cannot list the {family.name} cases: {error}"
            items.append(RunlifeProblem.from_parent(group, name="cases", message=message))
            continue
        for case in cases:
            items.append(RunlifeCase.from_parent(group, name=case.name, family=family, case=case))
    return items


def pytest_unconfigure(config: pytest.Config) -> None:
    kit = config.stash.get(KIT, None)
    if kit is not None:
        kit.close()


class RunlifeKit(pytest.Collector):
    """The kit's cases, under ``runlife``."""

    def collect(self) -> list[Any]:
        return []


class RunlifeFamily(pytest.Collector):
    """One family's cases."""

    def collect(self) -> list[Any]:
        return []


class CaseFailed(Exception):
    """A case's verdict: the store failed it or is broken."""


class RunlifeCase(pytest.Item):
    """One conformance case, run against the store."""

    def __init__(self, *, family: Family, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family, self.case = family, case

    def runtest(self) -> None:
        from runlife.conformance.kit import Outcome

        verdict = self.config.stash[KIT].run(self.case)
        if verdict.outcome is Outcome.NOT_EXERCISED:
            pytest.skip(verdict.message)
        if verdict.outcome is not Outcome.PASSED:
            raise CaseFailed(f"{verdict.outcome}: {verdict.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return f"runlife {self.family.name} {self.case.name}\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"runlife {self.family.name} {self.case.name}"


class RunlifeProblem(pytest.Item):
    """Stands in for the cases when the store cannot be checked at all."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise CaseFailed(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, "runlife store"
