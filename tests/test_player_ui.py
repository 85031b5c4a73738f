"""Player mode driven by keys only: comps (with and without overdraw approval), refusals,
manual credit, admin corrections and the ledger history pages; asserts on the ledger rows.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from textual.widgets import Static

from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason, StaffRole
from pitterm.domain.tables import LoyaltyLedger
from pitterm.screens.approval import ApprovalPrompt
from pitterm.screens.comp_modal import CompModal
from pitterm.screens.ledger import LedgerScreen
from pitterm.screens.player import PlayerScreen
from tests.factories import PINS
from tests.player_support import (
    PlayerWorld,
    balance_of,
    build_player_world,
    credit,
    find_player,
    ledger_rows,
    typed,
)
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as
from tests.test_app_shell import notifications as notes


class TestComps:
    """Issue a comp: catalog pick, note, Enter; approval when the balance is short."""

    @drive
    async def test_pit_boss_comp_within_balance(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        rita = built.players["Hayworth"]
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            assert isinstance(app.screen, PlayerScreen)
            await find_player(pilot, "hayw")
            assert app.screen.card is not None and app.screen.card.balance == 1_000
            await pilot.press("c")
            await settle(pilot)
            assert isinstance(app.screen, CompModal)
            await pilot.press("enter")  # the first catalog item: Buffet for one, 250
            await typed(pilot, "birthday dinner")
            await pilot.press("enter")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, CompModal) and modal.outcome is not None
            assert modal.outcome.balance_before == 1_000
            assert modal.outcome.balance_after == 750
            assert not modal.outcome.overdraw_applied
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, PlayerScreen)
            assert app.screen.card is not None and app.screen.card.balance == 750
        rows = ledger_rows(sqlite_database, built.world, rita)
        assert [(r.reason, r.points_delta) for r in rows][-1] == (LedgerReason.REDEEM, -250)
        assert rows[-1].note == "birthday dinner"
        assert rows[-1].metadata_["overdraw"] is None
        assert balance_of(sqlite_database, built.world, rita) == 750

    @drive
    async def test_cashier_comp_needs_a_second_staff_pin(self, sqlite_database: Database) -> None:
        """Gene Kelly holds 100; a 250 buffet overdraws by 150. The cashier cannot approve, so
        PB1 types code and PIN; a wrong PIN first brings the prompt back, the retry succeeds."""
        built = build_player_world(sqlite_database)
        gene = built.players["Kelly"]
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.CASHIER)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "kelly")
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("enter")
            await typed(pilot, "late supper")
            await pilot.press("enter")
            await settle(pilot)
            prompt = app.screen
            assert isinstance(prompt, ApprovalPrompt)
            assert prompt.request.overdraw == 150 and not prompt.request.self_approval
            await typed(pilot, "pb1")
            await pilot.press("enter")
            await typed(pilot, "9999")
            await pilot.press("enter")
            await settle(pilot)
            again = app.screen
            assert isinstance(again, ApprovalPrompt) and again is not prompt
            assert again.request.message is not None and "PIN" in again.request.message
            assert ledger_rows(sqlite_database, built.world, gene)[-1].reason is not (
                LedgerReason.REDEEM
            )
            await typed(pilot, "pb1")
            await pilot.press("enter")
            await typed(pilot, PINS[StaffRole.PIT_BOSS])
            await pilot.press("enter")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, CompModal) and modal.outcome is not None
            assert modal.outcome.overdraw_applied
            assert modal.outcome.balance_after == -150
            receipt = str(modal.query_one(".form-receipt", Static).content)
            assert "approved by PB1" in receipt
        redeems = [
            r
            for r in ledger_rows(sqlite_database, built.world, gene)
            if r.reason is LedgerReason.REDEEM
        ]
        assert len(redeems) == 1
        overdraw = redeems[0].metadata_["overdraw"]
        boss = built.world.actor(StaffRole.PIT_BOSS)
        assert overdraw["approved_by_staff_id"] == str(boss.staff_id)
        assert overdraw["approved_by_code"] == "PB1"
        assert redeems[0].staff_id == built.world.actor(StaffRole.CASHIER).staff_id
        assert balance_of(sqlite_database, built.world, gene) == -150

    @drive
    async def test_past_the_cap_is_refused_and_writes_nothing(
        self, sqlite_database: Database
    ) -> None:
        """A custom 6,000-point comp on a 100 balance overdraws past the 5,000 cap: the
        prompt refuses, Escape closes it, and no ledger row is written."""
        built = build_player_world(sqlite_database)
        gene = built.players["Kelly"]
        before = len(ledger_rows(sqlite_database, built.world, gene))
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "kelly")
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("up", "enter")  # "Custom cost"
            await typed(pilot, "6000")
            await pilot.press("enter", "enter")  # past the optional reference
            await typed(pilot, "show and dinner")
            await pilot.press("enter")
            await settle(pilot)
            prompt = app.screen
            assert isinstance(prompt, ApprovalPrompt)
            assert not prompt.request.within_cap
            refusal = str(prompt.query_one("#approval-refusal", Static).content)
            assert "cap" in refusal
            await pilot.press("y")  # nothing to approve past the cap
            await settle(pilot)
            assert app.screen is prompt
            await pilot.press("escape")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, CompModal) and modal.outcome is None
            assert "nothing was issued" in str(modal.query_one(".form-error", Static).content)
        assert len(ledger_rows(sqlite_database, built.world, gene)) == before
        assert balance_of(sqlite_database, built.world, gene) == 100

    @drive
    async def test_double_enter_issues_one_comp(self, sqlite_database: Database) -> None:
        """Enter twice on the note: the second Enter finds the request in flight (or the
        receipt) and sends nothing; the key minted when the modal opened is used once."""
        built = build_player_world(sqlite_database)
        rita = built.players["Hayworth"]
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "hayw")
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("enter")
            await typed(pilot, "buffet")
            await pilot.press("enter", "enter")
            await settle(pilot)
        redeems = [
            r
            for r in ledger_rows(sqlite_database, built.world, rita)
            if r.reason is LedgerReason.REDEEM
        ]
        assert len(redeems) == 1
        assert balance_of(sqlite_database, built.world, rita) == 750

    @drive
    async def test_keys_follow_the_role(self, sqlite_database: Database) -> None:
        """A cashier may comp but not credit or correct; a floor supervisor only looks."""
        build_player_world(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.CASHIER)
            await pilot.press("f3")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PlayerScreen)
            assert screen.check_action("comp", ()) is None  # greyed: no player yet
            await find_player(pilot, "hayw")
            assert screen.check_action("comp", ()) is True
            assert screen.check_action("credit", ()) is False
            assert screen.check_action("adjust", ()) is False
            assert screen.check_action("reverse", ()) is False
            assert screen.check_action("ledger", ()) is True


class TestCreditsAndCorrections:
    """Manual credit (pit boss) and the admin's reversal of a ledger entry."""

    @drive
    async def test_manual_credit(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        rita = built.players["Hayworth"]
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "hayw")
            await pilot.press("m")
            await settle(pilot)
            await typed(pilot, "500")
            await pilot.press("enter")
            await typed(pilot, "400")
            await pilot.press("enter")
            await typed(pilot, "dealer error on BJ-01")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, PlayerScreen)
        row = ledger_rows(sqlite_database, built.world, rita)[-1]
        assert (row.reason, row.points_delta) == (LedgerReason.MANUAL_REWARD, 500)
        assert row.metadata_["suggested_points"] == 400
        assert row.note == "dealer error on BJ-01"
        assert balance_of(sqlite_database, built.world, rita) == 1_500

    @drive
    async def test_admin_reverses_the_selected_entry(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        rita = built.players["Hayworth"]
        original = ledger_rows(sqlite_database, built.world, rita)[-1]
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.ADMIN)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "hayw")
            screen = app.screen
            assert isinstance(screen, PlayerScreen)
            entry = screen.selected_entry()
            assert entry is not None and entry.id == original.id
            await pilot.press("v")
            await settle(pilot)
            await typed(pilot, "credited to the wrong player")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert screen.card is not None and screen.card.balance == 0
        reversal = ledger_rows(sqlite_database, built.world, rita)[-1]
        assert reversal.reason is LedgerReason.REVERSAL
        assert reversal.points_delta == -1_000
        assert reversal.reverses_entry_id == original.id
        assert reversal.note == "credited to the wrong player"
        assert balance_of(sqlite_database, built.world, rita) == 0


