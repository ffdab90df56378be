"""The ``approval`` config section: Slack and the built-in web console."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from repbot.secrets import Secret


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (``127.0.0.1``, ``[::1]``, ``localhost`` ...) is only reachable locally."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone; raises ValueError otherwise."""
    from zoneinfo import ZoneInfo

    if value == "UTC":
        return value
    try:
        ZoneInfo(value)
    except (ValueError, OSError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(_bad_zone(value)) from exc
    return value


def _bad_zone(value: str) -> str:
    return f"unknown time zone {value[:60]!r} (use an IANA name such as 'Europe/Paris' or 'UTC')"


class SlackConfig(BaseModel):
    """Approval in Slack (Socket Mode by default, or HTTP mode on ``/slack/events``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Set false to keep the keys but not connect.")
    mode: Literal["socket", "http"] = "socket"
    bot_token: Secret | None = Field(None, description="xoxb- bot token.")
    app_token: Secret | None = Field(None, description="xapp- app-level token (socket mode).")
    signing_secret: Secret | None = Field(None, description="Signing secret (http mode).")
    channel: str = Field("", description="Channel id (C...) where drafts are posted.")
    urgent_channel: str | None = Field(None, description="Channel for urgent drafts.")
    urgent_threshold: float = Field(0.7, ge=0, le=1)
    approvers: list[str] = Field(
        default_factory=list, description="User (U...) or group (S...) ids."
    )
    two_person_threshold: float | None = Field(None, ge=0, le=1)
    api_base_url: str | None = Field(None, description="Web API base URL (tests, benchmarks).")

    def missing(self) -> list[tuple[str, str]]:
        """``(key, problem)`` for each key the chosen mode needs and lacks."""
        found = []
        if self.bot_token is None:
            found.append(("bot_token", "required (xoxb- bot token)"))
        if self.mode == "socket" and self.app_token is None:
            found.append(("app_token", "required in socket mode (xapp- token)"))
        if self.mode == "http" and self.signing_secret is None:
            found.append(("signing_secret", "required in http mode"))
        if not self.channel.strip():
            found.append(("channel", "required (channel id, C...)"))
        return found

    def problems(self) -> list[str]:
        """What is missing for the chosen mode (empty when the section can be used)."""
        return [f"approval.slack.{key}: {problem}" for key, problem in self.missing()]


class WebConfig(BaseModel):
    """The web console served at ``/``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    token: Secret | None = Field(
        None, description="Login token; required when server.host is not a loopback address."
    )
    approvers: list[str] | None = Field(
        None,
        description="Console login names allowed to decide (case-insensitive); unset: everyone"
        " who logs in.",
    )

    @field_validator("approvers")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("is empty; list console names or remove the key (everyone decides)")
        names = [name.strip() for name in value]
        for name in names:
            if not name or len(name) > 60 or "+" in name or not name.isprintable():
                raise ValueError(
                    f"{name[:60]!r} is not a console login name (1-60 printable characters, no '+')"
                )
        return names


class ApprovalConfig(BaseModel):
    """Where humans approve, edit, reject or snooze drafts."""

    model_config = ConfigDict(extra="forbid")

    slack: SlackConfig | None = None
    web: WebConfig = Field(default_factory=lambda: WebConfig(enabled=True, token=None))
    timezone: str = Field("UTC", description="IANA zone for 'tomorrow 9:00' snoozes.")

    _zone = field_validator("timezone")(check_timezone)

    def console_token_problem(self, host: str) -> str | None:
        """Why the console may not be served on ``host`` as configured (None when it may)."""
        if self.web.enabled and self.web.token is None and not is_loopback_host(host):
            return (
                f"required because server.host ({host}) is not a loopback address;"
                " set a token or bind to 127.0.0.1"
            )
        return None
