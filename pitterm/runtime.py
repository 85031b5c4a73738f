"""The composition root: settings in, a ready database and clock out. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass

import db
from pitterm.config import Settings
from pitterm.domain.clock import Clock, OffsetClock, SystemClock
from pitterm.domain.database import Database


@dataclass
class Runtime:
    """Everything the App and the CLI need, built once from settings."""

    settings: Settings
    database: Database
    clock: Clock

    @property
    def demo(self) -> bool:
        return self.settings.demo


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """Open the configured database; in demo mode create, migrate and seed it on first run."""
    if settings.demo:
        clock = clock or OffsetClock()
        ensure_demo_database(settings, clock)
    clock = clock or SystemClock()
    return Runtime(settings, Database.from_url(settings.effective_url, clock=clock), clock)


def ensure_demo_database(settings: Settings, clock: Clock, *, reset: bool = False) -> None:
    from pitterm import demo

    path = settings.demo_database_path
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    fresh = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    database = Database.from_url(settings.effective_url, clock=clock)
    try:
        db.upgrade(database.engine)
        if fresh:
            demo.seed(database)
    except BaseException:
        database.dispose()
        if fresh:
            path.unlink(missing_ok=True)
        raise
    database.dispose()
