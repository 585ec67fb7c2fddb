"""Every ``runlife`` command, given what a new user gets wrong.

Each case runs the command in-process against a SQLite store that holds runs in every state,
and checks: the exit code; one line on stderr (or, for ``check``, a report whose verdict line
names the problem); no traceback; and every table of the store exactly as it was. The table
of cases and what each one was told is in ``docs/reliability.md``, rendered from these cases by
:func:`render`; ``python -m tests.cli.test_bad_input`` rewrites it.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from runlife.conformance.cli import main
from runlife.impl import SqlRunStore
from runlife.impl.schema import TABLES
from runlife.spec.limits import MAX_NAME, MAX_TEXT
from runlife.spec.records import Conversation, GateSpec, NewRun, NodeResult
from runlife.spec.results import REFUSALS, Claimed, Created, Found, Platform, show

BROKEN = "tests.conformance.broken_stores"
STATUSES = ("completed", "failed", "paused", "running")
"""The runs the store holds, by status; a case names one as ``{completed}``."""
DOC = Path(__file__).parents[2] / "docs" / "reliability.md"
BEGIN = "<!-- bad-input table: rendered by tests/cli/test_bad_input.py; do not edit by hand -->"
END = "<!-- end of bad-input table -->"

MEGABYTE = "x" * (MAX_TEXT + 1)
LONG_NAME = "n" * (MAX_NAME + 1)
UNKNOWN = "0" * 32
QUOTES = 'it\'s "quoted"; DROP TABLE runs; -- %s $1 \\'
UNICODE = "Ünïcødé 🚀 \u202eRTL"


@dataclass(frozen=True)
class Case:
    """One mistake: the command line (``{store}``, ``{completed}``... filled in), what the
    user meant, and the exit code it must get."""

    what: str
    argv: tuple[str, ...]
    code: int


CASES: tuple[Case, ...] = (
    # --- naming a run --------------------------------------------------------------------------
    Case("an unknown run id", ("runs", "show", UNKNOWN, "--store", "{store}"), 1),
    Case("a malformed run id", ("runs", "show", "not an id", "--store", "{store}"), 2),
    Case("an empty run id", ("runs", "show", "", "--store", "{store}"), 2),
    Case("a run id with NUL", ("runs", "show", "ab\x00cd", "--store", "{store}"), 2),
    Case("a quote-laden run id", ("runs", "show", "';--", "--store", "{store}"), 1),
    Case("an unknown run id", ("resume", UNKNOWN, "--store", "{store}"), 1),
    Case("a finished run", ("resume", "{completed}", "--store", "{store}"), 1),
    Case("a run someone else holds", ("resume", "{running}", "--store", "{store}"), 1),
    Case("an unknown run id", ("cancel", UNKNOWN, "--store", "{store}"), 1),
    Case("a malformed run id", ("cancel", "a b", "--store", "{store}"), 2),
    Case("a finished run", ("cancel", "{completed}", "--store", "{store}"), 0),
    Case("an unknown run id", ("abandon", UNKNOWN, "--store", "{store}"), 1),
    Case("a finished run", ("abandon", "{completed}", "--store", "{store}"), 1),
    Case("a run without an open gate", ("approve", "{failed}", "--store", "{store}"), 1),
    Case("a finished run", ("approve", "{completed}", "--store", "{store}"), 1),
    Case(
        "a NUL in the approval",
        ("approve", "{paused}", "--message", "a\x00b", "--store", "{store}"),
        2,
    ),
    Case(
        "a NUL in the reason", ("reject", "{paused}", "--reason", "a\x00", "--store", "{store}"), 2
    ),
    Case(
        "a 1 MB + 1 message", ("resume", "{failed}", "--message", MEGABYTE, "--store", "{store}"), 2
    ),
    Case("an unknown run id", ("reject", UNKNOWN, "--store", "{store}"), 1),
    Case("a finished run", ("reject", "{completed}", "--store", "{store}"), 1),
    Case("an unknown node", ("invalidate", "{paused}", "nonsense", "--store", "{store}"), 2),
    Case("an empty node", ("invalidate", "{paused}", "", "--store", "{store}"), 2),
    Case("a node name too long", ("invalidate", "{paused}", LONG_NAME, "--store", "{store}"), 2),
    # --- starting a run ------------------------------------------------------------------------
    Case("an unknown workflow", ("run", "no-such-flow", "hi", "--store", "{store}"), 2),
    Case("an empty workflow", ("run", "", "hi", "--store", "{store}"), 2),
    Case("a unicode workflow", ("run", UNICODE, "hi", "--store", "{store}"), 2),
    Case("a quote-laden workflow", ("run", QUOTES, "hi", "--store", "{store}"), 2),
    Case("a 1 MB + 1 message", ("run", "demo-edit", MEGABYTE, "--store", "{store}"), 2),
    Case("a NUL in the message", ("run", "demo-edit", "a\x00b", "--store", "{store}"), 2),
    Case(
        "a NUL in the conversation",
        ("run", "demo-edit", "hi", "--conversation", "c\x00", "--store", "{store}"),
        2,
    ),
    Case(
        "--platform alone", ("run", "demo-edit", "hi", "--platform", "cli", "--store", "{store}"), 2
    ),
    Case(
        "an empty codebase", ("run", "demo-edit", "hi", "--codebase", " ", "--store", "{store}"), 2
    ),
    # --- the store URL -------------------------------------------------------------------------
    Case("a wrong URL scheme", ("runs", "list", "--store", "ftp://host/runs"), 2),
    Case("not a URL", ("runs", "list", "--store", "runs.db"), 2),
    Case(
        "an unreachable host",
        ("runs", "list", "--store", "postgresql+psycopg://u@127.0.0.1:1/db"),
        2,
    ),
    Case("a missing directory", ("runs", "list", "--store", "sqlite:////no/such/dir/runs.db"), 2),
    Case("a wrong driver", ("runs", "list", "--store", "postgresql+asyncpg://u@127.0.0.1/db"), 2),
    # --- checking a store ----------------------------------------------------------------------
    Case("a wrong URL scheme", ("check", "ftp://host/runs", "--profile", "quick"), 2),
    Case(
        "an unreachable host",
        ("check", "mysql+pymysql://u@127.0.0.1:1/db", "--profile", "quick"),
        2,
    ),
    Case(
        "a module that does not import", ("check", "no_such_module:make", "--profile", "quick"), 2
    ),
    Case("a factory that is not there", ("check", f"{BROKEN}:nothing", "--profile", "quick"), 2),
    Case(
        "a factory returning the wrong type",
        ("check", f"{BROKEN}:not_a_store", "--profile", "quick"),
        2,
    ),
    Case(
        "a factory that raises", ("check", f"{BROKEN}:exploding_factory", "--profile", "quick"), 2
    ),
    Case(
        "a store method that raises",
        (
            "check",
            f"{BROKEN}:RaisingStart",
            "--profile",
            "quick",
            "--families",
            "tours",
            "--quiet",
            "--trace",
            "{tmp}/t.json",
        ),
        2,
    ),
    Case(
        "a store that hangs",
        (
            "check",
            f"{BROKEN}:HangingResume",
            "--profile",
            "quick",
            "--families",
            "matrix",
            "--timeout",
            "0.3",
            "--quiet",
            "--trace",
            "{tmp}/t.json",
        ),
        2,
    ),
    Case("an existing SQLite file", ("check", "{store}", "--profile", "quick"), 2),
    Case("an unknown family", ("check", "sqlite://", "--families", "nonsense"), 2),
    # --- the other commands --------------------------------------------------------------------
    Case("a missing trace file", ("replay", "{tmp}/missing.json"), 2),
    Case("a trace that is not JSON", ("replay", "{tmp}/not-json.json"), 2),
    Case("an unknown model", ("explore", "--model", "nonsense"), 2),
    Case("an unknown variant", ("explore", "--variant", "nonsense"), 2),
    Case("a negative bound", ("explore", "--runs", "-1"), 2),
    Case("an unwritable output", ("diagram", "-o", "/no/such/dir/x.svg"), 2),
    Case("a missing report", ("diagram", "--view", "reachable", "--report", "{tmp}/none.json"), 2),
)


StoreCall = Callable[[SqlRunStore, dict[str, str]], object]
"""A call on the store, given the fixture's run ids by status (the running one holds epoch 1)."""

