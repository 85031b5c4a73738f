"""pitterm's schema history (Alembic), shipped inside the wheel.

``upgrade(url)`` is what ``pitterm db upgrade`` and first-run demo setup call; it needs no
alembic.ini and no source checkout. Alembic is imported by the functions that use it: a
terminal starting on a demo database that is already current (``is_current``) never loads
it, nor the template engine it brings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from pitterm.domain.database import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["APP_ROLE", "config", "current_revision", "head_revision", "is_current", "upgrade"]

APP_ROLE = "pitterm_app"
"""The non-owner Postgres role the terminals connect as (directly or via a member login)."""

HERE = Path(__file__).resolve().parent


def config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; a no-op when it is already there."""
    from alembic import command

    engine = make_engine(target) if isinstance(target, str) else target
    try:
        command.upgrade(config(engine), revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION = re.compile(r'^revision: str = "([^"]+)"$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision: str \| None = (?:None|"([^"]+)")$', re.MULTILINE)


def is_current(engine: Engine) -> bool:
    """Whether the database is at the one head of the shipped migrations, told without
    Alembic: each migration file's ``revision``/``down_revision`` lines as they are written
    here. Anything unusual (a file not in that form, a merge, two heads) answers False, and
    the caller runs Alembic, which decides properly."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (HERE / "versions").glob("[0-9]*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return False
        revisions.add(revision[0])
        parents.update(d for d in down if d)
    heads = revisions - parents
    if len(heads) != 1:
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions == list(heads)
