"""Hot reload of the config: what changed, what can be applied live, and the file watcher.

The daemon (:meth:`repbot.daemon.Daemon.reload`) validates the file with the same
``load_config`` as a start, then applies the :class:`ReloadPlan` computed here: sources added,
removed, rebuilt or rescheduled; everything else the workers read from the config (urgency
weights, pipeline settings, prompts and knowledge, alert settings) is swapped in. Sections a
running process cannot change (the store file, the HTTP address, the classifier model, the
approval surfaces, logging) keep their running values until a restart, and say so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from repbot.config import Config, SourceConfig

RESTART_ONLY = ("store", "server", "classifier", "approval", "logging")
"""Top-level sections whose changes need a restart (the running values are kept)."""
WATCH_EVERY = 3.0
"""Seconds between checks of the config file's modification time and content."""


@dataclass(frozen=True)
class ReloadPlan:
    """The difference between the running config and a valid new one."""

    config: Config
    """The config to run: the new one, with the restart-only sections kept as they run."""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    rebuilt: tuple[str, ...] = ()
    """Sources whose connector settings changed (closed and built again)."""
    rescheduled: tuple[str, ...] = ()
    """Sources whose only change is the poll interval."""
    needs_restart: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line for the log and the audit trail."""
        parts = [
            f"{word}={','.join(names)}"
            for word, names in (
                ("added", self.added),
                ("removed", self.removed),
                ("rebuilt", self.rebuilt),
                ("rescheduled", self.rescheduled),
                ("needs_restart", self.needs_restart),
            )
            if names
        ]
        return " ".join(parts) or "sources unchanged"


def plan(running: Config, new: Config) -> ReloadPlan:
    """What applying ``new`` over ``running`` changes."""
    kept = tuple(k for k in RESTART_ONLY if getattr(running, k) != getattr(new, k))
    config = new.model_copy(update={k: getattr(running, k) for k in kept})
    old, now = _enabled(running), _enabled(new)
    rebuilt = [n for n in old.keys() & now.keys() if _settings(old[n]) != _settings(now[n])]
    rescheduled = [
        n
        for n in old.keys() & now.keys()
        if n not in rebuilt and old[n].interval != now[n].interval
    ]
    return ReloadPlan(
        config=config,
        added=tuple(sorted(now.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - now.keys())),
        rebuilt=tuple(sorted(rebuilt)),
        rescheduled=tuple(sorted(rescheduled)),
        needs_restart=kept,
    )


def _enabled(config: Config) -> dict[str, SourceConfig]:
    return {s.name: s for s in config.sources if s.enabled}


def _settings(source: SourceConfig) -> dict[str, object]:
    return source.model_dump(exclude={"interval"})


class ConfigWatcher:
    """Tells when the config file's content changed (modification time first, then a hash).

    A touch without a change in content is not a change; an unreadable file is not either (the
    reload it would trigger fails the same way, and the next readable version is compared).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()
        self._digest = self._hash()

    def changed(self) -> bool:
        """True once per change of content since the last call (or construction)."""
        stamp = self._stat()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        digest = self._hash()
        if digest is None or digest == self._digest:
            return False
        self._digest = digest
        return True

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None
