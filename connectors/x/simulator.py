"""A local stand-in for the X (Twitter) API v2 endpoints repbot uses.

Serves, in the shapes of the real API (see tweepy's recorded cassettes):

- ``GET /2/users/{id}/mentions`` and ``GET /2/tweets/search/recent`` (newest first,
  ``since_id``/``until_id``/``start_time``/``end_time``, ``max_results``, ``next_token`` /
  ``pagination_token``, ``expansions=author_id`` → ``includes.users``, field selection);
- ``GET /2/users/{id}/tweets`` (the account's own timeline, used to reconcile lost replies);
- ``GET /2/users/by/username/{username}`` and ``GET /2/users/me``;
- ``POST /2/tweets`` (201, replies via ``reply.in_reply_to_tweet_id``).

Bodies are gzipped, every response carries ``x-rate-limit-limit/remaining/reset`` for a 15-minute
window per endpoint, and errors use X's problem bodies. ``async with XSimulator() as sim:`` then
point ``XConnector.Config.api_base_url`` at ``sim.url``.
"""

from __future__ import annotations

import base64
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

TWEPOCH_MS = 1288834974657
WINDOW_SECONDS = 900
DEFAULT_LIMITS = {
    "mentions": 450,
    "search": 450,
    "user_tweets": 1500,
    "user_by_username": 300,
    "me": 75,
    "create_tweet": 200,
}
TWEET_FIELDS = (
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
    "entities",
)
USER_FIELDS = ("public_metrics", "verified", "verified_type", "created_at", "description")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    """An X API v2 problem body, e.g. ``problem(401, "Unauthorized", "Unauthorized")``."""
    return {"title": title, "detail": detail, "type": kind, "status": status}


def error_body(kind: str) -> dict[str, Any]:
    """Ready-made X error bodies: ``unauthorized``, ``client_not_enrolled``, ``453``,
    ``too_many_requests``, ``server_error``, ``unsupported_auth``."""
    bodies: dict[str, dict[str, Any]] = {
        "unauthorized": problem(401, "Unauthorized", "Unauthorized"),
        "client_not_enrolled": {
            "client_id": "27000001",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
            "keys and tokens from a Twitter developer App that is attached to a Project. "
            "You can create a project via the developer portal.",
            "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
        },
        "453": {
            "errors": [
                {
                    "message": "You currently have access to a subset of Twitter API v2 "
                    "endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. If you "
                    "need access to this endpoint, you may need a different access level. You "
                    "can learn more here: https://developer.twitter.com/en/portal/product",
                    "code": 453,
                }
            ]
        },
        "too_many_requests": problem(429, "Too Many Requests", "Too Many Requests"),
        "server_error": problem(503, "Service Unavailable", "Service Unavailable"),
        "unsupported_auth": problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, "
            "OAuth 2.0 User Context].",
            "https://api.twitter.com/2/problems/unsupported-authentication",
        ),
    }
    return bodies[kind]


