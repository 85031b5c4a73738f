"""Reconcile mode by keys, on the demo's executed batch (legacy-club-tiers-q3.csv at BELLA).

The demo trains every case in one queue: upgrades, an equal tier, two downgrades (one of a
player with a second open record), a seed, a stale and an unknown row, an unmapped label
("Black Card"), an ignored one ("Employee") and a row already applied. The tests drive the
screen by keys only and read the database after each step: the reconciliation records, the
players' tiers and the audit rows.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from sqlalchemy import Row, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from pitterm import demo
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole, Tier
from pitterm.domain.recon_rules import Freshness, LabelState, ReconOutcome, ReconStatus
from pitterm.domain.tables import (
    AuditLog,
    IdempotencyRecord,
    ImportBatch,
    LoyaltyReconciliation,
    LoyaltyTierMapping,
    PlayerLoyalty,
)
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.csv_export import CsvExportForm
from pitterm.screens.floor import FloorScreen
from pitterm.screens.reconcile import ReconcileScreen, days_before
from pitterm.screens.reconcile_modals import MappingModal, OverrideModal, RevertModal
from tests import recon_support
from tests.conftest import fresh_sqlite_database
from tests.factories import build_casino
from tests.player_support import typed
from tests.test_app_shell import (
    SIZE,
    drive,
    make_app,
    notifications,
    palette_titles,
    settle,
    sign_in,
    sign_in_as,
)

UI_SIZE = (140, 40)
MANAGER = ("LM1", "5001")
ADMIN = ("ADM1", "1001")

# Rows of the demo batch (file order; see pitterm.demo.RECON_CASES).
UPGRADE = 2  # Christine Thomas: bronze, 'Platinum Elite' → platinum
DOWNGRADE = 4  # Anthony Nguyen: platinum, 'SILVER' → silver
STALE = 6  # Kimberly MacDonald: bronze, 'SILVER', last visit 400 days ago
UNKNOWN = 7  # Olivia Müller: silver, 'Platinum Elite', no last-visit date
UNMAPPED = 8  # Christine Yamamoto: gold, 'Black Card' (unmapped)
APPLIED = 10  # José McAllister: applied bronze → gold by LM1 when the demo was seeded
NEWCOMER = 11  # Ines Okafor: created by the import at bronze, 'SILVER'
FIRST = 1  # Jack Rossi: silver, 'Gold+'; row 12 is his second, lower row


@pytest.fixture
def demo_database(demo_sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """The demo database (seeded once per session, tests/conftest.py): this test's own copy."""
    with fresh_sqlite_database(demo_sqlite_template, tmp_path) as database:
        yield database


# -- reading the database ------------------------------------------------------------------


def batch_id(database: Database) -> uuid.UUID:
    with database.raw() as conn:
        found = conn.scalar(select(ImportBatch.id).where(ImportBatch.file_name == demo.RECON_FILE))
    assert found is not None
    return found


def record(database: Database, row_number: int) -> Row[Any]:
    with database.raw() as conn:
        return conn.execute(
            select(LoyaltyReconciliation).where(
                LoyaltyReconciliation.batch_id == batch_id(database),
                LoyaltyReconciliation.row_number == row_number,
            )
        ).one()


def tier(database: Database, player_id: uuid.UUID) -> Tier | None:
    with database.raw() as conn:
        return conn.scalar(select(PlayerLoyalty.tier).where(PlayerLoyalty.player_id == player_id))


def audits(database: Database, action: str) -> list[Row[Any]]:
    with database.raw() as conn:
        return list(
            conn.execute(
                select(AuditLog.entity_id, AuditLog.before, AuditLog.after)
                .where(AuditLog.action == action)
                .order_by(AuditLog.created_at, AuditLog.id)
            ).all()
        )


def entity(database: Database, row_number: int) -> str:
    return f"{batch_id(database)}:{row_number}"


# -- driving the screen --------------------------------------------------------------------


def reconcile(pilot: Pilot[None]) -> ReconcileScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ReconcileScreen), type(screen).__name__
    return screen


def text(screen: ReconcileScreen, selector: str) -> str:
    """What a Static shows, as plain text (tables of text rendered wide, one line per row)."""
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


