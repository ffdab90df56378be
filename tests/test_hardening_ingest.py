"""Nothing is lost on ingest: bad characters, unstorable records, failing sources, a mention
that breaks the classifier, hostile webhook deliveries (issue 10)."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repbot.classify import SentimentResult, analyze
from repbot.config import Config, parse_config
from repbot.connectors.file import FileConfig, FileConnector
from repbot.connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from repbot.connectors.x import XConnector
from repbot.connectors.x.simulator import XSimulator
from repbot.daemon import Daemon
from repbot.errors import AuthError, TransientError
from repbot.models import MAX_COUNT, Mention, Page, State, storable, utcnow
from repbot.pipeline import Pipeline
from repbot.respond import DraftContext, Responder
from repbot.runner import FAILING_AFTER, Backoff, SourceRunner
from repbot.server import health
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, ScriptedConnector, make_mention

HALF_EMOJI = "\ud83d"  # the first half of a surrogate pair, alone: real platforms send these
SECRET = "whsec-hardening-0123456789"
FIXTURES_X = Path(__file__).parent / "fixtures_x"


# ---- 1. text is made storable at the edge -------------------------------------------------


def test_storable_replaces_lone_surrogates_joins_pairs_and_drops_nul() -> None:
    assert storable(f"a{HALF_EMOJI}b") == "a\ufffdb"
    assert storable("\ud83d\ude00") == "\U0001f600"  # a pair split in two code points
    assert storable("nul\x00here") == "nulhere"
    value = storable({HALF_EMOJI: [f"x{HALF_EMOJI}", ("\x00", 3)], "n": None})
    assert value == {"\ufffd": ["x\ufffd", ["", 3]], "n": None}


def test_every_string_of_a_mention_is_storable_and_counters_fit() -> None:
    mention = make_mention(
        1,
        external_id=f"id{HALF_EMOJI}",
        text=f"broken {HALF_EMOJI} emoji",
        title=f"t{HALF_EMOJI}",
        url=f"https://x.com/{HALF_EMOJI}",
        author={"handle": f"h{HALF_EMOJI}", "display_name": HALF_EMOJI, "followers": 10**400},
        metrics={"likes": 10**30, "reposts": -(10**30)},
        thread={"parent": HALF_EMOJI},
        raw={"deep": [{HALF_EMOJI: HALF_EMOJI}]},
    )
    dumped = mention.model_dump_json()  # raised UnicodeEncodeError before the fix
    assert HALF_EMOJI not in dumped and "\\ud83d" not in dumped
    assert mention.text == "broken \ufffd emoji" and mention.author.handle == "h\ufffd"
    assert mention.author.followers == MAX_COUNT
    assert (mention.metrics.likes, mention.metrics.reposts) == (MAX_COUNT, -MAX_COUNT)
    [result] = analyze(
        [mention], KeywordClassifier(), parse_config("{}").urgency, None, None, utcnow()
    )
    assert 0 <= result.urgency <= 1  # math.log1p(10**400) overflowed before


def _file_runner(tmp_path: Path, lines: list[str], store: SqliteStore) -> SourceRunner:
    (tmp_path / "m.jsonl").write_text("".join(lines), encoding="utf-8")
    connector = FileConnector("f", FileConfig.model_validate({"path": "m.jsonl"}))
    connector.base_dir = tmp_path
    return SourceRunner(store, connector)


def _line(n: int, text: str, **extra: Any) -> str:
    record = {
        "external_id": f"r{n}",
        "text": text,
        "author": {"handle": f"u{n}"},
        "created_at": "2026-11-01T10:00:00Z",
        **extra,
    }
    return json.dumps(record) + "\n"  # json.dumps writes the lone surrogate as \ud83d


async def test_a_lone_surrogate_in_a_file_no_longer_blocks_the_source(
    tmp_path: Path, repbot_store: SqliteStore
) -> None:
    lines = [
        _line(1, "fine"),
        _line(2, f"cut {HALF_EMOJI}", author={"handle": f"x{HALF_EMOJI}"}, extra=HALF_EMOJI),
        _line(3, "also fine"),
    ]
    runner = _file_runner(tmp_path, lines, repbot_store)
    result = await runner.poll()
    assert (result.new, result.malformed, result.error) == (3, 0, None)
    assert repbot_store.get_cursor("f") == str(len("".join(lines).encode()))
    texts = {i.mention.external_id: i.mention.text for i in repbot_store.queue()}
    assert texts == {"r1": "fine", "r2": "cut \ufffd", "r3": "also fine"}
    assert (await runner.poll()).new == 0


async def test_a_record_the_store_cannot_keep_is_malformed_and_the_page_is_stored(
    repbot_store: SqliteStore,
) -> None:
    # model_copy skips validation: stands for any record that still cannot be stored
    unstorable = make_mention(2).model_copy(update={"text": HALF_EMOJI})
    huge = make_mention(3).model_copy(update={"created_at": None})
    page = Page(mentions=[make_mention(1), unstorable, huge, make_mention(4)], cursor="c1")
    runner = SourceRunner(repbot_store, ScriptedConnector("src", [page]))
    result = await runner.poll()
    assert (result.new, result.duplicates, result.malformed, result.error) == (2, 0, 2, None)
    assert repbot_store.get_cursor("src") == "c1"
    assert {i.mention.external_id for i in repbot_store.queue()} == {"m1", "m4"}
    assert runner.malformed_total == 2


async def test_x_page_with_a_lone_surrogate_keeps_every_good_post(
    repbot_store: SqliteStore,
) -> None:
    body = json.loads((FIXTURES_X / "mentions_page.json").read_text())
    body["data"][0]["text"] += f" {HALF_EMOJI}"
    body["includes"]["users"][0]["name"] = f"Name {HALF_EMOJI}"
    async with XSimulator() as sim:
        sim.inject("mentions", 200, body)
        connector = XConnector(
            "x-test",
            XConnector.Config.model_validate(
                {
                    "api_base_url": sim.url,
                    **sim.credentials(),
                    "brand_username": "acme",
                    "tier": "enterprise",
                }
            ),
        )
        try:
            result = await SourceRunner(repbot_store, connector).poll()
        finally:
            await connector.aclose()
    wanted = {t["id"] for t in body["data"] if t.get("author_id") != sim.brand.id}
    stored = {i.mention.external_id for i in repbot_store.queue()}
    assert result.error is None and wanted <= stored and len(wanted) >= 3
    first = repbot_store.find("x", body["data"][0]["id"])
    assert first is not None and first.mention.text.endswith("\ufffd")


# ---- 2. a source that keeps failing shows and alerts once ----------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_failing_source_is_reported_and_alerted_once_then_recovers(
    repbot_store: SqliteStore,
) -> None:
    script: list[Page | Exception] = [
        *(TransientError(f"boom {n}") for n in range(FAILING_AFTER + 2)),
        Page(mentions=[make_mention(1)]),
    ]
    clock = Clock()
    alerts: list[tuple[str, str, str]] = []
    runner = SourceRunner(
        repbot_store,
        ScriptedConnector("src", script),
        clock=clock,
        backoff=Backoff(base=1.0, cap=1.0, rng=random.Random(1)),
        on_alert=lambda *a: alerts.append(a),
    )

    async def poll() -> None:
        clock.now += 10
        await runner.poll()

    for _ in range(FAILING_AFTER - 1):
        await poll()
    assert health(repbot_store, time.monotonic())["status"] == "ok" and not alerts
    await poll()
    doc = health(repbot_store, time.monotonic())
    [source] = doc["sources"]
    assert doc["status"] == "degraded" and source["status"] == "failing"
    assert "boom" in source["last_error"]
    await poll()
    await poll()
    assert [a[1] for a in alerts] == ["failing"]
    await poll()  # the scripted success
    assert [a[1] for a in alerts] == ["failing", "recovered"]
    assert [a["kind"] for a in repbot_store.alerts()] == ["recovered", "failing"]
    doc = health(repbot_store, time.monotonic())
    assert doc["status"] == "ok" and doc["sources"][0]["status"] == "ok"


async def test_a_store_failure_during_ingest_goes_through_the_policy(
    repbot_store: SqliteStore,
) -> None:
    unbindable: Any = object()  # the cursor write fails: the page as a whole cannot be stored
    page = Page.model_construct(mentions=[make_mention()], cursor=unbindable, malformed=0)
    runner = SourceRunner(repbot_store, ScriptedConnector("src", [page]))
    result = await runner.poll()  # raised out of poll() before the fix
    assert result.error is not None and runner.failures == 1
    assert repbot_store.counts() == {}


async def test_an_error_quoting_a_lone_surrogate_is_recorded_not_raised(
    repbot_store: SqliteStore,
) -> None:
    runner = SourceRunner(
        repbot_store, ScriptedConnector("src", [TransientError(f"bad {HALF_EMOJI} reply")])
    )
    result = await runner.poll()  # record_source_result raised UnicodeEncodeError before
    [status] = repbot_store.source_status()
    assert result.error == status.last_error == "TransientError: bad \ufffd reply"


# ---- 3. one poisonous mention fails alone -------------------------------------------------


class PoisonClassifier(KeywordClassifier):
    """Raises on any batch that holds the poison text (quoting it, half emoji and all)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.batches.append(len(texts))
        if any("poison" in t for t in texts):
            raise RuntimeError(f"tokenizer exploded {HALF_EMOJI}")
        return super().classify(texts)