@dataclass
class SimUser:
    """An account on the simulated X."""

    id: str
    username: str
    name: str
    followers: int = 0
    verified: bool = False
    suspended: bool = False

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        """The v2 user object with the requested ``user.fields``."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "username": self.username}
        if "public_metrics" in fields:
            out["public_metrics"] = {
                "followers_count": self.followers,
                "following_count": 100,
                "tweet_count": 1000,
                "listed_count": self.followers // 100,
            }
        if "verified" in fields:
            out["verified"] = self.verified
        if "verified_type" in fields:
            out["verified_type"] = "blue" if self.verified else "none"
        return out


@dataclass
class SimTweet:
    """A post on the simulated X; ``raw`` replaces the rendered object (malformed records)."""

    id: int
    text: str
    author_id: str
    created_at: datetime
    conversation_id: int
    in_reply_to: int | None = None
    in_reply_to_user_id: str | None = None
    quoted: int | None = None
    retweet: bool = False
    lang: str = "en"
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    raw: dict[str, Any] | None = None

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        """The v2 tweet object with the requested ``tweet.fields``."""
        if self.raw is not None:
            return dict(self.raw)
        out: dict[str, Any] = {
            "edit_history_tweet_ids": [str(self.id)],
            "id": str(self.id),
            "text": self.text,
        }
        optional: dict[str, Any] = {
            "author_id": self.author_id,
            "conversation_id": str(self.conversation_id),
            "created_at": self.created_at.strftime(_TIME_FORMAT),
            "lang": self.lang,
            "public_metrics": {
                "retweet_count": self.retweets,
                "reply_count": self.replies,
                "like_count": self.likes,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": self.likes * 40,
            },
        }
        if self.in_reply_to_user_id:
            optional["in_reply_to_user_id"] = self.in_reply_to_user_id
        refs = self._references()
        if refs:
            optional["referenced_tweets"] = refs
        mentions = [
            {"start": m.start(), "end": m.end(), "username": m.group(1)}
            for m in re.finditer(r"@(\w+)", self.text)
        ]
        if mentions:
            optional["entities"] = {"mentions": mentions}
        out.update({k: v for k, v in optional.items() if k in fields})
        return out

    def _references(self) -> list[dict[str, str]]:
        refs = []
        if self.in_reply_to is not None:
            refs.append({"type": "replied_to", "id": str(self.in_reply_to)})
        if self.quoted is not None:
            refs.append({"type": "quoted", "id": str(self.quoted)})
        return refs


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class _Query:
    """A parsed recent-search query: AND of clauses, each an OR of (negated) terms."""

    clauses: list[list[tuple[bool, str]]] = field(default_factory=list)


def parse_query(query: str) -> _Query:
    """Parse the subset of X's search syntax the simulator understands."""
    tokens = re.findall(r'-?"[^"]*"|\S+', query.replace("(", " ").replace(")", " "))
    parsed = _Query()
    join_next = False
    for token in tokens:
        if token == "OR":
            join_next = True
            continue
        negated = token.startswith("-") and len(token) > 1
        term = (token[1:] if negated else token).strip('"').lower()
        if join_next and parsed.clauses:
            parsed.clauses[-1].append((negated, term))
        else:
            parsed.clauses.append([(negated, term)])
        join_next = False
    return parsed


