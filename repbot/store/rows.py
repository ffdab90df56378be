"""Row conversion shared by the SQLite and PostgreSQL stores: rows to Items, Decisions and the
other records, the JSON and ISO-time forms both keep, and the per-mention ingest rules.

A row is anything indexed by column name (``sqlite3.Row``, or a dict of the values the SQLite
store keeps: ISO text for times, JSON text for JSON); the PostgreSQL store converts its rows to
that form before calling these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from repbot.models import Mention, State, utcnow
from repbot.store.accounts import UserRecord
from repbot.store.base import Claim, Decision, IngestResult, Item, SlackMessage
from repbot.store.ops import OpsRow
from repbot.store.queueing import HistoryEntry
from repbot.store.threads import Turn


class Row(Protocol):
    """A database row read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]:
        """The row's column names."""
        ...


class Positional(Protocol):
    """A database row read by column position."""

    def __getitem__(self, index: int, /) -> Any: ...


def to_iso(value: datetime | None) -> str | None:
    """A time as the ISO text both stores exchange (microseconds; None stays None)."""
    return value.isoformat(timespec="microseconds") if value else None


def from_iso(value: str | None) -> datetime | None:
    """The time ``to_iso`` wrote (None or empty: None)."""
    return datetime.fromisoformat(value) if value else None


def slack_message_of(row: Row) -> SlackMessage:
    """A ``slack_messages`` row joined with its mention (``s_`` columns, ``item_version``)."""
    return SlackMessage(
        mention_id=row["s_mention_id"],
        channel=row["s_channel"],
        ts=row["s_ts"],
        state=State(row["s_state"]),
        episode=row["s_episode"],
        version=row["s_version"],
        sig=row["s_sig"],
        intent_at=datetime.fromisoformat(row["s_intent_at"]),
        item_version=str(row["item_version"]),
    )