async def open_queue(pilot: Pilot[None], login: tuple[str, str]) -> ReconcileScreen:
    """Sign in, F6, and open the demo's executed batch from the batches list."""
    await sign_in(pilot, *login)
    await pilot.press("f6")
    await settle(pilot)
    screen = reconcile(pilot)
    grid = screen.query_one("#recon-batch-list", DataTable)
    files = [str(grid.get_row_at(i)[1]) for i in range(grid.row_count)]
    assert demo.RECON_FILE in files and len(files) == 2  # beside the staged-only batch
    await pilot.press(*["down"] * files.index(demo.RECON_FILE), "enter")
    await settle(pilot)
    assert screen.pane == "recon-queue-pane"
    return screen


async def to_row(pilot: Pilot[None], row_number: int) -> None:
    """Move the queue's cursor to a row by its number, with the arrow keys."""
    grid = reconcile(pilot).query_one("#recon-queue", DataTable)
    numbers = [int(str(grid.get_row_at(i)[1])) for i in range(grid.row_count)]
    target = numbers.index(row_number)
    step = "down" if target > grid.cursor_row else "up"
    await pilot.press(*[step] * abs(target - grid.cursor_row))
    await settle(pilot)
    screen = reconcile(pilot)
    assert screen.diff is not None and screen.diff.row.row_number == row_number


