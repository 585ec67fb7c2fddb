"""Bad input gets a typed refusal and loses nothing; good text comes back exactly as given."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.impl.store_helpers import claimed, get, new_run, paused, raw_rows

from runlife.impl import SqlRunStore
from runlife.spec.limits import MAX_NAME, MAX_TEXT
from runlife.spec.records import Conversation, GateSpec, NewRun, NodeResult
from runlife.spec.results import (
    Found,
    GateDecision,
    InvalidInput,
    Platform,
    RunNotFound,
    StaleClaim,
    Status,
)

EVERY_RUN_METHOD: dict[str, Callable[[SqlRunStore, str], object]] = {
    "get_run": lambda s, r: s.get_run(r),
    "start_run": lambda s, r: s.start_run(r, "a"),
    "resume_run": lambda s, r: s.resume_run(r, "a"),
    "heartbeat": lambda s, r: s.heartbeat(r, 1),
    "pause_at_gate": lambda s, r: s.pause_at_gate(r, 1, GateSpec("g")),
    "resolve_gate": lambda s, r: s.resolve_gate(r, GateDecision.APPROVE),
    "complete_run": lambda s, r: s.complete_run(r, 1),
    "fail_run": lambda s, r: s.fail_run(r, 1, "e"),
    "cancel_run": lambda s, r: s.cancel_run(r),
    "abandon_run": lambda s, r: s.abandon_run(r),
    "record_node_result": lambda s, r: s.record_node_result(r, 1, NodeResult("n", "h", "o")),
    "node_results": lambda s, r: s.node_results(r),
    "invalidate_nodes": lambda s, r: s.invalidate_nodes(r, "n", True),
    "save_loop_session": lambda s, r: s.save_loop_session(r, 1, "n", 1, "s"),
    "loop_session": lambda s, r: s.loop_session(r),
}

MALFORMED_IDS = ["", " ", "a b", "x" * 65, "ab\x00cd", "tab\there"]
UNKNOWN_IDS = [
    "0" * 32,
    "f" * 64,
    "not-a-store-id",
    "Ünïcødé",
    "';DROP/**/TABLE/**/runs;--",
    "\ud800x",
]

TRICKY_TEXT = {
    "quotes": "it's \"quoted\" `back` ''; DROP TABLE runs; -- %s %(x)s :name ? $1 \\ \\0 \\n",
    "unicode": "Ünïcødé 日本語 🚀🧪 \u202eRTL\u202c e\u0301 \ufeff \u2028 line",
    "whitespace": "  leading and trailing  \n\r\t ",
    "huge": "é" * MAX_TEXT,
    "emoji_huge": "🚀" * (MAX_TEXT // 4),
}


@pytest.mark.parametrize("method", EVERY_RUN_METHOD)
def test_a_malformed_run_id_is_invalid_input_everywhere(store: SqlRunStore, method: str) -> None:
    for run_id in MALFORMED_IDS:
        answer = EVERY_RUN_METHOD[method](store, run_id)
        assert isinstance(answer, InvalidInput) and answer.field == "run_id", (run_id, answer)


@pytest.mark.parametrize("method", EVERY_RUN_METHOD)
def test_an_unknown_run_id_is_run_not_found_everywhere(store: SqlRunStore, method: str) -> None:
    for run_id in UNKNOWN_IDS:
        assert EVERY_RUN_METHOD[method](store, run_id) == RunNotFound(run_id)


def test_an_unknown_run_beats_a_bad_argument_as_in_the_spec(store: SqlRunStore) -> None:
    unknown = "0" * 32
    assert store.start_run(unknown, "") == RunNotFound(unknown)
    assert store.fail_run(unknown, 1, "\x00") == RunNotFound(unknown)
    run_id = new_run(store)
    refused = store.start_run(run_id, "")
    assert isinstance(refused, InvalidInput) and refused.field == "holder"


BAD_NEW_RUNS = {
    "workflow": NewRun("", "m"),
    "codebase": NewRun("wf", "m", codebase="x" * (MAX_NAME + 1)),
    "conversation": NewRun("wf", "m", conversation=Conversation("a\nb", Platform.WEB)),
    "user_message": NewRun("wf", "x" * (MAX_TEXT + 1)),
    "working_path": NewRun("wf", "m", working_path="/tmp/\x00"),
    "platform": NewRun("wf", "m", conversation=Conversation("c", "fax")),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("field", BAD_NEW_RUNS)
def test_create_run_refuses_bad_fields_and_stores_nothing(store: SqlRunStore, field: str) -> None:
    kept = new_run(store)
    before = raw_rows(store, kept)
    answer = store.create_run(BAD_NEW_RUNS[field])
    assert isinstance(answer, InvalidInput) and answer.field == field
    assert raw_rows(store, kept) == before
    assert store.find_resumable("wf", None, "main") == Found(None)


def test_text_no_database_can_encode_is_refused_not_mangled(store: SqlRunStore) -> None:
    lone_surrogate = "half a pair: \ud83d"
    answer = store.create_run(NewRun("wf", lone_surrogate))
    assert isinstance(answer, InvalidInput) and answer.field == "user_message"
    run_id, epoch = claimed(store)
    failure = store.fail_run(run_id, epoch, lone_surrogate)
    assert isinstance(failure, InvalidInput) and failure.field == "error"
    assert get(store, run_id).status is Status.RUNNING


def test_integers_no_database_can_hold_are_refused_or_never_match(store: SqlRunStore) -> None:
    run_id, epoch = claimed(store)
    huge = 2**70
    assert store.heartbeat(run_id, huge) == StaleClaim(run_id, huge, 1, Status.RUNNING)
    assert store.heartbeat(run_id, -huge) == StaleClaim(run_id, -huge, 1, Status.RUNNING)
    saved = store.save_loop_session(run_id, epoch, "loop", huge, "s")
    assert isinstance(saved, InvalidInput) and saved.field == "iteration"
    gated = store.pause_at_gate(run_id, epoch, GateSpec("g", max_attempts=huge))
    assert isinstance(gated, InvalidInput) and gated.field == "max_attempts"
    assert get(store, run_id).status is Status.RUNNING


@pytest.mark.parametrize("kind", TRICKY_TEXT)
def test_text_round_trips_exactly(store: SqlRunStore, kind: str) -> None:
    value = TRICKY_TEXT[kind]
    name = value[:MAX_NAME].replace("\n", " ").replace("\r", " ").replace("\t", " ")
    identity = value if len(value) < 1000 else name  # identities are hashes, not documents
    conversation = Conversation(name, Platform.CLI)
    run_id = paused(store, message=value, workflow=name, codebase=name, conversation=conversation)
    run = get(store, run_id)
    assert (run.user_message, run.workflow, run.codebase, run.conversation) == (
        value,
        name,
        name,
        conversation,
    )
    assert store.find_resumable(name, name, name) == Found(run_id)
    other, epoch = claimed(store, working_path=value)
    result = NodeResult(name, identity, value, (identity, name))
    store.record_node_result(other, epoch, result)
    store.save_loop_session(other, epoch, name, 7, name)
    store.fail_run(other, epoch, value)
    stored = get(store, other)
    assert (stored.working_path, stored.error, stored.nodes) == (value, value, (result,))
    assert stored.loop is not None and (stored.loop.node_id, stored.loop.session_id) == (name, name)


def test_identity_and_dependencies_keep_any_string_even_nul(store: SqlRunStore) -> None:
    """The spec checks neither; the store keeps them exactly (as JSON) rather than refusing."""
    run_id, epoch = claimed(store)
    result = NodeResult("n", "id\x00entity\ud800", "out", ("a\x00", "", " "))
    store.record_node_result(run_id, epoch, result)
    assert store.node_results(run_id) == {"n": result}


def test_names_differing_only_in_case_or_trailing_space_stay_distinct(store: SqlRunStore) -> None:
    names = ["wf", "WF", "wf ", "wf\u00a0", "\uff57\uff46"]  # the last is fullwidth "wf"
    runs = {name: paused(store, workflow=name) for name in names}
    for name in names:
        assert store.find_resumable(name, None, "main") == Found(runs[name])
    run_id, epoch = claimed(store)
    for node in names:
        store.record_node_result(run_id, epoch, NodeResult(node, node, node))
    assert sorted(store.node_results(run_id)) == sorted(names)  # type: ignore[arg-type]
    assert store.invalidate_nodes(run_id, "wf").nodes == ("wf",)  # type: ignore[union-attr]


def test_bad_input_in_a_crowd_loses_nothing(store: SqlRunStore) -> None:
    keep = [new_run(store, TRICKY_TEXT["unicode"]), paused(store)]
    before = [raw_rows(store, run_id) for run_id in keep]
    for run_id in keep:
        for bad_id in MALFORMED_IDS + UNKNOWN_IDS:
            for method in EVERY_RUN_METHOD.values():
                method(store, bad_id)
        store.start_run(run_id, "\x00")
        store.pause_at_gate(run_id, 1, GateSpec("", max_attempts=0))
        store.fail_run(run_id, 1, "x" * (MAX_TEXT + 1))
        store.record_node_result(run_id, 1, NodeResult("\x00", "h", "o"))
        store.save_loop_session(run_id, 1, "n", 1, "")
    assert [raw_rows(store, run_id) for run_id in keep] == before
