"""The ``webhook`` source: signed inbound webhooks (surveys, site feedback forms, Zapier...).

Senders POST JSON (one record or a list) to ``/webhooks/{source_name}`` with
``X-Repbot-Timestamp: <unix seconds>`` and ``X-Repbot-Signature: sha256=<hex>``, the HMAC-SHA256
of ``"{timestamp}.{body}"`` under the source's ``secret``. Requests older than ``max_age`` are
refused (replay protection). Records map to mentions like the file source's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any, ClassVar

from pydantic import Field, SecretStr, ValidationError

from repbot.errors import AuthError, MalformedRecord
from repbot.models import Mention, Page
from repbot.platforms import Platform
from repbot.records import record_to_mention
from repbot.sandbox import SandboxConfig, SandboxConnector

log = logging.getLogger(__name__)
TIMESTAMP_HEADER = "X-Repbot-Timestamp"
SIGNATURE_HEADER = "X-Repbot-Signature"


class WebhookConfig(SandboxConfig):
    """Options of the ``webhook`` source."""

    secret: SecretStr = Field(description="Shared HMAC secret; use ${ENV}.")
    platform: str = Field("webhook", description="Platform for records that do not name one.")
    kind: str = Field("survey", description="Mention kind for records that do not name one.")
    mapping: dict[str, str] = Field(
        default_factory=dict, description="Mention field -> record field (dotted)."
    )
    max_age: float = Field(300, gt=0, description="Seconds a signed request stays valid.")
    max_records: int = Field(1000, ge=1, description="Records accepted per request.")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value a sender must send."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookConnector(SandboxConnector):
    """Receives mentions pushed to the daemon; polling it returns nothing."""

    type_name: ClassVar[str] = "webhook"
    platform: ClassVar[str] = "webhook"
    platforms: ClassVar[tuple[Platform, ...]] = (Platform("webhook"),)
    can_reply: ClassVar[bool] = False
    accepts_push: ClassVar[bool] = True
    Config: ClassVar[type[WebhookConfig]] = WebhookConfig  # type: ignore[assignment]
    config: WebhookConfig

    async def fetch(self, cursor: str | None) -> Page:
        return Page(mentions=[], cursor=cursor)

    def receive(self, headers: dict[str, str], body: bytes) -> Page:
        self.verify(headers, body)
        mentions, malformed = self.parse(body)
        return Page(mentions=mentions, malformed=malformed)

    def verify(self, headers: dict[str, str], body: bytes, now: float | None = None) -> None:
        """Raise AuthError unless the request is signed with our secret and fresh."""
        named = {key.lower(): value for key, value in headers.items()}  # names ignore case
        timestamp = named.get(TIMESTAMP_HEADER.lower(), "")
        signature = named.get(SIGNATURE_HEADER.lower(), "")
        try:
            age = abs((now or time.time()) - float(timestamp))
        except ValueError as exc:
            raise AuthError("missing or invalid timestamp") from exc
        if not math.isfinite(age) or not timestamp.isascii():
            raise AuthError("missing or invalid timestamp")
        if age > self.config.max_age:
            raise AuthError("stale request")
        expected = sign(self.config.secret.get_secret_value(), timestamp, body)
        given = signature.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected.encode(), given):
            raise AuthError("bad signature")

    def parse(self, body: bytes) -> tuple[list[Mention], int]:
        """Mentions from a verified body, and how many records were malformed (logged).

        Raises MalformedRecord when the body as a whole is not UTF-8 JSON (one record or a list).
        """
        records = _records(body)
        if len(records) > self.config.max_records:
            raise MalformedRecord(f"more than {self.config.max_records} records")
        mentions, malformed = [], 0
        for index, record in enumerate(records):
            try:
                if not isinstance(record, dict):
                    raise ValueError("record is not a JSON object")
                mentions.append(
                    record_to_mention(
                        record, self.config.mapping, self.config.platform, self.config.kind
                    )
                )
            except Exception as exc:  # noqa: BLE001 - any record that does not map is malformed
                malformed += 1
                log.warning(
                    "skipped malformed webhook record source=%s index=%d error=%s",
                    self.name,
                    index,
                    _short(exc),
                )
        return mentions, malformed


def _records(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRecord(f"body is not UTF-8 (byte {exc.start})") from exc
    try:
        payload: Any = json.loads(text)
    except ValueError as exc:
        raise MalformedRecord(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedRecord("body is not JSON: nested too deeply") from exc
    return payload if isinstance(payload, list) else [payload]


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )[:200]
    return (str(exc) or type(exc).__name__)[:200]