STORE_CASES: tuple[tuple[str, str, StoreCall], ...] = (
    ("create_run", "an empty workflow", lambda s, r: s.create_run(NewRun("", "m"))),
    ("create_run", "a workflow name too long", lambda s, r: s.create_run(NewRun(LONG_NAME, "m"))),
    ("create_run", "a NUL in the workflow", lambda s, r: s.create_run(NewRun("w\x00f", "m"))),
    ("create_run", "a 1 MB + 1 message", lambda s, r: s.create_run(NewRun("wf", MEGABYTE))),
    ("create_run", "a NUL in the message", lambda s, r: s.create_run(NewRun("wf", "a\x00b"))),
    ("create_run", "a lone surrogate", lambda s, r: s.create_run(NewRun("wf", "half \ud83d"))),
    (
        "create_run",
        "an empty conversation",
        lambda s, r: s.create_run(NewRun("wf", "m", conversation=Conversation("", Platform.WEB))),
    ),
    ("get_run", "an empty run id", lambda s, r: s.get_run("")),
    ("get_run", "a malformed run id", lambda s, r: s.get_run("a b")),
    ("get_run", "an unknown run id", lambda s, r: s.get_run(UNKNOWN)),
    ("find_resumable", "an empty workflow", lambda s, r: s.find_resumable("", None, "main")),
    ("start_run", "an empty holder", lambda s, r: s.start_run(r["completed"], "")),
    ("resume_run", "a NUL in the holder", lambda s, r: s.resume_run(r["failed"], "a\x00")),
    ("heartbeat", "an epoch no database holds", lambda s, r: s.heartbeat(r["running"], 2**70)),
    (
        "pause_at_gate",
        "max_attempts 0",
        lambda s, r: s.pause_at_gate(r["running"], 1, GateSpec("g", max_attempts=0)),
    ),
    ("complete_run", "a negative epoch", lambda s, r: s.complete_run(r["running"], -1)),
    ("fail_run", "a 1 MB + 1 error", lambda s, r: s.fail_run(r["running"], 1, MEGABYTE)),
    ("cancel_run", "an unknown run id", lambda s, r: s.cancel_run(UNKNOWN)),
    ("abandon_run", "a finished run", lambda s, r: s.abandon_run(r["completed"])),
    (
        "resolve_gate",
        "a decision that is not one",
        lambda s, r: s.resolve_gate(r["paused"], "maybe"),  # type: ignore[arg-type]
    ),
    (
        "record_node_result",
        "an empty node id",
        lambda s, r: s.record_node_result(r["running"], 1, NodeResult("", "h", "o")),
    ),
    (
        "record_node_result",
        "a 1 MB + 1 output",
        lambda s, r: s.record_node_result(r["running"], 1, NodeResult("n", "h", MEGABYTE)),
    ),
    ("invalidate_nodes", "a NUL in the node", lambda s, r: s.invalidate_nodes(r["paused"], "\x00")),
    (
        "save_loop_session",
        "an iteration no database holds",
        lambda s, r: s.save_loop_session(r["running"], 1, "n", 2**70, "s"),
    ),
    (
        "save_loop_session",
        "an empty session id",
        lambda s, r: s.save_loop_session(r["running"], 1, "n", 1, ""),
    ),
    ("node_results", "an unknown run id", lambda s, r: s.node_results(UNKNOWN)),
    ("loop_session", "a malformed run id", lambda s, r: s.loop_session("x" * 65)),
)
"""Every store method, called with what a new user gets wrong: each answers a refusal value."""