async def sign_out(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+o")
    await settle(pilot)


# -- the tests -----------------------------------------------------------------------------


@drive
async def test_the_demo_batch_by_keys(demo_database: Database, tmp_path: Path) -> None:
    """Map the unmapped label, apply an upgrade and a stale row, a downgrade refused for the
    loyalty manager then overridden by the admin, revert, and write the report."""
    database = demo_database
    app = make_app(database, casino=demo.IMPORT_CASINO)
    async with app.run_test(size=UI_SIZE, notifications=True) as pilot:
        screen = await open_queue(pilot, MANAGER)
        queue = screen.query_one("#recon-queue", DataTable)
        assert queue.row_count == 12
        counts = text(screen, "#recon-counts")
        assert "12 records · 1 unmapped vendor tier label" in counts
        assert "pending 11 · applied 1 · no change 0 · ignored 0 · reverted 0" in counts
        assert "upgrade 5 · no change 1 · downgrade 2 · seed 1 · ignore 1 · unmapped 1" in counts
        assert "fresh 9 · stale 1 · unknown 1" in counts
        assert "o" not in screen.active_bindings  # the override is the admin's

        # The unmapped label blocks its row: the service says so, with the code.
        await to_row(pilot, UNMAPPED)
        assert "unmapped: waiting for a mapping" in text(screen, "#recon-diff")
        await pilot.press("a")
        await settle(pilot)
        assert any("RECON_LABEL_UNMAPPED" in n for n in notifications(app))
        assert record(database, UNMAPPED).status is ReconStatus.PENDING
        refused_key = screen._keys[("apply", UNMAPPED)]  # kept for the retry

        # Map "Black Card" to diamond in the tier-label editor.
        await pilot.press("l")
        await settle(pilot)
        labels = screen.query_one("#recon-labels", DataTable)
        names = [str(labels.get_row_at(i)[0]) for i in range(labels.row_count)]
        assert names == ["Black Card", "Bronze", "Employee", "Gold+", "Platinum Elite", "SILVER"]
        assert str(labels.get_row_at(0)[3]) == "unmapped"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MappingModal)
        await pilot.press("down", "down", "down", "down", "enter")  # bronze … diamond
        await settle(pilot)
        assert app.screen is screen
        assert str(labels.get_row_at(0)[3]) == "diamond"
        with database.raw() as conn:
            mapping = conn.execute(
                select(LoyaltyTierMapping.tier, LoyaltyTierMapping.ignored).where(
                    LoyaltyTierMapping.vendor_label == demo.RECON_UNMAPPED
                )
            ).one()
        assert tuple(mapping) == (Tier.DIAMOND, False)
        blocked = record(database, UNMAPPED)
        assert (blocked.label_state, blocked.mapped_tier) == (LabelState.MAPPED, Tier.DIAMOND)
        [mapped] = [
            a for a in audits(database, "recon.mapping_set") if a.after["target"] == "diamond"
        ]
        assert mapped.before["target"] == "unmapped" and mapped.after["pending_updated"] == 1
        await pilot.press("escape")
        await settle(pilot)
        assert "every vendor tier label mapped" in text(screen, "#recon-counts")

        # The retry of the refused apply is the same request: same key, now applied.
        await to_row(pilot, UNMAPPED)
        assert "Upgrade gold → diamond." in text(screen, "#recon-diff")
        await pilot.press("a")
        await settle(pilot)
        blocked = record(database, UNMAPPED)
        assert blocked.status is ReconStatus.APPLIED and blocked.tier_after is Tier.DIAMOND
        assert tier(database, blocked.player_id) is Tier.DIAMOND
        with database.raw() as conn:
            used = conn.scalar(
                select(IdempotencyRecord.operation).where(
                    IdempotencyRecord.idempotency_key == refused_key
                )
            )
        assert used == "recon.apply" and ("apply", UNMAPPED) not in screen._keys

        # A fresh upgrade applies at once.
        await to_row(pilot, UPGRADE)
        player = record(database, UPGRADE).player_id
        assert tier(database, player) is Tier.BRONZE
        await pilot.press("a")
        await settle(pilot)
        done = record(database, UPGRADE)
        assert done.status is ReconStatus.APPLIED and done.outcome is ReconOutcome.UPGRADE
        assert (done.tier_before, done.tier_after) == (Tier.BRONZE, Tier.PLATINUM)
        assert tier(database, player) is Tier.PLATINUM
        applied = [
            a for a in audits(database, "recon.applied") if a.entity_id == entity(database, UPGRADE)
        ]
        assert len(applied) == 1 and applied[0].after["tier"] == "platinum"
        assert str(queue.get_row_at(UPGRADE - 1)[9]) == "applied"

        # A stale row asks for confirmation in a modal; declining changes nothing.
        await to_row(pilot, STALE)
        stale_player = record(database, STALE).player_id
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "older than the casino's 90-day freshness threshold" in str(app.screen.question)
        await pilot.press("n")
        await settle(pilot)
        assert record(database, STALE).status is ReconStatus.PENDING
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        stale = record(database, STALE)
        assert stale.status is ReconStatus.APPLIED and stale.freshness is Freshness.STALE
        assert stale.freshness_confirmed is True
        assert tier(database, stale_player) is Tier.SILVER

        # The loyalty manager's downgrade is refused with its code, and nothing changes.
        await to_row(pilot, DOWNGRADE)
        down_player = record(database, DOWNGRADE).player_id
        assert "an admin override with a reason (admins only)" in text(screen, "#recon-diff")
        await pilot.press("a")
        await settle(pilot)
        assert app.screen is screen  # no reason asked of a role that may not override
        assert any("RECON_DOWNGRADE_NEEDS_OVERRIDE" in n for n in notifications(app))
        assert record(database, DOWNGRADE).status is ReconStatus.PENDING
        assert tier(database, down_player) is Tier.PLATINUM

        # Revert the upgrade, with a reason.
        await to_row(pilot, UPGRADE)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, RevertModal)
        await typed(pilot, "wrong vendor file")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        reverted = record(database, UPGRADE)
        assert reverted.status is ReconStatus.REVERTED and reverted.reverted_by is not None
        assert tier(database, player) is Tier.BRONZE
        [undo] = audits(database, "recon.reverted")
        assert undo.entity_id == entity(database, UPGRADE)
        assert undo.before["tier"] == "platinum" and undo.after["tier"] == "bronze"
        assert undo.after["reason"] == "wrong vendor file"
        # A second revert goes straight to the service, which has nothing more to do.
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen
        assert any(f"Row {UPGRADE} was already reverted" in n for n in notifications(app))
        assert tier(database, player) is Tier.BRONZE
        assert len(audits(database, "recon.reverted")) == 1

        # The report, written where the form is told to.
        target = tmp_path / "report.csv"
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, CsvExportForm)
        await pilot.press("ctrl+u")
        await typed(pilot, str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert any(
            f"12 reconciliation records written to {target}" in n for n in notifications(app)
        )
        with target.open(encoding="utf-8", newline="") as handle:
            lines = list(csv.DictReader(handle))
        assert len(lines) == 12
        by_row = {int(line["row"]): line for line in lines}
        assert by_row[UPGRADE]["status"] == "reverted" and by_row[UPGRADE]["applied_by"] == "LM1"
        assert by_row[STALE]["freshness"] == "stale"
        assert by_row[STALE]["freshness_confirmed"] == "true"
        assert by_row[DOWNGRADE]["status"] == "pending"

        # The admin overrides the downgrade: the reason is required, then kept.
        await sign_out(pilot)
        screen = await open_queue(pilot, ADMIN)
        await to_row(pilot, DOWNGRADE)
        assert "o" in screen.active_bindings
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, OverrideModal)
        await pilot.press("enter")  # no reason: refused in the form
        await settle(pilot)
        assert isinstance(app.screen, OverrideModal)
        assert "say why the downgrade is right" in str(
            app.screen.query_one(".form-error", Static).render()
        )
        assert record(database, DOWNGRADE).status is ReconStatus.PENDING
        await typed(pilot, "vendor audit confirmed silver")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReconcileScreen)
        overridden = record(database, DOWNGRADE)
        assert overridden.status is ReconStatus.APPLIED
        assert overridden.outcome is ReconOutcome.DOWNGRADE
        assert overridden.override_reason == "vendor audit confirmed silver"
        assert tier(database, down_player) is Tier.SILVER
        [audit_row] = [
            a
            for a in audits(database, "recon.applied")
            if a.entity_id == entity(database, DOWNGRADE)
        ]
        assert audit_row.after["override_reason"] == "vendor audit confirmed silver"
        assert audit_row.before["tier"] == "platinum" and audit_row.after["tier"] == "silver"


