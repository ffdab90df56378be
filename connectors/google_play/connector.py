"""Google Play connector: an app's reviews through the Android Publisher API v3
(google-api-python-client, service-account credentials), replies with ``reviews.reply``.

``reviews.list`` only returns the reviews created or modified in the last seven days, newest
modification first, ``maxResults`` up to 100 with a ``token`` for the next page. A sweep reads
pages until it reaches reviews modified before the newest one delivered (lowered by
``overlap``, at most one page of them), so a quiet app costs one request per poll; an edited
review comes back at the top and is re-emitted with its new ``updated_at``. The connector keeps
inside the API's quota (200 GET requests per hour) with its own budget and never sleeps or
retries: it raises :class:`~repbot.errors.RateLimited`, :class:`~repbot.errors.TransientError`
or :class:`~repbot.errors.AuthError` and the runner acts.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from repbot.connector import ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import Limit, Platform

from .._google import BadRequest, Budget, GoogleConnector, build_service
from . import mapping
from .config import GooglePlayConfig

if TYPE_CHECKING:
    from google.oauth2 import service_account

log = logging.getLogger(__name__)
SERVICE = "Google Play"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
REPLY_MAX_CHARS = 350


@dataclass
class PlayCursor:
    """The persisted position: the newest ``lastModified`` delivered (epoch ms) and, during a
    sweep, its next page, lowest modification time and newest one seen."""

    mark: int | None = None
    token: str | None = None
    cut: int | None = None
    newest: int | None = None

    @classmethod
    def load(cls, text: str | None) -> PlayCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            token = data.get("t")
            return cls(
                _int_or_none(data.get("m")),
                None if token is None else str(token),
                _int_or_none(data.get("c")),
                _int_or_none(data.get("n")),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("google_play: ignoring unreadable cursor (%s); starting afresh", exc)
            return cls()

    def dump(self) -> str:
        """Compact JSON."""
        data = {"v": 1, "m": self.mark, "t": self.token, "c": self.cut, "n": self.newest}
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))


class GooglePlayConnector(GoogleConnector):
    """Listens to an app's Google Play reviews and replies to them."""

    type_name: ClassVar[str] = "google_play"
    platform: ClassVar[str] = "google_play"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("google_play", "review", Limit(REPLY_MAX_CHARS), can_reply=True, emoji=":iphone:"),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = GooglePlayConfig
    service: ClassVar[str] = SERVICE
    gone: ClassVar[str] = "deleted, or outside the API's window"
    stamped: ClassVar[str] = "userComment.lastModified"

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, GooglePlayConfig)
        self.cfg: GooglePlayConfig = config
        self.budget = Budget(config.requests_per_hour, 3600.0)
        self._reviews: Any = None

    # ---- public API ---------------------------------------------------------------------

    # ---- sync side (worker thread) ---------------------------------------------------------

    def _forget_services(self) -> None:
        self._reviews = None

    def _api(self) -> Any:
        if self._reviews is None:
            credentials, token_uri = self._credentials()
            authed = self._authorized(credentials, timeout=self.cfg.timeout, token_uri=token_uri)
            service = build_service("androidpublisher", "v3", authed, self.cfg.api_base_url)
            self._reviews = service.reviews()
        return self._reviews

    def _credentials(self) -> tuple[service_account.Credentials, str]:
        import google.auth.exceptions
        from google.oauth2 import service_account

        path = Path(self.cfg.service_account_file).expanduser()
        path = path if path.is_absolute() else self.base_dir / path
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[SCOPE]
            )
        except (OSError, ValueError, KeyError, google.auth.exceptions.GoogleAuthError) as exc:
            kind = type(exc).__name__
            raise AuthError(
                f"{SERVICE}: the service account key {path} is unusable ({kind}); download a "
                "JSON key of the service account from the Google Cloud console"
            ) from None
        token_uri = self.cfg.token_uri or str(info.get("token_uri") or "")
        if self.cfg.token_uri:
            credentials = credentials.with_token_uri(self.cfg.token_uri)  # type: ignore[no-untyped-call]
        return credentials, token_uri

    def _fetch(self, cursor: str | None) -> Page:
        state = PlayCursor.load(cursor)
        page = Page()
        for pages in range(self.cfg.max_pages_per_poll):
            if not self._may_send(pages, f"{self.cfg.requests_per_hour} requests per hour"):
                break
            if state.cut is None:
                self._begin(state)
            if self._read(state, page):
                break
        page.has_more = state.token is not None
        page.cursor = state.dump()
        return page

    def _begin(self, state: PlayCursor) -> None:
        if state.mark is None:
            state.cut = int(time.time() * 1000) - int(self.cfg.initial_lookback * 1000)
        else:
            state.cut = state.mark - int(self.cfg.overlap * 1000)
        state.newest = None

    def _read(self, state: PlayCursor, page: Page) -> bool:
        """One page; True when the sweep is finished."""
        try:
            body = self._list(state.token)
        except BadRequest:
            if state.token is None:
                raise
            log.warning("google_play[%s]: page token refused; sweep restarts", self.name)
            state.token = state.cut = state.newest = None
            return True
        reached = self._take(
            page,
            body.get("reviews") or [],
            state,
            lambda review: mapping.to_mention(review, self.cfg.package_name),
        )
        token = (body.get("tokenPagination") or {}).get("nextPageToken")
        if reached or not token:
            if state.newest is not None:
                state.mark = max(state.mark or 0, state.newest)
            elif state.mark is None:
                state.mark = state.cut
            state.token = state.cut = state.newest = None
            return True
        state.token = str(token)
        return False

    def _list(self, token: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {
            "packageName": self.cfg.package_name,
            "maxResults": self.cfg.page_size,
        }
        if token:
            options["token"] = token
        if self.cfg.translation_language:
            options["translationLanguage"] = self.cfg.translation_language
        body = self._execute(self._api().list(**options), f"reviews of {self.cfg.package_name}")
        if not isinstance(body, dict) or not isinstance(body.get("reviews", []), list):
            raise ConnectorError(f"{SERVICE}: reviews.list did not return a review list")
        return body

    def _stamp(self, review: Any) -> datetime | None:
        return mapping.modified(review)

    # ---- replies -------------------------------------------------------------------------

    def _reply(self, mention: Mention, text: str) -> PostedReply:
        """Reply to a review, or replace our reply (``reviews.reply``, at most 350 chars)."""
        if len(text) > REPLY_MAX_CHARS:
            raise PostError(
                f"{SERVICE}: a reply is at most {REPLY_MAX_CHARS} characters ({len(text)})",
                transient=False,
            )
        request = self._api().reply(
            packageName=self.cfg.package_name,
            reviewId=mention.external_id,
            body={"replyText": text},
        )
        self._post(request, "reply")
        return PostedReply(external_id=f"{mention.external_id}/reply", url=mention.url)

    def _find_reply(self, mention: Mention) -> PostedReply | None:
        """The review's developer reply if it has one (made by us or in the Play Console)."""
        request = self._api().get(packageName=self.cfg.package_name, reviewId=mention.external_id)
        body = self._post(request, "review look-up")
        if not isinstance(body, dict) or mapping.owner_reply(body, None) is None:
            return None
        return PostedReply(external_id=f"{mention.external_id}/reply", url=mention.url)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
