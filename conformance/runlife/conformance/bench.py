"""``make bench``: runlife's performance figures, measured in one run on one machine.

    python -m runlife.conformance.bench --out docs/benchmarks.md [--quick] [--repeats N]
        [--make-test-seconds S | --with-make-test]

Each measurement is a small function from :class:`Settings` to table rows; adding one is adding
a function to :data:`MEASUREMENTS`. Every figure is the median of ``--repeats`` runs and names
the command that reproduces it. The machine is shared and noisy, so the ratios are the figures
to read. A measurement that cannot run (a missing module, an unreachable database) is a row
saying ``not measured: <reason>``; no figure is ever filled in by hand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from runlife.spec.checker import Exploration, count_unreduced, explore
from runlife.spec.core import Bounds, CoreMachine

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Row:
    """One figure: what was measured, on which database, the value, how to reproduce it."""

    what: str
    where: str
    figure: str
    command: str
    note: str = ""


@dataclass(frozen=True)
class Settings:
    quick: bool
    repeats: int
    make_test_seconds: float | None = None
    with_make_test: bool = False


Measurement = Callable[[Settings], list[Row]]


def median_seconds(repeats: int, work: Callable[[], object]) -> tuple[float, object]:
    """The median wall time of ``repeats`` runs of ``work``, and the last run's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def not_measured(what: str, reason: str, command: str = "-") -> Row:
    return Row(what, "-", f"{NOT_MEASURED}: {reason}", command)


# --- the model checker -----------------------------------------------------------------------

QUICK_BOUNDS = Bounds(runs=1, actors=2)
SYMMETRY_BOUNDS = Bounds(runs=3, actors=3)
SYMMETRY_CAP, QUICK_SYMMETRY_CAP = 100_000, 3_000


def _bounds_flags(bounds: Bounds) -> str:
    return " ".join(
        f"--{name} {getattr(bounds, name)}" for name in ("runs", "actors", "ticks", "epochs")
    )


def model_checker(settings: Settings) -> list[Row]:
    """States per second and wall time at the default bound, with and without symmetry."""
    bounds = QUICK_BOUNDS if settings.quick else CoreMachine().bounds
    flags = _bounds_flags(bounds)
    rows, walls = [], {}
    for symmetry in (True, False):
        wall, ex = median_seconds(settings.repeats, partial(_explore, bounds, symmetry))
        assert isinstance(ex, Exploration)
        walls[symmetry] = wall
        label = "on" if symmetry else "off"
        command = f"runlife explore {flags}" + ("" if symmetry else " --no-symmetry")
        rows += [
            Row(
                f"model checker wall time, symmetry {label}",
                "-",
                f"{wall:.2f} s",
                command,
                f"{len(ex.states):,} states, {ex.transitions:,} transitions",
            ),
            Row(
                f"model checker states/s, symmetry {label}",
                "-",
                f"{len(ex.states) / wall:,.0f} states/s",
                command,
            ),
        ]
    rows.append(
        Row(
            "wall time saved by symmetry reduction (off / on)",
            "-",
            f"{walls[False] / walls[True]:.2f}x",
            f"runlife explore {flags} [--no-symmetry]",
        )
    )
    return rows


def _explore(bounds: Bounds, symmetry: bool) -> Exploration[Any]:
    ex = explore(CoreMachine(bounds), symmetry=symmetry)
    if ex.violations:
        raise AssertionError(f"the spec is violated at {bounds}: {ex.violations[0].property}")
    return ex


def symmetry_reduction(settings: Settings) -> list[Row]:
    """How many concrete states each explored state stands for, at 3 runs x 3 actors."""
    cap = QUICK_SYMMETRY_CAP if settings.quick else SYMMETRY_CAP
    machine = CoreMachine(SYMMETRY_BOUNDS)
    ex = explore(machine, keep_edges=False, max_states=cap)
    capped = len(ex.states) >= cap
    factor = count_unreduced(machine, ex) / len(ex.states)
    note = (
        f"capped at {cap:,} states (max_states): the factor of the explored breadth-first prefix"
        if capped
        else f"complete: {len(ex.states):,} states"
    )
    command = f"runlife explore {_bounds_flags(SYMMETRY_BOUNDS)} --max-states {cap}"
    return [
        Row("symmetry reduction factor, 3 runs x 3 actors", "-", f"{factor:.1f}x", command, note)
    ]


# --- measurements other parts of runlife provide ---------------------------------------------


