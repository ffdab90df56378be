"""feedparser entries as repbot mentions; HTML to plain text."""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from repbot.models import Author, Mention

MAX_ID_CHARS = 400
_BLOCKS = {"p", "br", "div", "li", "blockquote", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(self._skip - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """The visible text of an HTML fragment: tags dropped, entities decoded, blocks on lines."""
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.parts))
    return _LINES.sub("\n", text).strip()


def unwrap_link(link: str) -> str:
    """The article address behind a Google Alerts redirect (``google.com/url?url=…``)."""
    parts = urlsplit(link)
    if parts.hostname in ("www.google.com", "google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q")
        if target and target[0].startswith(("http://", "https://")):
            return target[0]
    return link


def entry_id(entry: Any) -> str:
    """The entry's stable id: ``id``/``guid``, else its link (long ones hashed)."""
    value = entry.get("id") or entry.get("link")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("entry has neither an id nor a link")
    value = value.strip()
    if len(value) > MAX_ID_CHARS:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def to_mention(entry: Any, feed: Any, feed_url: str, now: datetime) -> Mention:
    """One feedparser entry as an ``article`` mention; raises on an entry that does not map."""
    external_id = entry_id(entry)
    link = entry.get("link")
    url = unwrap_link(link) if isinstance(link, str) and link else None
    title = html_text(str(entry.get("title") or "")) or None
    text = html_text(_body(entry))
    if not text and not title:
        raise ValueError("entry has no title and no text")
    source = str(feed.get("title") or urlsplit(feed_url).hostname or feed_url)
    author_name = entry.get("author")
    handle = (urlsplit(url).hostname if url else None) or source
    return Mention(
        platform="rss",
        external_id=external_id,
        url=url,
        kind="article",
        author=Author(handle=handle, display_name=author_name or None),
        title=title,
        text=text or title or "",
        created_at=_when(entry) or now,
        language=_language(entry, feed),
        community=source,
        raw={
            "id": external_id,
            "link": link,
            "title": entry.get("title"),
            "published": entry.get("published") or entry.get("updated"),
            "summary": str(entry.get("summary") or "")[:4_000],
            "feed": feed_url,
        },
    )


def _body(entry: Any) -> str:
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        value = content[0].get("value")
        if isinstance(value, str) and value.strip():
            return value
    return str(entry.get("summary") or "")


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _language(entry: Any, feed: Any) -> str | None:
    detail = entry.get("title_detail") or {}
    value = detail.get("language") if isinstance(detail, dict) else None
    value = value or feed.get("language")
    if not isinstance(value, str) or not value.strip():
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def matches(mention: Mention, keywords: list[str]) -> bool:
    """Whether the mention's title or text contains one of ``keywords`` (all when empty)."""
    if not keywords:
        return True
    haystack = f"{mention.title or ''}\n{mention.text}".lower()
    return any(word in haystack for word in keywords)