# --- running a case --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a case got: its exit code and the line that explains it."""

    case: Case
    code: int
    line: str
    lines: int
    traceback: bool
    store_changed: bool


class Store:
    """A SQLite store in ``directory`` holding a completed, a failed, a paused and a running run
    of the ``demo-pipeline`` workflow (so ``runlife run demo-edit`` would start a fresh one)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = f"sqlite:///{directory / 'runs.db'}"
        (directory / "not-json.json").write_text("{ not json")
        with SqlRunStore.from_url(self.url) as store:
            self.runs = {
                "completed": self._run(store, lambda s, r, e: s.complete_run(r, e)),
                "failed": self._run(store, lambda s, r, e: s.fail_run(r, e, "boom")),
                "paused": self._run(
                    store, lambda s, r, e: s.pause_at_gate(r, e, GateSpec("review", True))
                ),
                "running": self._run(store, lambda s, r, e: None),
            }

    @staticmethod
    def _run(store: SqlRunStore, finish: object) -> str:
        created = store.create_run(NewRun("demo-pipeline", "make it so"))
        assert isinstance(created, Created)
        claim = store.start_run(created.run_id, "setup")
        assert isinstance(claim, Claimed)
        finish(store, created.run_id, claim.epoch)  # type: ignore[operator]
        return created.run_id

    def fill(self, argv: tuple[str, ...]) -> list[str]:
        """``argv`` with ``{store}``, ``{tmp}`` and ``{<status>}`` (a run id) filled in."""
        names = {"store": self.url, "tmp": str(self.directory), **self.runs}
        filled = []
        for arg in argv:
            for name, value in names.items():
                arg = arg.replace(f"{{{name}}}", value)
            filled.append(arg)
        return filled

    def dump(self) -> list[list[tuple[object, ...]]]:
        with SqlRunStore.from_url(self.url, migrate=False) as store, store.engine.connect() as conn:
            return [[tuple(row) for row in conn.execute(select(table))] for table in TABLES]

    def anonymous(self, text: str) -> str:
        """``text`` with this store's paths and ids replaced by what they stand for."""
        for name, run_id in self.runs.items():
            text = text.replace(run_id, f"<{name} run>")
        text = text.replace(str(self.directory), "<tmp>").replace("<tmp>/runs.db", "runs.db")
        return text.replace(LONG_NAME, abbreviated(LONG_NAME))


