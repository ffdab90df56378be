"""Mastodon connector: mention notifications, hashtag timelines and searches via Mastodon.py.

Each stream is a listing read newest first. A sweep asks for the items above its start
(``since_id``) and follows ``max_id`` down while a page is full and holds only items newer than
the newest one delivered before (a burst: ``Page.has_more``, one page per call). The start is
that newest item, lowered for hashtags and searches to the statuses created ``overlap`` seconds
before the previous sweep (federated statuses arrive late, with ids from their creation time);
once a page reaches items already delivered the sweep stops, so the overlap costs at most one
page and a steady poll with nothing new one request per stream. Replies go through
``status_post(in_reply_to_id=…)`` with the original's visibility and an ``Idempotency-Key``;
``find_reply`` looks in the status's context for our reply.
"""

from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from repbot import paging
from repbot.connector import Connector, ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import HandleSyntax, Limit, Platform
from repbot.secrets import register_secret

from .._social import DOMAIN, StreamCursor, absorb
from .client import MastodonClient, Rejected, as_list
from .config import MastodonConfig
from .mapping import id_at, status_id, to_mention

if TYPE_CHECKING:
    from mastodon import Mastodon

_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])?"


@dataclass
class StreamState:
    """Where one stream stands: ``mark`` is the newest id delivered; ``since`` (the sweep's
    start), ``max_id`` (the next page), ``newest`` and ``rereads`` describe the sweep in
    progress; ``began`` is when the last sweep started (epoch seconds)."""

    mark: int | None = None
    since: int | None = None
    max_id: int | None = None
    newest: int | None = None
    rereads: int | None = None
    began: float | None = None

    @property
    def in_sweep(self) -> bool:
        """Whether the sweep has a page left to read."""
        return bool(self.max_id)


class MastodonCursor(StreamCursor[StreamState]):
    """The connector's persisted position, serialised as JSON."""

    label = "mastodon"
    stream_type = StreamState


