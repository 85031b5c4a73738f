"""What the terminal's cold start leaves out (issue 9): the first frame is the sign-in screen,
so nothing only a mode, the demo seeding or a migration needs is imported before it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

import db
from pitterm.domain.database import make_engine

NOT_AT_START = (
    "alembic",
    "mako",
    "pitterm.demo",
    "pitterm.domain.imports",
    "pitterm.domain.promo",
    "pitterm.screens.admin",
    "pitterm.screens.floor",
    "pitterm.screens.player",
    "pitterm.screens.promo",
    "pitterm.screens.import_screen",
)


def test_starting_the_app_imports_no_mode_and_no_migration_machinery() -> None:
    code = (
        "import sys, pitterm.cli, pitterm.app, pitterm.runtime, pitterm.demo_casinos\n"
        f"print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_mode_screen_still_opens_from_its_lazy_factory() -> None:
    from pitterm.app import MODES_BY_NAME
    from pitterm.screens.floor import FloorScreen

    assert isinstance(MODES_BY_NAME["floor"].screen(), FloorScreen)


def test_is_current_agrees_with_alembic(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'startup.sqlite3'}")
    try:
        assert not db.is_current(engine)  # empty: no alembic_version table
        head = ScriptDirectory.from_config(db.config()).get_revision(db.head_revision())
        assert isinstance(head.down_revision, str)
        db.upgrade(engine, head.down_revision)
        assert db.current_revision(engine) != db.head_revision()
        assert not db.is_current(engine)
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        assert db.is_current(engine)
    finally:
        engine.dispose()
