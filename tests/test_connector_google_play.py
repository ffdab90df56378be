"""The google_play connector through google-api-python-client against its local simulator."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from connector_helpers import connectors, forbid_sleep, routes
from pydantic import ValidationError

from repbot.connectors.google_play import GooglePlayConnector, PlayCursor
from repbot.connectors.google_play.simulator import GooglePlaySimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import platform
from repbot.runner import SourceRunner
from repbot.store import SqliteStore
from repbot.testing.harness import poll

Factory = Callable[..., GooglePlayConnector]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-auth and googleapiclient can sleep to retry; the connector must never let them."""
    forbid_sleep(monkeypatch)


@pytest.fixture
async def sim() -> AsyncIterator[GooglePlaySimulator]:
    async with GooglePlaySimulator() as server:
        yield server


@pytest.fixture
async def make(sim: GooglePlaySimulator, tmp_path: Path) -> AsyncIterator[Factory]:
    async with connectors(
        GooglePlayConnector, "play-test", lambda: sim.credentials(tmp_path / "play-key.json")
    ) as factory:
        yield factory


async def test_pages_through_the_last_week(sim: GooglePlaySimulator, make: Factory) -> None:
    made = sim.seed_reviews(250, spread_seconds=3600)
    sim.add_review("too old to be listed", 1, at=datetime.now(UTC) - timedelta(days=9))
    result = await poll(make())
    assert result.ids() == {r["reviewId"] for r in made}
    assert routes(sim) == ["token", "reviews", "reviews", "reviews"]
    assert [r.query.get("token") is None for r in sim.calls("reviews")] == [True, False, False]
    assert {r.query["maxResults"] for r in sim.calls("reviews")} == {"100"}


async def test_mapping_of_a_review(sim: GooglePlaySimulator, make: Factory) -> None:
    review = sim.add_review(
        "Login broken\tFingerprint stopped working", 2, author="Marco D", thumbs_up=7
    )
    mention = (await poll(make(translation_language="en"))).mentions[0]
    assert sim.calls("reviews")[0].query["translationLanguage"] == "en"
    assert (mention.external_id, mention.kind, mention.rating) == (review["reviewId"], "review", 2)
    assert (mention.title, mention.text) == ("Login broken", "Fingerprint stopped working")
    assert mention.author.display_name == "Marco D" and mention.metrics.likes == 7
    assert mention.updated_at == mention.created_at
    assert mention.url is not None and "id=com.acme.bank" in mention.url
    assert mention.owner_reply is None and mention.community == "com.acme.bank"


async def test_empty_app_and_steady_polls_cost_one_request(
    sim: GooglePlaySimulator, make: Factory
) -> None:
    connector = make()
    state = await poll(connector)
    assert state.mentions == [] and routes(sim) == ["token", "reviews"]
    sim.seed_reviews(300, spread_seconds=7200, until=datetime.now(UTC) - timedelta(minutes=30))
    state = await poll(connector, state)
    assert len(state.mentions) == 300
    for _ in range(3):
        sim.reset_requests()
        state = await poll(connector, state)
        assert routes(sim) == ["reviews"]
    new = sim.add_review("new one", 5)
    state = await poll(connector, state)
    assert new["reviewId"] in state.ids() and len(state.mentions) == 301


async def test_review_edit_is_re_emitted_with_updated_at(
    sim: GooglePlaySimulator, make: Factory
) -> None:
    review = sim.add_review("crashes", 1, at=datetime.now(UTC) - timedelta(hours=3))
    connector = make()
    state = await poll(connector)
    before = state.mentions[0]
    sim.edit_review(review["reviewId"], "fixed in 4.13, thanks", 4)
    page = await connector.fetch(state.cursor)
    edited = [m for m in page.mentions if m.external_id == review["reviewId"]]
    assert len(edited) == 1 and edited[0].rating == 4
    assert edited[0].updated_at is not None and before.updated_at is not None
    assert edited[0].updated_at > before.updated_at


async def test_developer_reply_made_in_the_console_is_the_owner_reply(
    sim: GooglePlaySimulator, make: Factory
) -> None:
    sim.add_review("slow sync", 3, reply="Thanks, fixed in 4.12.1")
    connector = make()
    mention = (await poll(connector)).mentions[0]
    assert mention.owner_reply is not None
    assert mention.owner_reply.text == "Thanks, fixed in 4.12.1"
    assert await connector.find_reply(mention, "k") is not None


async def test_reply_and_find_reply(sim: GooglePlaySimulator, make: Factory) -> None:
    review = sim.add_review("charged twice", 1)
    connector = make()
    mention = (await poll(connector)).mentions[0]
    assert await connector.find_reply(mention, "k") is None
    posted = await connector.reply(mention, "Sorry! Refund on its way - Dana", "k")
    assert posted.external_id == f"{review['reviewId']}/reply"
    assert sim.calls("reply")[0].json() == {"replyText": "Sorry! Refund on its way - Dana"}
    assert review["comments"][-1]["developerComment"]["text"].startswith("Sorry!")
    assert await connector.find_reply(mention, "k") == posted
    with pytest.raises(PostError) as too_long:
        await connector.reply(mention, "x" * 351, "k")
    assert not too_long.value.transient and len(sim.calls("reply")) == 1
    gone = mention.model_copy(update={"external_id": "gp:missing"})
    with pytest.raises(PostError) as missing:
        await connector.reply(gone, "hello", "k")
    assert not missing.value.transient