def _config(tmp_path: Path) -> Config:
    return parse_config(f"store: {{path: {tmp_path / 'r.db'}}}\npipeline: {{max_attempts: 3}}")


async def test_a_mention_that_breaks_the_classifier_fails_alone(
    tmp_path: Path, repbot_store: SqliteStore
) -> None:
    config = _config(tmp_path)
    mentions = [
        make_mention(1),
        make_mention(2, text="@Acme poison pill"),
        make_mention(3, text="@Acme love it, thanks"),
    ]
    ids = repbot_store.ingest("src", mentions, None).new_ids
    classifier = PoisonClassifier()
    pipeline = Pipeline(repbot_store, config, classifier, Responder(config.responder, config.brand))
    assert await pipeline.classify_pending() == 3
    assert classifier.batches == [3, 1, 1, 1]  # the batch, then each item alone
    first, poison, third = (repbot_store.get(i) for i in ids)
    assert first.state is not State.NEW and third.state is not State.NEW
    assert first.attempts == 0 and third.attempts == 0
    assert poison.state is State.NEW and poison.attempts == 1
    assert "tokenizer exploded" in (poison.last_error or "")


class RaisingOnText(Responder):
    """A responder whose reply decision raises for one text."""

    def should_reply(
        self, intent: str, urgency: float, sentiment: str, language: str | None = None
    ) -> bool:
        return True

    async def draft(self, ctx: DraftContext) -> Any:
        if "venom" in ctx.mention.text:
            raise RuntimeError("template exploded")
        return await super().draft(ctx)


