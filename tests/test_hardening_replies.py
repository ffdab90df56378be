"""Hardening of what leaves the daemon in a reply: the sandbox record, addresses, lengths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repbot.models import Author, Mention
from repbot.sandbox import Sandbox


def _mention(n: int = 1, platform: str = "demo", **author: str) -> Mention:
    return Mention(
        platform=platform,
        external_id=f"m{n}",
        author=Author(**author),
        text="My card was declined twice today.",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )


def _jsonl_keys(directory: Path) -> list[str]:
    lines = (directory / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["key"] for line in lines]


def _db_keys(box: Sandbox) -> list[str]:
    return [p["idempotency_key"] for p in box.all()]


# -- 1. the sandbox: posts.db and posts.jsonl cannot come apart -------------------------------


def test_sandbox_kill_between_row_and_line_is_repaired_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Sandbox(tmp_path)
    box.post(_mention(1), "first", "k1")

    def killed(*_: object) -> None:
        raise KeyboardInterrupt("killed between the row and its line")

    monkeypatch.setattr(Sandbox, "_append", killed)
    with pytest.raises(KeyboardInterrupt):
        box.post(_mention(2), "second", "k2")
    box.close()
    monkeypatch.undo()
    assert _jsonl_keys(tmp_path) == ["k1"]  # the state a kill leaves

    reopened = Sandbox(tmp_path)
    assert _jsonl_keys(tmp_path) == _db_keys(reopened) == ["k1", "k2"]
    reopened.post(_mention(2), "second", "k2")  # a retry of the same key adds nothing
    assert _jsonl_keys(tmp_path) == ["k1", "k2"]


def test_sandbox_next_post_writes_a_missing_line_without_reopening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Sandbox(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(Sandbox, "_append", lambda *_: None)
        box.post(_mention(1), "first", "k1")
    box.post(_mention(2), "second", "k2")
    assert _jsonl_keys(tmp_path) == _db_keys(box) == ["k1", "k2"]


def test_sandbox_line_cut_off_by_a_kill_is_rewritten_whole(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    box.post(_mention(1), "first", "k1")
    box.post(_mention(2), "second " * 20_000, "k2")  # a line longer than one tail read
    box.close()
    path = tmp_path / "posts.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole[:-50])  # the last line, torn

    reopened = Sandbox(tmp_path)
    assert path.read_bytes() == whole
    assert _jsonl_keys(tmp_path) == _db_keys(reopened) == ["k1", "k2"]


def test_two_sandboxes_on_one_folder_write_each_line_once(tmp_path: Path) -> None:
    first, second = Sandbox(tmp_path), Sandbox(tmp_path)
    for n in range(6):
        (first if n % 2 else second).post(_mention(n), f"reply {n}", f"k{n}")
    assert _jsonl_keys(tmp_path) == _db_keys(first) == [f"k{n}" for n in range(6)]


_POSTER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from repbot.models import Mention
from repbot.sandbox import Sandbox
box = Sandbox(Path(sys.argv[1]))
for n in range(100_000):
    m = Mention(platform="demo", external_id=f"m{n}", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    box.post(m, "reply " * (n % 50), f"k{n}")
    print(n, flush=True)
"""