def observe(store: Store, case: Case) -> Seen:
    """Run ``case``'s command line and see what it says and does."""
    before = store.dump()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(store.fill(case.argv))
        except SystemExit as exit:  # argparse's own usage errors
            code = int(exit.code or 0)
    said = err.getvalue().strip().splitlines() or out.getvalue().strip().splitlines()[-1:]
    if case.argv[0] == "check" and not err.getvalue().strip():
        said = out.getvalue().strip().splitlines()[-1:]
    text = err.getvalue() + out.getvalue()
    return Seen(
        case,
        code,
        store.anonymous(said[-1] if said else ""),
        len(err.getvalue().strip().splitlines()),
        "Traceback" in text,
        store.dump() != before,
    )


@dataclass(frozen=True)
class Answered:
    """What a store method answered to a mistake, and whether anything stored changed."""

    method: str
    what: str
    answer: object
    shown: str
    store_changed: bool


def answer_all(store: Store) -> list[Answered]:
    answered = []
    with SqlRunStore.from_url(store.url, migrate=False) as sql:
        for method, what, call in STORE_CASES:
            before = store.dump()
            answer = call(sql, store.runs)
            shown = store.anonymous(show(answer))
            answered.append(Answered(method, what, answer, shown, store.dump() != before))
    return answered


def observe_all(directory: Path) -> tuple[list[Seen], list[Answered]]:
    """Every CLI case and every store case, on one store in ``directory``."""
    store = Store(directory)
    return [observe(store, case) for case in CASES], answer_all(store)