async def test_a_mention_that_breaks_drafting_fails_alone(
    tmp_path: Path, repbot_store: SqliteStore
) -> None:
    config = _config(tmp_path)
    mentions = [make_mention(1), make_mention(2, text="@Acme venom refund"), make_mention(3)]
    ids = repbot_store.ingest("src", mentions, None).new_ids
    responder = RaisingOnText(config.responder, config.brand)
    pipeline = Pipeline(repbot_store, config, KeywordClassifier(), responder)
    await pipeline.classify_pending()
    assert await pipeline.draft_pending() == 3
    first, venom, third = (repbot_store.get(i) for i in ids)
    assert first.state is State.AWAITING_APPROVAL and third.state is State.AWAITING_APPROVAL
    assert venom.state is State.CLASSIFIED and venom.attempts == 1


class BrokenDecision(Responder):
    """``should_reply`` itself raises for one mention (outside the old per-item guard)."""

    def should_reply(
        self, intent: str, urgency: float, sentiment: str, language: str | None = None
    ) -> bool:
        if urgency == 0.123:
            raise KeyError("reply rule table")
        return True


async def test_a_mention_that_breaks_the_reply_decision_fails_alone(
    tmp_path: Path, repbot_store: SqliteStore
) -> None:
    config = _config(tmp_path)
    ids = repbot_store.ingest("src", [make_mention(1), make_mention(2)], None).new_ids
    pipeline = Pipeline(
        repbot_store, config, KeywordClassifier(), BrokenDecision(config.responder, config.brand)
    )
    await pipeline.classify_pending()
    repbot_store.update_urgency(ids[0], 0.123, [])
    assert await pipeline.draft_pending() == 2  # raised KeyError out of the batch before
    broken, fine = (repbot_store.get(i) for i in ids)
    assert broken.state is State.CLASSIFIED and broken.attempts == 1
    assert fine.state is State.AWAITING_APPROVAL


