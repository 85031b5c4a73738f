"""Snapshots of Player mode: the card, the overdraw approval prompt, the ledger history.

Fixed terminal size, the frozen clock (ticked a minute per seeded entry, so rows have a
stable order), ids made deterministic while the data is seeded, no cursor blink. Update with
``pytest tests/test_player_snapshots.py --snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest
from textual.pilot import Pilot

from pitterm.app import PitApp
from pitterm.domain import loyalty
from pitterm.domain.auth import Credentials
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from tests.player_support import PlayerWorld, build_player_world, find_player, tick, typed
from tests.test_app_shell import make_app
from tests.test_app_snapshots import SnapCompare, as_role, before, keys

SIZE = (120, 36)


@pytest.fixture
def built(sqlite_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[PlayerWorld]:
    """The player world plus a comp, an approved overdraw and a credit, with counted ids."""
    counter = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    world = build_player_world(sqlite_database)
    boss = world.world.actor(StaffRole.PIT_BOSS)
    cashier = world.world.actor(StaffRole.CASHIER)
    rita, gene = world.players["Hayworth"], world.players["Kelly"]
    loyalty.redeem(
        sqlite_database.uow(boss),
        boss,
        loyalty.Redeem(
            player_id=rita,
            comp_id=world.comps["Buffet for one"],
            note="Birthday buffet",
            idempotency_key=uuid.uuid4(),
        ),
    )
    tick(sqlite_database)
    loyalty.redeem(
        sqlite_database.uow(cashier),
        cashier,
        loyalty.Redeem(
            player_id=rita,
            comp_id=world.comps["Steakhouse dinner for two"],
            note="Anniversary dinner",
            reference="RCPT-0042",
            allow_overdraw=True,
            approver=Credentials(staff_code="PB1", pin="2000"),
            idempotency_key=uuid.uuid4(),
        ),
    )
    tick(sqlite_database)
    loyalty.manual_credit(
        sqlite_database.uow(boss),
        boss,
        loyalty.ManualCredit(
            player_id=gene,
            points=300,
            note="Service recovery: slow drinks",
            suggested_points=250,
            idempotency_key=uuid.uuid4(),
        ),
    )
    tick(sqlite_database)
    monkeypatch.undo()
    yield world


@pytest.fixture
def app(sqlite_database: Database, built: PlayerWorld) -> PitApp:
    return make_app(sqlite_database)


Step = Callable[[Pilot[None]], Awaitable[None]]


def find(search: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await find_player(pilot, search)

    return step


def note(text: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await typed(pilot, text)

    return step


class TestPlayerMode:
    """Player mode for a pit boss: the card and its recent ledger."""

    def test_player_card(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """Rita Hayworth overdrawn to -750 after an approved comp: a red badge, her three
        entries newest first, and the keys a pit boss has (no adjust or reverse)."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(as_role(StaffRole.PIT_BOSS), keys("f3"), find("hayw")),
        )

    def test_approval_prompt(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """A cashier's 250-point buffet for Gene Kelly (400 points) is fine; the 1,500 steak
        dinner overdraws by 1,100 of the 5,000 cap and asks a second staff code and PIN."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(
                as_role(StaffRole.CASHIER),
                keys("f3"),
                find("kelly"),
                keys("c"),
                keys("down", "enter"),
                note("Anniversary dinner"),
                keys("enter"),
            ),
        )


class TestLedgerScreen:
    """The ledger history for a supervisor: every player, with the selected entry's details."""

    def test_ledger_with_overdraw_details(self, snap_compare: SnapCompare, app: PitApp) -> None:
        """All five entries newest first; the selected overdrawn comp shows who approved it,
        the cap, and the balance before and after."""
        assert snap_compare(
            app,
            terminal_size=SIZE,
            run_before=before(as_role(StaffRole.FLOOR_SUPERVISOR), keys("f3", "l", "down")),
        )
