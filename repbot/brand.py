"""The ``brand`` config section: who we are, how we sound, what is (not) about us."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from repbot.approval.config import check_timezone


class BrandConfig(BaseModel):
    """Brand identity used by intent detection, the responder and the guardrails."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("Acme", description="Brand name as customers write it.")
    aliases: list[str] = Field(default_factory=list, description="Other names, product names.")
    handles: dict[str, str] = Field(
        default_factory=dict, description="The brand's own account per platform (x: AcmeHelp)."
    )
    exclude_terms: list[str] = Field(
        default_factory=list,
        description="Words that mean a mention is about something else (irrelevant).",
    )
    voice: str = Field("warm, concise, human", description="Tone guidance for drafts.")
    signoff: str = Field("", description="Appended to replies, e.g. '^JS' or '— The Acme team'.")
    website: str = Field("https://example.com", description="Main site; its domain is allowed.")
    support_url: str = Field("https://example.com/help", description="Where customers get help.")
    support_email: str | None = Field(None, description="The brand's own support address.")
    support_phone: str | None = Field(None, description="The brand's own support number.")
    allowed_domains: list[str] = Field(
        default_factory=list, description="Extra domains drafts may link to."
    )
    timezone: str = Field("UTC", description="IANA zone for business hours and snoozes.")

    _zone = field_validator("timezone")(check_timezone)

    @field_validator("handles")
    @classmethod
    def _known_platforms(cls, value: dict[str, str]) -> dict[str, str]:
        from repbot.respond.config import check_platform  # respond imports brand

        for platform in value:
            check_platform(platform)
        return value
