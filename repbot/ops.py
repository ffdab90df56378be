"""The daemon's operations jobs (issue 16): SLA alerts, the crisis detector, source silence and
digests, built from the config and scheduled on the daemon's scheduler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from repbot.alerts import SilenceMonitor, console_link
from repbot.config import Config
from repbot.digest import DigestPoster
from repbot.models import utcnow
from repbot.respond.textsim import Embedder
from repbot.scheduler import Scheduler
from repbot.sla import SlaMonitor, clock_for
from repbot.spike import CrisisDetector
from repbot.store import Store

SLA_EVERY = 60.0
SILENCE_EVERY = 60.0
DIGEST_EVERY = 300.0


@dataclass
class OpsJobs:
    """The operations monitors of one running daemon."""

    sla: SlaMonitor
    crisis: CrisisDetector
    silence: SilenceMonitor
    digest: DigestPoster

    @classmethod
    def build(
        cls,
        store: Store,
        config: Config,
        *,
        embedder: Embedder | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> OpsJobs:
        """The monitors ``config`` asks for, over ``store``."""
        alerts, link = config.alerts, console_link(config)
        clock = clock_for(alerts.sla, config.brand.timezone)
        return cls(
            SlaMonitor(store, alerts.sla, clock, link, now),
            CrisisDetector(store, alerts.crisis, link, now),
            SilenceMonitor(store, config, now),
            DigestPoster(store, config, embedder, now),
        )

    def schedule(self, scheduler: Scheduler, config: Config) -> None:
        """Add the enabled jobs to ``scheduler``."""
        alerts = config.alerts

        async def sla() -> None:
            self.sla.run_once()

        async def crisis() -> None:
            self.crisis.run_once()

        async def silence() -> None:
            self.silence.run_once()

        if alerts.sla.enabled:
            scheduler.every("sla", SLA_EVERY, sla, start_now=False)
        if alerts.crisis.enabled:
            scheduler.every("crisis", min(300.0, alerts.crisis.interval / 3), crisis)
        if alerts.silent_after:
            scheduler.every("silence", SILENCE_EVERY, silence, start_now=False)
        if alerts.digest.daily or alerts.digest.weekly:
            scheduler.every("digest", DIGEST_EVERY, self.digest.run_once, start_now=False)