@drive
async def test_confirm_stale_select_and_apply_all_filters_and_paging(
    demo_database: Database,
) -> None:
    """c confirms an unknown row beforehand; space selects; A applies the selection, each
    row on its own; the filters cycle and the queue reads a page at a time."""
    database = demo_database
    app = make_app(database, casino=demo.IMPORT_CASINO)
    async with app.run_test(size=UI_SIZE, notifications=True) as pilot:
        screen = await open_queue(pilot, MANAGER)
        queue = screen.query_one("#recon-queue", DataTable)

        # Filters: status cycles pending → applied; freshness all → fresh → stale.
        await pilot.press("s")
        await settle(pilot)
        assert queue.row_count == 11
        await pilot.press("s")
        await settle(pilot)
        assert [str(queue.get_row_at(i)[1]) for i in range(queue.row_count)] == [str(APPLIED)]
        await pilot.press("x", "f", "f")
        await settle(pilot)
        assert [str(queue.get_row_at(i)[1]) for i in range(queue.row_count)] == [str(STALE)]
        assert "freshness stale (f)" in text(screen, "#recon-filter")
        await pilot.press("x", "t", "t", "t")  # upgrade → no change → downgrade
        await settle(pilot)
        assert [str(queue.get_row_at(i)[1]) for i in range(queue.row_count)] == ["4", "12"]
        await pilot.press("x")
        await settle(pilot)
        assert queue.row_count == 12

        # c on the unknown row: the mark shows, and a applies without asking.
        await to_row(pilot, UNKNOWN)
        await pilot.press("c")
        await settle(pilot)
        assert str(queue.get_row_at(UNKNOWN - 1)[8]) == "unknown ✓"
        assert "confirmed by you" in text(screen, "#recon-diff")
        # Select the first row, the newcomer and the confirmed unknown row; the downgrade
        # cannot be selected.
        await pilot.press("space")
        await to_row(pilot, FIRST)
        await pilot.press("space")
        await to_row(pilot, NEWCOMER)
        await pilot.press("space")
        await to_row(pilot, DOWNGRADE)
        await pilot.press("space")
        await settle(pilot)
        assert screen.selected == {FIRST, UNKNOWN, NEWCOMER}
        assert str(queue.get_row_at(FIRST - 1)[0]) == "●"
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert any("3 of 3 selected rows applied" in n for n in notifications(app))
        for row_number, after in (
            (FIRST, Tier.GOLD),
            (UNKNOWN, Tier.PLATINUM),
            (NEWCOMER, Tier.SILVER),
        ):
            done = record(database, row_number)
            assert done.status is ReconStatus.APPLIED and done.tier_after is after
            assert tier(database, done.player_id) is after
        assert record(database, UNKNOWN).freshness_confirmed is True
        assert screen.selected == set()
        counts = text(screen, "#recon-counts")
        assert "pending 8 · applied 4" in counts

        # Re-applying a decided row changes nothing and says so.
        await to_row(pilot, APPLIED)
        before = len(audits(database, "recon.applied"))
        await pilot.press("a")
        await settle(pilot)
        assert any(
            f"Row {APPLIED} was already applied; nothing changed." in n for n in notifications(app)
        )
        assert len(audits(database, "recon.applied")) == before

        # Revert on a row that changed no tier: refused by the service, with the code.
        await to_row(pilot, DOWNGRADE)
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen
        assert any("RECON_NOT_REVERTIBLE" in n for n in notifications(app))
        assert record(database, DOWNGRADE).status is ReconStatus.PENDING

    # Paging: a page of 5 rows, keyset forward and back.
    app = make_app(database, casino=demo.IMPORT_CASINO)
    async with app.run_test(size=UI_SIZE) as pilot:
        import pitterm.screens.reconcile as module

        saved, module.PAGE_SIZE = module.PAGE_SIZE, 5
        try:
            screen = await open_queue(pilot, MANAGER)
            queue = screen.query_one("#recon-queue", DataTable)

            def shown() -> list[int]:
                return [int(str(queue.get_row_at(i)[1])) for i in range(queue.row_count)]

            assert shown() == [1, 2, 3, 4, 5]
            await pilot.press("n")
            await settle(pilot)
            assert shown() == [6, 7, 8, 9, 10]
            await pilot.press("n")
            await settle(pilot)
            assert shown() == [11, 12]
            assert "page 3, 2 rows (p: previous)" in text(screen, "#recon-filter")
            await pilot.press("p", "p")
            await settle(pilot)
            assert shown() == [1, 2, 3, 4, 5]
        finally:
            module.PAGE_SIZE = saved