async def test_malformed_review_is_counted_and_the_rest_stored(
    sim: GooglePlaySimulator, make: Factory
) -> None:
    good = sim.seed_reviews(4, spread_seconds=60)
    now = {"seconds": str(int(time.time())), "nanos": 0}
    sim.add_raw({"reviewId": "gp:bad-stars", "comments": [{"userComment": {"lastModified": now}}]})
    sim.add_raw({"reviewId": "gp:no-comment", "comments": []})
    result = await poll(make())
    assert result.malformed == 2
    assert result.ids() == {r["reviewId"] for r in good}


async def test_auth_failures_disable_the_source_naming_the_cause(
    sim: GooglePlaySimulator, make: Factory, tmp_path: Path
) -> None:
    missing = make(service_account_file=str(tmp_path / "nope.json"))
    with pytest.raises(AuthError, match=r"nope\.json"):
        await missing.fetch(None)
    other = GooglePlaySimulator()
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(other.key_info(f"{sim.url}/token")))
    with pytest.raises(AuthError, match="invalid_grant") as refused:
        await make(service_account_file=str(foreign)).fetch(None)
    assert "PRIVATE KEY" not in str(refused.value)
    with closing(SqliteStore(tmp_path / "play.db")) as store:
        runner = SourceRunner(store, make(package_name="com.someone.else"))
        result = await runner.poll()
        assert result.error is not None and "PERMISSION_DENIED" in result.error
        status = next(s for s in store.source_status() if s.source == "play-test")
        assert status.disabled and "PERMISSION_DENIED" in (status.disabled_reason or "")


async def test_429_carries_retry_after_and_5xx_is_transient(
    sim: GooglePlaySimulator, make: Factory
) -> None:
    connector = make()
    body = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    sim.inject("reviews", 429, body, {"Retry-After": "120"})
    with pytest.raises(RateLimited) as limited:
        await connector.fetch(None)
    assert limited.value.retry_after == 120.0
    sim.inject("reviews", 500, {"error": {"code": 500, "status": "INTERNAL"}})
    with pytest.raises(TransientError):
        await connector.fetch(None)
    sim.inject("token", 429, {"error": "rate_limit_exceeded"}, {"Retry-After": "9"})
    with pytest.raises(RateLimited) as token_limited:
        await make().fetch(None)
    assert token_limited.value.retry_after == 9.0


async def test_hourly_quota_budget(sim: GooglePlaySimulator, make: Factory) -> None:
    sim.seed_reviews(250, spread_seconds=600)
    connector = make(requests_per_hour=2)
    page = await connector.fetch(None)
    assert len(page.mentions) == 200 and page.has_more
    with pytest.raises(RateLimited) as limited:
        await connector.fetch(page.cursor)
    assert limited.value.retry_after is not None and limited.value.retry_after > 3000
    assert len(sim.calls("reviews")) == 2


def test_cursor_round_trips_and_bad_cursors_start_afresh() -> None:
    cursor = PlayCursor(mark=1700000000000, token="abc", cut=1, newest=2)
    assert PlayCursor.load(cursor.dump()) == cursor
    assert PlayCursor.load("[1, 2]") == PlayCursor()
    assert PlayCursor.load('{"m": "x"}') == PlayCursor()


def test_config_validation() -> None:
    base = {"service_account_file": "key.json"}
    with pytest.raises(ValidationError, match="package"):
        GooglePlayConnector.Config.model_validate({**base, "package_name": "acme app"})
    with pytest.raises(ValidationError):
        GooglePlayConnector.Config.model_validate({**base, "package_name": "com.acme", "x": 1})
    local = GooglePlayConnector.Config.model_validate(
        {**base, "package_name": "com.acme.app", "api_base_url": "http://127.0.0.1:9/"}
    )
    assert local.token_uri == "http://127.0.0.1:9/token"


def test_platform_registry_entry() -> None:
    entry = platform("google_play")
    assert entry.can_reply and entry.family == "review" and entry.handle is None
    assert entry.limit.chars == 350


async def test_edits_reach_the_store_as_revisions(
    sim: GooglePlaySimulator, make: Factory, tmp_path: Path
) -> None:
    review = sim.add_review("crashes on start", 1, at=datetime.now(UTC) - timedelta(hours=1))
    with closing(SqliteStore(tmp_path / "play-rev.db")) as store:
        runner = SourceRunner(store, make())
        assert (await runner.poll()).new == 1
        sim.edit_review(review["reviewId"], "fixed, thanks", 5)
        assert (await runner.poll()).error is None
        [(mention_id, stored)] = store.conn.execute(
            "SELECT id, mention_json FROM mentions WHERE external_id = ?", (review["reviewId"],)
        ).fetchall()
        [revision] = store.revisions(mention_id)
        assert (revision.text, revision.rating) == ("crashes on start", 1)
        assert json.loads(stored)["rating"] == 5
