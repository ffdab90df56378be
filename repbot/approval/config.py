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


class SlackSignInConfig(BaseModel):
    """Sign in with Slack (OpenID Connect) for the console."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, description="The Slack app's client id.")
    client_secret: Secret = Field(description="The Slack app's client secret.")
    redirect_url: str = Field(
        pattern=r"^https?://[^/]+/auth/slack/callback$",
        description="https://<console host>/auth/slack/callback, as set in the Slack app.",
    )
    team_id: str = Field(
        pattern=r"^[TE][A-Z0-9]{2,20}$",
        description="Only members of this workspace (T...); required, or any Slack user could"
        " sign in.",
    )
    authorize_url: str = Field(
        "https://slack.com/openid/connect/authorize", description="Authorize page (tests)."
    )
    api_base_url: str | None = Field(None, description="Web API base URL (tests).")


class WebConfig(BaseModel):
    """The web console served at ``/``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    token: Secret | None = Field(
        None, description="Break-glass admin token; accepted only when break_glass is true."
    )
    break_glass: bool = Field(
        False, description="Accept approval.web.token as an emergency admin login."
    )
    slack_sign_in: SlackSignInConfig | None = None
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


class HistoryConfig(BaseModel):
    """The customer's history on the item page and in the Slack thread."""

    model_config = ConfigDict(extra="forbid")

    across_platforms: bool = Field(
        False,
        description="Also list mentions on other platforms by the identical handle (off: the"
        " same platform and handle only).",
    )
    slack_thread: bool = Field(
        True, description="Reply once in the thread of a new Slack message with the history."
    )


class ApprovalConfig(BaseModel):
    """Where humans approve, edit, reject or snooze drafts."""

    model_config = ConfigDict(extra="forbid")

    slack: SlackConfig | None = None
    web: WebConfig = Field(default_factory=lambda: WebConfig(enabled=True, token=None))
    timezone: str = Field("UTC", description="IANA zone for 'tomorrow 9:00' snoozes.")
    history: HistoryConfig = Field(default_factory=lambda: HistoryConfig())
    undo_seconds: float = Field(
        30, ge=0, le=3600, description="An approved reply waits this long (Undo); 0 posts at once."
    )
    claim_minutes: float = Field(
        15, gt=0, le=24 * 60, description='How long an "I\'m on it" claim lasts.'
    )
    senior_approvers: list[str] | None = Field(
        None,
        description="Slack user ids and console names who alone may approve items flagged "
        "senior (legal, press: urgency.senior_categories); null: any approver.",
    )

    _zone = field_validator("timezone")(check_timezone)

    def console_token_problem(self, host: str) -> str | None:
        """Why the console may not be served on ``host`` as configured (None when it may).

        Beyond loopback the console always needs a sign-in (accounts, Slack or break-glass).
        """
        if self.web.enabled and self.web.break_glass and self.web.token is None:
            return "required because approval.web.break_glass is true; set a token"
        return None
