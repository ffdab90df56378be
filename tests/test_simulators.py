"""The X and Reddit simulators speak the real APIs' shapes, limits and failure modes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x.simulator import XSimulator, parse_query


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[int, Any, CIMultiDict[str]]:
    async with http.get(url, headers=headers) as response:
        body = await response.json(content_type=None)
        return response.status, body, CIMultiDict(response.headers)


async def test_x_pages_are_gzipped_rate_limited_and_paginated(http: aiohttp.ClientSession) -> None:
    async with XSimulator(rate_limits={"mentions": 3}) as sim:
        sim.seed_mentions(25)
        auth = {"Authorization": f"Bearer {sim.bearer_token}", "Accept-Encoding": "gzip"}
        url = f"{sim.url}/2/users/{sim.brand.id}/mentions?max_results=10&expansions=author_id"
        status, first, headers = await get(http, url, auth)
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["x-rate-limit-remaining"] == "2" and headers["x-rate-limit-limit"] == "3"
        assert first["meta"]["result_count"] == 10 and "next_token" in first["meta"]
        assert first["includes"]["users"] and "text" in first["data"][0]
        sim.seed_mentions(5, spread_seconds=1)
        token = first["meta"]["next_token"]
        _, second, _ = await get(http, f"{url}&pagination_token={token}", auth)
        assert int(second["data"][0]["id"]) < int(first["data"][-1]["id"]), "stable under inserts"
        await get(http, url, auth)
        status, body, headers = await get(http, url, auth)
        assert status == 429 and body["title"] == "Too Many Requests"
        assert headers["x-rate-limit-remaining"] == "0"


async def test_x_errors_injection_and_recording(http: aiohttp.ClientSession) -> None:
    async with XSimulator() as sim:
        url = f"{sim.url}/2/tweets/search/recent?query=acme"
        status, body, _ = await get(http, url, {})
        assert status == 401 and body["title"] == "Unauthorized"
        auth = {"Authorization": f"Bearer {sim.bearer_token}"}
        sim.inject("search", 418, {"custom": True}, {"x-test": "yes"})
        status, body, headers = await get(http, url, auth)
        assert (status, body, headers["x-test"]) == (418, {"custom": True}, "yes")
        status, body, _ = await get(http, url, auth)
        assert status == 200 and body == {"meta": {"result_count": 0}}
        status, body, _ = await get(http, f"{url}&max_results=500", auth)
        assert status == 400 and body["title"] == "Invalid Request"
        async with http.post(f"{sim.url}/2/tweets", json={"text": "hi"}, headers=auth) as response:
            assert response.status == 403
            assert (await response.json())["title"] == "Unsupported Authentication"
        assert [r.route for r in sim.requests] == ["search"] * 4 + ["create_tweet"]
        assert sim.calls("create_tweet")[0].json() == {"text": "hi"}


def test_x_query_language() -> None:
    sim = XSimulator()
    tweet = sim.add_tweet("Acme is DOWN #acmefail", lang="de")
    retweet = sim.add_tweet("RT acme is down", retweet=True)

    def hits(query: str) -> list[int]:
        parsed = parse_query(query)
        return [t.id for t in (tweet, retweet) if sim._matches(parsed, t)]

    assert hits("acme -is:retweet") == [tweet.id]
    assert hits("#acmefail lang:de") == [tweet.id]
    assert hits("#acmefail OR is:retweet") == [tweet.id, retweet.id]
    assert hits('"is down" -lang:de') == [retweet.id]


def basic(sim: RedditSimulator, secret: str | None = None) -> dict[str, str]:
    raw = f"{sim.client_id}:{secret or sim.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def token(http: aiohttp.ClientSession, sim: RedditSimulator, **form: str) -> Any:
    url = f"{sim.url}/api/v1/access_token"
    async with http.post(url, data=form, headers=basic(sim, form.pop("secret", None))) as resp:
        return resp.status, await resp.json()


async def test_reddit_token_grants(http: aiohttp.ClientSession) -> None:
    async with RedditSimulator() as sim:
        status, body = await token(http, sim, grant_type="client_credentials", secret="bad")
        assert (status, body) == (401, {"message": "Unauthorized", "error": 401})
        _, body = await token(
            http, sim, grant_type="password", username="acme_support", password="x"
        )
        assert body == {"error": "invalid_grant"}
        _, body = await token(
            http, sim, grant_type="password", username="acme_support", password=sim.account.password
        )
        assert body["token_type"] == "bearer" and body["expires_in"] == 86400
        _, app = await token(http, sim, grant_type="client_credentials")
        app_auth = {"Authorization": f"bearer {app['access_token']}"}
        status, _, _ = await get(http, f"{sim.url}/message/mentions", app_auth)
        assert status == 403, "inbox needs a user token"


async def test_reddit_listings(http: aiohttp.ClientSession) -> None:
    async with RedditSimulator(rate_limit=50) as sim:
        made = sim.seed_mentions(60)
        _, tok = await token(
            http, sim, grant_type="password", username="acme_support", password=sim.account.password
        )
        auth = {"Authorization": f"bearer {tok['access_token']}", "Accept-Encoding": "gzip"}
        status, page, headers = await get(http, f"{sim.url}/r/acme/comments?limit=20", auth)
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["x-ratelimit-used"] == "1" and headers["x-ratelimit-remaining"] == "49.0"
        children = page["data"]["children"]
        assert [c["kind"] for c in children] == ["t1"] * 20
        assert page["data"]["after"] == children[-1]["data"]["name"]
        after = page["data"]["after"]
        _, nxt, _ = await get(http, f"{sim.url}/r/acme/comments/?limit=20&after={after}", auth)
        assert (
            nxt["data"]["children"][0]["data"]["created_utc"] <= children[-1]["data"]["created_utc"]
        )
        _, inbox, _ = await get(http, f"{sim.url}/message/mentions?limit=100", auth)
        pings = [c["data"] for c in inbox["data"]["children"]]
        assert pings and all(p["type"] == "username_mention" and "context" in p for p in pings)
        assert len(pings) == sum(1 for t in made if "u/acme_support" in t.body)
        author = children[0]["data"]["author_fullname"]
        _, karma, _ = await get(http, f"{sim.url}/api/user_data_by_account_ids?ids={author}", auth)
        assert set(karma[author]) >= {"link_karma", "comment_karma", "name"}
        status, _, _ = await get(http, f"{sim.url}/r/acme/new", {"Authorization": "bearer nope"})
        assert status == 401
        sim.exhaust(reset_in=30)
        status, _body, headers = await get(http, f"{sim.url}/r/acme/new", auth)
        assert status == 429 and int(headers["x-ratelimit-reset"]) <= 30
