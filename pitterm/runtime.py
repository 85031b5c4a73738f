"""The composition root: settings in, a ready database and clock out. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

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

    @property
    def trainer_clock(self) -> OffsetClock | None:
        """Demo mode's simulated clock, when every service call reads it; else None.

        Never in production: a casino's records take real time only.
        """
        clock = self.clock
        if self.demo and isinstance(clock, OffsetClock) and self.database.clock is clock:
            return clock
        return None

    def advance_clock(self, delta: timedelta) -> timedelta:
        """Move the simulated clock forward; returns the new offset from real time.

        The offset is kept beside the demo database, so a restart does not take the demo's
        time backwards (a slip would otherwise close before it started).
        """
        clock = self.trainer_clock
        if clock is None:
            raise RuntimeError("the simulated clock exists in demo (training) mode only")
        if delta <= timedelta(0):
            raise ValueError("minutes: the clock only moves forward")
        clock.advance(delta)
        save_clock_offset(self.settings, clock.offset)
        return clock.offset


CLOCK_SUFFIX = "-clock"
"""The simulated clock's offset lives in the demo database's path plus this suffix."""


def clock_offset_path(settings: Settings) -> Path:
    path = settings.demo_database_path
    return path.with_name(path.name + CLOCK_SUFFIX)


def load_clock_offset(settings: Settings) -> timedelta:
    """The demo clock's saved offset (whole seconds in a text file); none saved is zero."""
    path = clock_offset_path(settings)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return timedelta(0)
    if not text.isdigit():
        raise ValueError(
            f"{path}: expected the demo clock's offset in whole seconds, found {text[:20]!r};"
            " delete the file or run `pitterm demo --reset`"
        )
    return timedelta(seconds=int(text))


def save_clock_offset(settings: Settings, offset: timedelta) -> None:
    path = clock_offset_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{int(offset.total_seconds())}\n", encoding="utf-8")


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """Open the configured database; in demo mode create, migrate and seed it on first run.

    Demo mode runs on the trainer's simulated clock, at the offset it was last moved to.
    """
    if settings.demo:
        if clock is None:
            clock = OffsetClock()
            clock.offset = load_clock_offset(settings)
        ensure_demo_database(settings, clock)
    clock = clock or SystemClock()
    return Runtime(settings, Database.from_url(settings.effective_url, clock=clock), clock)


def ensure_demo_database(settings: Settings, clock: Clock, *, reset: bool = False) -> None:
    # Imported here, not at the top: a production terminal never migrates at start, and the
    # seeding (which imports every domain service) runs on the first start only.
    import db

    path = settings.demo_database_path
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal", CLOCK_SUFFIX):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    fresh = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    database = Database.from_url(settings.effective_url, clock=clock)
    try:
        if fresh or not db.is_current(database.engine):
            db.upgrade(database.engine)
        if fresh:
            from pitterm import demo

            demo.seed(database)
    except BaseException:
        database.dispose()
        if fresh:
            path.unlink(missing_ok=True)
        raise
    database.dispose()