class MastodonConnector(Connector):
    """Listens to a Mastodon account and replies with ``status_post``."""

    type_name: ClassVar[str] = "mastodon"
    platform: ClassVar[str] = "mastodon"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform(
            "mastodon",
            "social",
            Limit(500, url_length=23),
            HandleSyntax(re.compile(rf"{_USER}(?:@{DOMAIN})?"), "@{handle}", 284),
            can_reply=True,
            emoji=":elephant:",
        ),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = MastodonConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("mastodon")
        assert isinstance(config, MastodonConfig)
        self.cfg: MastodonConfig = config
        register_secret(config.access_token.get_secret_value())
        self._client: MastodonClient | None = None
        self._own: dict[str, Any] | None = None

    @property
    def requests_made(self) -> int:
        """Requests sent so far (benchmarks)."""
        return self._client.requests_made if self._client else 0

    # ---- public API ---------------------------------------------------------------------

    async def fetch(self, cursor: str | None) -> Page:
        """Continue the streams with pending pages, else poll every stream once."""
        state = MastodonCursor.load(cursor)
        keys = self._streams()
        pending = state.pending(keys)
        page = Page()
        now = time.time()
        own = await self._own_id() if (self.cfg.hashtags or self.cfg.queries) else None
        for key in pending or keys:
            await self._read(key, state.stream(key), page, own, now)
        return state.finish(page, keys, self.cfg.max_pages_per_poll)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Reply to ``mention`` with its visibility (``status_post(in_reply_to_id=…)``)."""
        status = mention.raw.get("status") or {}
        visibility = status.get("visibility") if isinstance(status, dict) else None
        if visibility not in ("public", "unlisted", "private", "direct"):
            visibility = "public"
        try:
            posted = await self._call(
                "status_post",
                lambda api: api.status_post(
                    text,
                    in_reply_to_id=mention.external_id,
                    visibility=visibility,
                    idempotency_key=idempotency_key,
                ),
            )
            return PostedReply(external_id=status_id(posted), url=posted.get("url"))
        except (RateLimited, AuthError) as exc:
            raise PostError(str(exc), transient=isinstance(exc, RateLimited)) from exc
        except Rejected as exc:
            raise PostError(f"{exc} (the status may be deleted)", transient=False) from exc
        except ConnectorError as exc:
            raise PostError(str(exc), transient=True) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise PostError(f"mastodon answered status_post without an id: {exc}") from exc

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """Our reply to ``mention`` among the replies in its context, if there is one."""
        own = await self._own_id()
        try:
            context = await self._call(
                "status_context", lambda api: api.status_context(mention.external_id)
            )
        except Rejected:
            return None
        for status in as_list(context.get("descendants") if isinstance(context, dict) else None):
            if not isinstance(status, dict):
                continue
            author = status.get("account") or {}
            if (
                str(status.get("in_reply_to_id")) == mention.external_id
                and str(author.get("id")) == own
            ):
                return PostedReply(external_id=status_id(status), url=status.get("url"))
        return None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ---- streams ------------------------------------------------------------------------

    def _streams(self) -> list[str]:
        keys = ["notifications"] if self.cfg.notifications else []
        keys += [f"tag:{t}" for t in self.cfg.hashtags]
        return keys + [f"search:{q}" for q in self.cfg.queries]

    async def _read(
        self, key: str, stream: StreamState, page: Page, own: str | None, now: float
    ) -> None:
        if not stream.max_id:
            self._begin(key, stream, now)
        items = await self._page(key, stream.since, stream.max_id)
        first_run = stream.mark is None
        ids = self._absorb(key, items, page, own, emit=not (first_run and self.cfg.skip_existing))
        if ids:
            stream.newest = max(stream.newest or 0, *ids)
        token = min(ids) if ids and len(items) >= self.cfg.page_size and not first_run else None
        reached = paging.reaches_mark(stream.mark, min(ids, default=None), unique=True)
        next_max, stream.rereads = paging.next_page(
            str(token) if token else None, reached=reached, rereads=stream.rereads
        )
        stream.max_id = int(next_max) if next_max else None
        if stream.max_id is None:
            stream.mark = paging.new_mark(stream.mark, stream.newest) or stream.since or 0
            stream.since = stream.newest = stream.rereads = None

    def _begin(self, key: str, stream: StreamState, now: float) -> None:
        previous, stream.began = stream.began, now
        stream.newest, stream.rereads = None, 1
        if stream.mark is None or key == "notifications" or not self.cfg.overlap:
            stream.since = stream.mark
            return
        stream.since = paging.sweep_start(
            stream.mark,
            began=previous,
            overlap=self.cfg.overlap,
            key_at=id_at,
            span=int(self.cfg.overlap * 1000) << 16,
            floor=0,
        )

    async def _page(self, key: str, since: int | None, max_id: int | None) -> list[Any]:
        limit = self.cfg.page_size
        kind, _, name = key.partition(":")
        if kind == "notifications":
            return as_list(
                await self._call(
                    "notifications",
                    lambda api: api.notifications(
                        types=["mention"], since_id=since, max_id=max_id, limit=limit
                    ),
                )
            )
        if kind == "tag":
            return as_list(
                await self._call(
                    "timeline_hashtag",
                    lambda api: api.timeline_hashtag(
                        name, since_id=since, max_id=max_id, limit=limit
                    ),
                )
            )
        found = await self._call("search", lambda api: _search(api, name, since, max_id, limit))
        return as_list(found.get("statuses") if isinstance(found, dict) else None)

    def _absorb(
        self, key: str, items: list[Any], page: Page, own: str | None, *, emit: bool
    ) -> list[int]:
        ids: list[int] = []

        def each(item: Any) -> Mention | None:
            ids.append(int(status_id(item)))
            mention = to_mention(item["status"] if key == "notifications" else item, own)
            return mention if emit else None

        absorb(page, items, each, f"mastodon[{self.name}]: {key}")
        return ids

    # ---- HTTP ---------------------------------------------------------------------------

    async def _call(self, endpoint: str, fn: Any) -> Any:
        if self._client is None:
            self._client = MastodonClient(self.cfg)
        return await self._client.call(endpoint, fn)

    async def _own_id(self) -> str:
        if self._own is None:
            account = await self._call(
                "verify_credentials", lambda api: api.account_verify_credentials()
            )
            if not isinstance(account, dict) or "id" not in account:
                raise AuthError("mastodon verify_credentials: no account behind the access token")
            self._own = dict(account)
        return str(self._own["id"])


def _search(api: Mastodon, query: str, since: int | None, max_id: int | None, limit: int) -> Any:
    # search has no since_id: min_id bounds it below, and the answer is still newest first
    return api.search_v2(
        query, resolve=False, result_type="statuses", min_id=since, max_id=max_id, limit=limit
    )
