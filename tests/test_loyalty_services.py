"""Comps with overdraw approval, credits, promotions, corrections and history — both backends."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from pitterm.domain import loyalty
from pitterm.domain.auth import Credentials
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import LedgerReason, StaffRole, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import CasinoSettings
from tests.factories import CODES, PINS, CasinoWorld, build_casino
from tests.floor_support import (
    assert_balances_match_ledger,
    close,
    enrol,
    key,
    ledger_entries,
    open_visit,
    start,
)


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def credentials(role: StaffRole) -> Credentials:
    return Credentials(staff_code=CODES[role], pin=PINS[role])


def expect(code: ErrorCode, call: Any, *args: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args)
    assert raised.value.code is code, raised.value
    return raised.value


def credit(database: Database, world: CasinoWorld, player: uuid.UUID, points: int) -> None:
    admin = world.admin
    loyalty.manual_credit(
        database.uow(admin),
        admin,
        loyalty.ManualCredit(player_id=player, points=points, note="seed", idempotency_key=key()),
    )


def redeem(database: Database, actor: Any, player: uuid.UUID, points: int, **extra: Any):
    data = {
        "player_id": player,
        "points": points,
        "note": "dinner for two",
        "idempotency_key": key(),
        **extra,
    }
    return loyalty.redeem(database.uow(actor), actor, data)


class TestRedeem:
    def test_comp_debits_and_reports_balances(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        credit(backend, world, player, 9000)
        result = redeem(backend, boss, player, 2000, reference="rcpt-17")
        assert (result.balance_before, result.balance_after, result.points_delta) == (
            9000,
            7000,
            -2000,
        )
        assert not result.overdraw_applied
        [entry] = ledger_entries(backend, world.scope, LedgerReason.REDEEM)
        assert entry.metadata_["balance_before"] == 9000
        assert entry.metadata_["overdraw"] is None
        assert entry.metadata_["redemption"]["reference"] == "rcpt-17"
        assert_balances_match_ledger(backend, world.scope)

    def test_catalog_comp_uses_its_cost(self, backend, world) -> None:
        comp = loyalty.add_comp(
            backend.uow(world.admin),
            world.admin,
            loyalty.NewComp(name="Buffet", category="Food", points_cost=500),
        )
        cashier = world.actor(StaffRole.CASHIER)
        player = enrol(backend, world.admin)
        credit(backend, world, player, 600)
        result = redeem(backend, cashier, player, None, comp_id=comp.id)
        assert (result.points_delta, result.comp_name) == (-500, "Buffet")
        loyalty.set_comp_active(backend.uow(world.admin), world.admin, comp.id, False)
        expect(
            ErrorCode.COMP_NOT_FOUND,
            lambda: redeem(backend, cashier, player, None, comp_id=comp.id),
        )

    def test_insufficient_balance_without_overdraw(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        credit(backend, world, player, 100)
        expect(ErrorCode.LOYALTY_INSUFFICIENT_BALANCE, redeem, backend, boss, player, 500)
        assert len(ledger_entries(backend, world.scope, LedgerReason.REDEEM)) == 0

    def test_pit_boss_approves_own_overdraw_within_cap(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        credit(backend, world, player, 500)
        result = redeem(backend, boss, player, 2000, allow_overdraw=True)
        assert result.overdraw_applied and result.balance_after == -1500
        assert result.approved_by_staff_id == boss.staff_id
        [entry] = ledger_entries(backend, world.scope, LedgerReason.REDEEM)
        assert entry.metadata_["overdraw"]["self_approved"] is True
        # -1500 - 3501 would fall below the -5000 cap.
        expect(
            ErrorCode.LOYALTY_OVERDRAW_EXCEEDS_CAP,
            lambda: redeem(backend, boss, player, 3501, allow_overdraw=True),
        )
        assert redeem(backend, boss, player, 3500, allow_overdraw=True).balance_after == -5000

    def test_cap_is_checked_even_when_allowed(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        error = expect(
            ErrorCode.LOYALTY_OVERDRAW_EXCEEDS_CAP,
            lambda: redeem(backend, boss, player, 5001, allow_overdraw=True),
        )
        assert error.details["cap"] == 5000

    def test_cashier_needs_a_second_staff_approval(self, backend, world) -> None:
        cashier = world.actor(StaffRole.CASHIER)
        player = enrol(backend, world.admin)
        credit(backend, world, player, 100)
        expect(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            lambda: redeem(backend, cashier, player, 1000, allow_overdraw=True),
        )
        # A second cashier (or the cashier itself) cannot approve.
        expect(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            lambda: redeem(
                backend,
                cashier,
                player,
                1000,
                allow_overdraw=True,
                approver=credentials(StaffRole.CASHIER),
            ),
        )
        wrong_pin = Credentials(staff_code=CODES[StaffRole.PIT_BOSS], pin="9999")
        expect(
            ErrorCode.AUTH_INVALID_CREDENTIALS,
            lambda: redeem(backend, cashier, player, 1000, allow_overdraw=True, approver=wrong_pin),
        )
        approved = redeem(
            backend,
            cashier,
            player,
            1000,
            allow_overdraw=True,
            approver=credentials(StaffRole.PIT_BOSS),
        )
        assert approved.approved_by_staff_id == world.actor(StaffRole.PIT_BOSS).staff_id
        [entry] = ledger_entries(backend, world.scope, LedgerReason.REDEEM)
        assert entry.metadata_["overdraw"]["approved_by_code"] == "PB1"
        assert entry.staff_id == cashier.staff_id

    def test_four_eyes_requires_a_distinct_approver(self, backend, world) -> None:
        with backend.uow(world.scope) as uow:
            uow.session.execute(update(CasinoSettings).values(four_eyes_overdraw=True))
            uow.commit()
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        expect(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            lambda: redeem(backend, boss, player, 100, allow_overdraw=True),
        )
        expect(
            ErrorCode.LOYALTY_OVERDRAW_NOT_AUTHORIZED,
            lambda: redeem(
                backend,
                boss,
                player,
                100,
                allow_overdraw=True,
                approver=credentials(StaffRole.PIT_BOSS),
            ),
        )
        ok = redeem(
            backend, boss, player, 100, allow_overdraw=True, approver=credentials(StaffRole.ADMIN)
        )
        assert ok.approved_by_staff_id == world.admin.staff_id

    def test_locked_and_foreign_staff_cannot_approve(self, backend, world) -> None:
        other = build_casino(backend, "BETA")
        cashier = world.actor(StaffRole.CASHIER)
        player = enrol(backend, world.admin)
        # BETA's admin has the same code and PIN, but is not staff of this casino... the
        # lookup is scoped to ALPHA, so those credentials resolve to ALPHA's admin or nobody.
        stranger = Credentials(staff_code="NOPE1", pin="1000")
        expect(
            ErrorCode.AUTH_INVALID_CREDENTIALS,
            lambda: redeem(backend, cashier, player, 100, allow_overdraw=True, approver=stranger),
        )
        assert other.casino.id != world.casino.id
        for _ in range(5):
            with pytest.raises(DomainError):
                redeem(
                    backend,
                    cashier,
                    player,
                    100,
                    allow_overdraw=True,
                    approver=Credentials(staff_code="PB1", pin="0000"),
                )
        expect(
            ErrorCode.AUTH_STAFF_LOCKED,
            lambda: redeem(
                backend,
                cashier,
                player,
                100,
                allow_overdraw=True,
                approver=credentials(StaffRole.PIT_BOSS),
            ),
        )

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"note": "   "}, ErrorCode.LOYALTY_NOTE_REQUIRED),
            ({"points": 0}, ErrorCode.LOYALTY_POINTS_INVALID),
            ({"points": -5}, ErrorCode.LOYALTY_POINTS_INVALID),
            ({"idempotency_key": None}, ErrorCode.LOYALTY_IDEMPOTENCY_REQUIRED),
            ({"player_id": uuid.UUID(int=7)}, ErrorCode.LOYALTY_PLAYER_NOT_FOUND),
        ],
    )
    def test_bad_redeem_input(self, backend, world, change, code) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        credit(backend, world, player, 1000)
        data = {"player_id": player, "points": 10, "note": "x", "idempotency_key": key(), **change}
        expect(code, loyalty.redeem, backend.uow(boss), boss, data)
        assert len(ledger_entries(backend, world.scope)) == 1

    def test_repeat_returns_original_and_different_content_is_refused(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        credit(backend, world, player, 1000)
        request = loyalty.Redeem(player_id=player, points=300, note="show", idempotency_key=key())
        first = loyalty.redeem(backend.uow(boss), boss, request)
        again = loyalty.redeem(backend.uow(boss), boss, request)
        assert again.is_existing and again.ledger_id == first.ledger_id
        assert again.balance_after == 700
        changed = request.model_copy(update={"points": 301})
        expect(ErrorCode.IDEMPOTENCY_CONFLICT, loyalty.redeem, backend.uow(boss), boss, changed)
        assert len(ledger_entries(backend, world.scope, LedgerReason.REDEEM)) == 1


class TestCreditsAndCorrections:
    def test_manual_credit_requires_note_and_positive_points(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        result = loyalty.manual_credit(
            backend.uow(boss),
            boss,
            loyalty.ManualCredit(
                player_id=player,
                points=1500,
                note="dealer error table 5",
                suggested_points=1500,
                idempotency_key=key(),
            ),
        )
        assert (result.points_delta, result.balance_after) == (1500, 1500)
        [entry] = ledger_entries(backend, world.scope)
        assert entry.metadata_["suggested_points"] == 1500
        for bad, code in [
            ({"note": ""}, ErrorCode.LOYALTY_NOTE_REQUIRED),
            ({"points": 0}, ErrorCode.LOYALTY_POINTS_INVALID),
        ]:
            data = {"player_id": player, "points": 10, "note": "n", "idempotency_key": key(), **bad}
            expect(code, loyalty.manual_credit, backend.uow(boss), boss, data)

    def test_promotion_multiplier_or_bonus_once_per_campaign_and_slip(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        slip = start(
            backend,
            boss,
            open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, player),
            world.table_ids[0],
        )
        expect(
            ErrorCode.LOYALTY_SLIP_NOT_CLOSED,
            loyalty.apply_promotion,
            backend.uow(boss),
            boss,
            {"slip_id": slip, "campaign_id": "X", "bonus_points": 5, "idempotency_key": key()},
        )
        assert isinstance(backend.clock, FixedClock)
        backend.clock.advance(timedelta(hours=2))
        close(backend, boss, slip)  # 2100 base points
        double = loyalty.apply_promotion(
            backend.uow(boss),
            boss,
            loyalty.ApplyPromotion(
                slip_id=slip, campaign_id="DOUBLE-NOV", multiplier=2, idempotency_key=key()
            ),
        )
        assert double.promo_points_delta == 2100 and double.balance_after == 4200
        again = loyalty.apply_promotion(
            backend.uow(boss),
            boss,
            loyalty.ApplyPromotion(
                slip_id=slip, campaign_id="DOUBLE-NOV", multiplier=2, idempotency_key=key()
            ),
        )
        assert again.is_existing and again.ledger_id == double.ledger_id
        bonus = loyalty.apply_promotion(
            backend.uow(boss),
            boss,
            loyalty.ApplyPromotion(
                slip_id=slip, campaign_id="WELCOME", bonus_points=250, idempotency_key=key()
            ),
        )
        assert bonus.balance_after == 4450
        expect(
            ErrorCode.LOYALTY_POINTS_INVALID,
            loyalty.apply_promotion,
            backend.uow(boss),
            boss,
            {
                "slip_id": slip,
                "campaign_id": "BOTH",
                "bonus_points": 5,
                "multiplier": "1.5",
                "idempotency_key": key(),
            },
        )
        expect(
            ErrorCode.LOYALTY_SLIP_NOT_FOUND,
            loyalty.apply_promotion,
            backend.uow(boss),
            boss,
            {
                "slip_id": uuid.UUID(int=1),
                "campaign_id": "X",
                "bonus_points": 5,
                "idempotency_key": key(),
            },
        )
        assert_balances_match_ledger(backend, world.scope)

    def test_promotion_refused_on_ghost_slip(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        slip = start(
            backend,
            boss,
            open_visit(backend, boss, VisitKind.GAMING_GHOST_UNRATED, description="cap"),
            world.table_ids[0],
        )
        close(backend, boss, slip)
        expect(
            ErrorCode.PROMOTION_SLIP_UNRATED,
            loyalty.apply_promotion,
            backend.uow(boss),
            boss,
            {"slip_id": slip, "campaign_id": "X", "bonus_points": 5, "idempotency_key": key()},
        )

    def test_adjustment_and_exact_single_reversal(self, backend, world) -> None:
        admin = world.admin
        player = enrol(backend, admin)
        credit(backend, world, player, 1000)
        boss = world.actor(StaffRole.PIT_BOSS)
        comp = redeem(backend, boss, player, 400)
        adjusted = loyalty.adjust(
            backend.uow(admin),
            admin,
            loyalty.Adjust(
                player_id=player, points=-50, note="duplicate buffet", idempotency_key=key()
            ),
        )
        assert adjusted.balance_after == 550
        reversed_ = loyalty.reverse(
            backend.uow(admin),
            admin,
            loyalty.Reverse(
                entry_id=comp.ledger_id, note="comp voided at cage", idempotency_key=key()
            ),
        )
        assert (reversed_.points_delta, reversed_.balance_after) == (400, 950)
        expect(
            ErrorCode.LEDGER_ALREADY_REVERSED,
            loyalty.reverse,
            backend.uow(admin),
            admin,
            {"entry_id": comp.ledger_id, "note": "again", "idempotency_key": key()},
        )
        expect(
            ErrorCode.LEDGER_ENTRY_NOT_REVERSIBLE,
            loyalty.reverse,
            backend.uow(admin),
            admin,
            {"entry_id": reversed_.ledger_id, "note": "x", "idempotency_key": key()},
        )
        expect(
            ErrorCode.LEDGER_ENTRY_NOT_FOUND,
            loyalty.reverse,
            backend.uow(admin),
            admin,
            {"entry_id": uuid.UUID(int=3), "note": "x", "idempotency_key": key()},
        )
        expect(
            ErrorCode.LOYALTY_POINTS_INVALID,
            loyalty.adjust,
            backend.uow(admin),
            admin,
            {"player_id": player, "points": 0, "note": "x", "idempotency_key": key()},
        )
        assert_balances_match_ledger(backend, world.scope)


OPERATIONS: dict[str, Capability] = {
    "redeem": Capability.ISSUE_COMP,
    "manual_credit": Capability.MANUAL_CREDIT,
    "apply_promotion": Capability.APPLY_PROMOTION,
    "adjust": Capability.ADJUST_REVERSE,
    "reverse": Capability.ADJUST_REVERSE,
    "history": Capability.VIEW_FLOOR,
}


@pytest.mark.parametrize("role", list(StaffRole))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_role_matrix(sqlite_database: Database, role: StaffRole, operation: str) -> None:
    """Every loyalty operation × every role: refused with AUTH_FORBIDDEN exactly off-matrix."""
    world = build_casino(sqlite_database)
    actor = world.actor(role)
    missing = uuid.UUID(int=99)
    calls = {
        "redeem": lambda: loyalty.redeem(
            sqlite_database.uow(actor),
            actor,
            {"player_id": missing, "points": 1, "note": "n", "idempotency_key": key()},
        ),
        "manual_credit": lambda: loyalty.manual_credit(
            sqlite_database.uow(actor),
            actor,
            {"player_id": missing, "points": 1, "note": "n", "idempotency_key": key()},
        ),
        "apply_promotion": lambda: loyalty.apply_promotion(
            sqlite_database.uow(actor),
            actor,
            {"slip_id": missing, "campaign_id": "c", "bonus_points": 1, "idempotency_key": key()},
        ),
        "adjust": lambda: loyalty.adjust(
            sqlite_database.uow(actor),
            actor,
            {"player_id": missing, "points": 1, "note": "n", "idempotency_key": key()},
        ),
        "reverse": lambda: loyalty.reverse(
            sqlite_database.uow(actor),
            actor,
            {"entry_id": missing, "note": "n", "idempotency_key": key()},
        ),
        "history": lambda: loyalty.history(sqlite_database.reader(actor), actor),
    }
    allowed = can(role, OPERATIONS[operation])
    try:
        calls[operation]()
        outcome = None
    except DomainError as error:
        outcome = error.code
    if allowed:
        assert outcome is not ErrorCode.AUTH_FORBIDDEN
    else:
        assert outcome is ErrorCode.AUTH_FORBIDDEN


class TestHistory:
    def test_keyset_pages_newest_first_with_filters(self, backend, world) -> None:
        admin = world.admin
        player = enrol(backend, admin)
        other = enrol(backend, admin, "Ada", "Lovelace")
        assert isinstance(backend.clock, FixedClock)
        for i in range(1, 8):
            backend.clock.advance(timedelta(minutes=1))
            credit(backend, world, player if i % 2 else other, i)
        page = loyalty.history(backend.reader(admin), admin, limit=3)
        assert [r.points_delta for r in page.rows] == [7, 6, 5]
        seen = [r.points_delta for r in page.rows]
        while page.next_cursor:
            page = loyalty.history(backend.reader(admin), admin, cursor=page.next_cursor, limit=3)
            seen += [r.points_delta for r in page.rows]
        assert seen == [7, 6, 5, 4, 3, 2, 1]
        mine = loyalty.history(backend.reader(admin), admin, loyalty.LedgerFilter(player_id=player))
        assert [r.points_delta for r in mine.rows] == [7, 5, 3, 1]
        assert all(r.staff_code == "ADM1" and r.note == "seed" for r in mine.rows)
        expect(
            ErrorCode.LEDGER_CURSOR_INVALID,
            loyalty.history,
            backend.reader(admin),
            admin,
            None,
            "not-a-cursor",
        )

    def test_csv_export_neutralises_formulas(self, backend, world) -> None:
        admin = world.admin
        player = enrol(backend, admin, '=HYPERLINK("x")', "@Evil")
        loyalty.manual_credit(
            backend.uow(admin),
            admin,
            loyalty.ManualCredit(
                player_id=player, points=5, note="+cmd|' /C calc'!A0", idempotency_key=key()
            ),
        )
        out = io.StringIO()
        count = loyalty.export_history_csv(
            backend.reader(admin), admin, loyalty.LedgerFilter(), out
        )
        text = out.getvalue()
        assert count == 1
        assert "'=HYPERLINK" in text and "'+cmd" in text
        assert "\n=HYPER" not in text and ",=HYPER" not in text and ",+cmd" not in text

    def test_player_card(self, backend, world) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        player = enrol(backend, boss)
        visit = open_visit(backend, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)
        slip = start(backend, boss, visit, world.table_ids[0])
        assert isinstance(backend.clock, FixedClock)
        backend.clock.advance(timedelta(hours=2))
        close(backend, boss, slip)
        card = loyalty.player_card(backend.reader(boss), boss, player)
        assert (card.balance, card.open_visit_id, card.tier) == (2100, visit, "bronze")
        assert str(card.today_theo) == "210" and card.recent[0].points_delta == 2100


def test_overdraw_policy_tells_the_screen_who_must_approve(backend: Database) -> None:
    world = build_casino(backend)
    boss, cashier = world.actor(StaffRole.PIT_BOSS), world.actor(StaffRole.CASHIER)
    policy = loyalty.overdraw_policy(backend.reader(boss), boss)
    assert (policy.cap_points, policy.four_eyes, policy.actor_may_approve) == (5000, False, True)
    assert not loyalty.overdraw_policy(backend.reader(cashier), cashier).actor_may_approve
    with backend.uow(world.scope) as uow:
        uow.session.execute(update(CasinoSettings).values(four_eyes_overdraw=True))
        uow.commit()
    assert not loyalty.overdraw_policy(backend.reader(boss), boss).actor_may_approve