# ---- 4. webhooks refuse hostile deliveries with 4xx, never 500 ----------------------------

Posted = tuple[int, dict[str, Any]]


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[tuple[str, Daemon]]:
    config = parse_config(f"""
store: {{path: {tmp_path / "w.db"}}}
sources:
  - {{name: feedback, type: webhook, secret: {SECRET}, mapping: {{external_id: rid}}}}
server: {{port: 0}}
""")
    daemon = Daemon(config, classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    assert daemon.server is not None
    try:
        yield f"http://127.0.0.1:{daemon.server.port}/webhooks/feedback", daemon
    finally:
        await daemon.stop()


async def _post(
    url: str,
    body: bytes,
    timestamp: str | None = None,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Posted:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    sent = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, body), **(headers or {})}
    if content_type is not None:
        sent["Content-Type"] = content_type
    skip = [] if content_type is not None else ["Content-Type"]
    async with (
        aiohttp.ClientSession(skip_auto_headers=skip) as http,
        http.post(url, data=body, headers=sent) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text.startswith("{") else {"text": text})


def _records(*texts: str) -> list[dict[str, str]]:
    return [
        {"rid": f"w{n}", "text": text, "created_at": "2026-11-20T09:00:00Z"}
        for n, text in enumerate(texts)
    ]


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e999", "abc", "", "١٢٣"])
async def test_a_timestamp_that_is_not_a_finite_number_fails_the_age_check(
    webhook: tuple[str, Daemon], timestamp: str
) -> None:
    url, _ = webhook
    body = json.dumps(_records("replayed")).encode()
    status, answer = await _post(url, body, timestamp=timestamp)
    assert status == 401, answer


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_declared_json_is_refused_with_415(
    webhook: tuple[str, Daemon], content_type: str | None
) -> None:
    url, daemon = webhook
    body = json.dumps(_records("plain")).encode()
    status, answer = await _post(url, body, content_type=content_type)
    assert status == 415 and "application/json" in answer["error"]
    assert daemon.store is not None and daemon.store.counts() == {}


async def test_a_lone_surrogate_keeps_every_record_of_the_delivery(
    webhook: tuple[str, Daemon],
) -> None:
    url, daemon = webhook
    body = json.dumps(_records("good one", f"half {HALF_EMOJI} emoji", "good two")).encode()
    assert b"\\ud83d" in body
    status, answer = await _post(url, body, content_type="application/json; charset=utf-8")
    assert (status, answer) == (202, {"new": 3, "revised": 0, "duplicates": 0, "malformed": 0})
    assert daemon.store is not None
    texts = sorted(i.mention.text for i in daemon.store.queue())
    assert texts == ["good one", "good two", "half \ufffd emoji"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'[{"rid": "a", "text": "caf\xe9"}]', "UTF-8"),
        (b"[" * 100_000, "nested"),
        (b'{"rid": "a"', "not JSON"),
    ],
)
async def test_an_unreadable_body_is_400_with_a_clear_message(
    webhook: tuple[str, Daemon], body: bytes, words: str
) -> None:
    url, _ = webhook
    status, answer = await _post(url, body)
    assert status == 400 and words in answer["error"]