# --- the table ---------------------------------------------------------------------------------


def abbreviated(text: str) -> str:
    """A long run of one character, as ``<1,048,577 times 'x'>``."""
    return f"<{len(text):,} times {text[0]!r}>"


PLACEHOLDERS = {
    "{store}": "sqlite:///runs.db",
    "{tmp}": "<tmp>",
    **{f"{{{status}}}": f"<{status} run>" for status in STATUSES},
}


def shown(argv: tuple[str, ...]) -> str:
    """A command line as the table shows it: ``--store {store}`` left out, placeholders named,
    long runs of one character shortened, quoting and NUL visible."""
    parts = ["runlife"]
    skip = False
    for arg, following in zip(argv, (*argv[1:], ""), strict=True):
        if skip or (arg == "--store" and following == "{store}"):
            skip = not skip
            continue
        if len(arg) > 40 and len(set(arg)) == 1:
            arg = abbreviated(arg)
        elif arg == "" or any(c in arg for c in " ';\"$\\\x00"):
            arg = repr(arg).replace("\\x00", "\\0")
        for placeholder, name in PLACEHOLDERS.items():
            arg = arg.replace(placeholder, name)
        parts.append(arg.replace("|", "\\|"))
    return "`" + " ".join(parts) + "`"


def render(seen: list[Seen], answered: list[Answered]) -> str:
    """Both tables, between the markers: the commands', then the store methods'."""
    rows = ["| command | mistake | exit | what it says |", "| --- | --- | --- | --- |"]
    for s in seen:
        argv = tuple(a for a in s.case.argv if a != "--quiet")
        line = s.line.replace("|", "\\|")
        rows.append(f"| {shown(argv)} | {s.case.what} | {s.code} | {line} |")
    rows += ["", "| store method | mistake | answer |", "| --- | --- | --- |"]
    rows += [f"| `{a.method}` | {a.what} | `{a.shown}` |" for a in answered]
    return "\n".join([BEGIN, *rows, END])


def documented() -> str:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


# --- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def observed() -> Iterator[tuple[list[Seen], list[Answered]]]:
    with tempfile.TemporaryDirectory() as directory:
        yield observe_all(Path(directory))


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c.argv[0]}: {c.what}" for c in CASES])
def test_each_command_mistake_gets_one_line_its_exit_code_and_changes_nothing(
    observed: tuple[list[Seen], list[Answered]], index: int
) -> None:
    found = observed[0][index]
    assert found.code == found.case.code, found
    assert not found.traceback, found
    assert not found.store_changed, found
    assert found.line and found.lines <= 1, found


@pytest.mark.parametrize(
    "index", range(len(STORE_CASES)), ids=[f"{m}: {what}" for m, what, _ in STORE_CASES]
)
def test_each_store_method_refuses_a_mistake_with_a_value_and_changes_nothing(
    observed: tuple[list[Seen], list[Answered]], index: int
) -> None:
    found = observed[1][index]
    assert isinstance(found.answer, REFUSALS) or found.answer == Found(None), found
    assert not found.store_changed, found


def test_debug_shows_the_traceback_behind_a_one_line_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(Exception, match="not a run id"):
        main(["--debug", "runs", "show", "a b", "--store", store.url])


def test_the_documented_tables_are_what_the_commands_and_methods_say(
    observed: tuple[list[Seen], list[Answered]],
) -> None:
    assert documented() == render(*observed), "run `python -m tests.cli.test_bad_input` to update"


def write_doc() -> None:
    """Render the tables into ``docs/reliability.md`` (between the markers)."""
    with tempfile.TemporaryDirectory() as scratch:
        table = render(*observe_all(Path(scratch)))
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + table + text[end:], encoding="utf-8")
    print(f"{DOC}: {len(CASES)} commands, {len(STORE_CASES)} store calls", file=sys.stderr)


if __name__ == "__main__":
    write_doc()