@pytest.mark.parametrize("after", [3, 17, 41])
def test_sandbox_sigkill_while_posting_leaves_db_and_jsonl_equal(
    tmp_path: Path, after: int
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _POSTER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    for _ in range(after):
        assert child.stdout.readline(), "the poster stopped early"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    box = Sandbox(tmp_path)
    keys = _db_keys(box)
    assert len(keys) >= after
    assert _jsonl_keys(tmp_path) == keys == [f"k{n}" for n in range(len(keys))]


# -- 2. handles: only a handle valid on its platform becomes an address -----------------------

HOSTILE = [
    '"><img src=x onerror=alert(3)>',
    "everyone",
    "here",
    "dana smith",
    "dana\u202e",
    "dana\nhttps://evil.example",
    "a" * 31,
    "",
]


@pytest.mark.parametrize(
    ("platform", "raw", "expected"),
    [
        ("x", "@dana_1", "@dana_1"),
        ("x", "dana", "@dana"),
        ("x", "@" + "a" * 15, "@" + "a" * 15),
        ("x", "dana.smith", None),
        ("x", "dana-smith", None),
        ("reddit", "u/throw-away_9", "u/throw-away_9"),
        ("reddit", "/u/ab", None),
        ("mastodon", "@alice@mastodon.social", "@alice@mastodon.social"),
        ("mastodon", "alice", "@alice"),
        ("mastodon", "@alice@<b>x</b>", None),
        ("bluesky", "alice.bsky.social", "@alice.bsky.social"),
        ("bluesky", "@alice", None),
        ("bluesky", "alice.bsky.123", None),
        ("hackernews", "pg", "pg"),
        ("trustpilot", "dana", None),
        ("google_play", "dana", None),
        ("unknown", "dana", None),
    ],
)
def test_platform_handle_syntax(platform: str, raw: str, expected: str | None) -> None:
    from repbot import platforms

    assert platforms.mention_of(platform, raw) == expected


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "reddit", "hackernews"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_a_hostile_handle_is_never_an_address(platform: str, raw: str) -> None:
    from repbot.respond.personalize import address

    who = address(_mention(platform=platform, handle=raw, display_name=raw))
    assert who.prefix == "" and who.name == "" and who.greeting == "Hi there,"


@pytest.mark.parametrize(
    ("display", "greeting"),
    [
        ("Maria Lopez", "Hi Maria,"),
        ("MARIA", "Hi Maria,"),
        ("<b>Maria</b>", "Hi there,"),
        ("Maria<script>", "Hi there,"),
        ("\u202eairaM", "Hi there,"),
        ("https://evil.example", "Hi there,"),
        ("Mariaaaaaaaaaaaaaaaaaaaaa", "Hi there,"),
        ("@everyone", "Hi there,"),
    ],
)
def test_greeting_by_display_name_is_plain_or_dropped(display: str, greeting: str) -> None:
    from repbot.respond.personalize import address

    assert address(_mention(platform="trustpilot", display_name=display)).greeting == greeting


def _responder() -> object:
    from repbot.brand import BrandConfig
    from repbot.respond.config import ResponderConfig
    from repbot.respond.responder import Responder

    brand = BrandConfig(
        name="Orbit", website="https://orbit.com", support_url="https://orbit.com/help"
    )
    return Responder(ResponderConfig(mode="template"), brand)


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "reddit", "trustpilot"])
def test_posted_draft_never_carries_a_hostile_handle(platform: str) -> None:
    from repbot.respond.draft import DraftContext
    from repbot.respond.responder import Responder

    responder = _responder()
    assert isinstance(responder, Responder)
    raw = '"><img src=x onerror=alert(3)>'
    mention = _mention(platform=platform, handle=raw, display_name=raw)
    draft = responder.draft_template(DraftContext(mention, intent="complaint", language="en"))
    assert "<img" not in draft.text and '">' not in draft.text and "onerror" not in draft.text
    assert responder.context(DraftContext(mention, language="en"))["handle"] == ""


def test_valid_handle_still_addresses_the_author() -> None:
    from repbot.respond.draft import DraftContext
    from repbot.respond.responder import Responder

    responder = _responder()
    assert isinstance(responder, Responder)
    mention = _mention(platform="x", handle="@dana_1", display_name="Dana")
    draft = responder.draft_template(DraftContext(mention, intent="complaint", language="en"))
    assert draft.text.startswith("@dana_1 ")


