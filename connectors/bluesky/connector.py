"""Bluesky connector: mention/reply notifications and post searches through atproto.

Both listings come newest first, one ``cursor`` per page, ordered by ``indexedAt`` (when the
AppView indexed the post). A sweep emits the items indexed after its start (the newest item
delivered before, lowered to the items indexed ``overlap`` seconds before the previous sweep
began; nothing on a quiet stream) and follows the cursor only while a page holds nothing
delivered before, so a burst is read in full (``Page.has_more``), the overlap costs at most one
page and a steady poll with nothing new one request per stream. Replies are posts with a reply
reference (root and parent strong refs) and facets for mentions and links; ``find_reply``
looks for our reply in the post's thread (``getPostThread``).
"""

from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from repbot import paging
from repbot.connector import Connector, ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import HandleSyntax, Limit, Platform
from repbot.secrets import register_secret

from .._social import DOMAIN, StreamCursor, absorb
from .client import BlueskyClient, Rejected
from .config import BlueskyConfig
from .mapping import reply_root, strong_ref, to_mention, web_url, when

REASONS = ["mention", "reply"]


def _not_numeric_tld(name: str) -> bool:
    return not name.rsplit(".", 1)[-1].isdigit()


@dataclass
class StreamState:
    """Where one stream stands: ``mark`` is the newest ``indexedAt`` delivered (epoch
    seconds); ``start``/``token``/``newest`` describe the sweep in progress."""

    mark: float | None = None
    start: float | None = None
    token: str | None = None
    newest: float | None = None
    began: float | None = None
    prime: bool = False
    floor: float | None = None
    rereads: int | None = None

    @property
    def in_sweep(self) -> bool:
        """Whether the sweep has a page left to read."""
        return bool(self.token)


class BlueskyCursor(StreamCursor[StreamState]):
    """The connector's persisted position, serialised as JSON."""

    label = "bluesky"
    stream_type = StreamState


