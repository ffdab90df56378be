"""The console's dashboard page (``GET /dashboard``) and the SLA countdown on every card.

The dashboard shows the same digest as ``repbot report`` (charts, KPI table, top issues, SLA
breaches) for ``?period=`` (default 7d, at most 31d). Cards of open items carry their SLA
countdown, and within one urgency band breached items come first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from markupsafe import Markup

from repbot.alerts_config import SlaConfig
from repbot.digest import build_digest, charts
from repbot.durations import parse_duration
from repbot.models import utcnow
from repbot.report import render_section
from repbot.sla import BANDS, OPEN_STATES, Clock, Countdown, clock_for, countdown
from repbot.store.base import Item

if TYPE_CHECKING:
    from repbot.approval.web import Console
    from repbot.config import Config

MAX_PERIOD = 31 * 86400.0


@dataclass(frozen=True)
class SlaView:
    """What the console needs to draw countdowns."""

    cfg: SlaConfig
    clock: Clock


def attach(app: web.Application, console: Console, config: Config) -> None:
    """Give ``console`` the SLA settings and add ``/dashboard``."""
    console.sla = SlaView(config.alerts.sla, clock_for(config.alerts.sla, config.brand.timezone))
    dashboard = Dashboard(console, config)
    app.router.add_get("/dashboard", dashboard.page)


def countdowns(sla: SlaView | None, items: list[Item]) -> dict[int, Countdown]:
    """The countdown of every open item in ``items`` (none without SLA settings)."""
    if sla is None or not sla.cfg.enabled:
        return {}
    now = utcnow()
    return {
        item.id: countdown(
            item.ingested_at, item.mention.kind, item.urgency, sla.cfg, sla.clock, now
        )
        for item in items
        if item.state.value in OPEN_STATES
    }


def breached_first(
    items: list[Item], marks: dict[int, Countdown], sla: SlaView | None
) -> list[Item]:
    """``items`` with, inside each run of one urgency band, the breached ones first (stable)."""
    if sla is None or not marks:
        return items
    out: list[Item] = []
    run: list[Item] = []
    for item in items:
        if run and _band(run[-1], sla) != _band(item, sla):
            out += _lift(run, marks)
            run = []
        run.append(item)
    return out + _lift(run, marks)


def _band(item: Item, sla: SlaView) -> int:
    from repbot.sla import band

    return BANDS.index(band(item.urgency, sla.cfg))


def _lift(run: list[Item], marks: dict[int, Countdown]) -> list[Item]:
    return sorted(run, key=lambda i: not (i.id in marks and marks[i.id].breached))


def countdown_text(mark: Countdown) -> str:
    """``due in 35 min`` or ``overdue by 2.0 h``."""
    from repbot.digest import duration_text

    if mark.breached:
        return f"SLA overdue by {duration_text(-mark.remaining)}"
    return f"SLA due in {duration_text(mark.remaining)}"


class Dashboard:
    """``GET /dashboard``."""

    def __init__(self, console: Console, config: Config) -> None:
        self.console, self.config = console, config

    async def page(self, request: web.Request) -> web.Response:
        """The digest of ``?period=`` as a console page."""
        session, is_new = self.console.require_login(request)
        text = request.query.get("period", "7d")
        try:
            period = min(parse_duration(text), MAX_PERIOD)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"period: {exc}") from exc
        until = utcnow()
        digest = build_digest(
            self.console.store, self.config, until - timedelta(seconds=period), until,
            title="Dashboard", draw=False,
        )  # fmt: skip
        digest.charts = await asyncio.to_thread(charts, digest)
        return self.console.page(
            request, session, is_new, "dashboard.html",
            section=Markup(render_section(digest)), period=text,
            counts=self.console.store.counts(),
        )  # fmt: skip
