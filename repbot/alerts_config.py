"""The operations parts of the ``alerts`` config section: SLA targets, the crisis detector,
source silence, per-kind switches and cool-downs, digests (issue 16)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from repbot.durations import Duration

Destination = Literal["slack", "webhook"]
ALERT_KINDS = (
    "auth",
    "failing",
    "recovered",
    "silent",
    "sla_warning",
    "sla_breach",
    "crisis",
    "crisis_update",
    "crisis_over",
    "post_budget",
)
"""Kinds an operator can switch off or give a cool-down (others are always delivered)."""
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHours(BaseModel):
    """Office hours in ``brand.timezone``: SLA clocks only run inside them."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(9, ge=0, le=23, description="First hour of the working day.")
    end: int = Field(17, ge=1, le=24, description="Hour the working day ends.")
    days: list[str] = Field(default_factory=lambda: list(_DAYS[:5]))

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in _DAYS]
        if bad or not value:
            raise ValueError(f"days must be a non-empty list of {', '.join(_DAYS)}")
        return value

    @model_validator(mode="after")
    def _order(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SlaConfig(BaseModel):
    """Response-time targets: from arrival to a human decision."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    urgent: Duration = Field(3600.0, description="Target for items at or above urgent_threshold.")
    reviews: Duration = Field(86400.0, description="Target for reviews (kind review).")
    default: Duration = Field(14400.0, description="Target for everything else.")
    urgent_threshold: float = Field(0.7, ge=0, le=1)
    warn_at: float = Field(0.75, gt=0, lt=1, description="Warn at this share of the target.")
    business_hours: BusinessHours | None = None


class CrisisConfig(BaseModel):
    """The crisis / spike detector: volume and negative share against a rolling baseline."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    interval: Duration = Field(900.0, description="Length of one counted interval.")
    baseline_intervals: int = Field(48, ge=4, le=2000)
    min_volume: int = Field(10, ge=1, description="No alert below this many mentions.")
    threshold: float = Field(4.0, gt=0, description="Robust z-score (median/MAD) to alert.")
    min_ratio: float = Field(2.0, ge=1, description="And at least this multiple of the median.")
    negative_delta: float = Field(0.3, gt=0, le=1, description="Rise in negative share.")
    min_negative: int = Field(5, ge=1)
    over_after: Duration = Field(1800.0, description="Quiet this long: the incident is over.")
    update_every: Duration = Field(900.0, description="At most one update per this long.")
    cooldown: Duration = Field(7200.0, description="No new incident alert this long after one.")
    examples: int = Field(3, ge=1, le=10)


def _both() -> list[Destination]:
    return ["slack", "webhook"]


class KindConfig(BaseModel):
    """One alert kind's switch, cool-down and destinations."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    cooldown: Duration | None = Field(None, description="Deliver at most one per source per this.")
    to: list[Destination] = Field(default_factory=_both)


class DigestConfig(BaseModel):
    """Daily and weekly digests posted to Slack."""

    model_config = ConfigDict(extra="forbid")

    daily: bool = False
    weekly: bool = False
    hour: int = Field(8, ge=0, le=23, description="Local hour (brand.timezone) to post at.")
    channel: str | None = Field(None, description="Default: alerts.slack_channel.")
    top_issues: int = Field(5, ge=1, le=20)


class OpsAlertsMixin(BaseModel):
    """Keys of ``alerts`` added by issue 16 (mixed into ``AlertsConfig``)."""

    urgent_channel: str | None = Field(
        None, description="Crisis and urgent SLA alerts (default: approval.slack.urgent_channel)."
    )
    console_url: str | None = Field(
        None, description="Base URL of the web console for links (default: server host:port)."
    )
    sla: SlaConfig = Field(default_factory=SlaConfig)
    crisis: CrisisConfig = Field(default_factory=CrisisConfig)
    silent_after: dict[str, Duration] = Field(
        default_factory=dict,
        description="Source name (or 'default') -> silence that raises an alert.",
    )
    kinds: dict[str, KindConfig] = Field(default_factory=dict)
    digest: DigestConfig = Field(default_factory=DigestConfig)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict[str, KindConfig]) -> dict[str, KindConfig]:
        bad = sorted(set(value) - set(ALERT_KINDS))
        if bad:
            raise ValueError(f"unknown alert kind(s) {', '.join(bad)}; known: {ALERT_KINDS}")
        return value

    def kind(self, name: str) -> KindConfig:
        """The settings of alert kind ``name`` (defaults when not configured)."""
        return self.kinds.get(name) or KindConfig()