@drive
async def test_a_pit_boss_cannot_open_reconcile(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        assert "mode: Reconcile" not in palette_titles(app)
        assert "f6" not in app.screen.active_bindings
        await pilot.press("f6")
        await settle(pilot)
        assert app.screen is floor and app.current_mode == "floor"
        app.action_open_mode("reconcile")  # the action itself refuses too
        await settle(pilot)
        assert app.screen is floor


@drive
async def test_vendor_text_is_shown_as_typed(sqlite_database: Database) -> None:
    """Vendor tier labels are any text the file held: markup-looking text is shown, not run."""
    label = "[b]VIP[/b] [/]"
    world = recon_support.build(
        sqlite_database,
        cases=(recon_support.Case("Ann", "C-0101", Tier.SILVER, label, "2026-10-01"),),
        map_labels=False,
    )
    app = make_app(sqlite_database)
    async with app.run_test(size=UI_SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f6")
        await settle(pilot)
        screen = reconcile(pilot)
        await pilot.press("enter")
        await settle(pilot)
        queue = screen.query_one("#recon-queue", DataTable)
        assert [str(cell) for cell in queue.get_row_at(0)[2:5]] == [
            "Ann Tester",
            "C-0101",
            label,
        ]
        assert f"{label!r} · unmapped" in text(screen, "#recon-diff")
        await pilot.press("l")
        await settle(pilot)
        labels = screen.query_one("#recon-labels", DataTable)
        assert str(labels.get_row_at(0)[0]) == label
        await pilot.press("enter", "down", "enter")  # map it to silver: no change
        await settle(pilot)
        assert recon_support.row(sqlite_database, world, 1).mapped_tier is Tier.SILVER
        assert f"{label!r} now maps to silver; 1 pending row follows." in notifications(app)


@pytest.mark.parametrize(
    ("now_utc", "days"),
    [
        (datetime(2026, 11, 21, 8, 0, tzinfo=UTC), 400),  # local midnight, to the minute
        (datetime(2026, 11, 22, 0, 5, tzinfo=UTC), 400),  # 16:05 in LA, UTC already the 22nd
        (datetime(2026, 11, 22, 7, 59, tzinfo=UTC), 400),  # 23:59 in LA
        (datetime(2026, 11, 22, 8, 0, tzinfo=UTC), 401),  # the next local day
    ],
)
def test_days_ago_counts_the_casino_calendar(now_utc: datetime, days: int) -> None:
    """A vendor date read as Los Angeles midnight is N days old all through the local day."""
    zone = ZoneInfo("America/Los_Angeles")
    seen = datetime(2025, 10, 17, tzinfo=zone).astimezone(UTC)  # 400 days before 2026-11-21
    assert days_before(seen, now_utc.astimezone(zone)) == days
