"""Promo mode driven by keys only: issue, look up, void and replace coupons; program status;
inventory pages and filters; what each role may do. Asserts on the promo tables.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from textual.widgets import DataTable, Static

from pitterm.domain import promo
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.promo_numbers import ALPHABET, compact
from pitterm.domain.promo_rules import CouponStatus, ProgramStatus, PromoType
from pitterm.domain.tables import PromoCoupon, PromoProgram
from pitterm.screens.floor import FloorScreen
from pitterm.screens.promo import PromoScreen
from pitterm.screens.promo_coupons import (
    BigNumber,
    CouponModal,
    IssueCouponForm,
    LookupForm,
    ReplaceForm,
    spaced,
)
from pitterm.screens.promo_programs import ProgramActionForm
from tests.player_support import PlayerWorld, build_player_world, tick, typed
from tests.promo_support import issue, new_program, void
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as
from tests.test_app_shell import notifications as notes

PROMO_SIZE = (120, 40)


def coupon_row(database: Database, built: PlayerWorld, number: str) -> PromoCoupon:
    with database.reader(built.world.admin) as uow:
        row = uow.session.scalars(
            select(PromoCoupon).where(PromoCoupon.validation_number == number)
        ).one()
        uow.session.expunge(row)
        return row


def program_status(database: Database, built: PlayerWorld, program_id: uuid.UUID) -> ProgramStatus:
    with database.reader(built.world.admin) as uow:
        program = uow.session.get_one(PromoProgram, program_id)
        return program.status


def mistype(number: str) -> str:
    """The number with its second body character changed: the check character catches it."""
    raw = compact(number)
    wrong = ALPHABET[(ALPHABET.index(raw[3]) + 1) % len(ALPHABET)]
    return raw[:3] + wrong + raw[4:]


async def open_promo(pilot, role: StaffRole) -> PromoScreen:  # type: ignore[no-untyped-def]
    await sign_in_as(pilot, role)
    await pilot.press("f4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PromoScreen)
    return screen


async def look_up(pilot, number: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("l")
    await settle(pilot)
    assert isinstance(pilot.app.screen, LookupForm)
    await typed(pilot, number.lower())
    await pilot.press("enter")
    await settle(pilot)


class TestCoupons:
    """Issue → look up → void, replace, and a mistyped number."""

    @drive
    async def test_issue_then_look_up_and_void(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss, PromoType.MATCH_PLAY, name="Weekend Match")
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            await open_promo(pilot, StaffRole.PIT_BOSS)
            await pilot.press("i")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, IssueCouponForm)
            await pilot.press("enter", "down", "enter")  # the program: the only active one
            await pilot.press("tab")
            await typed(pilot, "25")
            await pilot.press("enter", "enter", "enter", "enter")  # wager = face, no expiry
            await settle(pilot)
            assert form.issued is not None, form.query_one(".form-error", Static).content
            number = form.issued.coupon.validation_number
            big = form.query_one(BigNumber)
            assert big.number == number and str(big.content) == spaced(number)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, PromoScreen)
            await look_up(pilot, number)
            modal = app.screen
            assert isinstance(modal, CouponModal) and modal.coupon.validation_number == number
            await pilot.press("v")
            await settle(pilot)
            await typed(pilot, "wrong amount")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CouponModal)
            assert app.screen.coupon.status is CouponStatus.VOIDED
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, PromoScreen)
        row = coupon_row(sqlite_database, built, number)
        assert row.program_id == program.id
        assert (row.face_value_cents, row.required_match_wager_cents) == (2_500, 2_500)
        assert row.status is CouponStatus.VOIDED
        assert row.void_reason == "wrong amount"

    @drive
    async def test_replace_links_a_new_coupon(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss, PromoType.FREE_BET)
        old = issue(sqlite_database, boss, program.id, face=5_000, match=False)
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            await open_promo(pilot, StaffRole.LOYALTY_MANAGER)
            await look_up(pilot, old.validation_number)
            assert isinstance(app.screen, CouponModal)
            await pilot.press("r")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, ReplaceForm)
            await typed(pilot, "coupon torn")
            await pilot.press("enter", "enter")
            await settle(pilot)
            assert form.replaced is not None
            new_number = form.replaced.replacement.validation_number
            assert form.query_one(BigNumber).number == new_number
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CouponModal)
            assert app.screen.coupon.status is CouponStatus.REPLACED
        before = coupon_row(sqlite_database, built, old.validation_number)
        after = coupon_row(sqlite_database, built, new_number)
        assert before.status is CouponStatus.REPLACED
        assert before.replace_reason == "coupon torn"
        assert before.replaced_by_coupon_id == after.id
        assert after.status is CouponStatus.ISSUED
        assert after.face_value_cents == 5_000

    @drive
    async def test_a_mistyped_number_is_refused_before_the_search(
        self, sqlite_database: Database
    ) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss)
        coupon = issue(sqlite_database, boss, program.id)
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            await open_promo(pilot, StaffRole.FLOOR_SUPERVISOR)
            await look_up(pilot, mistype(coupon.validation_number))
            form = app.screen
            assert isinstance(form, LookupForm)
            error = str(form.query_one(".form-error", Static).content)
            assert "check character does not match" in error
            assert "Re-read the coupon" in error
            assert form.query_one("#lookup-number").has_class("-invalid")
            await pilot.press("ctrl+u")
            await typed(pilot, "mp7k3q")
            await pilot.press("enter")
            await settle(pilot)
            error = str(form.query_one(".form-error", Static).content)
            assert "has 11 characters" in error
            assert isinstance(app.screen, LookupForm)
        assert coupon_row(sqlite_database, built, coupon.validation_number).status is (
            CouponStatus.ISSUED
        )


class TestPrograms:
    """Programs move draft → active → paused by keys, each after a confirmation."""

    @drive
    async def test_activate_then_pause(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        draft = new_program(sqlite_database, boss, PromoType.OTHER, name="Chips", activate=False)
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            screen = await open_promo(pilot, StaffRole.PIT_BOSS)
            assert screen.selected_program() is not None
            await pilot.press("p")  # pausing a draft is not offered
            await settle(pilot)
            assert isinstance(app.screen, PromoScreen)
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, ProgramActionForm)
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, PromoScreen)
            assert program_status(sqlite_database, built, draft.id) is ProgramStatus.ACTIVE
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, ProgramActionForm)
            await pilot.press("n")  # declined: nothing changes
            await settle(pilot)
            assert program_status(sqlite_database, built, draft.id) is ProgramStatus.ACTIVE
            await pilot.press("p")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert program_status(sqlite_database, built, draft.id) is ProgramStatus.PAUSED
            grid = screen.query_one("#promo-programs", DataTable)
            assert str(grid.get_row_at(0)[2]) == "paused"


class TestInventory:
    """The coupon inventory pages by 50 and filters by status."""

    @drive
    async def test_pages_and_status_filter(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss)
        coupons = []
        for _ in range(55):
            coupons.append(issue(sqlite_database, boss, program.id))
            tick(sqlite_database, 10)
        for coupon in coupons[:3]:
            void(sqlite_database, boss, coupon.id)
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            screen = await open_promo(pilot, StaffRole.PIT_BOSS)
            grid = screen.query_one("#promo-coupons", DataTable)
            assert grid.row_count == 50
            first = str(grid.get_row_at(0)[0])
            assert first == coupons[-1].validation_number  # newest first
            await pilot.press("n")
            await settle(pilot)
            assert grid.row_count == 5
            assert str(grid.get_row_at(4)[0]) == coupons[0].validation_number
            await pilot.press("b")
            await settle(pilot)
            assert grid.row_count == 50
            await pilot.press("shift+tab", "shift+tab", "shift+tab")  # to the status filter
            assert app.focused is screen.query_one("#promo-filter-status")
            await pilot.press("enter", "down", "down", "enter")  # all, issued, voided
            await settle(pilot)
            assert screen.pages.where.status is CouponStatus.VOIDED
            assert grid.row_count == 3
            assert {str(grid.get_row_at(i)[0]) for i in range(3)} == {
                c.validation_number for c in coupons[:3]
            }
            await pilot.press("tab", "tab", "tab")
            await pilot.press("u")
            await settle(pilot)
            assert grid.row_count == 50

    @drive
    async def test_export_writes_every_filtered_coupon(
        self, sqlite_database: Database, tmp_path: Path
    ) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss)
        coupons = [issue(sqlite_database, boss, program.id) for _ in range(55)]
        target = tmp_path / "coupons.csv"
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE, notifications=True) as pilot:
            screen = await open_promo(pilot, StaffRole.PIT_BOSS)
            await pilot.press("x")
            await settle(pilot)
            await pilot.press("ctrl+u")  # clear the suggested path
            await typed(pilot, str(target))
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            assert any(f"55 coupons written to {target}" in text for text in notes(app))
        lines = target.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 56  # a header, then every page, not only the 50 on screen
        assert {c.validation_number for c in coupons} <= {
            cell for line in lines[1:] for cell in line.split(",")
        }


class TestRoles:
    """Who sees Promo mode, and which of its keys."""

    @drive
    async def test_cashier_has_no_promo_mode(self, sqlite_database: Database) -> None:
        build_player_world(sqlite_database)
        app = make_app(sqlite_database)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in_as(pilot, StaffRole.CASHIER)
            assert not app.may_open("promo")
            await pilot.press("f4")
            await settle(pilot)
            assert isinstance(app.screen, FloorScreen)

    @drive
    async def test_floor_supervisor_issues_but_cannot_void(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss, PromoType.NONNEGOTIABLE)
        coupon = issue(sqlite_database, boss, program.id, match=False)
        app = make_app(sqlite_database)
        async with app.run_test(size=PROMO_SIZE) as pilot:
            screen = await open_promo(pilot, StaffRole.FLOOR_SUPERVISOR)
            assert screen.check_action("issue", ()) is True
            assert screen.check_action("program", ("pause",)) is False
            assert screen.check_action("new_program", ()) is False
            await pilot.press("p")  # hidden: nothing happens
            await settle(pilot)
            assert isinstance(app.screen, PromoScreen)
            await look_up(pilot, coupon.validation_number)
            modal = app.screen
            assert isinstance(modal, CouponModal)
            assert modal.check_action("void", ()) is False
            await pilot.press("v")
            await settle(pilot)
            assert app.screen is modal
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("i")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, IssueCouponForm)
            await pilot.press("enter", "down", "enter", "tab")
            await typed(pilot, "10")
            await pilot.press("enter", "enter", "enter")  # no wager row for nonnegotiable
            await settle(pilot)
            assert form.issued is not None
            number = form.issued.coupon.validation_number
        assert coupon_row(sqlite_database, built, coupon.validation_number).status is (
            CouponStatus.ISSUED
        )
        issued = coupon_row(sqlite_database, built, number)
        assert issued.face_value_cents == 1_000 and issued.required_match_wager_cents == 0


class TestIssuanceByHour:
    """promo.issuance_by_hour: coupons per hour of the current shift, for the sparkline."""

    def test_counts_by_hour_of_the_shift(self, sqlite_database: Database) -> None:
        built = build_player_world(sqlite_database)
        boss = built.world.actor(StaffRole.PIT_BOSS)
        program = new_program(sqlite_database, boss, start=timedelta(days=-3))
        series = promo.issuance_by_hour(sqlite_database.reader(boss), boss)
        # FROZEN_NOW is 12:00 in Las Vegas: the day shift, 06:00–14:00.
        assert series.shift.value == "day" and len(series.counts) == 8
        assert series.counts == [0] * 8
        issue(sqlite_database, boss, program.id)  # 12:00 → hour 6
        tick(sqlite_database, -3 * 3600)  # 09:00 → hour 3
        issue(sqlite_database, boss, program.id)
        issue(sqlite_database, boss, program.id)
        tick(sqlite_database, -7 * 3600)  # 02:00, the previous (grave) shift: not counted
        issue(sqlite_database, boss, program.id)
        tick(sqlite_database, 10 * 3600)  # back to 12:00
        series = promo.issuance_by_hour(sqlite_database.reader(boss), boss)
        assert series.counts == [0, 0, 0, 2, 0, 0, 1, 0]
