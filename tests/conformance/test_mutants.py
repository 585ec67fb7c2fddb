"""The mutant zoo: every mutant dies, each by the family expected, and the correct store lives.

The zoo is hunted once per backend (a few tens of seconds each): on SQLite through
``runlife check --mutants`` itself, on PostgreSQL and MariaDB through :func:`run_zoo`. Each
test then reads one mutant's result. Seconds to kill are benchmark figures (``make bench``),
never asserted here.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conformance.kit_helpers import MODEL, outcomes, report
from tests.conftest import server_url

from runlife.conformance.cli import main
from runlife.conformance.kit import Outcome
from runlife.conformance.mutants import (
    CONTROL,
    REGISTRY,
    Fate,
    ZooResult,
    all_mutants,
    hunt,
    run_zoo,
    table,
)
from runlife.conformance.mutants import family as mutants_family
from runlife.conformance.mutants.backends import ReadFirstClaims, UpdateThenInsertNodes
from runlife.conformance.mutants.family import verdict

KILLED_BY = {
    "unguarded-resume": "tours",
    "read-then-write-resume": "races",
    "unbound-stale-threshold": "tours",
    "split-thresholds": "tours",
    "resurrecting-cancel": "tours",
    "cancel-always-true": "tours",
    "abandon-refuses-failed": "tours",
    "unguarded-start": "tours",
    "unfenced-complete": "tours",
    "leaky-heartbeat": "tours",
    "deferred-sqlite-begin": "races",
    "affected-rows-node-write": "seeds",
    "node-id-cache-key": "matrix",
    "unfenced-heartbeat": "tours",
    "claim-keeps-activity": "tours",
    "unfenced-side-writes": "matrix",
    "write-behind-finish": "faults",
}
"""The family expected to kill each mutant first: the first one, in the kit's order, whose
cases exercise the bug."""

ONLY_ON = {"deferred-sqlite-begin": "sqlite", "affected-rows-node-write": "mysql"}

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
]


@dataclass(frozen=True)
class Hunted:
    """A backend's zoo: each store's result by name, and what ``runlife check`` said (SQLite)."""

    backend: str
    results: dict[str, ZooResult]
    exit_code: int | None = None
    output: str = ""


@pytest.fixture(scope="module")
def sqlite_zoo(tmp_path_factory: pytest.TempPathFactory) -> Hunted:
    return _checked_with_the_cli(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="module", params=BACKENDS)
def zoo(request: pytest.FixtureRequest) -> Hunted:
    backend: str = request.param
    if backend == "sqlite":
        hunted: Hunted = request.getfixturevalue("sqlite_zoo")
        return hunted
    results = run_zoo(server_url(backend))
    return Hunted(backend, {r.mutant: r for r in results})


def _checked_with_the_cli(directory: Path) -> Hunted:
    """``runlife check sqlite:///... --mutants``: the correct store through every family, then
    the zoo; the results are read back from the JSON report."""
    report = directory / "report.json"
    argv = ["check", f"sqlite:///{directory / 'check.db'}", "--mutants", "--profile", "quick"]
    argv += ["--quiet", "--json", str(report), "--trace", str(directory / "trace.json")]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    families = json.loads(report.read_text())["families"]
    zoo = [f for f in families if f["name"] == "mutants"]
    assert zoo, f"runlife check --mutants ran no mutant zoo: {output.getvalue()}"
    results = {c["name"]: ZooResult.from_data(c["detail"]) for c in zoo[0]["cases"]}
    results[CONTROL] = _control(families)
    return Hunted("sqlite", results, code, output.getvalue())


def _control(families: list[dict[str, Any]]) -> ZooResult:
    """The correct store's result, from the other families of the same report."""
    for family in families:
        for case in family["cases"]:
            if family["name"] != "mutants" and case["outcome"] in ("failed", "broken"):
                first = case["message"].splitlines()[0] if case["message"] else ""
                found = (family["name"], case["name"], 0, first)
                return ZooResult(CONTROL, "", Fate.KILLED, *found, control=True)
    return ZooResult(CONTROL, "", Fate.SURVIVED, control=True)


