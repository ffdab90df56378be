"""The composition root: the one place a config becomes running components.

The daemon (:mod:`repbot.daemon`), ``repbot poll --process``, the draft showcase
(``connectors/showcase.py``) and the benchmarks all build their classifier, sentence encoder,
responder and pipeline here, so one mention gets the same analysis and the same knowledge on
every path. Tests inject fakes through the
``classifier`` and ``embedder`` arguments. :func:`routes` assembles every HTTP route.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from repbot.alerts import AlertDispatcher
from repbot.approval.slack import SlackApproval
from repbot.approval.wiring import attach_approval
from repbot.brand import BrandConfig
from repbot.classify.config import ClassifierConfig
from repbot.classify.results import Classifier
from repbot.config import Config, build_source
from repbot.connector import Connector
from repbot.metrics import Metrics
from repbot.pipeline import Pipeline
from repbot.poster import Poster
from repbot.respond import Responder, ResponderConfig
from repbot.respond.textsim import Embedder
from repbot.runner import SourceRunner
from repbot.server import HealthExtra, build_app
from repbot.store import Store, store_for

log = logging.getLogger(__name__)


class _Auto:
    """The default embedder choice: the sentence encoder when the classifier is embedded."""


AUTO: Final = _Auto()
EmbedderChoice = Embedder | None | _Auto
"""An embedder, ``None`` (lexical retrieval) or ``AUTO`` (what the config implies)."""


@dataclass(frozen=True)
class Models:
    """The models a config needs: the classifier and the encoder (None: lexical retrieval)."""

    classifier: Classifier
    embedder: Embedder | None


@dataclass(frozen=True)
class Components:
    """Everything a running repbot owns, built by :func:`build` and released by :meth:`aclose`."""

    config: Config
    store: Store
    models: Models
    responder: Responder
    pipeline: Pipeline
    connectors: dict[str, Connector]
    runners: dict[str, SourceRunner]
    poster: Poster
    alerts: AlertDispatcher

    def closers(self) -> list[Awaitable[object]]:
        """The network clients to close (connectors, then the responder's LLM client)."""
        return [*(c.aclose() for c in self.connectors.values()), self.responder.aclose()]

    async def aclose(self) -> None:
        """Close every client, then the store."""
        try:
            await asyncio.gather(*self.closers())
        finally:
            self.store.close()


def load_embedder(classifier_model: str) -> Embedder | None:
    """The sentence encoder for an ``embedded`` classifier; None (lexical retrieval) otherwise.

    An encoder that does not load is logged and retrieval falls back to lexical similarity.
    """
    if classifier_model != "embedded":
        return None
    from repbot.classify import SentenceEmbedder

    try:
        return SentenceEmbedder.default()
    except Exception as exc:  # noqa: BLE001 - retrieval falls back to lexical similarity
        log.warning("no sentence embedder, knowledge retrieval is lexical: %s", exc)
        return None


def load_classifier(cfg: ClassifierConfig) -> Classifier:
    """The configured classifier (torch is imported here, not when this module is)."""
    from repbot.classify.sentiment import load_classifier as load

    return load(cfg)


async def load_models(
    config: Config, *, classifier: Classifier | None = None, embedder: EmbedderChoice = AUTO
) -> Models:
    """The configured classifier and encoder, loaded in worker threads (or the given ones)."""
    if classifier is None:
        log.info("loading classifier model=%s", config.classifier.model)
        classifier = await asyncio.to_thread(load_classifier, config.classifier)
    if isinstance(embedder, _Auto):
        embedder = await asyncio.to_thread(load_embedder, config.classifier.model)
    return Models(classifier, embedder)


def build_responder(
    cfg: ResponderConfig, brand: BrandConfig, embedder: Embedder | None
) -> Responder:
    """The responder every path drafts with (its LLM client, if any, is its own)."""
    return Responder(cfg, brand, embedder=embedder)


def build_pipeline(config: Config, store: Store, models: Models) -> Pipeline:
    """The classify-and-draft pipeline over ``store`` with ``models``."""
    from repbot.classify.commands import intent_predictor

    responder = build_responder(config.responder, config.brand, models.embedder)
    intents = intent_predictor(config.classifier, models.embedder, load_encoder=False)
    return Pipeline(store, config, models.classifier, responder, intent_model=intents)


async def build(
    config: Config,
    *,
    classifier: Classifier | None = None,
    embedder: EmbedderChoice = AUTO,
    responder: Responder | None = None,
) -> Components:
    """Open the store, load the models, build the connectors and the workers.

    Whatever was opened before a failure (or a cancellation) is released before it propagates.
    """
    store = store_for(config)
    connectors: dict[str, Connector] = {}
    try:
        models = await load_models(config, classifier=classifier, embedder=embedder)
        responder = responder or build_responder(config.responder, config.brand, models.embedder)
        pipeline = Pipeline(store, config, models.classifier, responder)
        for source in config.sources:
            if source.enabled:
                connectors[source.name] = build_source(config, source.name)
        await responder.warm()  # knowledge embedded at start, not on the first draft
    except BaseException:
        await asyncio.gather(*(c.aclose() for c in connectors.values()), return_exceptions=True)
        store.close()
        raise
    poster = Poster(
        store,
        connectors,
        max_attempts=config.pipeline.max_attempts,
        retry_base=config.pipeline.post_retry_base,
    )
    return Components(
        config=config,
        store=store,
        models=models,
        responder=responder,
        pipeline=pipeline,
        connectors=connectors,
        runners={name: SourceRunner(store, c) for name, c in connectors.items()},
        poster=poster,
        alerts=AlertDispatcher(store, config),
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes(
    components: Components,
    *,
    webhook: Handler,
    on_decision: Callable[[int], None],
    health_extra: HealthExtra,
    metrics: Metrics | None = None,
    sources: Callable[[], Collection[str]] | None = None,
) -> tuple[web.Application, SlackApproval | None]:
    """Every HTTP route of the daemon in one application, and the Slack service (or None).

    ``/healthz`` and ``/metrics`` (:func:`repbot.server.build_app`), the web console and
    ``/slack/events`` (:func:`repbot.approval.wiring.attach_approval`) and
    ``POST /webhooks/{source_name}`` (``webhook``).
    """
    app = build_app(
        components.store,
        health_extra=health_extra,
        metrics=metrics,
        model_loaded=lambda: components.models.classifier is not None,
        sources=sources,
    )
    slack = attach_approval(app, components.store, components.config, on_decision=on_decision)
    app.router.add_post("/webhooks/{source_name}", webhook)
    return app, slack
