"""The zoo's figures for ``make bench``: seconds to kill, on each database that is reachable.

:func:`rows` is what :mod:`runlife.conformance.bench` calls; :func:`kill_figures` is the figure
for one database, for any other caller.
"""

from __future__ import annotations

import os

from sqlalchemy.exc import OperationalError

from runlife.conformance.mutants.zoo import ZOO_PROFILE, ZooFigures, figures, run_zoo
from runlife.impl.dialects import first_line, make_engine, parse_url

DATABASES: tuple[tuple[str, str | None, str], ...] = (
    ("SQLite file", None, "sqlite:///zoo.db"),
    ("PostgreSQL", "RUNLIFE_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    ("MariaDB", "RUNLIFE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
)
"""Where the zoo is measured: a name, the environment variable overriding the URL, the URL.
(On SQLite each store gets a scratch file of its own; the path in the URL is never used.)"""

WHAT = "mutant zoo: seconds to kill (quick profile)"


def kill_figures(url: str, profile: str = ZOO_PROFILE, repeats: int = 1) -> ZooFigures:
    """Hunt every mutant ``repeats`` times on ``url``'s database: the median and the maximum
    seconds to kill over all the kills, and the fewest mutants killed in any one hunt."""
    hunts = [run_zoo(url, profile, control=False) for _ in range(repeats)]
    pooled = figures([result for results in hunts for result in results])
    worst = min((figures(results) for results in hunts), key=lambda f: f.killed)
    return ZooFigures(
        pooled.median_seconds,
        pooled.max_seconds,
        worst.killed,
        worst.applicable,
        pooled.slowest,
        worst.survivors,
    )


def rows(quick: bool = False, repeats: int = 1) -> list[dict[str, str]]:
    """One benchmark row per database: median and max seconds to kill, killed N of M."""
    found = []
    for where, variable, default in DATABASES:
        url = os.environ.get(variable, default) if variable else default
        shown = parse_url(url).render_as_string(hide_password=True)
        command = f"runlife check {shown} --mutants --profile quick"
        problem = _unreachable(url)
        if problem is not None:
            found.append(_row(where, f"not measured: {problem}", command))
            continue
        result = kill_figures(url, repeats=repeats)
        figure = (
            f"median {result.median_seconds:.2f} s, max {result.max_seconds:.2f} s; "
            f"killed {result.killed} of {result.applicable}"
        )
        note = f"slowest: {result.slowest}; targets: median <= 2 s, max <= 30 s"
        if result.survivors:
            note = f"SURVIVED: {', '.join(result.survivors)}; {note}"
        found.append(_row(where, figure, command, note))
    return found


def _row(where: str, figure: str, command: str, note: str = "") -> dict[str, str]:
    return {"what": WHAT, "where": where, "figure": figure, "command": command, "note": note}


def _unreachable(url: str) -> str | None:
    """Why the database behind ``url`` cannot be used, or None."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return None
    engine = make_engine(parsed, connect_timeout=5)
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return f"{parsed.render_as_string(hide_password=True)} is unreachable ({first_line(error)})"
    finally:
        engine.dispose()
