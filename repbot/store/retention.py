"""How long the store keeps what only audits need: the ``retention:`` section of the config."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class RetentionConfig(BaseModel):
    """What ``repbot prune`` may delete, counted from when a closed item was last changed.

    Only closed items (posted, rejected, skipped) are pruned; open items, decisions, drafts,
    posts and the response-time figures are kept whatever the settings.
    """

    model_config = ConfigDict(extra="forbid")

    raw_payload_days: float | None = Field(
        30,
        ge=0,
        description="Keep a closed item's original platform payload this long (null: forever).",
    )
    audit_days: float | None = Field(
        365, ge=0, description="Keep a closed item's audit trail this long (null: forever)."
    )

    def cutoffs(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(raw payload cutoff, audit cutoff) for a prune run at ``now``."""
        return _before(now, self.raw_payload_days), _before(now, self.audit_days)


def _before(now: datetime, days: float | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)
