"""The workflow owns the state machine: every allowed and refused move, the retry policy,
requeue, and a store that refuses a move whose current state is not the one expected."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from repbot import workflow
from repbot.cli import main
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State, utcnow
from repbot.store import SqliteStore
from repbot.store import base as store_base
from repbot.store import sqlite as store_sqlite
from repbot.testing.fakes import make_mention
from repbot.workflow import RetryPolicy

ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.7, "explanation": []}
FAIL_NOW = RetryPolicy(max_attempts=1)
# DRAFTED is left within one transaction (drafted → awaiting_approval): never observable.
REACHABLE = [s for s in State if s is not State.DRAFTED]
AWAITING = {State.AWAITING_APPROVAL, State.SNOOZED}
# What each decision is allowed on, as the product defines it (DESIGN.md).
DECISION_ALLOWED = {
    "approve": (AWAITING, State.APPROVED),
    "edit": (AWAITING, State.APPROVED),
    "reject": (AWAITING, State.REJECTED),
    "snooze": ({State.AWAITING_APPROVAL}, State.SNOOZED),
    "posted_manually": ({State.APPROVED, State.FAILED}, State.POSTED),
}


def _in_state(store: SqliteStore, state: State, n: int = 1) -> int:
    """A mention driven to ``state`` through the workflow only."""
    [mid] = store.ingest("src", [make_mention(n)], None).new_ids
    if state is State.NEW:
        return mid
    if state is State.FAILED:
        workflow.record_failure(store, store.get(mid), "boom", FAIL_NOW, utcnow())
        return mid
    workflow.classified(store, mid, ANALYSIS)
    if state is State.CLASSIFIED:
        return mid
    if state is State.SKIPPED:
        workflow.skip(store, mid, "no reply needed")
        return mid
    workflow.drafted(store, mid, f"Sorry about order {n}", {"limit": 280})
    if state is State.AWAITING_APPROVAL:
        return mid
    actions: dict[State, store_base.Action] = {State.REJECTED: "reject", State.SNOOZED: "snooze"}
    until = utcnow() + timedelta(hours=1)
    workflow.decide(store, mid, actions.get(state, "approve"), "U1", text="ok", snooze_until=until)
    if state in (State.APPROVED, State.REJECTED, State.SNOOZED):
        return mid
    workflow.begin_post(store, mid)
    if state is State.POSTING:
        return mid
    workflow.complete_post(store, mid, "r1", "https://x.com/r1")
    return mid


def test_the_helper_reaches_every_observable_state(repbot_store: SqliteStore) -> None:
    for n, state in enumerate(REACHABLE, 1):
        assert repbot_store.get(_in_state(repbot_store, state, n)).state is state


@pytest.mark.parametrize("state", REACHABLE)
@pytest.mark.parametrize("action", sorted(DECISION_ALLOWED))
def test_each_decision_is_allowed_exactly_on_its_states(
    repbot_store: SqliteStore, action: store_base.Action, state: State
) -> None:
    mid = _in_state(repbot_store, state)
    allowed, to = DECISION_ALLOWED[action]
    before = len(repbot_store.decisions(mid))
    decide = lambda: workflow.decide(  # noqa: E731
        repbot_store, mid, action, "U9", text="A reply", snooze_until=utcnow()
    )
    if state in allowed:
        assert decide().action == action
        assert repbot_store.get(mid).state is to
        assert len(repbot_store.decisions(mid)) == before + 1
    else:
        with pytest.raises(InvalidTransition):
            decide()
        assert repbot_store.get(mid).state is state
        assert len(repbot_store.decisions(mid)) == before


def test_the_decision_table_is_the_documented_one() -> None:
    assert {a: (set(f), t) for a, (f, t) in workflow.DECISIONS.items()} == DECISION_ALLOWED
    for allowed, to in workflow.DECISIONS.values():
        assert all(to in workflow.TRANSITIONS[s] for s in allowed)


def test_an_approval_needs_text_and_records_nothing(repbot_store: SqliteStore) -> None:
    mid = _in_state(repbot_store, State.AWAITING_APPROVAL)
    with pytest.raises(StoreError, match="needs text"):
        workflow.decide(repbot_store, mid, "approve", "U1", text="  ")
    assert repbot_store.decisions(mid) == []
    assert repbot_store.get(mid).state is State.AWAITING_APPROVAL


def test_posted_manually_keeps_the_link_as_the_posted_url(repbot_store: SqliteStore) -> None:
    sent = _in_state(repbot_store, State.APPROVED, 1)
    workflow.decide(repbot_store, sent, "posted_manually", "U1", reason="https://t.co/a")
    given = _in_state(repbot_store, State.APPROVED, 2)
    workflow.decide(repbot_store, given, "posted_manually", "U1", posted_url="https://t.co/b")
    assert repbot_store.get(sent).posted_url == "https://t.co/a"
    assert repbot_store.get(given).posted_url == "https://t.co/b"


Step = Callable[[SqliteStore, int], object]
STEPS: dict[str, tuple[Step, set[State], State]] = {
    "classified": (lambda s, i: workflow.classified(s, i, ANALYSIS), {State.NEW}, State.CLASSIFIED),
    "drafted": (
        lambda s, i: workflow.drafted(s, i, "Hi", {}),
        {State.CLASSIFIED},
        State.AWAITING_APPROVAL,
    ),
    "skip": (
        lambda s, i: workflow.skip(s, i, "spam"),
        {State.NEW, State.CLASSIFIED, State.FAILED},
        State.SKIPPED,
    ),
    "begin_post": (lambda s, i: workflow.begin_post(s, i), {State.APPROVED}, State.POSTING),
    "complete_post": (
        lambda s, i: workflow.complete_post(s, i, "r9", None),
        {State.POSTING},
        State.POSTED,
    ),
    "requeue": (  # failed before classification, or skipped: back to the start
        lambda s, i: workflow.requeue(s, [i]),
        {State.FAILED, State.SKIPPED},
        State.NEW,
    ),
}


@pytest.mark.parametrize("state", REACHABLE)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_step_is_allowed_exactly_on_its_states(
    repbot_store: SqliteStore, step: str, state: State
) -> None:
    run, allowed, to = STEPS[step]
    mid = _in_state(repbot_store, state)
    if state in allowed:
        run(repbot_store, mid)
        assert repbot_store.get(mid).state is to
    else:
        with pytest.raises(InvalidTransition):
            run(repbot_store, mid)
        assert repbot_store.get(mid).state is state


def test_every_move_the_workflow_makes_is_an_edge(repbot_store: SqliteStore) -> None:
    for n, state in enumerate(REACHABLE, 1):
        _in_state(repbot_store, state, n)
    moves = {
        (State(e["detail"]["from_state"]), State(e["detail"]["to_state"]))
        for e in repbot_store.audit_log(None, limit=10_000)
        if "to_state" in e["detail"]
    }
    assert moves and all(to in workflow.TRANSITIONS[fr] for fr, to in moves)
    assert workflow.sources(State.POSTING) == {State.APPROVED}


def test_the_store_refuses_a_move_from_a_state_the_workflow_did_not_expect(
    repbot_store: SqliteStore,
) -> None:
    mid = _in_state(repbot_store, State.AWAITING_APPROVAL)
    with pytest.raises(InvalidTransition, match="expected snoozed"):
        repbot_store.decide(mid, "approve", "U1", to=State.APPROVED, expected={State.SNOOZED})
    assert repbot_store.decisions(mid) == []
    assert repbot_store.get(mid).state is State.AWAITING_APPROVAL


def test_a_stale_read_cannot_overwrite_a_newer_state(repbot_store: SqliteStore) -> None:
    mid = _in_state(repbot_store, State.NEW)
    stale = repbot_store.get(mid)
    workflow.classified(repbot_store, mid, ANALYSIS)  # another worker got there first
    with pytest.raises(InvalidTransition):
        workflow.record_failure(repbot_store, stale, "late", FAIL_NOW, utcnow())
    item = repbot_store.get(mid)
    assert (item.state, item.attempts, item.last_error) == (State.CLASSIFIED, 0, None)


def test_the_store_holds_no_state_rule() -> None:
    for module in (store_base, store_sqlite):
        source = inspect.getsource(module)
        assert "TRANSITIONS" not in source and "AWAITING_APPROVAL, State.SNOOZED" not in source


def test_retry_policy_doubles_up_to_the_cap_then_fails() -> None:
    policy = RetryPolicy(max_attempts=4, base=5.0, cap=12.0, jitter=0.0)
    now = utcnow()
    assert [policy.retry_at(a, now) for a in (1, 2, 3)] == [
        now + timedelta(seconds=5),
        now + timedelta(seconds=10),
        now + timedelta(seconds=12),
    ]
    assert policy.retry_at(4, now) is None
    assert policy.retry_at(1, now, transient=False) is None


def test_pipeline_failures_retry_then_fail(repbot_store: SqliteStore) -> None:
    mid = _in_state(repbot_store, State.NEW)
    policy = RetryPolicy(max_attempts=3, base=5.0, jitter=0.0)
    now = utcnow()
    first = workflow.record_failure(repbot_store, repbot_store.get(mid), "boom", policy, now)
    second = workflow.record_failure(repbot_store, repbot_store.get(mid), "boom", policy, now)
    item = repbot_store.get(mid)
    assert (first, second) == (now + timedelta(seconds=5), now + timedelta(seconds=10))
    assert (item.state, item.attempts, item.next_attempt_at) == (State.NEW, 2, second)
    assert workflow.record_failure(repbot_store, item, "boom", policy, now) is None
    item = repbot_store.get(mid)
    assert (item.state, item.attempts, item.next_attempt_at) == (State.FAILED, 3, None)


def test_post_failures_use_the_same_policy(repbot_store: SqliteStore) -> None:
    mid = _in_state(repbot_store, State.POSTING)
    now = utcnow()
    policy = RetryPolicy(max_attempts=2, base=5.0, jitter=0.0)
    retry = workflow.post_failed(repbot_store, repbot_store.get(mid), "503", policy, now)
    assert retry == now + timedelta(seconds=5)
    assert repbot_store.get(mid).state is State.APPROVED
    workflow.begin_post(repbot_store, mid)
    assert workflow.post_failed(repbot_store, repbot_store.get(mid), "503", policy, now) is None
    assert repbot_store.get(mid).state is State.FAILED


def test_a_permanent_post_error_fails_at_once(repbot_store: SqliteStore) -> None:
    mid = _in_state(repbot_store, State.POSTING)
    item = repbot_store.get(mid)
    assert (
        workflow.post_failed(repbot_store, item, "403", RetryPolicy(), utcnow(), transient=False)
        is None
    )
    assert (repbot_store.get(mid).state, repbot_store.get(mid).attempts) == (State.FAILED, 1)


def test_requeue_resumes_at_the_unfinished_step(repbot_store: SqliteStore) -> None:
    at_classify = _in_state(repbot_store, State.FAILED, 1)
    at_draft = _in_state(repbot_store, State.CLASSIFIED, 2)
    workflow.record_failure(repbot_store, repbot_store.get(at_draft), "x", FAIL_NOW, utcnow())
    at_post = _in_state(repbot_store, State.POSTING, 3)
    workflow.post_failed(repbot_store, repbot_store.get(at_post), "x", FAIL_NOW, utcnow())
    skipped = _in_state(repbot_store, State.SKIPPED, 4)
    ids = [at_classify, at_draft, at_post, skipped]
    assert workflow.requeue(repbot_store, ids) == ids
    items = [repbot_store.get(i) for i in ids]
    assert [i.state for i in items] == [State.NEW, State.CLASSIFIED, State.APPROVED, State.NEW]
    assert {(i.attempts, i.last_error, i.next_attempt_at) for i in items} == {(0, None, None)}
    assert [e["actor"] for e in repbot_store.audit_log(at_post)][-1] == "operator"


def test_requeue_is_all_or_nothing(repbot_store: SqliteStore) -> None:
    failed = _in_state(repbot_store, State.FAILED, 1)
    awaiting = _in_state(repbot_store, State.AWAITING_APPROVAL, 2)
    with pytest.raises(InvalidTransition):
        workflow.requeue(repbot_store, [failed, awaiting])
    with pytest.raises(StoreError, match="no mention"):
        workflow.requeue(repbot_store, [failed, 999])
    assert repbot_store.get(failed).state is State.FAILED


def test_requeue_by_state(repbot_store: SqliteStore) -> None:
    failed = [_in_state(repbot_store, State.FAILED, n) for n in (1, 2)]
    _in_state(repbot_store, State.SKIPPED, 3)
    assert sorted(workflow.requeue_state(repbot_store, State.FAILED)) == failed
    assert repbot_store.counts() == {"new": 2, "skipped": 1}
    with pytest.raises(InvalidTransition):
        workflow.requeue_state(repbot_store, State.APPROVED)


def test_cli_requeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repbot.yaml").write_text("store: {path: ./r.db}\n")
    store = SqliteStore(tmp_path / "r.db")
    try:
        one, two, three = (_in_state(store, State.FAILED, n) for n in (1, 2, 3))
        awaiting = _in_state(store, State.AWAITING_APPROVAL, 4)
    finally:
        store.close()
    assert main(["requeue", str(one)]) == 0
    assert main(["requeue", str(two), str(awaiting)]) == 2  # refused: nothing moves
    assert main(["requeue"]) == 2
    assert main(["requeue", "--state", "failed"]) == 0
    store = SqliteStore(tmp_path / "r.db")
    try:
        assert [store.get(i).state for i in (one, two, three, awaiting)] == [
            State.NEW,
            State.NEW,
            State.NEW,
            State.AWAITING_APPROVAL,
        ]
    finally:
        store.close()