# -- 3. length: each platform's own count, the same in drafts, console and Slack --------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one emoji, 7 code points


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("This is a test.", 15),
        ("a" * 280, 280),
        ("日本語", 6),  # CJK weighs 2
        ("안녕", 4),  # Hangul syllables too
        ("\u2014 \u2019", 3),  # dashes and quotes (U+2010-201F) weigh 1
        ("\u2026", 2),  # but the ellipsis U+2026 is outside the light ranges
        ("é", 1),  # precomposed
        ("e\u0301", 1),  # NFC first: e + combining acute is one é
        ("😷", 2),
        (FAMILY, 2),  # a ZWJ sequence is one emoji
        ("👍🏽", 2),  # skin tone
        ("🇬🇧", 2),  # flag: two regional indicators
        ("#️⃣", 2),  # keycap
        ("H🐱☺" + FAMILY, 7),  # twitter-text conformance "mix of single and double word chars"
        ("https://example.com", 23),
        ("https://example.com/" + "a" * 200, 23),  # any URL is 23 however long
        ("http://example.com/path?q=1&r=2#frag", 23),
        ("example.com", 23),  # no scheme, real TLD
        ("www.example.co.uk/help", 23),
        ("see example.com/help.", 4 + 23 + 1),  # trailing full stop is not part of the URL
        ("mail help@example.com", 5 + 16),  # an e-mail address is not a URL
        ("acme.example", 12),  # .example is no TLD: counted as written
        ("https://localhost/x", 19),
        ("english text 日本語 😷 https://example.com", 46),  # twitter-text README
        ("日本語 https://example.com/日本", 6 + 1 + 23 + 4),  # CJK cannot be in a URL path
        ("https://example.com/日本abc", 23 + 4 + 3),
    ],
)
def test_x_weighted_length_follows_twitter_text(text: str, weighted: int) -> None:
    from repbot.respond.limits import limit_for, measure, x_length

    assert x_length(text) == weighted
    assert measure(text, limit_for("x")) == weighted


def test_x_limit_is_280_weighted_not_280_code_points() -> None:
    from repbot.respond.limits import fits, limit_for

    x = limit_for("x")
    assert fits("の" * 140, x) and not fits("の" * 141, x)
    assert fits("😷" * 140, x) and not fits("😷" * 141, x)
    assert fits(FAMILY * 140, x)  # 980 code points, 280 weighted
    assert fits("a " * 120 + "https://example.com/" + "x" * 500, x)  # 761 code points


def test_bluesky_counts_graphemes_mastodon_code_points() -> None:
    from repbot.respond.limits import limit_for, measure

    assert measure(FAMILY * 3, limit_for("bluesky")) == 3
    assert measure("日本語", limit_for("mastodon")) == 3
    assert measure("see https://example.com/" + "a" * 100, limit_for("mastodon")) == 4 + 23


def test_draft_fitting_uses_the_weighted_count() -> None:
    from repbot.respond.limits import fit, limit_for, x_length

    body = "。".join(["申し訳ございません" * 3] * 10) + "。"
    out = fit(body, limit_for("x"), prefix="@dana ")
    assert out and x_length(out) <= 280 < x_length("@dana " + body)


LONG_CJK = "カードが使えません" * 16  # 144 code points: len() says fine, X says 288
LONG_URL = "Details: https://orbit.com/help/" + "a" * 300  # 332 code points, X says 32


def _console(store: object) -> object:
    from pydantic import SecretStr

    from repbot.approval.config import WebConfig
    from repbot.approval.web import Console

    return Console(store, WebConfig(token=SecretStr("t0ken")), timezone="UTC", slack=None)  # type: ignore[arg-type]


def _slack(store: object) -> object:
    from pydantic import SecretStr

    from repbot.approval.config import SlackConfig
    from repbot.approval.slack import SlackApproval

    cfg = SlackConfig(
        mode="http",
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr("s3cret"),
        channel="C1",
    )
    return SlackApproval(cfg, store)  # type: ignore[arg-type]


def _edit_view(item_id: int, text: str) -> dict[str, object]:
    from repbot.approval import blocks

    return {
        "callback_id": blocks.CALLBACK_EDIT,
        "private_metadata": json.dumps({"id": item_id}),
        "state": {"values": {blocks.INPUT_BLOCK: {blocks.INPUT_ACTION: {"value": text}}}},
    }