@pytest.mark.slow
def test_the_correct_store_passes_every_family(zoo: Hunted) -> None:
    control = zoo.results[CONTROL]
    assert control.fate is Fate.SURVIVED, (
        f"the correct store was {control.fate} by {control.family} {control.case}: "
        f"{control.message}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("mutant", list(KILLED_BY))
def test_each_mutant_dies_by_the_family_expected(zoo: Hunted, mutant: str) -> None:
    result = zoo.results[mutant]
    only = ONLY_ON.get(mutant)
    if only is not None and only != zoo.backend:
        assert result.fate is Fate.NOT_APPLICABLE, result
        return
    assert result.fate is Fate.KILLED, f"{mutant} {result.fate}: {result.message}"
    assert result.family == KILLED_BY[mutant], (
        f"{mutant} was killed by {result.family} {result.case}, not by {KILLED_BY[mutant]}: "
        f"{result.message}"
    )


@pytest.mark.slow
def test_runlife_check_mutants_prints_the_table_and_exits_0(sqlite_zoo: Hunted) -> None:
    output = sqlite_zoo.output
    assert sqlite_zoo.exit_code == 0, output
    applicable = len(REGISTRY) - sum(1 for backend in ONLY_ON.values() if backend != "sqlite")
    assert f"killed {applicable} of {applicable};" in output
    for mutant in all_mutants():
        assert mutant.name in output
    assert "NOT APPLICABLE HERE: applies to MySQL/MariaDB only" in output


# --- the zoo itself ---------------------------------------------------------------------------


def test_every_mutant_is_named_documented_and_expected() -> None:
    mutants = all_mutants()
    names = [m.name for m in mutants]
    assert len(set(names)) == len(names) == len(REGISTRY)
    assert set(names) == set(KILLED_BY), "state which family must kill a new mutant"
    for mutant in mutants:
        assert mutant.origin and mutant.__doc__ and len(mutant.__doc__.split()) > 20, mutant


@pytest.mark.slow
def test_the_one_setting_is_the_whole_bug_sqlite(tmp_path: Path) -> None:
    """The design the SQLite mutant is built on passes the races it dies in."""
    result = hunt(ReadFirstClaims, f"sqlite:///{tmp_path / 'runs.db'}", families="races")
    assert result.fate is Fate.SURVIVED, result


@pytest.mark.slow
@pytest.mark.mysql
def test_the_one_setting_is_the_whole_bug_mysql() -> None:
    """The design the MySQL mutant is built on passes the family it dies in."""
    result = hunt(UpdateThenInsertNodes, server_url("mysql"), families="matrix,seeds")
    assert result.fate is Fate.SURVIVED, result


def test_the_table_says_how_many_were_killed() -> None:
    results = [
        ZooResult("a", "seed 1", Fate.KILLED, "tours", "resume_run[x]", 0.5),
        ZooResult("b", "seed 2", Fate.KILLED, "races", "claim_vs_claim", 3.5),
        ZooResult("c", "seed 3", Fate.SURVIVED, seconds=9.0),
        ZooResult("d", "seed 4", Fate.NOT_APPLICABLE, message="applies to SQLite only"),
    ]
    lines = table(results)
    assert lines[1].split() == ["a", "seed", "1", "0.50s", "tours:", "resume_run[x]"]
    assert "SURVIVED" in lines[3]
    assert "NOT APPLICABLE HERE: applies to SQLite only" in lines[4]
    assert lines[-1] == (
        "killed 2 of 3; seconds to kill: median 2.00, max 3.50 (b); 1 not applicable here"
    )


def test_a_surviving_mutant_fails_the_check_and_a_killed_one_passes() -> None:
    survived = verdict(ZooResult("m", "o", Fate.SURVIVED, seconds=4.0))
    assert survived.outcome is Outcome.FAILED
    assert survived.message == "survived every family in 4.0 s: the kit misses this bug"
    killed = verdict(ZooResult("m", "o", Fate.KILLED, "races", "claim_vs_claim", 0.25))
    assert killed.outcome is Outcome.PASSED
    assert killed.message == "killed by races: claim_vs_claim in 0.25 s"
    absent = verdict(ZooResult("m", "o", Fate.NOT_APPLICABLE, message="applies to SQLite only"))
    assert absent.outcome is Outcome.NOT_EXERCISED


def test_the_zoo_is_not_exercised_on_a_store_that_is_not_sql() -> None:
    result = report(MODEL, mutants_family.FAMILY)
    assert set(outcomes(result).values()) == {Outcome.NOT_EXERCISED}
    assert result.entries[0].verdict.message == mutants_family.NEEDS_A_DATABASE