def seed_credits(database: Database, built: PlayerWorld, count: int) -> None:
    """``count`` small credits to Rita, a minute apart (so the order is the clock's)."""
    for _ in range(count):
        credit(database, built.world, built.players["Hayworth"], 10)


class TestLedgerScreen:
    """Ledger history: 50-row keyset pages forward and back, filters, and CSV export."""

    @drive
    async def test_pages_forward_and_back(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        seed_credits(sqlite_database, built, 118)  # with the two opening credits: 120 rows
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.FLOOR_SUPERVISOR)
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("l")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, LedgerScreen)
            assert screen.player is None
            first = list(screen.rows)
            assert len(first) == 50
            assert screen.check_action("previous_page", ()) is None
            await pilot.press("n")
            await settle(pilot)
            second = list(screen.rows)
            await pilot.press("n")
            await settle(pilot)
            third = list(screen.rows)
            assert (len(second), len(third)) == (50, 20)
            assert screen.pages.next_cursor is None
            assert screen.check_action("next_page", ()) is None
            assert not set(first) & set(second) and not set(second) & set(third)
            times = [row.created_at for row in screen.rows.values()]
            assert times == sorted(times, reverse=True)
            await pilot.press("b")
            await settle(pilot)
            assert list(screen.rows) == second
            await pilot.press("b")
            await settle(pilot)
            assert list(screen.rows) == first
            assert len(screen.pages.cursors) == 1
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, PlayerScreen)
        with sqlite_database.reader(built.world.scope) as uow:
            assert uow.session.scalar(select(func.count()).select_from(LoyaltyLedger)) == 120

    @drive
    async def test_player_and_reason_filters(self, sqlite_database: Database) -> None:
        """From a player's card, l shows that player's entries; x shows everyone again."""
        built = build_player_world(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            await find_player(pilot, "kelly")
            await pilot.press("l")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, LedgerScreen)
            assert {row.player_id for row in screen.rows.values()} == {built.players["Kelly"]}
            await pilot.press("x")
            await settle(pilot)
            assert len(screen.rows) == 2

    @drive
    async def test_export_writes_the_filtered_range(
        self, sqlite_database: Database, tmp_path: Path
    ) -> None:
        built = build_player_world(sqlite_database)
        seed_credits(sqlite_database, built, 60)
        target = tmp_path / "ledger.csv"
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await sign_in_as(pilot, StaffRole.PIT_BOSS)
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("l")
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
            await pilot.press("ctrl+u")  # clear the suggested path
            await typed(pilot, str(target))
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, LedgerScreen)
            assert any(f"62 ledger rows written to {target}" in text for text in notes(app))
        lines = target.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 63 and lines[0].startswith("created_at,")
