"""Visits, slips, accrual on close, and cash watch — services on both backends."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from pitterm.domain import cash, players, slips, visits
from pitterm.domain.clock import FixedClock
from pitterm.domain.ctr import CtrStatus
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection, LedgerReason, SlipStatus, StaffRole, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, GameSettings, RatingSlip, Visit
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import (
    assert_balances_match_ledger,
    close,
    enrol,
    key,
    ledger_entries,
    open_visit,
    start,
)

RATED = VisitKind.GAMING_IDENTIFIED_RATED
GHOST = VisitKind.GAMING_GHOST_UNRATED
REWARD = VisitKind.REWARD_IDENTIFIED


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def clock(database: Database) -> FixedClock:
    assert isinstance(database.clock, FixedClock)
    return database.clock


def boss(world: CasinoWorld):
    return world.actor(StaffRole.PIT_BOSS)


def expect(code: ErrorCode, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code is code, raised.value
    return raised.value


class TestPlayers:
    def test_enrol_and_search_by_name_card_and_birth_date(self, backend, world) -> None:
        pb = boss(world)
        rita = enrol(backend, pb, "Rita", "Hayworth", card="C-1001")
        enrol(backend, pb, "Ray", "Harryhausen")
        found = players.search(backend.reader(pb), pb, "ha")
        assert [p.last_name for p in found] == ["Harryhausen", "Hayworth"]
        assert [p.id for p in players.search(backend.reader(pb), pb, "c-1001")] == [rita]
        assert len(players.search(backend.reader(pb), pb, "1970-05-17")) == 2
        assert [p.id for p in players.search(backend.reader(pb), pb, "rita hay")] == [rita]
        card = players.get(backend.reader(pb), pb, rita)
        assert card.tier is not None and card.balance == 0

    def test_duplicate_card_is_refused(self, backend, world) -> None:
        pb = boss(world)
        enrol(backend, pb, card="C-0001")
        error = expect(ErrorCode.PLAYER_CARD_TAKEN, enrol, backend, pb, "A", "B", "c-0001")
        assert "loyalty_card_number" in error.message

    @pytest.mark.parametrize(
        ("field", "value"),
        [("first_name", "  "), ("email", "not-an-email"), ("date_of_birth", date(1850, 1, 1))],
    )
    def test_bad_enrolment_names_the_field(self, backend, world, field, value) -> None:
        data = {
            "first_name": "A",
            "last_name": "B",
            "date_of_birth": date(1980, 1, 1),
            "idempotency_key": key(),
            field: value,
        }
        error = expect(
            ErrorCode.VALIDATION_FAILED, players.enrol, backend.uow(boss(world)), boss(world), data
        )
        assert error.message.startswith(field)


class TestVisits:
    def test_three_kinds_and_one_open_visit_per_player(self, backend, world) -> None:
        pb = boss(world)
        p1, p2 = enrol(backend, pb), enrol(backend, pb, "Ada", "Lovelace")
        open_visit(backend, pb, RATED, p1)
        open_visit(backend, pb, REWARD, p2)
        ghost = open_visit(
            backend,
            pb,
            GHOST,
            description="tall man, red cap",
            table_id=world.table_ids[0],
            seat=3,
            notes="cash player",
        )
        with backend.reader(world.scope) as uow:
            stored = uow.session.get_one(Visit, ghost)
            assert (stored.ghost_description, stored.ghost_seat, stored.notes) == (
                "tall man, red cap",
                3,
                "cash player",
            )
            assert stored.player_id is None
        expect(ErrorCode.VISIT_ALREADY_OPEN, open_visit, backend, pb, REWARD, p1)

    def test_identity_must_match_kind(self, backend, world) -> None:
        pb = boss(world)
        player = enrol(backend, pb)
        expect(ErrorCode.VALIDATION_FAILED, open_visit, backend, pb, GHOST, player)
        expect(ErrorCode.VALIDATION_FAILED, open_visit, backend, pb, RATED)
        expect(ErrorCode.PLAYER_NOT_FOUND, open_visit, backend, pb, RATED, uuid.uuid4())

    def test_visit_from_an_earlier_gaming_day_is_closed_with_accrual(self, backend, world) -> None:
        pb = boss(world)
        player = enrol(backend, pb)
        old = open_visit(backend, pb, RATED, player)
        start(backend, pb, old, world.table_ids[0])
        clock(backend).advance(timedelta(hours=24))
        opened = visits.open_visit(
            backend.uow(pb),
            pb,
            visits.OpenVisit(kind=RATED, player_id=player, idempotency_key=key()),
        )
        assert opened.closed_previous_visit_id == old
        assert [c.points for c in opened.closed_slips] == [25200]  # $100, 24 h, 1.5 %, 70/h
        assert len(ledger_entries(backend, world.scope, LedgerReason.BASE_ACCRUAL)) == 1

    def test_convert_reward_to_gaming_is_one_way_and_open_only(self, backend, world) -> None:
        pb = boss(world)
        visit = open_visit(backend, pb, REWARD, enrol(backend, pb))
        expect(ErrorCode.VISIT_NOT_GAMING, start, backend, pb, visit, world.table_ids[0])
        command = visits.VisitCommand(visit_id=visit, idempotency_key=key())
        assert visits.convert_to_gaming(backend.uow(pb), pb, command).kind is RATED
        again = visits.VisitCommand(visit_id=visit, idempotency_key=key())
        expect(
            ErrorCode.VISIT_NOT_CONVERTIBLE, visits.convert_to_gaming, backend.uow(pb), pb, again
        )
        start(backend, pb, visit, world.table_ids[0])

    def test_closing_a_visit_closes_its_slip_with_accrual(self, backend, world) -> None:
        pb = boss(world)
        visit = open_visit(backend, pb, RATED, enrol(backend, pb))
        start(backend, pb, visit, world.table_ids[0])
        clock(backend).advance(timedelta(hours=2))
        closed = visits.close_visit(
            backend.uow(pb), pb, visits.VisitCommand(visit_id=visit, idempotency_key=key())
        )
        assert [c.points for c in closed.closed_slips] == [2100]
        expect(
            ErrorCode.VISIT_NOT_OPEN,
            visits.close_visit,
            backend.uow(pb),
            pb,
            visits.VisitCommand(visit_id=visit, idempotency_key=key()),
        )

    def test_ghost_association_is_audited_and_mints_nothing(self, backend, world) -> None:
        pb = boss(world)
        ghost = open_visit(backend, pb, GHOST, description="woman in green")
        slip = start(backend, pb, ghost, world.table_ids[0], bet_cents=50_000)
        clock(backend).advance(timedelta(hours=1))
        close(backend, pb, slip)
        player = enrol(backend, pb)
        result = visits.associate_ghost(
            backend.uow(pb),
            pb,
            visits.AssociateGhost(visit_id=ghost, player_id=player, idempotency_key=key()),
        )
        assert result.points_granted == 0
        assert ledger_entries(backend, world.scope) == []
        with backend.reader(world.scope) as uow:
            actions = uow.session.scalars(
                select(AuditLog.action).where(AuditLog.entity_id == str(ghost))
            ).all()
        assert "visit.ghost_associated" in actions
        supervisor = world.actor(StaffRole.FLOOR_SUPERVISOR)
        expect(
            ErrorCode.AUTH_FORBIDDEN,
            visits.associate_ghost,
            backend.uow(supervisor),
            supervisor,
            visits.AssociateGhost(visit_id=ghost, player_id=player, idempotency_key=key()),
        )


class TestSlips:
    def test_golden_two_hours_mints_2100_with_explaining_metadata(self, backend, world) -> None:
        pb = boss(world)
        player = enrol(backend, pb)
        slip = start(backend, pb, open_visit(backend, pb, RATED, player), world.table_ids[0])
        clock(backend).advance(timedelta(hours=2))
        closed = close(backend, pb, slip)
        assert (closed.theo, closed.points, closed.minted) == (Decimal(210), 2100, True)
        assert closed.balance_after == 2100
        [entry] = ledger_entries(backend, world.scope, LedgerReason.BASE_ACCRUAL)
        assert entry.points_delta == 2100 and entry.source_id == slip
        calc = entry.metadata_["calc"]
        assert calc["theo"] == "210.00" and calc["played_seconds"] == 7200
        assert calc["house_edge_pct"] == "1.5" and calc["decisions_per_hour"] == 70
        assert entry.metadata_["policy"]["version"] == "loyalty_points_v1"
        assert_balances_match_ledger(backend, world.scope)

    def test_pauses_are_not_played_time(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend,
            pb,
            open_visit(backend, pb, RATED, enrol(backend, pb)),
            world.table_ids[0],
            bet_cents=5_000,
        )
        for minutes, action in [
            (20, slips.pause_slip),
            (45, slips.resume_slip),
            (10, slips.pause_slip),
            (5, slips.resume_slip),
        ]:
            clock(backend).advance(timedelta(minutes=minutes))
            action(backend.uow(pb), pb, slips.SlipCommand(slip_id=slip, idempotency_key=key()))
        clock(backend).advance(timedelta(minutes=0))
        closed = close(backend, pb, slip)
        # played 20 + 10 = 30 min at $50 → theo 26.25 → 263 (half up); paused 50 min
        assert closed.played_seconds == 1800 and closed.paused_seconds == 3000
        assert (closed.theo, closed.points) == (Decimal("26.25"), 263)

    def test_open_pause_at_close_counts_as_paused(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        clock(backend).advance(timedelta(minutes=1))
        slips.pause_slip(
            backend.uow(pb), pb, slips.SlipCommand(slip_id=slip, idempotency_key=key())
        )
        clock(backend).advance(timedelta(hours=3))
        closed = close(backend, pb, slip)
        assert (closed.played_seconds, closed.points) == (60, 18)  # $100 for 1 min → 1.75 → 18

    def test_zero_duration_is_recorded_with_zero_points(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        closed = close(backend, pb, slip)
        assert (closed.played_seconds, closed.points, closed.minted) == (0, 0, True)
        [entry] = ledger_entries(backend, world.scope, LedgerReason.BASE_ACCRUAL)
        assert entry.points_delta == 0

    def test_sub_minute_exactness(self, backend, world) -> None:
        pb = boss(world)
        with backend.uow(world.scope) as uow:
            uow.session.execute(update(GameSettings).values(decisions_per_hour=72))
            uow.commit()
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        clock(backend).advance(timedelta(seconds=400))
        closed = close(backend, pb, slip)
        assert (closed.theo, closed.points) == (Decimal(12), 120)

    def test_snapshot_is_frozen_at_start(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        with backend.uow(world.scope) as uow:
            uow.session.execute(
                update(GameSettings).values(
                    house_edge=Decimal("5.0"),
                    decisions_per_hour=200,
                    points_conversion_rate=Decimal(100),
                )
            )
            uow.commit()
        clock(backend).advance(timedelta(hours=2))
        assert close(backend, pb, slip).points == 2100

    def test_ghost_slip_records_theo_and_mints_nothing(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, GHOST, description="red cap"), world.table_ids[0]
        )
        clock(backend).advance(timedelta(hours=2))
        closed = close(backend, pb, slip)
        assert (closed.theo, closed.points, closed.minted) == (Decimal(210), 0, False)
        assert closed.not_minted_reason and "Ghost" in closed.not_minted_reason
        assert ledger_entries(backend, world.scope) == []
        with backend.reader(world.scope) as uow:
            stored = uow.session.get_one(RatingSlip, slip)
            assert stored.theo == Decimal(210) and stored.points is None

    def test_close_is_idempotent_and_closing_twice_is_refused(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        clock(backend).advance(timedelta(hours=1))
        request = key()
        first = close(backend, pb, slip, request)
        again = close(backend, pb, slip, request)
        assert again.is_existing and again.ledger_entry_id == first.ledger_entry_id
        assert again.points == first.points == 1050
        expect(ErrorCode.SLIP_STATE_INVALID, close, backend, pb, slip)
        assert len(ledger_entries(backend, world.scope)) == 1

    def test_same_key_different_request_is_a_conflict(self, backend, world) -> None:
        pb = boss(world)
        visit = open_visit(backend, pb, RATED, enrol(backend, pb))
        shared = key()
        slips.start_slip(
            backend.uow(pb),
            pb,
            slips.StartSlip(
                visit_id=visit,
                table_id=world.table_ids[0],
                seat=1,
                average_bet_cents=1_000,
                idempotency_key=shared,
            ),
        )
        expect(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            slips.start_slip,
            backend.uow(pb),
            pb,
            slips.StartSlip(
                visit_id=visit,
                table_id=world.table_ids[0],
                seat=2,
                average_bet_cents=1_000,
                idempotency_key=shared,
            ),
        )

    def test_bad_slip_input_changes_nothing(self, backend, world) -> None:
        pb = boss(world)
        v1 = open_visit(backend, pb, RATED, enrol(backend, pb))
        v2 = open_visit(backend, pb, RATED, enrol(backend, pb, "Ada", "Lovelace"))
        table = world.table_ids[0]
        expect(ErrorCode.BET_INVALID, start, backend, pb, v1, table, 1, -500)
        expect(ErrorCode.BET_INVALID, start, backend, pb, v1, table, 1, 10**9)
        expect(ErrorCode.BET_INVALID, start, backend, pb, v1, table, 1, 999)  # min is $10
        expect(ErrorCode.SEAT_INVALID, start, backend, pb, v1, table, 8)
        expect(ErrorCode.TABLE_NOT_FOUND, start, backend, pb, v1, uuid.uuid4())
        start(backend, pb, v1, table, seat=4)
        expect(ErrorCode.SEAT_TAKEN, start, backend, pb, v2, table, 4)
        expect(ErrorCode.SLIP_ALREADY_LIVE, start, backend, pb, v1, table, 5)
        with backend.reader(world.scope) as uow:
            assert len(uow.session.scalars(select(RatingSlip)).all()) == 1

    def test_bet_changes_keep_history_and_close_uses_the_current_bet(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        slips.change_bet(
            backend.uow(pb),
            pb,
            slips.ChangeBet(slip_id=slip, average_bet_cents=20_000, idempotency_key=key()),
        )
        expect(
            ErrorCode.BET_INVALID,
            slips.change_bet,
            backend.uow(pb),
            pb,
            slips.ChangeBet(slip_id=slip, average_bet_cents=-1, idempotency_key=key()),
        )
        clock(backend).advance(timedelta(hours=1))
        assert close(backend, pb, slip).points == 2100

    def test_move_closes_with_accrual_and_opens_at_the_new_table(self, backend, world) -> None:
        pb = boss(world)
        visit = open_visit(backend, pb, RATED, enrol(backend, pb))
        slip = start(backend, pb, visit, world.table_ids[0])
        clock(backend).advance(timedelta(hours=1))
        moved = slips.move_slip(
            backend.uow(pb),
            pb,
            slips.MoveSlip(
                slip_id=slip, table_id=world.table_ids[1], seat=2, idempotency_key=key()
            ),
        )
        assert moved.closed.points == 1050
        with backend.reader(world.scope) as uow:
            new = uow.session.get_one(RatingSlip, moved.new_slip_id)
            assert (new.table_id, new.seat, new.status, new.visit_id) == (
                world.table_ids[1],
                2,
                SlipStatus.OPEN,
                visit,
            )

    def test_suggestion_is_read_only(self, backend, world) -> None:
        pb = boss(world)
        slip = start(
            backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
        )
        clock(backend).advance(timedelta(minutes=30))
        hint = slips.suggestion(backend.reader(pb), pb, slip)
        assert (hint.played_seconds, hint.theo, hint.points) == (1800, Decimal("52.5"), 525)
        assert ledger_entries(backend, world.scope) == []

    @pytest.mark.parametrize(
        "role", [StaffRole.CASHIER, StaffRole.LOYALTY_MANAGER, StaffRole.DEALER]
    )
    def test_roles_without_the_floor_capability_are_refused(self, backend, world, role) -> None:
        actor = world.actor(role)
        expect(ErrorCode.AUTH_FORBIDDEN, open_visit, backend, actor, GHOST, None, description="x")


class TestCash:
    def test_ctr_watch_per_patron_including_ghosts(self, backend, world) -> None:
        pb = boss(world)
        cashier = world.actor(StaffRole.CASHIER)
        player = enrol(backend, pb)
        rated = open_visit(backend, pb, RATED, player)
        ghost = open_visit(
            backend, pb, GHOST, description="grey suit", table_id=world.table_ids[1], seat=5
        )

        def record(visit: uuid.UUID, direction: CashDirection, cents: int) -> cash.CashRecorded:
            clock(backend).advance(timedelta(minutes=1))
            return cash.record_cash(
                backend.uow(cashier),
                cashier,
                cash.RecordCash(
                    visit_id=visit, direction=direction, amount_cents=cents, idempotency_key=key()
                ),
            )

        first = record(rated, CashDirection.CASH_IN, 500_000)
        assert first.mtl_line and first.totals.cash_in_status is CtrStatus.OK
        near = record(rated, CashDirection.CASH_IN, 400_001)  # 9,000.01 > 90 % of 10,000
        assert near.totals.cash_in_status is CtrStatus.NEAR
        at = record(rated, CashDirection.CASH_IN, 99_999)  # exactly 10,000.00: not yet due
        assert at.totals.cash_in_status is CtrStatus.NEAR
        over = record(rated, CashDirection.CASH_IN, 1)
        assert over.totals.cash_in_status is CtrStatus.DUE
        assert over.totals.cash_out_status is CtrStatus.OK
        record(ghost, CashDirection.CASH_OUT, 1_200_000)
        record(ghost, CashDirection.CASH_IN, 2_000)
        day = cash.compliance_day(backend.reader(pb), pb)
        by_patron = {p.patron: p for p in day.patrons}
        assert by_patron["Rita Hayworth"].cash_in_cents == 1_000_001
        ghost_row = by_patron["ghost: grey suit (BJ-02 seat 5)"]
        assert ghost_row.cash_out_status is CtrStatus.DUE
        assert ghost_row.cash_in_status is CtrStatus.OK
        assert [line.amount_cents for line in day.mtl] == [500_000, 400_001, 1_200_000]

    def test_cash_input_is_validated_and_role_checked(self, backend, world) -> None:
        pb = boss(world)
        visit = open_visit(backend, pb, RATED, enrol(backend, pb))
        for cents in (0, -100):
            expect(
                ErrorCode.VALIDATION_FAILED,
                cash.record_cash,
                backend.uow(pb),
                pb,
                {
                    "visit_id": visit,
                    "direction": "cash_in",
                    "amount_cents": cents,
                    "idempotency_key": key(),
                },
            )
        manager = world.actor(StaffRole.LOYALTY_MANAGER)
        expect(
            ErrorCode.AUTH_FORBIDDEN,
            cash.record_cash,
            backend.uow(manager),
            manager,
            cash.RecordCash(
                visit_id=visit,
                direction=CashDirection.CASH_IN,
                amount_cents=100,
                idempotency_key=key(),
            ),
        )


def test_a_slip_without_a_usable_snapshot_cannot_accrue(backend: Database) -> None:
    """LOYALTY_SNAPSHOT_MISSING: the close is refused and nothing is written."""
    world = build_casino(backend)
    pb = world.actor(StaffRole.PIT_BOSS)
    slip = start(
        backend, pb, open_visit(backend, pb, RATED, enrol(backend, pb)), world.table_ids[0]
    )
    with backend.uow(world.scope) as uow:
        uow.session.execute(
            update(RatingSlip).where(RatingSlip.id == slip).values(policy_snapshot={"game": "x"})
        )
        uow.commit()
    expect(ErrorCode.LOYALTY_SNAPSHOT_MISSING, close, backend, pb, slip)
    with backend.reader(world.scope) as uow:
        assert uow.session.get_one(RatingSlip, slip).status is SlipStatus.OPEN
    assert ledger_entries(backend, world.scope) == []


def test_day_totals_sum_cash_in_and_out_separately(backend: Database) -> None:
    world = build_casino(backend)
    pb = world.actor(StaffRole.PIT_BOSS)
    visit = open_visit(backend, pb, RATED, enrol(backend, pb))
    ghost = open_visit(backend, pb, GHOST, description="cap")
    for target, direction, cents in (
        (visit, CashDirection.CASH_IN, 50_000),
        (ghost, CashDirection.CASH_IN, 20_000),
        (visit, CashDirection.CASH_OUT, 12_345),
    ):
        cash.record_cash(
            backend.uow(pb),
            pb,
            cash.RecordCash(
                visit_id=target, direction=direction, amount_cents=cents, idempotency_key=key()
            ),
        )
    totals = cash.day_totals(backend.reader(pb), pb)
    assert (totals.cash_in_cents, totals.cash_out_cents, totals.transactions) == (70_000, 12_345, 3)
    other = build_casino(backend, "BETA")
    assert cash.day_totals(backend.reader(other.admin), other.admin).transactions == 0
