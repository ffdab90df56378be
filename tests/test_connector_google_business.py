"""The google_business connector through google-api-python-client against its local simulator."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import google.auth.exceptions
import httplib2
import pytest
from connector_helpers import connectors, forbid_sleep, routes
from googleapiclient.errors import HttpError
from pydantic import ValidationError

from repbot.connectors._google import translate
from repbot.connectors.google_business import BusinessCursor, GoogleBusinessConnector
from repbot.connectors.google_business.simulator import GoogleBusinessSimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import platform
from repbot.runner import SourceRunner
from repbot.store import SqliteStore
from repbot.testing.harness import Drained, poll

Factory = Callable[..., GoogleBusinessConnector]
AGO = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-auth and googleapiclient can sleep to retry; the connector must never let them."""
    forbid_sleep(monkeypatch)


@pytest.fixture
async def sim() -> AsyncIterator[GoogleBusinessSimulator]:
    async with GoogleBusinessSimulator() as server:
        yield server


@pytest.fixture
async def make(sim: GoogleBusinessSimulator) -> AsyncIterator[Factory]:
    async with connectors(GoogleBusinessConnector, "gbp-test", sim.credentials) as factory:
        yield factory


async def test_first_poll_pages_through_the_lookback_and_stops_there(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king, queen = sim.add_location("King St"), sim.add_location("Queen St")
    recent = sim.seed_reviews(130, [king, queen], spread_seconds=3600)
    old = datetime.now(UTC) - timedelta(days=30)
    sim.seed_reviews(60, [king, queen], spread_seconds=3600, until=old)
    result = await poll(make(page_size=20))
    assert result.ids() == {r["name"] for r in recent}
    reviews = sim.calls("reviews")
    assert {r.query["orderBy"] for r in reviews} == {"updateTime desc"}
    assert len(reviews) == 8, "65 recent reviews per location: 4 pages of 20 each, then stop"
    assert routes(sim)[:2] == ["token", "locations"]


async def test_mapping_of_a_review(sim: GoogleBusinessSimulator, make: Factory) -> None:
    king = sim.add_location("King St")
    translated = "(Translated by Google) Very good\n\n(Original)\nSehr gut, danke"
    review = sim.add_review(king, translated, 2, reviewer="Karen W.", at=datetime.now(UTC) - AGO)
    anonymous = sim.add_review(king, None, 4, anonymous=True)
    result = await poll(make())
    by_id = {m.external_id: m for m in result.mentions}
    mention = by_id[review["name"]]
    assert (mention.kind, mention.rating, mention.text) == ("review", 2, "Sehr gut, danke")
    assert mention.author.display_name == "Karen W."
    assert mention.community == "King St"
    assert mention.url == king.maps_uri
    assert mention.updated_at is None and mention.owner_reply is None
    assert mention.raw["reviewId"] == review["reviewId"]
    quiet = by_id[anonymous["name"]]
    assert (quiet.text, quiet.rating, quiet.author.display_name) == ("", 4, None)


async def test_empty_account_and_empty_locations(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    connector = make()
    assert (await poll(connector)).mentions == []
    assert routes(sim) == ["token", "locations"]
    sim.add_location("New branch")
    sim.reset_requests()
    result = await poll(make())
    assert result.mentions == [] and result.malformed == 0
    assert routes(sim) == ["token", "locations", "reviews"]


async def test_steady_polls_cost_one_request_per_location(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    places = [sim.add_location(f"Branch {i}") for i in range(5)]
    sim.seed_reviews(400, places, spread_seconds=7200, until=datetime.now(UTC) - AGO)
    connector = make()
    state = await poll(connector)
    assert len(state.mentions) == 400
    for _ in range(3):
        sim.reset_requests()
        state = await poll(connector, state)
        assert routes(sim) == ["reviews"] * 5
    fresh = sim.add_review(places[2], "late but new", 1)
    sim.reset_requests()
    state = await poll(connector, state)
    assert fresh["name"] in state.ids() and routes(sim) == ["reviews"] * 5
    assert len(state.mentions) == 401


async def test_a_chain_is_read_in_bounded_steps_and_a_round_resumes(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    places = [sim.add_location(f"Store {i}") for i in range(130)]
    sim.seed_reviews(260, places, spread_seconds=3600)
    connector = make(max_requests_per_fetch=30, requests_per_minute=10_000)
    first = await connector.fetch(None)
    assert first.has_more and len(sim.calls("reviews")) == 30
    assert len(sim.calls("locations")) == 2, "130 locations: 2 pages of 100"
    state = await poll(connector, Drained(cursor=first.cursor))
    assert len(first.mentions) + len(state.mentions) == 260
    assert state.calls == 4, "the round resumed where the first step ended"
    assert len(state.cursor or "") < 130 * 40, "one short entry per location"
    sim.reset_requests()
    state = await poll(connector, state)
    assert routes(sim) == ["reviews"] * 130 and state.calls == 9


async def test_configured_locations_only(sim: GoogleBusinessSimulator, make: Factory) -> None:
    watched, other = sim.add_location("Watched"), sim.add_location("Other")
    mine = sim.add_review(watched, "great", 5)
    sim.add_review(other, "meh", 3)
    result = await poll(make(locations=[f"locations/{watched.ident}"]))
    assert result.ids() == {mine["name"]}
    assert result.mentions[0].community == "Watched"


async def test_review_edit_is_re_emitted_with_updated_at(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king = sim.add_location("King St")
    review = sim.add_review(king, "rude staff", 1, at=datetime.now(UTC) - timedelta(hours=2))
    connector = make()
    state = await poll(connector)
    assert state.mentions[0].rating == 1
    sim.edit_review(review["name"], "they called me back and fixed it", 4)
    page = await connector.fetch(state.cursor)
    edited = [m for m in page.mentions if m.external_id == review["name"]]
    assert len(edited) == 1
    assert edited[0].rating == 4 and edited[0].text.startswith("they called")
    assert edited[0].updated_at is not None and edited[0].updated_at > edited[0].created_at


async def test_reply_made_in_googles_ui_is_the_owner_reply(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king = sim.add_location("King St")
    sim.add_review(king, "slow", 2, reply="Sorry, we are on it - Sam")
    connector = make()
    mention = (await poll(connector)).mentions[0]
    assert mention.owner_reply is not None
    assert mention.owner_reply.text == "Sorry, we are on it - Sam"
    assert mention.owner_reply.created_at is not None
    assert await connector.find_reply(mention, "key") is not None
    other = sim.add_review(king, "no answer yet", 3)
    fresh = (await poll(connector)).mentions
    unanswered = next(m for m in fresh if m.external_id == other["name"])
    assert await connector.find_reply(unanswered, "key") is None
    sim.set_reply(other["name"], "Answered in the dashboard")
    found = await connector.find_reply(unanswered, "key")
    assert found is not None and found.external_id == f"{other['name']}/reply"


async def test_reply_find_reply_and_delete(sim: GoogleBusinessSimulator, make: Factory) -> None:
    king = sim.add_location("King St")
    review = sim.add_review(king, "lost my card", 1)
    connector = make()
    mention = (await poll(connector)).mentions[0]
    text = "So sorry - call us on 0800 123, ask for Dana."
    posted = await connector.reply(mention, text, "k1")
    assert posted.external_id == f"{review['name']}/reply"
    assert sim.review(review["name"])["reviewReply"]["comment"].startswith("So sorry")
    put = sim.calls("update_reply")[0]
    assert put.method == "PUT" and put.json() == {"comment": text}
    assert await connector.find_reply(mention, "k1") == posted
    await connector.delete_reply(mention)
    assert "reviewReply" not in sim.review(review["name"])
    assert await connector.find_reply(mention, "k1") is None


async def test_reply_failures_say_whether_to_retry(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king = sim.add_location("King St")
    sim.add_review(king, "hm", 3)
    connector = make()
    mention = (await poll(connector)).mentions[0]
    with pytest.raises(PostError) as too_long:
        await connector.reply(mention, "x" * 4097, "k")
    assert not too_long.value.transient
    sim.inject("update_reply", 503, {"error": {"code": 503, "status": "UNAVAILABLE"}})
    with pytest.raises(PostError) as unavailable:
        await connector.reply(mention, "thanks", "k")
    assert unavailable.value.transient
    foreign = mention.model_copy(update={"external_id": "t1_abc"})
    with pytest.raises(PostError):
        await connector.reply(foreign, "thanks", "k")


async def test_malformed_review_is_counted_and_the_rest_stored(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king = sim.add_location("King St")
    good = sim.seed_reviews(5, [king], spread_seconds=60)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    sim.add_raw(king, {"name": "broken-1", "starRating": "SIX", "updateTime": now})
    sim.add_raw(king, {"reviewId": "no-times"})
    result = await poll(make())
    assert result.malformed == 2
    assert result.ids() == {r["name"] for r in good}


async def test_auth_failure_disables_the_source_naming_the_cause(
    sim: GoogleBusinessSimulator, make: Factory, tmp_path: Path
) -> None:
    sim.add_location("King St")
    connector = make(refresh_token="1//revoked-refresh-token")
    with pytest.raises(AuthError, match="invalid_grant") as caught:
        await connector.fetch(None)
    assert "revoked-refresh-token" not in str(caught.value)
    assert sim.client_secret not in str(caught.value)
    with closing(SqliteStore(tmp_path / "gbp.db")) as store:
        runner = SourceRunner(store, make(client_secret="wrong-secret"))
        result = await runner.poll()
        assert result.error is not None and "invalid_client" in result.error
        status = next(s for s in store.source_status() if s.source == "gbp-test")
        assert status.disabled and "invalid_client" in (status.disabled_reason or "")
        assert "wrong-secret" not in (status.disabled_reason or "")


async def test_account_without_access_is_an_auth_error(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    with pytest.raises(AuthError, match="PERMISSION_DENIED"):
        await make(account="accounts/999").fetch(None)


async def test_429_carries_retry_after_and_5xx_is_transient(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    sim.add_location("King St")
    connector = make()
    body = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    sim.inject("reviews", 429, body, {"Retry-After": "37"})
    with pytest.raises(RateLimited) as limited:
        await connector.fetch(None)
    assert limited.value.retry_after == 37.0
    sim.inject("reviews", 502, "<html>bad gateway</html>")
    with pytest.raises(TransientError):
        await connector.fetch(None)
    sim.inject("token", 503, {"error": "temporarily_unavailable"})
    with pytest.raises(TransientError, match="token endpoint"):
        await make().fetch(None)
    assert (await connector.fetch(None)).mentions == []


async def test_own_quota_budget_stops_before_the_platform_refuses(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    places = [sim.add_location(f"B{i}") for i in range(6)]
    sim.seed_reviews(12, places, spread_seconds=60)
    connector = make(requests_per_minute=4)
    page = await connector.fetch(None)
    assert page.has_more and len(sim.calls("reviews")) == 3, "listing + 3 locations"
    with pytest.raises(RateLimited) as limited:
        await connector.fetch(page.cursor)
    assert limited.value.retry_after is not None and limited.value.retry_after > 1
    assert len(sim.calls("reviews")) == 3


async def test_stale_page_token_ends_the_sweep_without_losing_the_mark(
    sim: GoogleBusinessSimulator, make: Factory
) -> None:
    king = sim.add_location("King St")
    sim.seed_reviews(120, [king], spread_seconds=600)
    connector = make(max_requests_per_fetch=1)
    page = await connector.fetch(None)
    assert page.has_more
    body = {"error": {"code": 400, "message": "Invalid page token", "status": "INVALID_ARGUMENT"}}
    sim.inject("reviews", 400, body)
    page = await connector.fetch(page.cursor)
    assert page.mentions == [] and not page.has_more
    cursor = BusinessCursor.load(page.cursor)
    assert king.ident not in cursor.marks and not cursor.sweeps


def test_cursor_round_trips_and_bad_cursors_start_afresh() -> None:
    cursor = BusinessCursor.load('{"v":1,"m":{"12":1700000000000},"s":{"13":["tok",1,2,3]}}')
    assert cursor.marks == {"12": 1700000000000} and cursor.sweeps["13"].token == "tok"
    assert BusinessCursor.load(cursor.dump()) == cursor
    assert BusinessCursor.load("{not json") == BusinessCursor()
    assert BusinessCursor.load('{"s":{"1":[1]}}') == BusinessCursor()


def test_config_validation() -> None:
    base = {"client_id": "id", "client_secret": "s3cret", "refresh_token": "r3fresh"}
    config = GoogleBusinessConnector.Config.model_validate(
        {**base, "account": "123", "locations": ["accounts/123/locations/9", "8"]}
    )
    assert config.account == "accounts/123" and config.locations == ["9", "8"]
    with pytest.raises(ValidationError, match="account"):
        GoogleBusinessConnector.Config.model_validate({**base, "account": "a/b/c"})
    with pytest.raises(ValidationError):
        GoogleBusinessConnector.Config.model_validate(
            {**base, "account": "1", "client_secret": " "}
        )
    with pytest.raises(ValidationError):
        GoogleBusinessConnector.Config.model_validate({**base, "account": "1", "page_size": 51})
    local = GoogleBusinessConnector.Config.model_validate(
        {**base, "account": "1", "api_base_url": "http://127.0.0.1:9/"}
    )
    assert local.token_uri == "http://127.0.0.1:9/token"


def test_platform_registry_entry() -> None:
    entry = platform("google_business")
    assert entry.can_reply and entry.family == "review" and entry.handle is None
    assert (entry.limit.chars, entry.limit.unit) == (4096, "utf8")


async def test_edits_and_replies_elsewhere_reach_the_store(
    sim: GoogleBusinessSimulator, make: Factory, tmp_path: Path
) -> None:
    """Through the runner into SQLite: an edit keeps a revision, a platform reply is noted."""
    king = sim.add_location("King St")
    review = sim.add_review(king, "rude staff", 1, at=datetime.now(UTC) - timedelta(hours=1))
    with closing(SqliteStore(tmp_path / "gbp.db")) as store:
        runner = SourceRunner(store, make())
        assert (await runner.poll()).new == 1
        sim.edit_review(review["name"], "manager called, sorted", 4)
        answered = sim.add_review(king, "fine", 3, reply="Thanks - Sam")
        result = await runner.poll()
        assert result.new == 1 and result.error is None
        [(mention_id,)] = store.conn.execute(
            "SELECT id FROM mentions WHERE external_id = ?", (review["name"],)
        ).fetchall()
        [revision] = store.revisions(mention_id)
        assert (revision.text, revision.rating) == ("rude staff", 1)
        [(stored,)] = store.conn.execute(
            "SELECT mention_json FROM mentions WHERE external_id = ?", (answered["name"],)
        ).fetchall()
        assert json.loads(stored)["owner_reply"]["text"] == "Thanks - Sam"


def _http_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = httplib2.Response({"status": str(status), **(headers or {})})
    return HttpError(response, json.dumps(body).encode())


def test_error_mapping() -> None:
    quota = {
        "error": {"code": 403, "message": "Quota", "errors": [{"reason": "rateLimitExceeded"}]}
    }
    limited = translate(_http_error(403, quota, {"retry-after": "12"}), "G", "list")
    assert isinstance(limited, RateLimited) and limited.retry_after == 12.0
    denied = {"error": {"code": 403, "message": "No access", "status": "PERMISSION_DENIED"}}
    assert isinstance(translate(_http_error(403, denied), "G", "list"), AuthError)
    assert isinstance(translate(_http_error(401, {}), "G", "list"), AuthError)
    assert isinstance(translate(_http_error(503, {}), "G", "list"), TransientError)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    dated = translate(_http_error(429, {}, {"retry-after": later}), "G", "list")
    assert isinstance(dated, RateLimited) and dated.retry_after is not None
    assert 30 < dated.retry_after <= 90
    refused = google.auth.exceptions.RefreshError("bad", {"error": "invalid_grant"})
    assert "invalid_grant" in str(translate(refused, "G", "token"))


async def test_no_secret_in_debug_logs(
    sim: GoogleBusinessSimulator, make: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    king = sim.add_location("King St")
    sim.add_review(king, "ok", 4)
    caplog.set_level(logging.DEBUG)
    connector = make()
    mention = (await poll(connector)).mentions[0]
    await connector.reply(mention, "thanks", "k")
    with pytest.raises(AuthError):
        await make(refresh_token="1//another-refresh-token").fetch(None)
    assert "URL being requested" in caplog.text, "googleapiclient's request log was captured"
    for secret in (sim.client_secret, sim.refresh_token, "another-refresh-token", *sim.tokens):
        assert secret not in caplog.text