class BlueskyConnector(Connector):
    """Listens to a Bluesky account and replies with reply posts."""

    type_name: ClassVar[str] = "bluesky"
    platform: ClassVar[str] = "bluesky"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform(
            "bluesky",
            "social",
            Limit(300, "graphemes"),
            HandleSyntax(re.compile(DOMAIN), "@{handle}", 253, valid=_not_numeric_tld),
            can_reply=True,
            emoji=":butterfly:",
        ),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = BlueskyConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("atproto")
        assert isinstance(config, BlueskyConfig)
        self.cfg: BlueskyConfig = config
        register_secret(config.app_password.get_secret_value())
        self._client: BlueskyClient | None = None

    @property
    def requests_made(self) -> int:
        """Requests sent so far (benchmarks)."""
        return self._client.requests_made if self._client else 0

    # ---- public API ---------------------------------------------------------------------

    async def fetch(self, cursor: str | None) -> Page:
        """Continue the sweeps with pending pages, else start a sweep of every stream."""
        state = BlueskyCursor.load(cursor)
        client = await self._ready()
        keys = self._streams()
        pending = state.pending(keys)
        now = time.time()
        if not pending:
            for key in keys:
                self._begin(state.stream(key), now)
        page = Page()
        for key in pending or keys:
            await self._read(client, key, state.streams[key], page, now)
        return state.finish(page, keys, self.cfg.max_pages_per_poll)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Post ``text`` in reply to ``mention`` (root and parent strong refs, facets)."""
        from atproto import models

        try:
            client = await self._ready()
            ref = models.AppBskyFeedPost.ReplyRef(
                parent=models.ComAtprotoRepoStrongRef.Main(**strong_ref(mention.raw)),
                root=models.ComAtprotoRepoStrongRef.Main(**reply_root(mention.raw)),
            )
            langs = [mention.language] if mention.language else None

            async def post(api: Any) -> Any:
                facets = await api.detect_facets(text)
                return await api.send_post(
                    text,
                    profile_identify=client.did or self.cfg.handle,
                    reply_to=ref,
                    facets=facets or None,
                    langs=langs,
                )

            created = await client.call("createRecord", post)
        except (KeyError, TypeError, ValueError) as exc:
            raise PostError(f"bluesky: the mention lacks its post reference: {exc}", False) from exc
        except RateLimited as exc:
            raise PostError(str(exc), transient=True) from exc
        except (AuthError, Rejected) as exc:
            raise PostError(str(exc), transient=False) from exc
        except ConnectorError as exc:
            raise PostError(str(exc), transient=True) from exc
        return PostedReply(external_id=created.uri, url=web_url(created.uri, self.cfg.handle))

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """Our reply to ``mention`` among the direct replies in its thread, if any."""
        from atproto import models

        client = await self._ready()
        params = models.AppBskyFeedGetPostThread.Params(
            uri=mention.external_id, depth=1, parent_height=0
        )
        try:
            body = await client.query("app.bsky.feed.getPostThread", params)
        except Rejected:
            return None
        thread = body.get("thread")
        replies = thread.get("replies") if isinstance(thread, dict) else None
        for node in replies if isinstance(replies, list) else []:
            post = node.get("post") if isinstance(node, dict) else None
            if isinstance(post, dict) and (post.get("author") or {}).get("did") == client.did:
                return PostedReply(
                    external_id=post["uri"], url=web_url(post["uri"], self.cfg.handle)
                )
        return None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    # ---- sweeps -------------------------------------------------------------------------

    def _streams(self) -> list[str]:
        keys = ["mentions"] if self.cfg.mentions else []
        return keys + [f"search:{q}" for q in self.cfg.queries]

    def _begin(self, stream: StreamState, now: float) -> None:
        previous, stream.began = stream.began, now
        stream.newest, stream.token, stream.prime, stream.rereads = None, None, False, 1
        if stream.mark is None:
            stream.rereads = None
            stream.prime = not self.cfg.initial_lookback
            stream.start = stream.floor = now - self.cfg.initial_lookback
            return
        stream.start = paging.sweep_start(
            stream.mark,
            began=previous,
            overlap=self.cfg.overlap,
            key_at=lambda t: t,
            span=self.cfg.overlap,
            floor=stream.floor or 0.0,
        )

    async def _read(
        self, client: BlueskyClient, key: str, stream: StreamState, page: Page, now: float
    ) -> None:
        body, items = await self._page(client, key, stream.token)
        start = stream.start if stream.start is not None else 0.0
        oldest = self._absorb(key, items, stream, page, start, client.did)
        token = body.get("cursor") if isinstance(body.get("cursor"), str) else None
        if stream.prime or not items or oldest is None or oldest <= start:
            token = None
        stream.token, stream.rereads = paging.next_page(
            token,
            reached=paging.reaches_mark(stream.mark, oldest, unique=False),
            rereads=stream.rereads,
        )
        if token is None:
            self._end(stream, now)

    def _end(self, stream: StreamState, now: float) -> None:
        mark = paging.new_mark(stream.mark, stream.newest)
        if mark is None:
            mark = now if stream.prime else stream.start
        if stream.prime:
            stream.floor = mark  # the overlap never reaches back before the first run
        stream.mark = mark
        stream.start = stream.newest = stream.rereads = None
        stream.prime = False

    async def _page(
        self, client: BlueskyClient, key: str, token: str | None
    ) -> tuple[dict[str, Any], list[Any]]:
        from atproto import models

        limit = self.cfg.page_size
        if key == "mentions":
            params: Any = models.AppBskyNotificationListNotifications.Params(
                limit=limit, cursor=token, reasons=REASONS
            )
            body = await client.query("app.bsky.notification.listNotifications", params)
            items = body.get("notifications")
        else:
            params = models.AppBskyFeedSearchPosts.Params(
                q=key.removeprefix("search:"), sort="latest", limit=limit, cursor=token
            )
            try:
                body = await client.query("app.bsky.feed.searchPosts", params)
            except Rejected as exc:
                raise AuthError(f"bluesky rejected the search {key!r}: {exc}") from exc
            items = body.get("posts")
        return body, items if isinstance(items, list) else []

    def _absorb(
        self,
        key: str,
        items: list[Any],
        stream: StreamState,
        page: Page,
        start: float,
        own: str,
    ) -> float | None:
        """Map the page's items newer than ``start``; return the page's oldest ``indexedAt``."""
        indexed_at: list[float] = []

        def each(item: Any) -> Mention | None:
            indexed = when(item["indexedAt"])
            indexed_at.append(indexed)
            if key == "mentions" and item.get("reason") not in REASONS:
                return None
            stream.newest = max(stream.newest or indexed, indexed)
            if stream.prime or indexed <= start:
                return None
            return to_mention(item, own)

        absorb(page, items, each, f"bluesky[{self.name}]: {key}")
        return min(indexed_at, default=None)

    async def _ready(self) -> BlueskyClient:
        if self._client is None:
            self._client = BlueskyClient(self.cfg)
        await self._client.login()
        return self._client
