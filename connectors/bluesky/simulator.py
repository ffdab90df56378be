"""A local Bluesky PDS/AppView speaking the XRPC methods repbot uses, in atproto's shapes.

Routes (named after the method's last part): ``createSession``, ``refreshSession``,
``getProfile``, ``listNotifications`` (``reasons``, ``limit``, ``cursor``), ``searchPosts``
(``q``, ``sort=latest``, ``limit``, ``cursor``), ``createRecord`` (posts, 300 graphemes),
``getPostThread`` (``depth`` 1) and ``resolveHandle``. Sessions are real JWTs (HS256) whose
``exp`` atproto reads to refresh them; an expired access token is answered ``400
ExpiredToken`` as a PDS does. Every answer carries ``ratelimit-limit/remaining/reset/policy``
(3,000 per 5 minutes); listings are newest first by ``indexedAt`` with an opaque cursor.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import regex
from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

WINDOW_SECONDS = 300
LIMIT = 3000
_TID = "234567abcdefghijklmnopqrstuvwxyz"
XRPC = "/xrpc/"


@dataclass
class SimActor:
    """An account on the simulated network."""

    did: str
    handle: str
    display_name: str = ""
    followers: int = 10

    def basic(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "handle": self.handle,
            "displayName": self.display_name,
            "labels": [],
            "createdAt": "2024-01-01T00:00:00.000Z",
        }


@dataclass
class SimPost:
    """A post; ``raw`` replaces its rendered view (malformed records)."""

    uri: str
    cid: str
    author: SimActor
    record: dict[str, Any]
    indexed_at: datetime
    raw: dict[str, Any] | None = None
    likes: int = 0

    @property
    def key(self) -> tuple[float, str]:
        return (self.indexed_at.timestamp(), self.uri)


@dataclass
class SimNotification:
    """A notification of the brand account about ``post``."""

    post: SimPost
    reason: str
    raw: dict[str, Any] | None = None


@dataclass
class Session:
    access: str
    refresh: str


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskySimulator(SimulatorServer):
    """The simulated network; ``brand`` is the account that logs in."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.key = secrets.token_hex(16)
        self.password = "sim-app-" + secrets.token_hex(6)
        self.brand = SimActor("did:plc:acmebrand000000000000000", "acme.bsky.social", "Acme")
        self.actors: dict[str, SimActor] = {self.brand.handle: self.brand}
        self.posts: dict[str, SimPost] = {}
        self.notifications: list[SimNotification] = []
        self.access_ttl = 7200.0
        self.refresh_tokens: set[str] = set()
        self.revoked: set[str] = set()
        self.window: tuple[float, int] = (time.time(), 0)
        self.limit = LIMIT
        self._clock = 0
        super().__init__(host, port)

    def _register(self) -> None:
        routes = [
            ("createSession", "POST", "com.atproto.server.createSession", self._create_session),
            ("refreshSession", "POST", "com.atproto.server.refreshSession", self._refresh),
            ("getProfile", "GET", "app.bsky.actor.getProfile", self._profile),
            ("listNotifications", "GET", "app.bsky.notification.listNotifications", self._notes),
            ("searchPosts", "GET", "app.bsky.feed.searchPosts", self._search),
            ("createRecord", "POST", "com.atproto.repo.createRecord", self._create_record),
            ("getPostThread", "GET", "app.bsky.feed.getPostThread", self._thread),
            ("resolveHandle", "GET", "com.atproto.identity.resolveHandle", self._resolve),
        ]
        for name, method, nsid, handler in routes:
            self.route(name, method, XRPC + nsid, handler)

    def options(self) -> dict[str, Any]:
        """Source options pointing a connector at this simulator."""
        return {
            "api_base_url": self.url,
            "handle": self.brand.handle,
            "app_password": self.password,
        }

    # ---- seeding ------------------------------------------------------------------------

    def actor(self, name: str) -> SimActor:
        """The account ``name.bsky.social``, created on first use."""
        handle = name if "." in name else f"{name}.bsky.social"
        if handle not in self.actors:
            digest = hashlib.sha256(handle.encode()).digest()
            did = "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
            self.actors[handle] = SimActor(did, handle, name.title())
        return self.actors[handle]

    def tid(self) -> str:
        """A fresh record key (TID: microseconds, base32-sortable)."""
        self._clock = max(self._clock + 1, int(time.time() * 1_000_000))
        value, out = self._clock << 10, ""
        for _ in range(13):
            out = _TID[value & 31] + out
            value >>= 5
        return out

    def add_post(self, text: str, author: SimActor | None = None, **options: Any) -> SimPost:
        """Create a post (``reply_to`` a post makes it a reply; ``indexed_at`` sets the time)."""
        author = author or self.actor("dana")
        parent: SimPost | None = options.pop("reply_to", None)
        indexed = options.pop("indexed_at", None) or datetime.now(UTC)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": _iso(indexed),
            "langs": options.pop("langs", ["en"]),
        }
        if parent is not None:
            root = (parent.record.get("reply") or {}).get("root") or _ref(parent)
            record["reply"] = {"root": root, "parent": _ref(parent)}
        return self._store(author, record, indexed, **options)

    def _store(
        self, author: SimActor, record: dict[str, Any], indexed: datetime, **options: Any
    ) -> SimPost:
        uri = f"at://{author.did}/app.bsky.feed.post/{self.tid()}"
        post = SimPost(uri, "bafyrei" + secrets.token_hex(26), author, record, indexed, **options)
        self.posts[uri] = post
        return post

    def mention(self, text: str = "@acme.bsky.social help!", **options: Any) -> SimPost:
        """A post mentioning the brand, notified with reason ``mention`` (or ``reply``)."""
        post = self.add_post(text, **options)
        parent = self.posts.get(
            ((post.record.get("reply") or {}).get("parent") or {}).get("uri", "")
        )
        reason = "reply" if parent is not None and parent.author is self.brand else "mention"
        self.notifications.append(SimNotification(post, reason))
        return post

    def seed_mentions(self, count: int) -> list[SimPost]:
        """``count`` mentions from different accounts, newest last."""
        base = datetime.now(UTC) - timedelta(seconds=count * 0.01 + 1)
        return [
            self.mention(
                f"@acme.bsky.social order {i} is late",
                author=self.actor(f"u{i % 50}"),
                indexed_at=base + timedelta(milliseconds=10 * i),
            )
            for i in range(count)
        ]

    def notify(
        self, reason: str, post: SimPost | None = None, raw: dict[str, Any] | None = None
    ) -> None:
        """A notification of any reason (``like``, ``follow``…), or a raw (malformed) one."""
        self.notifications.append(SimNotification(post or self.add_post("x"), reason, raw))

    # ---- rendering ----------------------------------------------------------------------

    def post_view(self, post: SimPost) -> dict[str, Any]:
        """The post as an ``app.bsky.feed.defs#postView``."""
        if post.raw is not None:
            return post.raw
        replies = sum(1 for p in self.posts.values() if _parent_uri(p) == post.uri)
        return {
            "uri": post.uri,
            "cid": post.cid,
            "author": post.author.basic(),
            "record": post.record,
            "replyCount": replies,
            "repostCount": 0,
            "likeCount": post.likes,
            "quoteCount": 0,
            "indexedAt": _iso(post.indexed_at),
            "labels": [],
        }

    def _notification(self, note: SimNotification) -> dict[str, Any]:
        if note.raw is not None:
            return note.raw
        post = note.post
        return {
            "uri": post.uri,
            "cid": post.cid,
            "author": post.author.basic(),
            "reason": note.reason,
            "record": post.record,
            "isRead": False,
            "indexedAt": _iso(post.indexed_at),
            "labels": [],
        }

    # ---- sessions, limits ---------------------------------------------------------------

    def _tokens(self) -> Session:
        now = int(time.time())
        access = jwt.encode(
            {
                "scope": "com.atproto.access",
                "sub": self.brand.did,
                "iat": now,
                "exp": int(now + self.access_ttl),
                "jti": secrets.token_hex(6),
                "aud": "did:web:sim.example",
            },
            self.key,
            algorithm="HS256",
        )
        refresh = jwt.encode(
            {
                "scope": "com.atproto.refresh",
                "sub": self.brand.did,
                "iat": now,
                "exp": now + 90 * 86400,
                "jti": secrets.token_hex(8),
            },
            self.key,
            algorithm="HS256",
        )
        self.refresh_tokens.add(refresh)
        return Session(access, refresh)

    def _session_body(self) -> dict[str, Any]:
        tokens = self._tokens()
        return {
            "did": self.brand.did,
            "handle": self.brand.handle,
            "accessJwt": tokens.access,
            "refreshJwt": tokens.refresh,
            "active": True,
        }

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        if route in ("createSession", "resolveHandle"):
            return None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if route == "refreshSession":
            if token not in self.refresh_tokens:
                return Reply(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
            return None
        try:
            claims = jwt.decode(
                token, self.key, algorithms=["HS256"], audience="did:web:sim.example"
            )
        except jwt.ExpiredSignatureError:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        except jwt.PyJWTError:
            return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid token"})
        if claims.get("scope") != "com.atproto.access" or token in self.revoked:
            return Reply(400, {"error": "InvalidToken", "message": "Bad token scope"})
        return None

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        start, used = self.window
        now = time.time()
        if now - start >= WINDOW_SECONDS:
            start, used = now, 0
        used += 1
        self.window = (start, used)
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(max(self.limit - used, 0)),
            "ratelimit-reset": str(int(start + WINDOW_SECONDS)),
            "ratelimit-policy": f"{self.limit};w={WINDOW_SECONDS}",
        }
        if used > self.limit:
            body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            return headers, Reply(429, body, headers)
        return headers, None

    # ---- handlers -----------------------------------------------------------------------

    async def _create_session(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        body = recorded.json() or {}
        known = body.get("identifier") in (self.brand.handle, self.brand.did)
        if not known or body.get("password") != self.password:
            return Reply(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        return Reply(200, self._session_body())

    async def _refresh(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.refresh_tokens.discard(token)
        return Reply(200, self._session_body())

    async def _profile(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        actor = next(
            (a for a in self.actors.values() if request.query.get("actor") in (a.handle, a.did)),
            None,
        )
        if actor is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Profile not found"})
        return Reply(
            200,
            {
                **actor.basic(),
                "followersCount": actor.followers,
                "followsCount": 3,
                "postsCount": 10,
            },
        )

    async def _notes(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        reasons = request.query.getall("reasons", [])
        notes = [n for n in self.notifications if not reasons or n.reason in reasons]
        notes.sort(key=lambda n: n.post.key, reverse=True)
        chosen, cursor = _page([(n.post.key, n) for n in notes], request.query)
        return Reply(
            200,
            {
                "notifications": [self._notification(n) for n in chosen],
                **({"cursor": cursor} if cursor else {}),
                "priority": False,
                "seenAt": _iso(datetime.now(UTC)),
            },
        )

    async def _search(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        query = request.query.get("q", "").lower()
        if not query.strip():
            return Reply(
                400,
                {"error": "InvalidRequest", "message": 'Error: Params must have the property "q"'},
            )
        posts = sorted(
            (p for p in self.posts.values() if query in str(p.record.get("text", "")).lower()),
            key=lambda p: p.key,
            reverse=True,
        )
        chosen, cursor = _page([(p.key, p) for p in posts], request.query, default=25)
        return Reply(
            200,
            {
                "posts": [self.post_view(p) for p in chosen],
                **({"cursor": cursor} if cursor else {}),
                "hitsTotal": len(posts),
            },
        )

    async def _create_record(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        body = recorded.json() or {}
        record = body.get("record") or {}
        if body.get("repo") != self.brand.did or body.get("collection") != "app.bsky.feed.post":
            return Reply(400, {"error": "InvalidRequest", "message": "Invalid repo or collection"})
        text = str(record.get("text", ""))
        if len(regex.findall(r"\X", text)) > 300:
            return Reply(
                400,
                {
                    "error": "InvalidRequest",
                    "message": "Invalid app.bsky.feed.post record: Record/text must "
                    "not be longer than 300 graphemes",
                },
            )
        reply = record.get("reply")
        if reply and _parent(reply) not in self.posts:
            return Reply(400, {"error": "InvalidRequest", "message": "Could not locate record"})
        post = self._store(self.brand, record, datetime.now(UTC))
        return Reply(
            200,
            {
                "uri": post.uri,
                "cid": post.cid,
                "commit": {"cid": "bafyreicommit", "rev": self.tid()},
                "validationStatus": "valid",
            },
        )

    async def _thread(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        uri = request.query.get("uri", "")
        post = self.posts.get(uri)
        if post is None:
            return Reply(400, {"error": "NotFound", "message": f"Post not found: {uri}"})
        children = [p for p in self.posts.values() if _parent_uri(p) == uri]
        node = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self.post_view(post),
            "replies": [
                {
                    "$type": "app.bsky.feed.defs#threadViewPost",
                    "post": self.post_view(c),
                    "replies": [],
                }
                for c in children
            ],
        }
        return Reply(200, {"thread": node})

    async def _resolve(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        actor = self.actors.get(request.query.get("handle", ""))
        if actor is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})
        return Reply(200, {"did": actor.did})


def _ref(post: SimPost) -> dict[str, str]:
    return {"uri": post.uri, "cid": post.cid}


def _parent(reply: Any) -> str:
    parent = reply.get("parent") if isinstance(reply, dict) else None
    return str(parent.get("uri", "")) if isinstance(parent, dict) else ""


def _parent_uri(post: SimPost) -> str:
    return _parent(post.record.get("reply"))


def _page(
    items: list[tuple[tuple[float, str], Any]], query: Any, default: int = 50
) -> tuple[list[Any], str | None]:
    """Items (sorted newest first) after the cursor, and the cursor of the next page."""
    limit = min(int(query.get("limit", default)), 100)
    cursor = query.get("cursor")
    if cursor:
        stamp, _, uri = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        after = (float(stamp), uri)
        items = [p for p in items if p[0] < after]
    chosen = items[:limit]
    if len(items) <= limit or not chosen:
        return [c for _, c in chosen], None
    last = chosen[-1][0]
    token = base64.urlsafe_b64encode(f"{last[0]!r}|{last[1]}".encode()).decode()
    return [c for _, c in chosen], token
