"""Every text field a run keeps comes back exactly as given, on every database (property test).

Names (workflow, codebase, conversation, holder, node, gate, session) are any characters but
control characters; free text (message, working path, error, node output) is anything but NUL;
a node's identity and dependencies are any string at all. What goes in is what comes out, and
a run is found again by exactly its names.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runlife.impl import SqlRunStore
from runlife.spec.limits import MAX_NAME
from runlife.spec.records import Conversation, GateSpec, NewRun, NodeResult, Run
from runlife.spec.results import Claimed, Created, Found, Platform, Recorded, Transitioned

NAMES = st.text(
    st.characters(codec="utf-8", min_codepoint=32), min_size=1, max_size=MAX_NAME
).filter(str.strip)
TEXTS = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200)
LONG_TEXTS = TEXTS | st.builds(lambda t, n: t * n, TEXTS.filter(bool), st.integers(1, 5000))
ANY = st.text(max_size=100)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=st.lists(NAMES, min_size=7, max_size=7),
    texts=st.lists(LONG_TEXTS, min_size=4, max_size=4),
    identity=ANY,
    depends_on=st.lists(ANY, max_size=3),
    platform=st.sampled_from(Platform),
)
def test_text_round_trips_exactly(
    store: SqlRunStore,
    names: list[str],
    texts: list[str],
    identity: str,
    depends_on: list[str],
    platform: Platform,
) -> None:
    workflow, codebase, conversation_id, holder, node, session, gate = names
    message, working_path, error, output = texts
    conversation = Conversation(conversation_id, platform)
    created = store.create_run(NewRun(workflow, message, codebase, conversation, working_path))
    assert isinstance(created, Created), created
    run_id = created.run_id
    claim = store.start_run(run_id, holder)
    assert isinstance(claim, Claimed), claim
    result = NodeResult(node, identity, output, tuple(depends_on))
    assert store.record_node_result(run_id, claim.epoch, result) == Recorded(run_id, node)
    assert store.save_loop_session(run_id, claim.epoch, node, 1, session) == Recorded(run_id, node)
    assert isinstance(store.fail_run(run_id, claim.epoch, error), Transitioned)

    run = store.get_run(run_id)
    assert isinstance(run, Run), run
    stored = (run.workflow, run.user_message, run.codebase, run.conversation, run.working_path)
    assert stored == (workflow, message, codebase, conversation, working_path)
    assert (run.error, run.nodes) == (error, (result,))
    assert run.loop is not None and (run.loop.node_id, run.loop.session_id) == (node, session)
    assert store.find_resumable(workflow, conversation_id, codebase) == Found(run_id)

    resumed = store.resume_run(run_id, holder)
    assert isinstance(resumed, Claimed) and resumed.holder == holder
    assert isinstance(store.pause_at_gate(run_id, resumed.epoch, GateSpec(gate)), Transitioned)
    paused = store.get_run(run_id)
    assert isinstance(paused, Run) and paused.gate is not None
    assert paused.gate.spec.node_id == gate