def _provided(module: str, what: str, settings: Settings) -> list[Row]:
    """Rows from ``module.rows(quick=..., repeats=...)``: each a mapping with the fields of
    :class:`Row`. A module that is not there yet is reported, not guessed."""
    try:
        provider = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return [not_measured(what, f"{module} does not exist yet")]
    measure = getattr(provider, "rows", None)
    if not callable(measure):
        return [not_measured(what, f"{module} has no rows(quick=, repeats=) function")]
    return [Row(**dict(row)) for row in measure(quick=settings.quick, repeats=settings.repeats)]


def fuzzing(settings: Settings) -> list[Row]:
    """Conformance-kit fuzzing steps per second on each database (each step runs on the store
    and on the spec and is compared), through :func:`runlife.conformance.bench_kit.fuzz_rate`."""
    from runlife.conformance.bench_kit import fuzz_rate
    from runlife.impl.bench_store import databases

    profile = "quick" if settings.quick else "default"
    rows = []
    for name, url in databases().items():
        command = f"runlife check {url} --families fuzz --profile {profile}"
        try:
            rates = [fuzz_rate(url, profile) for _ in range(settings.repeats)]
        except Exception as error:  # a server down or a driver missing: say so, go on
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            rows.append(Row("fuzzing steps/s", name, f"{NOT_MEASURED}: {reason}", command))
            continue
        rate = statistics.median(r.per_second for r in rates)
        verdict = "all passed" if all(r.passed for r in rates) else "SOME CASES FAILED"
        note = f"{rates[0].steps:,} steps per run, profile {profile}; {verdict}"
        rows.append(Row("fuzzing steps/s", name, f"{rate:,.0f} steps/s", command, note))
    return rows


def sql_store(settings: Settings) -> list[Row]:
    """SqlRunStore's resume CAS against the raw driver's same UPDATE, and the claim storm."""
    what = "resume CAS vs raw UPDATE; claim storm contests/s and double claims"
    return _provided("runlife.impl.bench_store", what, settings)


def mutants(settings: Settings) -> list[Row]:
    """Seconds until the kit kills each mutant store."""
    return _provided("runlife.conformance.mutants", "mutant seconds-to-kill", settings)


DETECTION_TRIALS, QUICK_DETECTION_TRIALS = 100, 10
DETECTION_SECONDS = 2.0


def double_claim_detection(settings: Settings) -> list[Row]:
    """How often the concurrency family catches a read-then-write resume (the mutant zoo's)
    within 2 s, and how often it raises a false alarm on the correct store, on SQLite and
    PostgreSQL. One private store per database, emptied between trials."""
    from runlife.conformance.mutants.claims import ReadThenWriteResume
    from runlife.impl import SqlRunStore
    from runlife.impl.bench_store import databases

    trials = QUICK_DETECTION_TRIALS if settings.quick else DETECTION_TRIALS
    rows = []
    for name, url in databases().items():
        if name == "mysql":
            continue  # the targets name SQLite and PostgreSQL
        command = f"runlife check {url} --families races"
        try:
            caught, seconds = _race_trials(ReadThenWriteResume, url, trials, DETECTION_SECONDS)
            alarms, _ = _race_trials(SqlRunStore, url, trials, None)
        except Exception as error:  # a server down: say so, go on
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            rows.append(Row("double claim detection", name, f"{NOT_MEASURED}: {reason}", command))
            continue
        rows.append(
            Row(
                "read-then-write double claim caught within 2 s",
                name,
                f"{caught} of {trials} ({100 * caught / trials:.0f}%)",
                f"{command} --mutants",
                f"claim_vs_claim, 4 threads; median {statistics.median(seconds):.2f} s to catch;"
                " target >= 95%",
            )
        )
        rows.append(
            Row(
                "false alarms on the correct store",
                name,
                f"{alarms} of {trials}",
                command,
                "claim_vs_claim, 4 threads, 10 rounds each; target 0",
            )
        )
    return rows


def _race_trials(
    store_class: type[Any], url: str, trials: int, time_limit: float | None
) -> tuple[int, list[float]]:
    """Race ``claim_vs_claim`` ``trials`` times on one private store of ``store_class``;
    how many races failed, and how long each failing one took."""
    import tempfile

    from runlife.conformance.concurrency import (
        ScenarioStatus,
        StoreUnderTest,
        claim_vs_claim,
        run_family,
    )
    from runlife.conformance.families.races import Connection
    from runlife.impl.isolation import drop_isolated, isolated_url

    namespace = f"runlife_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory() as scratch:
        private = (
            f"sqlite:///{scratch}/race.db"
            if url.startswith("sqlite")
            else isolated_url(url, namespace)
        )
        store = store_class.from_url(private)
        failed, seconds = 0, []
        try:
            for _ in range(trials):
                store.reset()
                sut = StoreUnderTest(lambda: Connection(store), name=store_class.__name__)
                rounds = 1_000 if time_limit is not None else 10
                [result] = run_family(
                    sut, 4, rounds, time_limit=time_limit, scenarios=(claim_vs_claim,)
                )
                if result.status is ScenarioStatus.FAILED:
                    failed += 1
                    seconds.append(result.elapsed)
        finally:
            store.close()
            if not url.startswith("sqlite"):
                drop_isolated(url, namespace)
    return failed, seconds or [float("nan")]


