"""Hostile input, property-based: every connector's payload mapping (11 platforms) gets
arbitrary JSON shaped like its records (keys taken from the mapping's own source). A mapping
returns a mention or None, or raises only what its connector counts as malformed; a mention it
returns is kept by the store, or refused as unstorable, and never raises there. Webhook and
Slack endpoint fuzzing live in tests/test_hardening_ingest.py and tests/test_hardening_http.py;
the config loader's here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repbot.config import parse_config
from repbot.connectors.app_store import mapping as app_store
from repbot.connectors.bluesky import mapping as bluesky
from repbot.connectors.google_business import mapping as google_business
from repbot.connectors.google_play import mapping as google_play
from repbot.connectors.hackernews import mapping as hackernews
from repbot.connectors.mastodon import mapping as mastodon
from repbot.connectors.reddit import mapping as reddit
from repbot.connectors.rss import mapping as rss
from repbot.connectors.trustpilot import mapping as trustpilot
from repbot.connectors.x import mapping as x
from repbot.connectors.yelp import mapping as yelp
from repbot.errors import ConfigError, MalformedRecord
from repbot.models import Mention
from repbot.store import SqliteStore

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ANY = (Exception,)  # connectors that count any exception of the mapping as a malformed record
NARROW = (MalformedRecord, ValueError)  # google_business and google_play catch only these

MAPPINGS: dict[str, tuple[Any, Callable[[Any], Mention | None], tuple[type[Exception], ...]]] = {
    "app_store": (app_store, lambda r: app_store.to_mention(r, "123"), ANY),
    "bluesky": (bluesky, lambda r: bluesky.to_mention(r, "did:plc:own"), ANY),
    "google_business": (  # as the connector calls it: only reviews with a readable time
        google_business,
        lambda r: (
            None
            if google_business.updated(r) is None
            else google_business.to_mention(r, google_business.Location("accounts/1/l/2"))
        ),
        NARROW,
    ),
    "google_play": (
        google_play,
        lambda r: (
            None if google_play.modified(r) is None else google_play.to_mention(r, "com.acme")
        ),
        NARROW,
    ),
    "hackernews": (hackernews, hackernews.to_mention, ANY),
    "mastodon": (mastodon, lambda r: mastodon.to_mention(r, "1"), ANY),
    "reddit": (reddit, lambda r: reddit.to_mention(r, "acme", lambda _: 5, lambda _: 9), ANY),
    "rss": (rss, lambda r: rss.to_mention(r, {"title": "t"}, "https://f.example/rss", NOW), ANY),
    "trustpilot": (trustpilot, lambda r: trustpilot.to_mention(r, "unit1"), ANY),
    "x": (x, lambda r: x.to_mention(r, {"1": {"id": "1", "username": "u"}}, "9"), ANY),
    "yelp": (yelp, lambda r: yelp.to_mention(r, "biz", ZoneInfo("UTC")), ANY),
}
HOSTILE_TEXT = st.sampled_from(
    [
        "'; DROP TABLE mentions; --",
        "{{ 7*7 }} {% raw %}",
        "<script>alert(1)</script>",
        "\x00\ud800 \u202e",
        "2026-13-45T99:99:99Z",
        "9" * 40,
    ]
)


def _keys(module: Any) -> list[str]:
    source = Path(module.__file__).read_text(encoding="utf-8")
    return sorted(set(re.findall(r"""(?:get\(|\[)["']([A-Za-z_][\w]*)["']""", source)))


def _leaves() -> st.SearchStrategy[Any]:
    numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
    return st.none() | st.booleans() | numbers | st.text(max_size=30) | HOSTILE_TEXT


def _records(keys: list[str]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(keys) | st.text(max_size=5)
    return st.recursive(
        _leaves(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=8),
        max_leaves=25,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    db = SqliteStore(tmp_path_factory.mktemp("fuzz") / "repbot.db")
    yield db
    db.close()


@pytest.mark.parametrize("platform", sorted(MAPPINGS))
def test_every_mapping_survives_hostile_records(platform: str, store: SqliteStore) -> None:
    module, call, allowed = MAPPINGS[platform]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(record=_records(_keys(module)))
    def check(record: Any) -> None:
        try:
            mention = call(record)
        except allowed:
            return
        assert mention is None or isinstance(mention, Mention)
        if mention is not None:
            result = store.ingest(f"fuzz-{platform}", [mention], None)  # never raises
            assert len(result.new_ids) + result.duplicates + len(result.rejected) == 1

    check()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(review=_records(_keys(google_business)))
def test_google_review_times_read_before_mapping_never_raise(review: Any) -> None:
    """Called outside the connectors' try: must answer None for anything it cannot read."""
    for value in (google_business.updated(review), google_play.modified(review)):
        assert value is None or isinstance(value, datetime)


@pytest.mark.parametrize(
    "text",
    ["'; DROP TABLE mentions; --", "{{ brand.name }}{% if 1 %}x{% endif %}", "<b>&amp;</b>"],
)
def test_injection_strings_are_stored_verbatim(text: str, store: SqliteStore) -> None:
    tweet = {
        "id": str(100 + len(text)),
        "text": text,
        "author_id": "1",
        "created_at": "2026-12-01T10:00:00Z",
    }
    mention = x.to_mention(tweet, {"1": {"id": "1", "username": "eve"}}, "9")
    assert mention is not None and mention.text == text
    [item_id] = store.ingest("verbatim", [mention], None).new_ids
    assert store.get(item_id).mention.text == text


CONFIG_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["${REPBOT_FUZZ_UNSET}", "*a", "&a x", "!!python/object:os.system", "1e999"])
)
CONFIG_KEYS = st.sampled_from(
    ["brand", "name", "store", "path", "sources", "type", "interval", "server", "port",
     "approval", "slack", "web", "pipeline", "tick", "classifier", "model", "alerts", "logging"]
)  # fmt: skip


def _yaml(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        return "".join(f"{pad}{k}:\n{_yaml(v, indent + 2)}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return "".join(f"{pad}-\n{_yaml(v, indent + 2)}" for v in value) or f"{pad}[]\n"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{pad}.nan\n"
    return f"{pad}{value!r}\n" if isinstance(value, str) else f"{pad}{value}\n"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    doc=st.recursive(
        CONFIG_LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CONFIG_KEYS, inner, max_size=5),
        max_leaves=20,
    )
    | st.text(max_size=200)
)
def test_config_loader_answers_any_document_with_a_config_or_a_config_error(doc: Any) -> None:
    text = doc if isinstance(doc, str) else _yaml(doc)
    try:
        parse_config(text)
    except ConfigError as exc:
        assert str(exc).strip()  # a clear message, never an empty one
