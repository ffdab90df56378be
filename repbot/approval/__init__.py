"""Human approval of drafts: in Slack (:mod:`repbot.approval.slack`) and the web console."""

from __future__ import annotations

from repbot.approval.config import ApprovalConfig, SlackConfig, WebConfig

__all__ = ["ApprovalConfig", "SlackConfig", "WebConfig"]
