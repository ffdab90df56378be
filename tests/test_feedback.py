"""Learning from approvers: relabels and labelled reject reasons are stored (migration 10),
measured by ``repbot eval --feedback`` and folded in by ``repbot train --intent --feedback``;
senior-flagged items (legal, press) honour ``approval.senior_approvers``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from repbot.approval import blocks
from repbot.approval.service import SENIOR_ONLY, ApprovalService, Request
from repbot.classify.feedback import RELABELS, agreement_report, label_from_reason, latest_labels
from repbot.classify.intent_model import Example, IntentPredictor, load_examples
from repbot.classify.intent_train import run, train_intent, training_set
from repbot.cli import main
from repbot.models import Author, Mention, State, utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "repbot.db")
    yield s
    s.close()


async def test_relabel_is_stored_with_who_when_and_the_previous_intent(store: SqliteStore) -> None:
    item_id = seed_item(store, text="Shout-out to the support team, sorted in a day!")
    service = ApprovalService(store, web_approvers=["alice"])
    result = await service.decide(Request(item_id, "relabel", "web:alice", "web", reason="praise"))
    assert result.outcome == "accepted"
    [label] = store.feedback_labels()
    assert (label.mention_id, label.label, label.previous) == (item_id, "praise", "complaint")
    assert (label.actor, label.channel) == ("web:alice", "web")
    assert label.text.startswith("Shout-out") and label.created_at <= utcnow()
    assert store.get(item_id).state == State.AWAITING_APPROVAL  # a relabel decides nothing
    assert any(e["event"] == "relabel" for e in store.audit_log(item_id))


async def test_relabel_refusals_record_nothing(store: SqliteStore) -> None:
    item_id = seed_item(store)
    service = ApprovalService(store, web_approvers=["alice"])
    unknown = await service.decide(Request(item_id, "relabel", "web:alice", "web", reason="meh"))
    outsider = await service.decide(Request(item_id, "relabel", "web:eve", "web", reason="spam"))
    assert unknown.outcome == "refused" and "praise" in unknown.reason
    assert outsider.outcome == "refused"
    assert store.feedback_labels() == []


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("spam", "spam"),
        ("Not about us.", "irrelevant"),
        ("this is praise", "praise"),
        ("It\u2019s a question", "question"),
        ("draft too long", None),
        (None, None),
    ],
)
def test_label_from_reject_reason(reason: str | None, label: str | None) -> None:
    assert label_from_reason(reason) == label


async def test_reject_reason_naming_a_label_is_feedback(store: SqliteStore) -> None:
    spam_id, long_id = seed_item(store), seed_item(store)
    service = ApprovalService(store)
    await service.decide(Request(spam_id, "reject", "slack:U1", "slack", reason="spam"))
    await service.decide(Request(long_id, "reject", "slack:U1", "slack", reason="too long"))
    [label] = store.feedback_labels()
    assert (label.mention_id, label.label, label.reason) == (spam_id, "spam", "spam")
    assert store.get(spam_id).state == State.REJECTED


def test_feedback_pages_by_id_and_latest_label_wins(store: SqliteStore) -> None:
    ids = [seed_item(store, text=f"text {i}") for i in range(7)]
    for i, item_id in enumerate(ids):
        store.add_feedback(item_id, "spam", "web:a", channel="web")
        if i == 3:
            store.add_feedback(item_id, "praise", "web:b", channel="web")
    first = store.feedback_labels(0, 3)
    rest = store.feedback_labels(first[-1].id, 100)
    assert len(first) + len(rest) == 8 and first[-1].id < rest[0].id
    import repbot.classify.feedback as fb

    fb_page, fb.PAGE = fb.PAGE, 2  # force several pages through the keyset loop
    try:
        latest = {f.mention_id: f.label for f in latest_labels(store)}
    finally:
        fb.PAGE = fb_page
    assert len(latest) == 7 and latest[ids[3]] == "praise" and latest[ids[0]] == "spam"


def test_feedback_for_a_missing_item_raises(store: SqliteStore) -> None:
    from repbot.errors import StoreError

    with pytest.raises(StoreError):
        store.add_feedback(999, "spam", "web:a", channel="web")


def test_agreement_report_per_label() -> None:
    from repbot.store.feedback import FeedbackLabel

    now = utcnow()
    labels = [
        FeedbackLabel(1, 1, "praise", "a", "web", now, "t1", previous="complaint"),
        FeedbackLabel(2, 2, "praise", "a", "web", now, "t2", previous="praise"),
        FeedbackLabel(3, 3, "spam", "a", "web", now, "t3", previous="praise"),
    ]
    report = agreement_report(labels, ["praise", "praise", "praise"])
    assert report["n"] == 3 and report["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["per_label"]["praise"] == {"n": 2, "agreement": 1.0, "agreement_before": 0.5}
    assert report["per_label"]["spam"]["agreement"] == 0.0
    assert report["confusion"]["spam"] == {"praise": 1}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "repbot.yaml"
    path.write_text(f"store: {{path: {tmp_path / 'repbot.db'}}}\n", encoding="utf-8")
    return path


def test_eval_feedback_cli_shows_agreement_per_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    store = SqliteStore(tmp_path / "repbot.db")
    spam = seed_item(store, text="Buy 10k followers cheap!!! DM now", intent="praise")
    press = seed_item(
        store, text="Reporter at the Evening Post here, can your press office comment?"
    )
    store.add_feedback(spam, "spam", "web:a", channel="web", previous="praise")
    store.add_feedback(press, "press", "web:a", channel="web", previous="complaint")
    store.close()
    assert main(["eval", "--feedback", "--json", "-c", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 2 and set(report["per_label"]) == {"spam", "press"}
    assert report["per_label"]["spam"]["agreement"] == 1.0  # the current model agrees
    assert report["agreement_before"] == 0.0  # the classifier at the time did not


def test_eval_without_data_or_feedback_is_bad_usage(tmp_path: Path) -> None:
    assert main(["eval", "-c", str(_config(tmp_path))]) == 2


def _arrays(directory: Path) -> dict[str, np.ndarray]:
    with np.load(directory / "intent.npz") as data:
        return {k: data[k] for k in data.files}


def test_train_feedback_is_reproducible_and_learns_the_humans_label(tmp_path: Path) -> None:
    text = "Marmalade sandwiches at the quarterly picnic were divine"
    feedback = [(text, "irrelevant"), ("Your loyalty scheme is a lifesaver", "praise")]
    first = run(tmp_path / "a", feedback, embeddings=False)
    second = run(tmp_path / "b", feedback, embeddings=False)
    base = run(tmp_path / "c", [], embeddings=False)
    assert first["feedback"] == 2 and first["data_sha256"] == second["data_sha256"]
    a, b = _arrays(tmp_path / "a"), _arrays(tmp_path / "b")
    assert all(np.array_equal(a[k], b[k]) for k in a)  # same data -> same weights
    assert first["data_sha256"] != base["data_sha256"]
    from repbot.classify.intent_model import load_intent_model

    probs = load_intent_model(tmp_path / "a").predict([text])[0]
    before = load_intent_model(tmp_path / "c").predict([text])[0]
    assert probs["irrelevant"] > before["irrelevant"]


def test_train_feedback_cli_reads_the_store(tmp_path: Path) -> None:
    config = _config(tmp_path)
    store = SqliteStore(tmp_path / "repbot.db")
    item = seed_item(store, text="Lovely lighthouse walk this morning")
    store.add_feedback(item, "irrelevant", "web:a", channel="web")
    store.close()
    out = tmp_path / "weights"
    args = ["train", "--feedback", "--no-embeddings", "--out", str(out), "-c", str(config)]
    assert main(args) == 0
    meta = json.loads((out / "intent.json").read_text())
    assert meta["n"] == len(training_set(load_examples(), [("x", "irrelevant")]))


def test_training_set_keeps_test_split_out_and_weights_feedback() -> None:
    examples = load_examples()
    kept = training_set(examples, [("a text", "spam"), ("ignored", "not-a-label")])
    assert all(e.split != "test" for e in kept if e.weight == 1.0)
    assert [e for e in kept if e.weight != 1.0] == [Example("spam", "", "a text", 2.0)]
    model = IntentPredictor(train_intent(kept[:40], None, steps=5))
    assert set(model.predict(["x"])[0]) <= set(RELABELS)


def _senior_item(store: SqliteStore) -> int:
    mention = Mention(
        platform="x",
        external_id="senior-1",
        author=Author(handle="dana"),
        text="I'm calling my lawyer about the double charge",
        created_at=utcnow(),
    )
    (item_id,) = store.ingest("demo", [mention], None).new_ids
    store.set_classified(
        item_id, {"label": "negative", "intent": "legal", "urgency": 0.8, "senior": True}
    )
    store.set_draft(item_id, "We're sorry. Our team will contact you today.", {"limit": 280})
    return item_id


async def test_senior_item_needs_a_senior_approver_when_configured(store: SqliteStore) -> None:
    item_id = _senior_item(store)
    service = ApprovalService(store, web_approvers=["alice", "sam"], senior_approvers=["Sam"])
    junior = await service.decide(Request(item_id, "approve", "web:alice", "web"))
    assert junior.outcome == "refused" and junior.reason == SENIOR_ONLY
    assert store.get(item_id).state == State.AWAITING_APPROVAL
    senior = await service.decide(Request(item_id, "approve", "web:sam", "web"))
    assert senior.outcome == "accepted"


async def test_senior_flag_without_a_list_and_ordinary_items_are_unrestricted(
    store: SqliteStore,
) -> None:
    senior_item, plain = _senior_item(store), seed_item(store)
    open_service = ApprovalService(store)
    assert (await open_service.decide(Request(senior_item, "approve", "web:a", "web"))).outcome == (
        "accepted"
    )
    listed = ApprovalService(store, senior_approvers=["sam"])
    assert (await listed.decide(Request(plain, "approve", "web:a", "web"))).outcome == "accepted"


def test_senior_approvers_config_key_reaches_the_service(store: SqliteStore) -> None:
    from repbot.approval.config import ApprovalConfig

    cfg = ApprovalConfig(senior_approvers=["U1", "sam"])
    service = ApprovalService.from_config(cfg, store, guard=None)
    assert service.senior_approvers == {"u1", "sam"}


def test_slack_actions_offer_relabels_and_flag_senior_items(store: SqliteStore) -> None:
    row = blocks.approval_actions(7)
    [select] = [e for e in row["elements"] if e.get("action_id") == blocks.ACTION_RELABEL]
    values = [o["value"] for o in select["options"]]
    assert values == [f"7:{label}" for label in RELABELS]
    assert "not about us" in [o["text"]["text"] for o in select["options"]]
    item = store.get(_senior_item(store))
    assert "senior approver" in json.dumps(blocks.header_blocks(item))