class XSimulator(SimulatorServer):
    """The simulated X API v2; see the module docstring for the endpoints."""

    def __init__(
        self,
        *,
        brand_username: str = "acme",
        bearer_token: str = "sim-bearer-token",
        consumer_key: str = "sim-consumer-key",
        access_token: str = "sim-access-token",
        rate_limits: dict[str, int] | None = None,
        reject_duplicates: bool = True,
        seed: int = 7,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.bearer_token = bearer_token
        self.consumer_key = consumer_key
        self.access_token = access_token
        self.limits = {**DEFAULT_LIMITS, **(rate_limits or {})}
        self.reject_duplicates = reject_duplicates
        self.users: dict[str, SimUser] = {}
        self.tweets: dict[int, SimTweet] = {}
        self._windows: dict[str, _Window] = {}
        self._seqs: dict[int, int] = {}
        self._rng = random.Random(seed)
        self.brand = self.add_user(brand_username, name=brand_username.title(), followers=52_000)
        super().__init__(host, port)

    # ---- data -------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """Connector options that authenticate against this simulator."""
        return {
            "bearer_token": self.bearer_token,
            "consumer_key": self.consumer_key,
            "consumer_secret": "sim-consumer-secret",
            "access_token": self.access_token,
            "access_token_secret": "sim-access-token-secret",
        }

    def add_user(
        self, username: str, *, name: str | None = None, followers: int = 0, verified: bool = False
    ) -> SimUser:
        """Create an account (ids are numeric strings like the real API's)."""
        user_id = str(2_244_994_945 + len(self.users) * 7_919)
        user = SimUser(user_id, username, name or username, followers, verified)
        self.users[user_id] = user
        return user

    def user(self, username: str) -> SimUser:
        """The account named ``username`` (created on first use)."""
        for user in self.users.values():
            if user.username.lower() == username.lower():
                return user
        return self.add_user(username, followers=self._rng.choice((3, 40, 250, 1200, 90_000)))

    def suspend(self, username: str) -> None:
        """Suspend an account: its posts stay listed but it disappears from ``includes``."""
        self.user(username).suspended = True

    def next_id(self, at: datetime | None = None) -> int:
        """A unique snowflake id for a post created at ``at`` (default now).

        Ids follow creation time, so a post created in the past and added later behaves like
        one the search index published late: its id is older than posts already listed.
        """
        ms = int((at or datetime.now(UTC)).timestamp() * 1000)
        seq = self._seqs.get(ms, 0)
        self._seqs[ms] = seq + 1
        return ((ms - TWEPOCH_MS) << 22) | (seq % (1 << 22))

    def add_tweet(
        self,
        text: str,
        *,
        author: str = "someone",
        in_reply_to: int | None = None,
        lang: str = "en",
        created_at: datetime | None = None,
        likes: int = 0,
        retweets: int = 0,
        retweet: bool = False,
    ) -> SimTweet:
        """Publish a post (a reply when ``in_reply_to`` names an existing post)."""
        created = created_at or datetime.now(UTC)
        tweet_id = self.next_id(created)
        parent = self.tweets.get(in_reply_to) if in_reply_to is not None else None
        tweet = SimTweet(
            id=tweet_id,
            text=text,
            author_id=self.user(author).id,
            created_at=created,
            conversation_id=parent.conversation_id if parent else tweet_id,
            in_reply_to=in_reply_to,
            in_reply_to_user_id=parent.author_id if parent else None,
            retweet=retweet,
            lang=lang,
            likes=likes,
            retweets=retweets,
        )
        if parent is not None:
            parent.replies += 1
        self.tweets[tweet_id] = tweet
        return tweet

    def add_raw(self, payload: dict[str, Any], *, created_at: datetime | None = None) -> int:
        """List ``payload`` verbatim as a mention of the brand (for malformed records)."""
        tweet_id = self.next_id(created_at)
        self.tweets[tweet_id] = SimTweet(
            id=tweet_id,
            text=f"@{self.brand.username}",
            author_id=self.brand.id,
            created_at=created_at or datetime.now(UTC),
            conversation_id=tweet_id,
            raw=payload,
        )
        return tweet_id

    def seed_mentions(
        self,
        count: int,
        *,
        keyword: str | None = None,
        spread_seconds: float = 3600.0,
        until: datetime | None = None,
    ) -> list[SimTweet]:
        """Publish ``count`` posts mentioning the brand, spread over the ``spread_seconds``
        before ``until`` (default now).

        A quarter are replies to an earlier post; ``keyword`` (e.g. ``"#acmefail"``) is added
        to every text so recent search finds them too.
        """
        start = (until or datetime.now(UTC)) - timedelta(seconds=spread_seconds)
        step = spread_seconds / max(count, 1)
        made: list[SimTweet] = []
        for i in range(count):
            text = self._rng.choice(_SAMPLE_TEXTS).format(brand=self.brand.username, n=i)
            if keyword:
                text = f"{text} {keyword}"
            parent = made[-1].id if made and i % 4 == 3 else None
            made.append(
                self.add_tweet(
                    text,
                    author=f"user{self._rng.randrange(10_000)}",
                    in_reply_to=parent,
                    lang=self._rng.choice(("en", "en", "en", "de", "fr")),
                    created_at=start + timedelta(seconds=i * step),
                    likes=self._rng.randrange(50),
                    retweets=self._rng.randrange(5),
                )
            )
        return made

    def replies_by_brand(self) -> list[SimTweet]:
        """Posts the brand account published (replies created through ``POST /2/tweets``)."""
        return [t for t in self.tweets.values() if t.author_id == self.brand.id and t.raw is None]

    # ---- server -----------------------------------------------------------------------

    def _register(self) -> None:
        self.route("mentions", "GET", "/2/users/{id}/mentions", self._mentions)
        self.route("search", "GET", "/2/tweets/search/recent", self._search)
        self.route("user_tweets", "GET", "/2/users/{id}/tweets", self._user_tweets)
        self.route("user_by_username", "GET", "/2/users/by/username/{username}", self._by_name)
        self.route("me", "GET", "/2/users/me", self._me)
        self.route("create_tweet", "POST", "/2/tweets", self._create)

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        header = request.headers.get("Authorization", "")
        user_context = header.startswith("OAuth ") and self._oauth_ok(header)
        app_only = header == f"Bearer {self.bearer_token}"
        if not (user_context or app_only):
            return Reply(401, error_body("unauthorized"), {"www-authenticate": 'OAuth realm="api"'})
        if route in ("create_tweet", "me") and not user_context:
            return Reply(403, error_body("unsupported_auth"))
        return None

    def _oauth_ok(self, header: str) -> bool:
        values = dict(re.findall(r'(\w+)="([^"]*)"', header))
        return (
            values.get("oauth_consumer_key") == self.consumer_key
            and values.get("oauth_token") == self.access_token
        )

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        limit = self.limits.get(route, 300)
        now = time.time()
        window = self._windows.get(route)
        if window is None or now >= window.start + WINDOW_SECONDS:
            window = self._windows[route] = _Window(now)
        reset = int(window.start + WINDOW_SECONDS)
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - window.used - 1, 0)),
            "x-rate-limit-reset": str(reset),
            "api-version": "2.110",
            "x-access-level": "read-write",
        }
        if window.used >= limit:
            headers["x-rate-limit-remaining"] = "0"
            return headers, Reply(429, error_body("too_many_requests"), headers)
        window.used += 1
        return headers, None

    def exhaust(self, route: str, reset_in: float = 60.0) -> None:
        """Spend ``route``'s window so the next request gets 429 until ``reset_in`` passes."""
        self._windows[route] = _Window(time.time() + reset_in - WINDOW_SECONDS, self.limits[route])

    async def _mentions(self, request: web.Request, rec: RecordedRequest) -> Reply:
        user_id = request.match_info["id"]
        if user_id not in self.users:
            return Reply(400, _invalid("id", user_id, "The `id` query parameter value is invalid"))
        handle = f"@{self.users[user_id].username.lower()}"
        return self._timeline(
            rec.query, lambda t: handle in t.text.lower(), (5, 100), "pagination_token"
        )

    async def _search(self, request: web.Request, rec: RecordedRequest) -> Reply:
        query = rec.query.get("query", "")
        if not query:
            return Reply(400, _invalid("query", "", "The `query` query parameter can not be empty"))
        parsed = parse_query(query)
        return self._timeline(
            rec.query, lambda t: self._matches(parsed, t), (10, 100), "next_token"
        )

    async def _user_tweets(self, request: web.Request, rec: RecordedRequest) -> Reply:
        user_id = request.match_info["id"]
        return self._timeline(
            rec.query, lambda t: t.author_id == user_id, (5, 100), "pagination_token"
        )

    async def _by_name(self, request: web.Request, rec: RecordedRequest) -> Reply:
        name = request.match_info["username"].lower()
        fields = _csv(rec.query, "user.fields")
        for user in self.users.values():
            if user.username.lower() == name and not user.suspended:
                return Reply(200, {"data": user.to_json(fields)})
        return Reply(200, {"errors": [_not_found("user", "username", name)]})

    async def _me(self, request: web.Request, rec: RecordedRequest) -> Reply:
        return Reply(200, {"data": self.brand.to_json(_csv(rec.query, "user.fields"))})

    async def _create(self, request: web.Request, rec: RecordedRequest) -> Reply:
        body = rec.json() or {}
        text = str(body.get("text", ""))
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent_id is not None and int(parent_id) not in self.tweets:
            return Reply(403, problem(403, "Forbidden", _DELETED_PARENT))
        if self.reject_duplicates and any(t.text == text for t in self.replies_by_brand()):
            return Reply(403, problem(403, "Forbidden", _DUPLICATE))
        tweet = self.add_tweet(
            text,
            author=self.brand.username,
            in_reply_to=int(parent_id) if parent_id is not None else None,
        )
        data = {"edit_history_tweet_ids": [str(tweet.id)], "id": str(tweet.id), "text": text}
        location = f"https://api.twitter.com/2/tweets/{tweet.id}"
        return Reply(201, {"data": data}, {"location": location})

    # ---- listing helpers ----------------------------------------------------------------

    def _matches(self, query: _Query, tweet: SimTweet) -> bool:
        return all(
            any(self._term(tweet, term) != negated for negated, term in clause)
            for clause in query.clauses
        )

    def _term(self, tweet: SimTweet, term: str) -> bool:
        author = self.users.get(tweet.author_id)
        operators = {
            "is:retweet": lambda: tweet.retweet,
            "is:reply": lambda: tweet.in_reply_to is not None,
            "is:quote": lambda: tweet.quoted is not None,
        }
        if term in operators:
            return operators[term]()
        key, _, value = term.partition(":")
        if value and key in ("lang", "from", "conversation_id", "to"):
            return {
                "lang": tweet.lang == value,
                "from": author is not None and author.username.lower() == value,
                "conversation_id": str(tweet.conversation_id) == value,
                "to": self._to(tweet) == value,
            }[key]
        return term in tweet.text.lower()

    def _to(self, tweet: SimTweet) -> str:
        target = self.users.get(tweet.in_reply_to_user_id or "")
        return target.username.lower() if target else ""

    def _timeline(
        self,
        query: dict[str, str],
        predicate: Any,
        bounds: tuple[int, int],
        token_name: str,
    ) -> Reply:
        low, high = bounds
        size = int(query.get("max_results", "10"))
        if not low <= size <= high:
            detail = (
                f"The `max_results` query parameter value [{size}] is not between {low} and {high}"
            )
            return Reply(400, _invalid("max_results", str(size), detail))
        selected = [t for t in self._window(query, token_name) if predicate(t)]
        page, rest = selected[:size], selected[size:]
        meta: dict[str, Any] = {"result_count": len(page)}
        if not page:
            return Reply(200, {"meta": meta})
        meta.update(newest_id=str(page[0].id), oldest_id=str(page[-1].id))
        if rest:
            meta["next_token"] = _token(page[-1].id)
        body: dict[str, Any] = {"data": [t.to_json(_csv(query, "tweet.fields")) for t in page]}
        self._add_includes(body, page, query)
        body["meta"] = meta
        return Reply(200, body)

    def _window(self, query: dict[str, str], token_name: str) -> list[SimTweet]:
        since = int(query.get("since_id", "0"))
        until = int(query.get("until_id", str(1 << 63)))
        if query.get(token_name):
            until = min(until, _untoken(query[token_name]))
        start = _parse_time(query.get("start_time"))
        end = _parse_time(query.get("end_time"))
        chosen = [
            t
            for t in self.tweets.values()
            if since < t.id < until
            and (start is None or t.created_at >= start)
            and (end is None or t.created_at < end)
        ]
        return sorted(chosen, key=lambda t: t.id, reverse=True)

    def _add_includes(
        self, body: dict[str, Any], page: list[SimTweet], query: dict[str, str]
    ) -> None:
        expansions = _csv(query, "expansions")
        if "author_id" not in expansions:
            return
        users: dict[str, dict[str, Any]] = {}
        errors: list[dict[str, Any]] = []
        for tweet in page:
            user = self.users.get(tweet.author_id)
            if tweet.raw is not None or tweet.author_id in users:
                continue
            if user is None or user.suspended:
                errors.append(_not_found("user", "author_id", tweet.author_id))
                continue
            users[tweet.author_id] = user.to_json(_csv(query, "user.fields"))
        if users:
            body["includes"] = {"users": list(users.values())}
        if errors:
            body["errors"] = errors


_SAMPLE_TEXTS = (
    "@{brand} my order #{n} arrived broken, this is the second time",
    "Loving the new update from @{brand}! Works great ({n})",
    "@{brand} how do I reset my password? asked {n} times already",
    "@{brand} any news on the outage? nothing loads since this morning #{n}",
    "Shoutout to @{brand} support, fixed my issue in minutes ({n})",
    "@{brand} I was charged twice for order {n}, please help",
)
_DELETED_PARENT = "You attempted to reply to a Tweet that is deleted or not visible to you."
_DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


def _csv(query: dict[str, str], key: str) -> set[str]:
    return {part for part in query.get(key, "").split(",") if part}


def _token(last_id: int) -> str:
    return base64.b32encode(f"tok{last_id}".encode()).decode().rstrip("=").lower()


def _untoken(token: str) -> int:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        return int(base64.b32decode(padded).decode().removeprefix("tok"))
    except ValueError:
        return 0


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _invalid(parameter: str, value: str, message: str) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _not_found(resource: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
