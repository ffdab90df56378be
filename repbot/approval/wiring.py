"""Attaches the approval surfaces (web console, Slack) to the daemon's server."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from repbot.approval.service import ApprovalService, EditGuard
from repbot.approval.slack import SlackApproval
from repbot.approval.web import setup_console
from repbot.config import Config
from repbot.store import Store


def attach_approval(
    app: web.Application,
    store: Store,
    config: Config,
    *,
    on_decision: Callable[[int], None] | None = None,
) -> SlackApproval | None:
    """Add the console and Slack routes; return the Slack service (or None).

    The caller starts it (``await slack.start()``), runs ``await slack.sync()`` whenever
    ``slack.wake_event`` is set (and every few seconds as a safety net), calls ``slack.wake()``
    after recording a draft or a post result, and ``await slack.stop()`` on shutdown.
    ``on_decision(item_id)`` runs after every new decision from either surface (e.g. to wake the
    poster); decisions wake Slack by themselves. Both surfaces share one
    :class:`~repbot.approval.service.ApprovalService` (approvers, the two-person rule, the
    length and guardrail checks on edits). Raises ConfigError when the Slack section is
    incomplete or break-glass is on without a token.
    """
    approval = config.approval
    guard = EditGuard(config.brand, config.responder.guardrails)
    service = ApprovalService.from_config(approval, store, guard=guard)
    slack = None
    if approval.slack is not None and approval.slack.enabled:
        slack = SlackApproval(approval.slack, store, brand_tz=approval.timezone, service=service)
        on_decision = _then_wake(on_decision, slack)
        slack.on_decision = on_decision
        slack.history = approval.history if approval.history.slack_thread else None
        if approval.slack.mode == "http":
            app.router.add_post("/slack/events", slack.handle_http)
    setup_console(
        app,
        store,
        approval.web,
        server_host=config.server.host,
        timezone=approval.timezone,
        slack=slack,
        on_decision=on_decision,
        service=service,
        history_across_platforms=approval.history.across_platforms,
    )
    if approval.web.enabled:  # issue 16: SLA countdowns on cards, /dashboard
        from repbot.approval.web import console_of
        from repbot.approval.web_dashboard import attach

        attach(app, console_of(app), config)
    return slack


def _then_wake(
    on_decision: Callable[[int], None] | None, slack: SlackApproval
) -> Callable[[int], None]:
    def decided(item_id: int) -> None:
        if on_decision is not None:
            on_decision(item_id)
        slack.wake()

    return decided
