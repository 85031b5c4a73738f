"""Render the README's screenshots with pitterm itself: the floor and a player card, as SVG.

    .venv/bin/python docs/render_screenshots.py            # writes docs/img/*.svg
    .venv/bin/python docs/render_screenshots.py --out DIR  # somewhere else

It builds a fresh demo database in a temporary folder (the same seeding as `pitterm demo
--reset`) with the clock frozen at a fixed evening, runs the real App headless through
Textual's test driver at the size the snapshot tests use, signs in as the demo pit boss
(BELLA, PB1), and saves what the terminal shows with Textual's own SVG export — the same
export the snapshot tests compare. Run it again after a change to the screens or the
palette; look at the result (e.g. `rsvg-convert -w 1200 docs/img/floor.svg -o floor.png`)
before committing it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

import db
from pitterm import demo
from pitterm.app import PitApp
from pitterm.config import Settings
from pitterm.domain import auth, floor, players
from pitterm.domain.actor import Actor
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import StaffRole, VisitKind
from pitterm.runtime import Runtime

SIZE = (120, 36)
"""Columns and rows: what the floor and player snapshot tests use."""
FROZEN_AT = datetime(2026, 11, 22, 4, 30, tzinfo=UTC)
"""Saturday 21 November 2026, 20:30 in Las Vegas: a busy evening on BELLA's floor."""
CASINO = "BELLA"
IMG = Path(__file__).resolve().parent / "img"


def pit_boss() -> demo.DemoLogin:
    return next(
        login
        for login in demo.DEMO_LOGINS
        if login.casino_code == CASINO and login.role is StaffRole.PIT_BOSS
    )


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker has run for a few polls in a row (a result may start another)."""
    quiet = 0
    for _ in range(1000):
        await pilot.pause()
        busy = any(not worker.is_finished for worker in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet == 5:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the terminal's workers were still running after 10 s")


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))


def save(app: PitApp, out: Path, name: str) -> Path:
    for field in app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would differ from run to run
    path = out / name
    app.save_screenshot(filename=name, path=str(out))
    return path


def featured_card(database: Database) -> str:
    """The loyalty card number of the first rated patron in play: a card with an open visit."""
    actor = database_actor(database)
    view = floor.overview(database.reader(actor), actor)
    for entry in view.tables:
        for slip in entry.slips:
            if slip.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED and slip.player_id:
                player = players.get(database.reader(actor), actor, slip.player_id)
                if player.loyalty_card_number:
                    return player.loyalty_card_number
    raise RuntimeError("the demo floor has no rated patron with a card")


def database_actor(database: Database) -> Actor:
    """The demo pit boss, signed in through the service (to read the floor before the App)."""
    login = pit_boss()
    casino = auth.find_casino(database.reader(), CASINO)
    credentials = auth.parse_credentials(login.staff_code, login.pin)
    return auth.sign_in(database.uow(Scope(casino.id)), credentials)


async def render(out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="pitterm-screens-") as folder:
        settings = Settings(data_dir=Path(folder), database_url=None, casino=CASINO)
        clock = FixedClock(FROZEN_AT)
        database = Database.from_url(settings.effective_url, clock=clock)
        try:
            db.upgrade(database.engine)
            demo.seed(database)
            card = featured_card(database)
            app = PitApp(Runtime(settings, database, clock))
            login = pit_boss()
            written = []
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                await type_text(pilot, login.staff_code.lower())
                await pilot.press("enter")
                await type_text(pilot, login.pin)
                await pilot.press("enter")
                await settle(pilot)
                if app.actor is None:
                    raise RuntimeError(f"could not sign in as {login.staff_code}")
                written.append(save(app, out, "floor.svg"))
                await pilot.press("f3")
                await settle(pilot)
                await pilot.press("s")
                await settle(pilot)
                await type_text(pilot, card.lower())
                await settle(pilot)
                await pilot.press("enter")
                await settle(pilot)
                await pilot.pause(0.2)  # let the card and its ledger repaint
                written.append(save(app, out, "player-card.svg"))
            return written
        finally:
            database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMG, help=f"folder (default: {IMG})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(render(args.out)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
