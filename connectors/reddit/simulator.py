"""A local stand-in for the Reddit endpoints repbot uses, served to praw over loopback.

One server plays both hosts: point praw's ``reddit_url`` (token endpoint) and ``oauth_url`` (API)
at ``sim.url``. Shapes follow praw's recorded cassettes:

- ``POST /api/v1/access_token`` (HTTP Basic client credentials; ``password`` and
  ``client_credentials`` grants; ``{"error": "invalid_grant"}`` on a wrong password);
- listings ``/r/{subs}/new``, ``/r/{subs}/comments``, ``/r/{subs}/search``,
  ``/message/mentions``, ``/user/{name}/comments``: ``{"kind": "Listing", "data": {"after",
  "before", "dist", "children": [{"kind": "t1"|"t3", "data": {...}}]}}``, newest first,
  ``limit``/``after``/``before``;
- ``/api/user_data_by_account_ids`` (karma), ``/api/info`` and ``/r/{sub}/about`` (subscribers);
- ``POST /api/comment`` (the reply, ``{"json": {"errors": [], "data": {"things": [...]}}}``).

Every API response carries ``x-ratelimit-used/remaining/reset`` for a 600-second window and is
gzipped when the client accepts it.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from base64 import b64decode
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

WINDOW_SECONDS = 600
API_ROUTES = (
    "new",
    "comments",
    "search",
    "mentions",
    "user_comments",
    "user_data",
    "info",
    "subreddit_about",
    "comment",
    "me",
)


def error_body(status: int) -> dict[str, Any]:
    """Reddit's JSON error body, e.g. ``{"message": "Forbidden", "error": 403}``."""
    names = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
    return {"message": names.get(status, "Internal Server Error"), "error": status}


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


@dataclass
class SimRedditor:
    """An account on the simulated Reddit."""

    name: str
    id: str
    link_karma: int = 1
    comment_karma: int = 0
    created_utc: float = 1_500_000_000.0
    suspended: bool = False
    password: str = ""

    @property
    def fullname(self) -> str:
        """``t2_<id>``."""
        return f"t2_{self.id}"


@dataclass
class SimSubreddit:
    """A community on the simulated Reddit."""

    name: str
    id: str
    subscribers: int

    def to_json(self) -> dict[str, Any]:
        """The ``t5`` thing."""
        return {
            "kind": "t5",
            "data": {
                "display_name": self.name,
                "display_name_prefixed": f"r/{self.name}",
                "id": self.id,
                "name": f"t5_{self.id}",
                "subscribers": self.subscribers,
                "subreddit_type": "public",
                "title": self.name,
                "url": f"/r/{self.name}/",
                "over18": False,
            },
        }


@dataclass
class SimThing:
    """A submission (``t3``) or comment (``t1``); ``raw`` replaces the rendered data."""

    kind: str
    id: str
    author: str
    subreddit: str
    created_utc: float
    title: str = ""
    body: str = ""
    link_id: str = ""
    parent_id: str = ""
    score: int = 1
    num_comments: int = 0
    raw: dict[str, Any] | None = None

    @property
    def fullname(self) -> str:
        """``t1_<id>`` or ``t3_<id>``."""
        return f"{self.kind}_{self.id}"


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class _Token:
    username: str | None
    expires: float


@dataclass
class _Store:
    redditors: dict[str, SimRedditor] = field(default_factory=dict)
    subreddits: dict[str, SimSubreddit] = field(default_factory=dict)
    things: dict[str, SimThing] = field(default_factory=dict)