async def test_console_and_slack_edit_judge_length_as_x_does(tmp_path: Path) -> None:
    from repbot.approval.slack import SlackApproval
    from repbot.approval.web import Console
    from repbot.store.sqlite import SqliteStore
    from repbot.testing.approval import seed_item

    store = SqliteStore(tmp_path / "repbot.db")
    console, slack = _console(store), _slack(store)
    assert isinstance(console, Console) and isinstance(slack, SlackApproval)
    too_long, fine = seed_item(store, platform="x"), seed_item(store, platform="x")

    slack_says = slack._validate_submission(_edit_view(too_long, LONG_CJK))
    with pytest.raises(ValueError) as console_says:
        await console._apply(store.get(too_long), "edit", {"text": LONG_CJK}, "web:ann")
    assert slack_says == str(console_says.value)
    assert slack_says is not None and "288" in slack_says and "280" in slack_says

    assert slack._validate_submission(_edit_view(fine, LONG_URL)) is None
    await console._apply(store.get(fine), "edit", {"text": LONG_URL}, "web:ann")
    assert store.get(fine).state.value == "approved"
    await slack.stop()
    store.close()


# -- 4. the same class: customer text that reaches a reply, Slack notifications ---------------


def _brand() -> object:
    from repbot.brand import BrandConfig

    return BrandConfig(
        name="Orbit",
        handles={"x": "OrbitHelp"},
        website="https://orbit.com",
        support_url="https://orbit.com/help",
        support_email="help@orbit.com",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Thanks @everyone for waiting!",
        "Heads up @here: we're on it.",
        "Sorry <!channel> about this.",
        "Ask <@U024BE7LH> about it.",
        "Sorry, cc @someone_else.",
        "Sorry <img src=x onerror=alert(3)> about this.",
        "Sorry about this\u202e.",
        "Try evil.zip for a fix.",  # .zip is a real TLD the old fixed list missed
    ],
)
def test_guardrails_refuse_mentions_markup_and_unknown_domains(text: str) -> None:
    from repbot.brand import BrandConfig
    from repbot.respond.config import GuardrailConfig
    from repbot.respond.guardrails import check

    brand = _brand()
    assert isinstance(brand, BrandConfig)
    assert check(text, brand=brand, cfg=GuardrailConfig()) != []


@pytest.mark.parametrize(
    "text",
    [
        "@dana_1 Sorry about this, DM @OrbitHelp and we'll sort it.",
        "Email help@orbit.com or see https://orbit.com/help, Cards > Recent activity.",
        "Thanks so much 👨\u200d👩\u200d👧\u200d👦🇬🇧!",
    ],
)
def test_guardrails_still_pass_ordinary_replies(text: str) -> None:
    from repbot.brand import BrandConfig
    from repbot.respond.config import GuardrailConfig
    from repbot.respond.guardrails import check

    brand = _brand()
    assert isinstance(brand, BrandConfig)
    assert check(text, brand=brand, cfg=GuardrailConfig()) == []


def test_praised_thing_quoted_back_is_plain_words() -> None:
    from repbot.respond.personalize import praised

    mention = _mention().model_copy(
        update={"text": "the x<img/src=x/onerror=alert(1)> app is great"}
    )
    assert praised(mention, "Orbit") == ("", "")
    ok = _mention().model_copy(update={"text": "the new budgeting pots are brilliant"})
    assert praised(ok, "Orbit") == ("the new budgeting pots", "")


def test_slack_notification_text_cannot_ping_the_channel(tmp_path: Path) -> None:
    from repbot.approval import blocks
    from repbot.store.sqlite import SqliteStore
    from repbot.testing.approval import seed_item

    store = SqliteStore(tmp_path / "repbot.db")
    item = store.get(seed_item(store, handle="<!channel>"))
    text = blocks.fallback_text(item)
    assert "<!" not in text and "&lt;!channel&gt;" in text
    store.close()


def test_edit_boxes_take_an_x_reply_longer_than_280_code_points(tmp_path: Path) -> None:
    from repbot.approval import blocks
    from repbot.respond.limits import input_max
    from repbot.store.sqlite import SqliteStore
    from repbot.testing.approval import seed_item

    store = SqliteStore(tmp_path / "repbot.db")
    modal = blocks.edit_modal(store.get(seed_item(store, platform="x")), "{}")
    (field,) = [
        b
        for b in modal["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "plain_text_input"
    ]
    assert field["element"]["max_length"] >= len(LONG_URL)
    assert input_max("x", 280) >= len(LONG_URL)
    assert input_max("trustpilot", 2000) == 2000  # counted in code points: the box is exact
    store.close()
