"""The ``approval`` config section: Slack and the built-in web console."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SlackConfig(BaseModel):
    """Approval in Slack (Socket Mode by default, or HTTP mode on ``/slack/events``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Set false to keep the keys but not connect.")
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr | None = Field(None, description="xoxb- bot token.")
    app_token: SecretStr | None = Field(None, description="xapp- app-level token (socket mode).")
    signing_secret: SecretStr | None = Field(None, description="Signing secret (http mode).")
    channel: str = Field("", description="Channel id (C...) where drafts are posted.")
    urgent_channel: str | None = Field(None, description="Channel for urgent drafts.")
    urgent_threshold: float = Field(0.7, ge=0, le=1)
    approvers: list[str] = Field(
        default_factory=list, description="User (U...) or group (S...) ids."
    )
    two_person_threshold: float | None = Field(None, ge=0, le=1)
    api_base_url: str | None = Field(None, description="Web API base URL (tests, benchmarks).")

    def problems(self) -> list[str]:
        """What is missing for the chosen mode (empty when the section can be used)."""
        found = []
        if self.bot_token is None:
            found.append("approval.slack.bot_token: required (xoxb- bot token)")
        if self.mode == "socket" and self.app_token is None:
            found.append("approval.slack.app_token: required in socket mode (xapp- token)")
        if self.mode == "http" and self.signing_secret is None:
            found.append("approval.slack.signing_secret: required in http mode")
        if not self.channel:
            found.append("approval.slack.channel: required (channel id, C...)")
        return found


class WebConfig(BaseModel):
    """The web console served at ``/``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    token: SecretStr | None = Field(
        None, description="Login token; required when server.host is not a loopback address."
    )


class ApprovalConfig(BaseModel):
    """Where humans approve, edit, reject or snooze drafts."""

    model_config = ConfigDict(extra="forbid")

    slack: SlackConfig | None = None
    web: WebConfig = Field(default_factory=lambda: WebConfig(enabled=True, token=None))
    timezone: str = Field("UTC", description="IANA zone for 'tomorrow 9:00' snoozes.")
