"""The App Store connector (aiohttp + PyJWT) against the local App Store Connect simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from connector_helpers import connectors, steady_polls
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from repbot.connectors.app_store import AppStoreConnector
from repbot.connectors.app_store.simulator import KEY_ID, AppStoreSimulator, apple_error
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import platform
from repbot.testing.harness import poll

APP = "1234567890"
Factory = Callable[..., AppStoreConnector]


@pytest.fixture
async def sim() -> AsyncIterator[AppStoreSimulator]:
    async with AppStoreSimulator() as server:
        yield server


@pytest.fixture
async def make(sim: AppStoreSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        AppStoreConnector,
        "ios",
        lambda: {"api_base_url": sim.url, "app_ids": [APP], **sim.credentials()},
    ) as factory:
        yield factory


def other_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_cursor_paging_with_responses_included(sim: AppStoreSimulator, make: Factory) -> None:
    reviews = sim.seed(APP, 120)
    sim.respond_in_console(reviews[-1].id, "Thanks, fixed in 2.3.1!")
    drained = await poll(make(limit=50))
    assert len(drained.mentions) == 120
    calls = sim.calls("reviews")
    assert len(calls) == 3
    assert [("cursor" in c.query) for c in calls] == [False, True, True]
    assert {c.query["sort"] for c in calls} == {"-createdDate"}
    assert {c.query["include"] for c in calls} == {"response"}
    newest = drained.mentions[0]
    assert newest.external_id == reviews[-1].id and newest.kind == "review"
    assert newest.owner_reply is not None and newest.owner_reply.text.startswith("Thanks")
    assert newest.community in {"USA", "GBR", "DEU", "FRA"}
    assert newest.url == f"https://apps.apple.com/app/id{APP}?see-all=reviews"
    assert {m.rating for m in drained.mentions} == {1, 2, 3, 4, 5}


async def test_the_token_is_es256_signed_short_lived_and_cached(
    sim: AppStoreSimulator, make: Factory
) -> None:
    sim.seed(APP, 3)
    connector = make(limit=1)
    await poll(connector)
    tokens = {c.headers["Authorization"] for c in sim.calls("reviews")}
    assert len(tokens) == 1 and connector.client.tokens_made == 1
    token = tokens.pop().removeprefix("Bearer ")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"] == KEY_ID
    assert claims["aud"] == "appstoreconnect-v1" and claims["exp"] - claims["iat"] <= 1200
    later = connector.client.token(now=claims["exp"] - 30)
    assert later != token and connector.client.tokens_made == 2


async def test_a_key_file_is_read_relative_to_the_base_dir(
    sim: AppStoreSimulator, make: Factory, tmp_path: Path
) -> None:
    sim.seed(APP, 2)
    pem = sim.credentials()["private_key"]
    (tmp_path / "AuthKey.p8").write_text(pem)
    connector = make(private_key=None, private_key_path="AuthKey.p8")
    connector.base_dir = tmp_path  # as the config loader does
    assert len((await connector.fetch(None)).mentions) == 2
    missing = make(private_key=None, private_key_path="nowhere/AuthKey.p8")
    with pytest.raises(AuthError, match="private_key_path"):
        await missing.fetch(None)


async def test_steady_polling_costs_one_request_per_app(
    sim: AppStoreSimulator, make: Factory
) -> None:
    sim.seed(APP, 30)
    sim.seed("987654321", 30)
    connector = make(app_ids=[APP, "987654321"], limit=10, overlap=0)
    state = await poll(connector)
    assert len(state.mentions) == 60
    sim.reset_requests()
    await steady_polls(connector, state)
    assert len(sim.calls("reviews")) == 6


async def test_empty_app_and_territory_filter(sim: AppStoreSimulator, make: Factory) -> None:
    assert (await make().fetch(None)).mentions == []
    sim.seed(APP, 8)
    page = await make(territories=["GBR"]).fetch(None)
    assert {m.community for m in page.mentions} == {"GBR"} and len(page.mentions) == 2
    assert sim.calls("reviews")[-1].query["filter[territory]"] == "GBR"


async def test_a_foreign_key_is_refused_with_the_cause(
    sim: AppStoreSimulator, make: Factory
) -> None:
    pem = other_key_pem()
    with pytest.raises(AuthError) as caught:
        await make(private_key=pem).fetch(None)
    message = str(caught.value)
    assert "401" in message and "issuer_id" in message and "BEGIN" not in message
    with pytest.raises(AuthError, match=r"not a valid \.p8"):
        await make(private_key="-----BEGIN PRIVATE KEY-----\nnope\n").fetch(None)
    with pytest.raises(AuthError, match="app_ids"):
        await make(app_ids=["missing-app"]).fetch(None)


async def test_429_and_5xx(sim: AppStoreSimulator, make: Factory) -> None:
    sim.inject(
        "reviews",
        429,
        apple_error(429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.", ""),
        {"Retry-After": "900", "X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:0;"},
    )
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after == 900
    sim.inject("reviews", 500, apple_error(500, "UNEXPECTED_ERROR", "An unexpected error", ""))
    with pytest.raises(TransientError):
        await make().fetch(None)


async def test_malformed_reviews_are_counted_and_the_rest_kept(
    sim: AppStoreSimulator, make: Factory
) -> None:
    sim.seed(APP, 3)
    sim.add_review(APP, raw={"type": "customerReviews", "id": "x1", "attributes": {"rating": 7}})
    sim.add_review(APP, raw={"type": "apps", "id": "x2"})
    sim.add_review(APP, raw="garbage")
    page = await make().fetch(None)
    assert page.malformed == 3 and len(page.mentions) == 3


async def test_an_edited_review_and_a_response_made_in_app_store_connect(
    sim: AppStoreSimulator, make: Factory
) -> None:
    reviews = sim.seed(APP, 20, spacing=3600)
    for review in reviews:  # App Store dates have whole seconds: keep "now" for the changes
        review.created_at -= timedelta(minutes=5)
    connector = make(limit=10, overlap=0)
    state = await poll(connector)
    first = {m.external_id: m for m in state.mentions}
    sim.edit(reviews[3].id, 5, "Works now, thanks!")
    sim.respond_in_console(reviews[18].id, "Sorry about that, please update.")
    page = await connector.fetch(state.cursor)
    by_id = {m.external_id: m for m in page.mentions}
    assert set(by_id) == {reviews[3].id, reviews[18].id}
    edited = by_id[reviews[3].id]
    assert edited.rating == 5
    assert edited.updated_at and edited.updated_at > (
        first[reviews[3].id].updated_at or edited.updated_at
    )
    answered = by_id[reviews[18].id].owner_reply
    assert answered is not None and answered.text.startswith("Sorry")
    assert (await connector.fetch(page.cursor)).mentions == []


async def test_respond_replaces_and_find_reply_reads_the_response(
    sim: AppStoreSimulator, make: Factory
) -> None:
    (review,) = sim.seed(APP, 1)
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    assert await connector.find_reply(mention, "k") is None
    posted = await connector.reply(mention, "Thanks for the feedback, fixed in 2.4.", "k")
    (call,) = sim.calls("respond")
    payload = call.json()["data"]
    assert payload["type"] == "customerReviewResponses"
    assert payload["relationships"]["review"]["data"] == {
        "type": "customerReviews",
        "id": review.id,
    }
    found = await connector.find_reply(mention, "k")
    assert found is not None and found.external_id == posted.external_id
    again = await connector.reply(mention, "Updated answer.", "k2")
    assert again.external_id != posted.external_id
    assert sim.reviews[review.id].response["attributes"]["responseBody"] == "Updated answer."  # type: ignore[index]


async def test_post_errors(sim: AppStoreSimulator, make: Factory) -> None:
    sim.seed(APP, 1)
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    sim.inject("respond", 503)
    with pytest.raises(PostError) as transient:
        await connector.reply(mention, "Hi", "k")
    assert transient.value.transient
    sim.inject("respond", 403, apple_error(403, "FORBIDDEN_ERROR", "Not allowed", "role"))
    with pytest.raises(PostError) as permanent:
        await connector.reply(mention, "Hi", "k")
    assert not permanent.value.transient


def test_config_and_registry() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        AppStoreConnector.Config.model_validate({"issuer_id": "i", "key_id": "k", "app_ids": [APP]})
    with pytest.raises(ValidationError):
        AppStoreConnector.Config.model_validate(
            {
                "issuer_id": "i",
                "key_id": "k",
                "app_ids": [APP],
                "private_key": "pem-text",
                "token_lifetime": 3600,
            }
        )
    entry = platform("app_store")
    assert entry.can_reply and entry.family == "review" and entry.handle is None