def histogram_summary(buckets: list[tuple[int, int, int]]) -> dict[str, float]:
    """count, p50 and p95 (seconds, the middle of the bucket) from (lo ms, hi ms, n) rows."""
    total = sum(n for _, _, n in buckets)
    if total <= 0:
        return {"count": 0}
    ranks = {"p50": total // 2, "p95": min(total - 1, int(total * 0.95))}
    out: dict[str, float] = {"count": float(total)}
    seen = 0
    for lo, hi, n in buckets:
        for name, rank in ranks.items():
            if name not in out and rank < seen + n:
                out[name] = (lo + max(lo, hi - 1)) / 2 / 1000
        seen += n
    return out


def json_text(value: Any) -> str:
    """``value`` as compact JSON text (anything unknown as its ``str``)."""
    return json.dumps(value, separators=(",", ":"), default=str)


def mention_to_json(mention: Mention) -> str:
    """The stored form: compact, defaults left out, the raw payload kept apart."""
    return mention.model_dump_json(exclude={"raw"}, exclude_defaults=True)


def turn_of(row: Row) -> Turn:
    """A mention row as one turn of its conversation."""
    mention = json.loads(row["mention_json"])
    owner = mention.get("owner_reply") or {}
    return Turn(
        mention_id=row["id"],
        author=(mention.get("author") or {}).get("handle", ""),
        text=mention.get("text", ""),
        rating=mention.get("rating"),
        created_at=datetime.fromisoformat(mention["created_at"].replace("Z", "+00:00")),
        state=State(row["state"]),
        reply=owner.get("text") or (row["final_text"] if row["state"] == "posted" else None),
        replied_at=from_iso(row["posted_at"]),
    )


@dataclass(frozen=True)
class IngestOutcome:
    """What ingesting one mention did."""

    mention_id: int
    new: bool
    revised: bool
    answered: bool


def count_outcome(result: IngestResult, outcome: IngestOutcome) -> None:
    """Add what one ingested mention did to the page's result."""
    if outcome.new:
        result.new_ids.append(outcome.mention_id)
    if outcome.revised:
        result.revised_ids.append(outcome.mention_id)
    if outcome.answered:
        result.answered_ids.append(outcome.mention_id)


def is_newer(new: datetime | None, old: datetime | None) -> bool:
    """Whether ``new`` is a later edit time than ``old`` (None: never edited)."""
    return new is not None and (old is None or new > old)


def is_revision(old: dict[str, Any], mention: Mention) -> bool:
    """Whether ``mention`` is an edit of the stored ``old``: its text, title or rating changed
    and it is not an older version (an ``updated_at`` before the stored one)."""
    changed = (old.get("text", ""), old.get("title"), old.get("rating")) != (
        mention.text,
        mention.title,
        mention.rating,
    )
    stored = from_iso(old.get("updated_at"))
    stale = mention.updated_at is not None and stored is not None and mention.updated_at <= stored
    return changed and not stale


def mention_of(row: Row) -> Mention:
    """The stored mention of a row, with its raw payload when the row carries ``raw_json``."""
    raw = row["raw_json"] if "raw_json" in row.keys() else None  # noqa: SIM118 - a Row
    if not raw:
        return Mention.model_validate_json(row["mention_json"])
    return Mention.model_validate({**json.loads(row["mention_json"]), "raw": json.loads(raw)})


def item_of(row: Row) -> Item:
    """A ``mentions`` row (with ``draft_text``, ``draft_meta``, maybe ``raw_json``) as an Item."""
    analysis = json.loads(row["analysis_json"]) if row["analysis_json"] else {}
    return Item(
        id=row["id"],
        source=row["source"],
        mention=mention_of(row),
        state=State(row["state"]),
        ingested_at=datetime.fromisoformat(row["ingested_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        analysis=analysis,
        sentiment=row["sentiment"],
        intent=row["intent"],
        urgency=row["urgency"],
        draft=row["draft_text"],
        draft_meta=json.loads(row["draft_meta"]) if row["draft_meta"] else {},
        final_text=row["final_text"],
        skip_reason=row["skip_reason"],
        snooze_until=from_iso(row["snooze_until"]),
        next_attempt_at=from_iso(row["next_attempt_at"]),
        posted_url=row["posted_url"],
        decided_by=row["decided_by"],
        post_after=from_iso(row["post_after"]),
        revisions=row["revisions"],
        original_rating=row["original_rating"],
        revised_at=from_iso(row["revised_at"]),
        conversation_id=row["conversation_id"],
    )


def claim_of(row: Row) -> Claim:
    """A ``claims`` row as a Claim."""
    return Claim(
        mention_id=row["mention_id"],
        identity=row["identity"],
        actor=row["actor"],
        claimed_at=datetime.fromisoformat(row["claimed_at"]),
        expires=datetime.fromisoformat(row["expires_at"]),
    )


def decision_of(row: Row, duplicate: bool = False) -> Decision:
    """A ``decisions`` row as a Decision (``duplicate``: a repeated dedupe key found it)."""
    return Decision(
        id=row["id"],
        mention_id=row["mention_id"],
        action=row["action"],
        actor=row["actor"],
        text=row["text"],
        reason=row["reason"],
        created_at=datetime.fromisoformat(row["created_at"]),
        duplicate=duplicate,
    )


def decided_fields(
    to: State,
    now: datetime,
    actor: str,
    text: str | None,
    snooze_until: datetime | None,
    posted_url: str | None,
) -> dict[str, Any]:
    """The mention columns a decision that leads to ``to`` writes."""
    if to is State.POSTED:
        return {"posted_at": to_iso(now), "posted_url": posted_url}
    fields: dict[str, Any] = {"decided_at": to_iso(now), "decided_by": actor}
    if to is State.APPROVED:
        fields.update(
            final_text=text,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            post_after=to_iso(now),
        )
    if to is State.SNOOZED:
        fields["snooze_until"] = to_iso(snooze_until)
    return fields


def user_of(row: Row) -> UserRecord:
    """A ``users`` row as a record (section 13A)."""
    return UserRecord(
        id=int(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        password_hash=str(row["password_hash"]),
        slack_user_id=row["slack_user_id"],
        disabled=bool(row["disabled"]),
        session_epoch=int(row["session_epoch"]),
        created_at=from_iso(row["created_at"]) or utcnow(),
        last_login_at=from_iso(row["last_login_at"]),
    )


def history_entry_of(row: Row, decided: list[Decision]) -> HistoryEntry:
    """A row of a customer's earlier mention, with its decisions, as a HistoryEntry."""
    data = json.loads(row["mention_json"])
    return HistoryEntry(
        mention_id=row["id"],
        platform=row["platform"],
        kind=str(data.get("kind", "post")),
        created_at=datetime.fromisoformat(row["created_at"]),
        text=str(data.get("text", "")),
        state=State(row["state"]),
        reply=row["reply"],
        posted_url=row["posted_url"],
        decisions=decided,
    )


def ops_row_of(r: Positional) -> OpsRow:
    """A row of the operations columns (in their fixed order) as an OpsRow."""
    return OpsRow(
        r[0], r[1], r[2], r[3], r[4], from_iso(r[5]) or utcnow(), r[6], r[7], int(r[8] or 0), r[9],
        r[10], r[11], r[12], r[13], from_iso(r[14]), from_iso(r[15]), from_iso(r[16]),
        from_iso(r[17]), r[18],
    )  # fmt: skip
