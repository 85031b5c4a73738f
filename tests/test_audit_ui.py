"""Audit mode by keys: run the audit, filter, drill down, export — and its snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from textual.widgets import DataTable, Input, Static

from pitterm.app import PitApp
from pitterm.domain import loyalty
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import PlayerLoyalty
from pitterm.screens.audit import AuditScreen
from pitterm.screens.csv_export import CsvExportForm
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, key
from tests.player_support import typed
from tests.test_app_shell import (
    SIZE,
    drive,
    make_app,
    notifications,
    row_labels,
    settle,
    sign_in_as,
)
from tests.test_app_snapshots import as_role, before, keys

SnapCompare = Callable[..., bool]


def drifted_casino(database: Database) -> CasinoWorld:
    """Three players: one in balance, one double-posted (+40), one stale (-65).

    At tolerance 10 both drifts are minor (≤ 100); at 5 the +40 is minor and the -65 material
    (> 50); at 50 the +40 is in balance and the -65 minor.
    """
    world = build_casino(database)
    admin = world.admin
    assert isinstance(database.clock, FixedClock)
    players: list[uuid.UUID] = []
    for first in ("Ana", "Ben", "Cy"):
        player = enrol(database, admin, first, "Drift")
        for points in (100, 40, 25):
            database.clock.advance(timedelta(minutes=7))
            loyalty.manual_credit(
                database.uow(admin),
                admin,
                loyalty.ManualCredit(
                    player_id=player, points=points, note="play", idempotency_key=key()
                ),
            )
        players.append(player)
    with database.uow(world.scope) as uow:
        for player, balance in ((players[1], 205), (players[2], 100)):
            uow.session.execute(
                update(PlayerLoyalty)
                .where(PlayerLoyalty.player_id == player)
                .values(current_balance=balance)
            )
        uow.commit()
    return world


@drive
async def test_run_filter_drill_down_and_export(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drifted_casino(sqlite_database)
    monkeypatch.chdir(tmp_path)  # nothing may be written here unasked
    target = tmp_path / "out" / "drift.csv"
    target.parent.mkdir()
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        await pilot.press("a")
        await settle(pilot)
        summary = str(app.screen.query_one("#audit-summary", Static).render())
        assert (
            "full audit read 9 entries │ 3 accounts checked │ 1 in balance │ 2 minor drift"
            in summary
        )
        accounts = app.screen.query_one("#audit-accounts", DataTable)
        assert row_labels(accounts) == ["Cy Drift", "Ben Drift"]  # largest drift first

        await pilot.press("enter")  # drill into Cy: a stale snapshot
        await settle(pilot)
        explanation = str(app.screen.query_one("#audit-explanation", Static).render())
        assert "Stale snapshot" in explanation
        timeline = app.screen.query_one("#audit-timeline", DataTable)
        assert [timeline.get_row_at(i)[4] for i in range(3)] == ["100", "140", "165"]
        assert timeline.get_row_at(0)[0] == "▶"  # the cache stopped after the first entry

        await pilot.press("down", "enter")  # Ben: double-posted
        await settle(pilot)
        assert "Double-posted" in str(app.screen.query_one("#audit-explanation", Static).render())

        await pilot.press("e")  # asks where, suggesting a file in the home folder
        await settle(pilot)
        assert isinstance(app.screen, CsvExportForm)
        suggested = app.screen.query_one("#export-path", Input).value
        assert Path(suggested).parent == Path.home()
        assert Path(suggested).name.startswith("pitterm-drift-audit-")
        await pilot.press("ctrl+u")  # clear the suggestion
        await typed(pilot, str(tmp_path))  # a folder: refused inline
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CsvExportForm)
        assert "is a folder" in str(app.screen.query_one(".form-error", Static).render())
        await pilot.press("ctrl+u")
        await typed(pilot, str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert any(f"(2 drifted) written to {target}" in n for n in notifications(app))
        assert list(tmp_path.glob("*.csv")) == []
        text = target.read_text()
        assert "material" in text and "Ben Drift" in text and "Cy Drift" in text

        await pilot.press("e")  # the same name again: refused, the file is kept
        await settle(pilot)
        await pilot.press("ctrl+u")
        await typed(pilot, str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert "already exists" in str(app.screen.query_one(".form-error", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert target.read_text() == text


@drive
async def test_tolerance_changes_the_classes(sqlite_database: Database) -> None:
    drifted_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("f7", "t", "5", "0", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#audit-summary", Static).render())
        assert "2 in balance │ 1 minor drift │ 0 material │ tolerance 50" in summary
        await pilot.press("t", "5", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#audit-summary", Static).render())
        assert "1 in balance │ 1 minor drift │ 1 material │ tolerance 5" in summary


@drive
async def test_cashiers_have_no_audit_mode(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.CASHIER)
        await pilot.press("f7")
        await settle(pilot)
        assert not isinstance(app.screen, AuditScreen)


class TestAuditMode:
    """Audit mode after a run, with a drifted account drilled into."""

    def test_drill_down(self, snap_compare: SnapCompare, sqlite_database: Database) -> None:
        """Badge MINOR DRIFT, two drifted accounts, Cy's timeline and stale-snapshot story."""
        drifted_casino(sqlite_database)
        app: PitApp = make_app(sqlite_database)
        assert snap_compare(
            app,
            terminal_size=(120, 32),
            run_before=before(
                as_role(StaffRole.LOYALTY_MANAGER), keys("f7"), keys("a"), keys("enter")
            ),
        )


@drive
async def test_reaudit_reads_only_what_is_new(sqlite_database: Database) -> None:
    world = drifted_casino(sqlite_database)
    assert isinstance(sqlite_database.clock, FixedClock)
    sqlite_database.clock.advance(timedelta(minutes=10))
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f7", "a")
        await settle(pilot)
        player = enrol(sqlite_database, world.admin, "Dee", "New")
        loyalty.manual_credit(
            sqlite_database.uow(world.admin),
            world.admin,
            loyalty.ManualCredit(player_id=player, points=5, note="n", idempotency_key=key()),
        )
        await pilot.press("i")
        await settle(pilot)
        summary = str(app.screen.query_one("#audit-summary", Static).render())
        assert "incremental audit read 1 entries │ 4 accounts checked │ 2 in balance" in summary