async def test_header_names_ignore_case_and_odd_signatures_are_401(
    webhook: tuple[str, Daemon],
) -> None:
    url, _ = webhook
    body = json.dumps(_records("lower-case headers")).encode()
    ts = str(int(time.time()))
    lowered = {"x-repbot-timestamp": ts, "x-repbot-signature": sign(SECRET, ts, body)}
    async with aiohttp.ClientSession() as http:
        headers = {**lowered, "Content-Type": "application/json"}
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 202
        odd = {**headers, "x-repbot-signature": "sha256=é"}
        async with http.post(url, data=body, headers=odd) as response:
            assert response.status == 401  # compare_digest raised TypeError (500) before


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from([HALF_EMOJI, "\x00", "\udfff", "2026-11-20T09:00:00Z", "1e999"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["rid", "id", "text", "author", "created_at", "rating", "metrics", "x"]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=12,
)
strings = st.text(max_size=12) | st.sampled_from([HALF_EMOJI, "\x00", "\udfff", "a\ud83d"])
record_like = st.fixed_dictionaries(
    {
        "rid": strings,
        "created_at": st.sampled_from(["2026-11-20T09:00:00Z", "1e999", "", "2026-13-40"]),
    },
    optional={
        "text": strings,
        "author": st.one_of(strings, st.dictionaries(strings, json_values, max_size=3)),
        "title": json_values,
        "rating": json_values,
        "metrics": st.dictionaries(st.sampled_from(["likes", "upvotes"]), json_values),
        HALF_EMOJI: json_values,
        "extra": json_values,
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(payload=json_values | st.lists(record_like, max_size=4))
async def test_fuzzed_signed_json_never_answers_5xx(
    webhook: tuple[str, Daemon], payload: Any
) -> None:
    url, _ = webhook
    body = json.dumps(payload).encode()
    status, answer = await _post(url, body)
    assert status < 500, (body, answer)
    if status == 202:  # every record is accounted for
        records = len(payload) if isinstance(payload, list) else 1
        counted = answer["new"] + answer["revised"] + answer["duplicates"]
        assert counted + answer["malformed"] == records


def test_nan_timestamp_is_refused_by_the_connector_itself() -> None:
    from repbot.connectors.webhook import WebhookConnector

    connector = WebhookConnector("w", WebhookConnector.Config.model_validate({"secret": SECRET}))
    body = b"{}"
    for value in ("nan", "inf", "-inf", "1e999"):
        headers = {TIMESTAMP_HEADER: value, SIGNATURE_HEADER: sign(SECRET, value, body)}
        with pytest.raises(AuthError):
            connector.verify(headers, body)


# ---- 5. the same class elsewhere: file CSV, reddit, mapped ints ---------------------------


async def test_a_csv_field_spanning_lines_is_one_record_and_a_stray_quote_costs_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "r.csv").write_bytes(
        b"id,text,when\n"
        b'a1,"first line\nsecond line",2026-11-01T09:00:00Z\n'
        b'a2,"stray quote,2026-11-01T09:00:00Z\n'
        b"a3,caf\xe9 latin-1,2026-11-01T09:00:00Z\n"
        b"a4,plain,2026-11-01T09:00:00Z\n"
    )
    connector = FileConnector(
        "f",
        FileConfig.model_validate(
            {"path": "r.csv", "mapping": {"external_id": "id", "created_at": "when"}}
        ),
    )
    connector.base_dir = tmp_path
    page = await connector.fetch(None)
    assert [m.external_id for m in page.mentions] == ["a1", "a3", "a4"]
    assert page.mentions[0].text == "first line\nsecond line"
    assert page.mentions[1].text == "caf\ufffd latin-1"
    assert page.malformed == 1


async def test_a_deeply_nested_jsonl_line_is_malformed_not_a_stuck_source(tmp_path: Path) -> None:
    lines = _line(1, "before") + "[" * 100_000 + "\n" + _line(2, "after")
    (tmp_path / "m.jsonl").write_text(lines)
    connector = FileConnector("f", FileConfig.model_validate({"path": "m.jsonl"}))
    connector.base_dir = tmp_path
    page = await connector.fetch(None)  # RecursionError escaped fetch before
    assert [m.external_id for m in page.mentions] == ["r1", "r2"] and page.malformed == 1


def test_mapping_a_record_leaves_its_raw_payload_as_received() -> None:
    from repbot.records import record_to_mention

    record = {"id": "1", "author": {"name": "x"}, "who": "jo", "created_at": "2026-11-01"}
    mention = record_to_mention(record, {"author.handle": "who"}, "file")
    assert mention.author.handle == "jo" and record["author"] == {"name": "x"}
    assert mention.raw["author"] == {"name": "x"}


def test_reddit_karma_ignores_non_finite_numbers() -> None:
    from repbot.connectors.reddit.mapping import karma as _karma

    assert _karma({"link_karma": math.inf, "comment_karma": 5}) == 5
    assert _karma({"link_karma": math.nan}) is None


def test_mention_text_is_capped_and_title_too() -> None:
    mention = Mention.model_validate(
        {
            "platform": "x",
            "external_id": "1",
            "text": "x" * 50_000,
            "title": "t" * 50_000,
            "created_at": utcnow(),
        }
    )
    assert len(mention.text) == 20_000 and len(mention.title or "") == 20_000
