"""pitterm's schema history (Alembic), shipped inside the wheel.

``upgrade(url)`` is what ``pitterm db upgrade`` and first-run demo setup call; it needs no
alembic.ini and no source checkout.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from pitterm.domain.database import make_engine

__all__ = ["APP_ROLE", "config", "current_revision", "head_revision", "upgrade"]

APP_ROLE = "pitterm_app"
"""The non-owner Postgres role the terminals connect as (directly or via a member login)."""

HERE = Path(__file__).resolve().parent


def config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; a no-op when it is already there."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        command.upgrade(config(engine), revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