class RedditSimulator(SimulatorServer):
    """The simulated Reddit; see the module docstring for the endpoints."""

    def __init__(
        self,
        *,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",
        username: str = "acme_support",
        password: str = "sim-password",
        rate_limit: int = 1000,
        seed: int = 11,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.limit = rate_limit
        self.store = _Store()
        self.tokens: dict[str, _Token] = {}
        self._window = _Window(time.time())
        self._counters = {"t1": int("myngt77", 36), "t3": int("1j7g9uj", 36), "t2": 10**9}
        self._rng = random.Random(seed)
        self.account = self.add_redditor(username, link_karma=120, comment_karma=800)
        self.account.password = password
        super().__init__(host, port)

    # ---- data -------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """Connector options that authenticate against this simulator."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.account.name,
            "password": self.account.password,
            "oauth_url": self.url,
            "reddit_url": self.url,
        }

    def add_redditor(
        self, name: str, *, link_karma: int = 1, comment_karma: int = 0
    ) -> SimRedditor:
        """Create an account."""
        user = SimRedditor(name, self._next_id("t2"), link_karma, comment_karma)
        self.store.redditors[name.lower()] = user
        return user

    def redditor(self, name: str) -> SimRedditor:
        """The account ``name`` (created with random karma on first use)."""
        found = self.store.redditors.get(name.lower())
        if found is not None:
            return found
        karma = self._rng.choice((5, 80, 1500, 42_000))
        return self.add_redditor(name, link_karma=karma // 3, comment_karma=karma - karma // 3)

    def subreddit(self, name: str, subscribers: int | None = None) -> SimSubreddit:
        """The community ``name`` (created on first use)."""
        key = name.lower()
        if key not in self.store.subreddits:
            size = (
                subscribers
                if subscribers is not None
                else self._rng.choice((900, 25_000, 2_000_000))
            )
            self.store.subreddits[key] = SimSubreddit(
                name, _b36(2_000_000 + len(self.store.subreddits)), size
            )
        return self.store.subreddits[key]

    def add_submission(
        self,
        title: str,
        body: str = "",
        *,
        subreddit: str = "acme",
        author: str = "someone",
        created_utc: float | None = None,
        score: int = 1,
    ) -> SimThing:
        """Publish a self post."""
        self.subreddit(subreddit)
        self.redditor(author) if author != "[deleted]" else None
        thing = SimThing(
            "t3",
            self._next_id("t3"),
            author,
            self.subreddit(subreddit).name,
            created_utc or time.time(),
            title=title,
            body=body,
            score=score,
        )
        self.store.things[thing.fullname] = thing
        return thing

    def add_comment(
        self,
        body: str,
        *,
        parent: SimThing,
        author: str = "someone",
        created_utc: float | None = None,
        score: int = 1,
    ) -> SimThing:
        """Publish a comment under ``parent`` (a submission or a comment)."""
        if author != "[deleted]":
            self.redditor(author)
        link_id = parent.fullname if parent.kind == "t3" else parent.link_id
        thing = SimThing(
            "t1",
            self._next_id("t1"),
            author,
            parent.subreddit,
            created_utc or time.time(),
            body=body,
            link_id=link_id,
            parent_id=parent.fullname,
            score=score,
        )
        self.store.things[thing.fullname] = thing
        link = self.store.things.get(link_id)
        if link is not None:
            link.num_comments += 1
        return thing

    def add_raw(self, kind: str, data: dict[str, Any], *, subreddit: str = "acme") -> SimThing:
        """List ``data`` verbatim as a ``kind`` child in ``subreddit`` (malformed records)."""
        thing = SimThing(
            kind,
            self._next_id(kind),
            "someone",
            self.subreddit(subreddit).name,
            time.time(),
            raw=data,
        )
        self.store.things[thing.fullname] = thing
        return thing

    def suspend(self, name: str) -> None:
        """Suspend an account: it drops out of karma lookups."""
        self.redditor(name).suspended = True

    def seed_mentions(
        self,
        count: int,
        *,
        subreddit: str = "acme",
        keyword: str = "acme",
        spread_seconds: float = 600.0,
        until: float | None = None,
    ) -> list[SimThing]:
        """Publish ``count`` things mentioning ``keyword`` in ``subreddit``, spread over the
        ``spread_seconds`` before ``until`` (default now): one submission in five, the rest
        comments, every tenth comment also pinging the simulator's account (``u/<name>``, so
        it reaches the inbox)."""
        start = (until or time.time()) - spread_seconds
        step = spread_seconds / max(count, 1)
        made: list[SimThing] = []
        post: SimThing | None = None
        for i in range(count):
            author = f"redditor{self._rng.randrange(5000)}"
            created = start + i * step
            if post is None or i % 5 == 0:
                post = self.add_submission(
                    f"{keyword} problem #{i}",
                    f"Anyone else seeing {keyword} fail today? ({i})",
                    subreddit=subreddit,
                    author=author,
                    created_utc=created,
                )
                made.append(post)
                continue
            ping = f" u/{self.account.name}" if i % 10 == 1 else ""
            text = self._rng.choice(_SAMPLE_TEXTS).format(keyword=keyword, n=i) + ping
            made.append(self.add_comment(text, parent=post, author=author, created_utc=created))
        return made

    def replies_by_account(self) -> list[SimThing]:
        """Comments the simulator's own account posted (replies created via ``/api/comment``)."""
        return [
            t
            for t in self.store.things.values()
            if t.author == self.account.name and t.kind == "t1"
        ]

    def exhaust(self, reset_in: float = 60.0) -> None:
        """Spend the rate-limit window so the next API request gets 429 for ``reset_in`` s."""
        self._window = _Window(time.time() + reset_in - WINDOW_SECONDS, self.limit)

    def _next_id(self, kind: str) -> str:
        self._counters[kind] += 1
        return _b36(self._counters[kind])

    # ---- rendering --------------------------------------------------------------------

    def render(self, thing: SimThing, *, inbox: bool = False) -> dict[str, Any]:
        """The listing child for ``thing`` (inbox mentions use the message-shaped fields)."""
        if thing.raw is not None:
            return {"kind": thing.kind, "data": dict(thing.raw)}
        sub = self.subreddit(thing.subreddit)
        common = self._common(thing, sub)
        if thing.kind == "t3":
            return {"kind": "t3", "data": {**common, **self._submission_fields(thing, sub)}}
        link = self.store.things.get(thing.link_id)
        slug = _slug(link.title if link else "post")
        permalink = f"/r/{sub.name}/comments/{thing.link_id[3:]}/{slug}/{thing.id}/"
        data = {
            **common,
            "body": thing.body,
            "body_html": f'<div class="md"><p>{thing.body}</p>\n</div>',
            "link_id": thing.link_id,
            "parent_id": thing.parent_id,
            "link_title": link.title if link else "",
            "permalink": permalink,
            "replies": "",
            "controversiality": 0,
        }
        if inbox:
            data.update(
                subject="username mention",
                type="username_mention",
                new=True,
                was_comment=True,
                dest=self.account.name,
                context=f"{permalink}?context=3",
                first_message=None,
                first_message_name=None,
                num_comments=link.num_comments if link else 0,
            )
            for key in ("link_id", "permalink"):
                data.pop(key)
        else:
            data.update(
                link_permalink=f"https://www.reddit.com/r/{sub.name}/comments/{thing.link_id[3:]}/{slug}/",
                num_comments=link.num_comments if link else 0,
            )
        return {"kind": "t1", "data": data}

    def _common(self, thing: SimThing, sub: SimSubreddit) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": thing.id,
            "name": thing.fullname,
            "author": thing.author,
            "subreddit": sub.name,
            "subreddit_id": f"t5_{sub.id}",
            "subreddit_name_prefixed": f"r/{sub.name}",
            "created": thing.created_utc,
            "created_utc": thing.created_utc,
            "score": thing.score,
            "ups": thing.score,
            "downs": 0,
            "likes": None,
            "edited": False,
            "distinguished": None,
            "stickied": False,
        }
        author = self.store.redditors.get(thing.author.lower())
        if author is not None and thing.author != "[deleted]":
            data["author_fullname"] = author.fullname
        return data

    def _submission_fields(self, thing: SimThing, sub: SimSubreddit) -> dict[str, Any]:
        permalink = f"/r/{sub.name}/comments/{thing.id}/{_slug(thing.title)}/"
        return {
            "title": thing.title,
            "selftext": thing.body,
            "selftext_html": None,
            "is_self": True,
            "domain": f"self.{sub.name}",
            "num_comments": thing.num_comments,
            "permalink": permalink,
            "url": f"https://www.reddit.com{permalink}",
            "subreddit_subscribers": sub.subscribers,
            "over_18": False,
            "locked": False,
            "link_flair_text": None,
        }

    # ---- server -----------------------------------------------------------------------

    def _register(self) -> None:
        self.route("token", "POST", "/api/v1/access_token", self._token)
        listings = {
            "new": ("/r/{sub}/new", self._new),
            "comments": ("/r/{sub}/comments", self._comments),
            "search": ("/r/{sub}/search", self._search),
            "mentions": ("/message/mentions", self._mentions),
            "user_comments": ("/user/{name}/comments", self._user_comments),
            "user_data": ("/api/user_data_by_account_ids", self._user_data),
            "info": ("/api/info", self._info),
            "subreddit_about": ("/r/{sub}/about", self._about),
            "me": ("/api/v1/me", self._me),
        }
        for name, (path, handler) in listings.items():
            self.route(name, "GET", path, handler)
            self.route(name, "GET", path + "/", handler)
        self.route("comment", "POST", "/api/comment", self._comment)
        self.route("comment", "POST", "/api/comment/", self._comment)

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        if route == "token":
            return self._check_client(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        session = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if session is None or session.expires < time.time():
            challenge = 'Bearer realm="reddit", error="invalid_token"'
            return Reply(401, error_body(401), {"www-authenticate": challenge})
        if route in ("mentions", "comment", "me") and session.username is None:
            return Reply(403, error_body(403))
        return None

    def _check_client(self, request: web.Request) -> Reply | None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            client_id, _, secret = b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = secret = ""
        if scheme != "Basic" or (client_id, secret) != (self.client_id, self.client_secret):
            return Reply(401, error_body(401))
        return None

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        if route == "token":
            return {}, None
        now = time.time()
        if now >= self._window.start + WINDOW_SECONDS:
            self._window = _Window(now)
        reset = max(int(self._window.start + WINDOW_SECONDS - now), 0)
        if self._window.used >= self.limit:
            headers = {
                "x-ratelimit-used": str(self._window.used),
                "x-ratelimit-remaining": "0.0",
                "x-ratelimit-reset": str(reset),
            }
            return headers, Reply(429, error_body(429), headers)
        self._window.used += 1
        headers = {
            "x-ratelimit-used": str(self._window.used),
            "x-ratelimit-remaining": f"{float(self.limit - self._window.used):.1f}",
            "x-ratelimit-reset": str(reset),
        }
        return headers, None

    def _username(self, request: web.Request) -> str | None:
        token = request.headers.get("Authorization", "").partition(" ")[2]
        session = self.tokens.get(token)
        return session.username if session else None

    async def _token(self, request: web.Request, rec: RecordedRequest) -> Reply:
        form = rec.form()
        grant = form.get("grant_type")
        username: str | None = None
        if grant == "password":
            user = self.store.redditors.get(form.get("username", "").lower())
            if user is None or not user.password or user.password != form.get("password"):
                return Reply(200, {"error": "invalid_grant"})
            username = user.name
        elif grant != "client_credentials":
            return Reply(200, {"error": "unsupported_grant_type"})
        token = f"sim-{secrets.token_hex(8)}"
        self.tokens[token] = _Token(username, time.time() + 86400)
        return Reply(
            200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    async def _new(self, request: web.Request, rec: RecordedRequest) -> Reply:
        subs = _subs(request.match_info["sub"])
        return self._listing(
            rec.query, [t for t in self._sorted() if t.kind == "t3" and _in(t, subs)]
        )

    async def _comments(self, request: web.Request, rec: RecordedRequest) -> Reply:
        subs = _subs(request.match_info["sub"])
        return self._listing(
            rec.query, [t for t in self._sorted() if t.kind == "t1" and _in(t, subs)]
        )

    async def _search(self, request: web.Request, rec: RecordedRequest) -> Reply:
        subs = _subs(request.match_info["sub"])
        restrict = rec.query.get("restrict_sr", "").lower() in ("1", "true", "on")
        terms = [w.lower() for w in re.findall(r"\w+", rec.query.get("q", ""))]
        since = time.time() - _TIME_FILTERS.get(rec.query.get("t", "all"), float("inf"))
        found = [
            t
            for t in self._sorted()
            if t.kind == "t3"
            and (not restrict or _in(t, subs))
            and t.created_utc >= since
            and all(w in f"{t.title} {t.body}".lower() for w in terms)
        ]
        return self._listing(rec.query, found, facets=True)

    async def _mentions(self, request: web.Request, rec: RecordedRequest) -> Reply:
        handle = f"u/{self._username(request)}".lower()
        found = [t for t in self._sorted() if t.kind == "t1" and handle in t.body.lower()]
        return self._listing(rec.query, found, inbox=True)

    async def _user_comments(self, request: web.Request, rec: RecordedRequest) -> Reply:
        name = request.match_info["name"].lower()
        return self._listing(
            rec.query, [t for t in self._sorted() if t.kind == "t1" and t.author.lower() == name]
        )

    async def _user_data(self, request: web.Request, rec: RecordedRequest) -> Reply:
        wanted = set(rec.query.get("ids", "").split(","))
        users = {
            u.fullname: {
                "name": u.name,
                "created_utc": u.created_utc,
                "link_karma": u.link_karma,
                "comment_karma": u.comment_karma,
                "profile_img": "",
                "profile_color": "",
                "profile_over_18": False,
            }
            for u in self.store.redditors.values()
            if u.fullname in wanted and not u.suspended
        }
        return Reply(200, users)

    async def _info(self, request: web.Request, rec: RecordedRequest) -> Reply:
        ids = [i for i in rec.query.get("id", "").split(",") if i]
        children: list[dict[str, Any]] = []
        for sub in self.store.subreddits.values():
            if f"t5_{sub.id}" in ids:
                children.append(sub.to_json())
        children += [self.render(self.store.things[i]) for i in ids if i in self.store.things]
        return Reply(200, _wrap(children, None))

    async def _about(self, request: web.Request, rec: RecordedRequest) -> Reply:
        sub = self.store.subreddits.get(request.match_info["sub"].lower())
        return Reply(200, sub.to_json()) if sub else Reply(404, error_body(404))

    async def _me(self, request: web.Request, rec: RecordedRequest) -> Reply:
        user = self.redditor(self._username(request) or "")
        return Reply(
            200,
            {
                "name": user.name,
                "id": user.id,
                "link_karma": user.link_karma,
                "comment_karma": user.comment_karma,
                "created_utc": user.created_utc,
            },
        )

    async def _comment(self, request: web.Request, rec: RecordedRequest) -> Reply:
        form = rec.form()
        parent = self.store.things.get(form.get("thing_id", ""))
        if parent is None or parent.raw is not None:
            errors = [["DELETED_COMMENT", "that comment has been deleted", "parent"]]
            return Reply(200, {"json": {"errors": errors}})
        author = self._username(request) or self.account.name
        made = self.add_comment(form.get("text", ""), parent=parent, author=author)
        data = self.render(made)
        return Reply(200, {"json": {"errors": [], "data": {"things": [data]}}})

    # ---- listing helpers ----------------------------------------------------------------

    def _sorted(self) -> list[SimThing]:
        return sorted(
            self.store.things.values(), key=lambda t: (t.created_utc, int(t.id, 36)), reverse=True
        )

    def _listing(
        self,
        query: dict[str, str],
        things: list[SimThing],
        *,
        inbox: bool = False,
        facets: bool = False,
    ) -> Reply:
        limit = max(1, min(int(query.get("limit", "25")), 100))
        names = [t.fullname for t in things]
        if query.get("after") in names:
            things = things[names.index(query["after"]) + 1 :]
        elif query.get("before") in names:
            things = things[: names.index(query["before"])][-limit:]
        page = things[:limit]
        after = page[-1].fullname if len(things) > limit else None
        body = _wrap([self.render(t, inbox=inbox) for t in page], after)
        if facets:
            body["data"]["facets"] = {}
        return Reply(200, body)


_SAMPLE_TEXTS = (
    "{keyword} support never answered my ticket {n}",
    "Honestly {keyword} has been great for us ({n})",
    "Is {keyword} down again? Can't log in #{n}",
    "{keyword} charged me twice this month, order {n}",
    "Switched to {keyword} last week, pretty happy so far {n}",
)
_TIME_FILTERS = {
    "hour": 3600.0,
    "day": 86400.0,
    "week": 7 * 86400.0,
    "month": 31 * 86400.0,
    "year": 366 * 86400.0,
}


def _wrap(children: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": None,
        },
    }


def _subs(spec: str) -> set[str]:
    return {s.lower() for s in spec.split("+") if s}


def _in(thing: SimThing, subs: set[str]) -> bool:
    return "all" in subs or thing.subreddit.lower() in subs


def _slug(title: str) -> str:
    return "_".join(re.findall(r"\w+", title.lower()))[:50] or "_"
