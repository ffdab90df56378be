"""An OpenAI-compatible chat-completions client over aiohttp, with retries and backoff."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from repbot.errors import RepbotError
from repbot.respond.config import LLMConfig

log = logging.getLogger(__name__)
Message = dict[str, str]
Sleep = Callable[[float], Awaitable[None]]
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LLMError(RepbotError):
    """The LLM endpoint failed, timed out or answered something unusable."""


class ChatClient(Protocol):
    """Anything that completes a chat: the real client below, or a fake in tests."""

    async def complete(self, messages: list[Message]) -> str:
        """Return the assistant's reply to ``messages``."""
        ...


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def extract_text(payload: Any) -> str:
    """The first choice's message content of a chat-completions response."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"unexpected response shape: {exc!r}") from exc
    if not isinstance(content, str) or not content.strip():
        raise LLMError("empty completion")
    return content.strip()


class OpenAIChatClient:
    """POST ``{base_url}/chat/completions``; retries 429/5xx/timeouts honouring Retry-After."""

    def __init__(
        self,
        cfg: LLMConfig,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.cfg = cfg
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.cfg.api_key is not None:
            secret = self.cfg.api_key.get_secret_value()
            if self.cfg.api_key_header.lower() == "authorization":
                headers["Authorization"] = f"Bearer {secret}"
            else:
                headers[self.cfg.api_key_header] = secret
        return headers

    def _body(self, messages: list[Message]) -> dict[str, Any]:
        return {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        }

    def _delay(self, attempt: int, hinted: float | None) -> float:
        if hinted is not None:
            return min(hinted, self.cfg.max_backoff)
        base: float = self.cfg.backoff * 2.0**attempt
        return min(base * (1.0 + random.random() * 0.25), self.cfg.max_backoff)

    async def _session_(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _once(self, messages: list[Message]) -> tuple[str | None, float | None, str]:
        """One request: (text, retry-after hint, error); text None means retryable failure."""
        session = await self._session_()
        url = self.cfg.base_url.rstrip("/") + "/chat/completions"
        timeout = aiohttp.ClientTimeout(total=self.cfg.timeout)
        async with session.post(
            url,
            json=self._body(messages),
            headers=self._headers(),
            params=self.cfg.query or None,
            timeout=timeout,
        ) as resp:
            if resp.status in RETRY_STATUS:
                return None, retry_after(resp.headers.get("Retry-After")), f"HTTP {resp.status}"
            if resp.status >= 400:
                raise LLMError(f"HTTP {resp.status} from the LLM endpoint")
            try:
                payload = await resp.json(content_type=None)
            except ValueError as exc:
                raise LLMError(f"malformed JSON from the LLM endpoint: {exc}") from exc
            return extract_text(payload), None, ""

    async def complete(self, messages: list[Message]) -> str:
        """Return the completion, retrying up to ``cfg.retries`` times; raise LLMError."""
        error = "no attempt"
        for attempt in range(self.cfg.retries + 1):
            hint: float | None = None
            try:
                text, hint, error = await self._once(messages)
                if text is not None:
                    return text
            except (TimeoutError, aiohttp.ClientError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.cfg.retries:
                delay = self._delay(attempt, hint)
                log.info("LLM attempt %d failed (%s); retrying in %.1fs", attempt + 1, error, delay)
                await self._sleep(delay)
        raise LLMError(f"LLM failed after {self.cfg.retries + 1} attempt(s): {error}")

    async def aclose(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None