def profile_times(settings: Settings) -> list[Row]:
    """Wall time of a whole ``runlife check`` (every family) in each profile, on SQLite in
    memory, through :func:`runlife.conformance.bench_kit.check_time`."""
    from runlife.conformance.bench_kit import check_time

    profiles = ("quick",) if settings.quick else ("quick", "default", "thorough")
    rows = []
    for profile in profiles:
        seconds, last = median_seconds(
            1 if profile == "thorough" else settings.repeats,
            partial(check_time, "sqlite://", profile),
        )
        verdict = "all passed" if getattr(last, "exit_code", 1) == 0 else "SOME CASES FAILED"
        target = "; target <= 60 s" if profile == "default" else ""
        rows.append(
            Row(
                f"runlife check wall time, {profile} profile",
                "sqlite (in memory)",
                f"{seconds:.1f} s",
                f"runlife check sqlite:// --profile {profile}",
                f"{getattr(last, 'cases', 0)} cases; {verdict}{target}",
            )
        )
    return rows


def make_test(settings: Settings) -> list[Row]:
    """The wall time of ``make test``: given, or timed here with ``--with-make-test``."""
    if settings.make_test_seconds is not None:
        return [
            Row(
                "make test wall time",
                "-",
                f"{settings.make_test_seconds:.0f} s",
                "time make test",
                "given with --make-test-seconds",
            )
        ]
    if not settings.with_make_test:
        return [
            not_measured(
                "make test wall time",
                "give --make-test-seconds S or --with-make-test",
                "time make test",
            )
        ]
    started = time.perf_counter()
    done = subprocess.run(["make", "test"], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    note = "passed" if done.returncode == 0 else f"FAILED with exit {done.returncode}"
    if done.returncode != 0 and said:
        note += f": {said[-1].strip()}"
    return [Row("make test wall time", "-", f"{seconds:.0f} s", "time make test", note)]


MEASUREMENTS: tuple[Measurement, ...] = (
    model_checker,
    symmetry_reduction,
    fuzzing,
    sql_store,
    double_claim_detection,
    mutants,
    profile_times,
    make_test,
)


# --- the table -------------------------------------------------------------------------------


def measure(settings: Settings) -> Iterator[Row]:
    for measurement in MEASUREMENTS:
        print(f"bench: {measurement.__name__} ...", file=sys.stderr, flush=True)
        yield from measurement(settings)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: list[Row], settings: Settings, seconds: float) -> str:
    """The benchmark page: where and how it was measured, then one table row per figure."""
    cpus = os.cpu_count() or 0
    mode = (
        "quick smoke run (small bounds, one repeat)"
        if settings.quick
        else (f"median of {settings.repeats} runs each")
    )
    lines = [
        "<!-- Written by `make bench` (python -m runlife.conformance.bench); do not edit. -->",
        "",
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run ({seconds:.0f} s) on "
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python "
        f"{platform.python_version()}; {mode}. The machine is shared: read the ratios.",
        "",
        "| measurement | database | figure | reproduce with | note |",
        "|---|---|---|---|---|",
        *(
            f"| {_cell(r.what)} | {_cell(r.where)} | {_cell(r.figure)} | `{_cell(r.command)}` |"
            f" {_cell(r.note)} |"
            for r in rows
        ),
    ]
    missing = [r for r in rows if r.figure.startswith(NOT_MEASURED)]
    if missing:
        lines += ["", f"{len(missing)} figure(s) not measured; each row says why."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runlife.conformance.bench",
        description="Measure runlife's performance figures and write them as a markdown table.",
    )
    parser.add_argument("--out", type=Path, required=True, help="the page to write")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small bounds, 1 run")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3; quick 1)")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--make-test-seconds", type=float, metavar="S", help="make test's time")
    given.add_argument("--with-make-test", action="store_true", help="time make test here")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        parser.error(f"--repeats must be at least 1, got {repeats}")
    if not args.out.parent.is_dir():
        parser.error(f"cannot write {args.out}: {args.out.parent} is not a directory")
    settings = Settings(args.quick, repeats, args.make_test_seconds, args.with_make_test)
    started = time.perf_counter()
    rows = list(measure(settings))
    page = markdown(rows, settings, time.perf_counter() - started)
    args.out.write_text(page, encoding="utf-8")
    print(page, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
