"""Admin services on both backends: staff (add, PIN reset, deactivate), games, tables, settings."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from pitterm.domain import auth, casinos, loyalty
from pitterm.domain.auth import MAX_FAILED_ATTEMPTS, ResetPin, parse_credentials
from pitterm.domain.casinos import NewGame, NewStaff, NewTable, SettingsChange
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, Rounding, StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, CasinoSettings, IdempotencyRecord, Staff
from tests.factories import CODES, PINS, CasinoWorld, build_casino, signed_in
from tests.floor_support import enrol, key


def audit_rows(database: Database, world: CasinoWorld, action: str) -> list[AuditLog]:
    with database.reader(world.scope) as uow:
        return list(
            uow.session.scalars(
                select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.created_at)
            )
        )


def stored_requests(database: Database, world: CasinoWorld) -> list[str]:
    """Every stored idempotent outcome and fingerprint, as text (to look for leaked PINs)."""
    with database.reader(world.scope) as uow:
        return [
            f"{r.operation} {r.request_hash} {r.result}"
            for r in uow.session.scalars(select(IdempotencyRecord))
        ]


def staff_row(database: Database, world: CasinoWorld, code: str) -> Staff:
    with database.reader(world.scope) as uow:
        found = uow.session.scalar(select(Staff).where(Staff.code == code))
        assert found is not None
        return found


def lock_out(database: Database, world: CasinoWorld, code: str) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(DomainError):
            signed_in(database, world.casino, code, "0000")


def baccarat(**changes: Any) -> NewGame:
    return NewGame(**baccarat_fields(**changes))


def baccarat_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Mini baccarat",
        "game_type": GameType.BACCARAT,
        "house_edge": Decimal("1.06"),
        "decisions_per_hour": 80,
        "points_conversion_rate": Decimal(8),
        "rounding": Rounding.FLOOR,
        "min_bet_cents": 2_500,
        "max_bet_cents": 1_000_000,
        "idempotency_key": key(),
    }
    return {**fields, **changes}


# -- staff ------------------------------------------------------------------------------


class TestAddStaff:
    def test_a_keyed_add_is_made_once_and_the_pin_is_kept_secret(self, backend: Database) -> None:
        world = build_casino(backend)
        new = NewStaff(
            code="cs2",
            name="Cy Cashier",
            role=StaffRole.CASHIER,
            pin="73519",
            idempotency_key=key(),
        )
        first = casinos.add_staff(backend.uow(world.admin), world.admin, new)
        again = casinos.add_staff(backend.uow(world.admin), world.admin, new)
        assert again == first
        [created] = audit_rows(backend, world, "staff.created")[-1:]
        assert created.entity_id == str(first)
        assert created.after == {
            "code": "CS2",
            "name": "Cy Cashier",
            "role": "cashier",
            "assigned_table_id": None,
        }
        assert (
            len(
                [
                    r
                    for r in audit_rows(backend, world, "staff.created")
                    if r.entity_id == str(first)
                ]
            )
            == 1
        )
        assert not any("73519" in text for text in stored_requests(backend, world))
        actor = signed_in(backend, world.casino, "CS2", "73519")
        assert actor.staff_id == first and actor.role is StaffRole.CASHIER

        changed = new.model_copy(update={"name": "Someone Else"})
        with pytest.raises(DomainError) as conflict:
            casinos.add_staff(backend.uow(world.admin), world.admin, changed)
        assert conflict.value.code is ErrorCode.IDEMPOTENCY_CONFLICT

    def test_refusals_name_the_field(self, backend: Database) -> None:
        world = build_casino(backend)
        other = build_casino(backend, "BETA")
        admin = world.admin
        cases: list[tuple[dict[str, Any], ErrorCode, str]] = [
            ({"code": "pb1"}, ErrorCode.STAFF_CODE_TAKEN, "code:"),
            ({"role": StaffRole.DEALER}, ErrorCode.VALIDATION_FAILED, "dealer must be assigned"),
            (
                {"role": StaffRole.DEALER, "assigned_table_id": other.table_ids[0]},
                ErrorCode.VALIDATION_FAILED,
                "table: no such table",
            ),
            ({"pin": "12"}, ErrorCode.VALIDATION_FAILED, "pin:"),
            ({"pin": "12ab"}, ErrorCode.VALIDATION_FAILED, "pin:"),
            ({"code": "a b"}, ErrorCode.VALIDATION_FAILED, "code:"),
        ]
        for change, code, message in cases:
            fields = {"code": "NEW1", "name": "New Hire", "role": StaffRole.CASHIER, "pin": "4321"}
            with pytest.raises(DomainError) as refused:
                casinos.add_staff(backend.uow(admin), admin, {**fields, **change})  # type: ignore[arg-type]
            assert refused.value.code is code, change
            assert message in refused.value.message, (change, refused.value.message)
        with backend.reader(world.scope) as uow:
            assert uow.session.scalar(select(func.count()).select_from(Staff)) == len(StaffRole)

    def test_a_dealer_gets_its_table(self, backend: Database) -> None:
        world = build_casino(backend)
        new = NewStaff(
            code="DL2",
            name="Dee Dealer",
            role=StaffRole.DEALER,
            pin="5555",
            assigned_table_id=world.table_ids[1],
        )
        staff_id = casinos.add_staff(backend.uow(world.admin), world.admin, new)
        listed = {s.code: s for s in auth.list_staff(backend.reader(world.admin), world.admin)}
        assert listed["DL2"].assigned_table == "BJ-02" and listed["DL2"].active
        [row] = [
            r for r in audit_rows(backend, world, "staff.created") if r.entity_id == str(staff_id)
        ]
        assert row.after is not None
        assert row.after["assigned_table_id"] == str(world.table_ids[1])


class TestResetPin:
    def test_reset_unlocks_and_replaces_the_pin(self, backend: Database) -> None:
        world = build_casino(backend)
        code = CODES[StaffRole.CASHIER]
        lock_out(backend, world, code)
        staff_id = staff_row(backend, world, code).id
        command = ResetPin(staff_id=staff_id, pin="864209", idempotency_key=key())
        done = auth.reset_pin(backend.uow(world.admin), world.admin, command)
        assert not done.is_existing
        assert not done.staff.locked and done.staff.failed_attempts == 0

        with pytest.raises(DomainError) as old_pin:
            signed_in(backend, world.casino, code, PINS[StaffRole.CASHIER])
        assert old_pin.value.code is ErrorCode.AUTH_INVALID_CREDENTIALS
        assert signed_in(backend, world.casino, code, "864209").staff_id == staff_id

        repeat = auth.reset_pin(backend.uow(world.admin), world.admin, command)
        assert repeat.is_existing
        [row] = audit_rows(backend, world, "staff.pin_reset")
        assert row.staff_id == world.admin.staff_id and row.entity_id == str(staff_id)
        assert row.before == {"locked": True, "failed_attempts": MAX_FAILED_ATTEMPTS}
        assert row.after == {"locked": False, "failed_attempts": 0, "pin": "reset"}
        assert "864209" not in str(row.before) + str(row.after)
        assert not any("864209" in text for text in stored_requests(backend, world))

    def test_refused_for_non_admins_and_other_casinos(self, backend: Database) -> None:
        world = build_casino(backend)
        other = build_casino(backend, "BETA")
        boss = world.actor(StaffRole.PIT_BOSS)
        target = staff_row(backend, world, "CA1").id
        with pytest.raises(DomainError) as forbidden:
            auth.reset_pin(
                backend.uow(boss),
                boss,
                ResetPin(staff_id=target, pin="1111", idempotency_key=key()),
            )
        assert forbidden.value.code is ErrorCode.AUTH_FORBIDDEN
        foreign = staff_row(backend, other, "CA1").id
        with pytest.raises(DomainError) as elsewhere:
            auth.reset_pin(
                backend.uow(world.admin),
                world.admin,
                ResetPin(staff_id=foreign, pin="1111", idempotency_key=key()),
            )
        assert elsewhere.value.code is ErrorCode.STAFF_NOT_FOUND
        with pytest.raises(DomainError) as short:
            auth.reset_pin(
                backend.uow(world.admin),
                world.admin,
                {"staff_id": target, "pin": "12", "idempotency_key": key()},  # type: ignore[arg-type]
            )
        assert short.value.code is ErrorCode.VALIDATION_FAILED and "pin" in short.value.message
        assert audit_rows(backend, world, "staff.pin_reset") == []
        assert signed_in(backend, other.casino, "CA1", PINS[StaffRole.CASHIER]).staff_id == foreign


class TestDeactivate:
    def test_a_deactivated_member_cannot_sign_in_or_approve_until_reactivated(
        self, backend: Database
    ) -> None:
        world = build_casino(backend)
        admin = world.admin
        boss_id = world.actor(StaffRole.PIT_BOSS).staff_id
        info = auth.set_staff_active(backend.uow(admin), admin, boss_id, False)
        assert not info.active
        again = auth.set_staff_active(backend.uow(admin), admin, boss_id, False)
        assert not again.active
        [row] = audit_rows(backend, world, "staff.deactivated")
        assert row.before == {"active": True} and row.after == {"active": False}

        with pytest.raises(DomainError) as refused:
            signed_in(backend, world.casino, "PB1", PINS[StaffRole.PIT_BOSS])
        assert refused.value.code is ErrorCode.AUTH_INVALID_CREDENTIALS

        cashier = world.actor(StaffRole.CASHIER)
        player = enrol(backend, admin, "Owen", "Overdraw")
        with pytest.raises(DomainError) as no_approver:
            loyalty.redeem(
                backend.uow(cashier),
                cashier,
                loyalty.Redeem(
                    player_id=player,
                    points=100,
                    note="dinner",
                    allow_overdraw=True,
                    approver=parse_credentials("PB1", PINS[StaffRole.PIT_BOSS]),
                    idempotency_key=key(),
                ),
            )
        assert no_approver.value.code is ErrorCode.AUTH_INVALID_CREDENTIALS

        back = auth.set_staff_active(backend.uow(admin), admin, boss_id, True)
        assert back.active
        assert len(audit_rows(backend, world, "staff.reactivated")) == 1
        assert signed_in(backend, world.casino, "PB1", PINS[StaffRole.PIT_BOSS]).staff_id == boss_id

    def test_an_admin_cannot_deactivate_themselves(self, backend: Database) -> None:
        world = build_casino(backend)
        admin = world.admin
        with pytest.raises(DomainError) as refused:
            auth.set_staff_active(backend.uow(admin), admin, admin.staff_id, False)
        assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
        assert staff_row(backend, world, "ADM1").active
        boss = world.actor(StaffRole.PIT_BOSS)
        with pytest.raises(DomainError) as forbidden:
            auth.set_staff_active(backend.uow(boss), boss, world.admin.staff_id, False)
        assert forbidden.value.code is ErrorCode.AUTH_FORBIDDEN
        assert audit_rows(backend, world, "staff.deactivated") == []


# -- games and tables ---------------------------------------------------------------------


class TestGamesAndTables:
    def test_add_a_game_and_its_table(self, backend: Database) -> None:
        world = build_casino(backend)
        admin = world.admin
        new = baccarat()
        game_id = casinos.add_game(backend.uow(admin), admin, new)
        assert casinos.add_game(backend.uow(admin), admin, new) == game_id  # replayed
        table = NewTable(
            label="BAC-1", pit="Salon", game_settings_id=game_id, seats=9, idempotency_key=key()
        )
        table_id = casinos.add_table(backend.uow(admin), admin, table)
        assert casinos.add_table(backend.uow(admin), admin, table) == table_id

        games = {g.name: g for g in casinos.list_games(backend.reader(admin), admin)}
        assert set(games) == {"Blackjack 6-deck", "Mini baccarat"}
        bac = games["Mini baccarat"]
        assert (bac.house_edge, bac.decisions_per_hour, bac.points_conversion_rate) == (
            Decimal("1.06"),
            80,
            Decimal(8),
        )
        assert bac.rounding is Rounding.FLOOR and bac.policy_version == "loyalty_points_v1"
        assert [(t.label, t.pit, t.seats) for t in bac.tables] == [("BAC-1", "Salon", 9)]
        assert [t.label for t in games["Blackjack 6-deck"].tables] == ["BJ-01", "BJ-02"]

        [created] = audit_rows(backend, world, "game_settings.created")[-1:]
        assert created.after is not None and created.after["house_edge"] == "1.06"
        assert "idempotency_key" not in created.after
        tables_created = audit_rows(backend, world, "gaming_table.created")
        assert [r.entity_id for r in tables_created].count(str(table_id)) == 1

    def test_refusals_name_the_field(self, backend: Database) -> None:
        world = build_casino(backend)
        other = build_casino(backend, "BETA")
        admin = world.admin
        for change, message in [
            ({"name": "Blackjack 6-deck"}, "name: there is already a game"),
            ({"house_edge": Decimal(101)}, "house_edge"),
            ({"decisions_per_hour": 0}, "decisions_per_hour"),
            ({"min_bet_cents": 5_000, "max_bet_cents": 1_000}, "max bet must not be below"),
        ]:
            with pytest.raises(DomainError) as refused:
                casinos.add_game(
                    backend.uow(admin),
                    admin,
                    baccarat_fields(**change),  # type: ignore[arg-type]
                )
            assert refused.value.code is ErrorCode.VALIDATION_FAILED
            assert message in refused.value.message, (change, refused.value.message)
        for table, message in [
            (
                NewTable(label="BJ-01", pit="Pit 1", game_settings_id=world.game_id, seats=7),
                "label",
            ),
            (NewTable(label="X-1", pit="Pit 1", game_settings_id=other.game_id, seats=7), "game:"),
        ]:
            with pytest.raises(DomainError) as refused:
                casinos.add_table(backend.uow(admin), admin, table)
            assert message in refused.value.message
        assert len(casinos.list_games(backend.reader(admin), admin)) == 1

    def test_only_admins_manage_games(self, backend: Database) -> None:
        world = build_casino(backend)
        boss = world.actor(StaffRole.PIT_BOSS)
        with pytest.raises(DomainError) as refused:
            casinos.add_game(backend.uow(boss), boss, baccarat())
        assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
        with pytest.raises(DomainError):
            casinos.list_games(backend.reader(boss), boss)


# -- casino settings ----------------------------------------------------------------------


class TestSettings:
    def test_defaults_are_read(self, backend: Database) -> None:
        world = build_casino(backend)
        view = casinos.read_settings(backend.reader(world.admin), world.admin)
        assert view.time_zone == "America/Los_Angeles"
        assert view.gaming_day_start == time(6, 0)
        assert (view.overdraw_cap_points, view.idle_lock_minutes) == (5000, 5)
        assert view.ctr_threshold_cents == 1_000_000 and view.mtl_floor_cents == 300_000
        assert view.near_ctr_fraction == Decimal("0.9")
        assert view.freshness_threshold_days == 90 and not view.four_eyes_overdraw

    def test_update_changes_only_what_it_names_and_audits_before_after(
        self, backend: Database
    ) -> None:
        world = build_casino(backend)
        admin = world.admin
        change = SettingsChange(
            idle_lock_minutes=12,
            overdraw_cap_points=2_500,
            four_eyes_overdraw=True,
            near_ctr_fraction=Decimal("0.85"),
            time_zone="America/New_York",
            gaming_day_start=time(5, 30),
            mtl_floor_cents=300_000,  # as it is: not a change
            idempotency_key=key(),
        )
        saved = casinos.update_settings(backend.uow(admin), admin, change)
        assert saved.changed == [
            "time_zone",
            "gaming_day_start",
            "overdraw_cap_points",
            "four_eyes_overdraw",
            "idle_lock_minutes",
            "near_ctr_fraction",
        ]
        [row] = audit_rows(backend, world, "casino_settings.updated")
        assert row.entity_type == "casino_settings" and row.entity_id == str(world.casino.id)
        assert row.before == {
            "time_zone": "America/Los_Angeles",
            "gaming_day_start": "06:00:00",
            "overdraw_cap_points": 5000,
            "four_eyes_overdraw": False,
            "idle_lock_minutes": 5,
            "near_ctr_fraction": "0.9",
        }
        assert row.after == {
            "time_zone": "America/New_York",
            "gaming_day_start": "05:30:00",
            "overdraw_cap_points": 2500,
            "four_eyes_overdraw": True,
            "idle_lock_minutes": 12,
            "near_ctr_fraction": "0.85",
        }
        # The services that read the settings see them.
        boss = world.actor(StaffRole.PIT_BOSS)
        assert auth.terminal_status(backend.reader(boss), boss).idle_lock_minutes == 12
        policy = loyalty.overdraw_policy(backend.reader(boss), boss)
        assert policy.cap_points == 2_500 and policy.four_eyes and not policy.actor_may_approve

        assert casinos.update_settings(backend.uow(admin), admin, change).is_existing
        other = SettingsChange(ctr_threshold_cents=1_200_000, idempotency_key=key())
        later = casinos.update_settings(backend.uow(admin), admin, other)
        assert later.changed == ["ctr_threshold_cents"]
        assert later.settings.idle_lock_minutes == 12  # the other admin's change stands
        same = casinos.update_settings(
            backend.uow(admin), admin, SettingsChange(idle_lock_minutes=12, idempotency_key=key())
        )
        assert same.changed == []
        assert len(audit_rows(backend, world, "casino_settings.updated")) == 2

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("time_zone", "Mars/Olympus_Mons"),
            ("gaming_day_start", "25:00"),
            ("gaming_day_start", "06:00:30"),
            ("overdraw_cap_points", -1),
            ("idle_lock_minutes", 0),
            ("idle_lock_minutes", 241),
            ("freshness_threshold_days", 0),
            ("ctr_threshold_cents", 0),
            ("near_ctr_fraction", "1"),
            ("near_ctr_fraction", "0.12345"),
            ("mtl_floor_cents", 0),
            ("promo_void_rate_alert", "1.5"),
            ("promo_expiry_alert_hours", 0),
            ("promo_spike_mad_k", "-1"),
            ("promo_spike_min_history_days", 8),
        ],
    )
    def test_a_bad_value_is_refused_naming_its_field(
        self, backend: Database, field: str, value: object
    ) -> None:
        world = build_casino(backend)
        admin = world.admin
        with pytest.raises(DomainError) as refused:
            casinos.update_settings(
                backend.uow(admin),
                admin,
                {field: value, "idempotency_key": key()},  # type: ignore[arg-type]
            )
        assert refused.value.code is ErrorCode.VALIDATION_FAILED
        assert refused.value.message.startswith(f"{field}:"), refused.value.message
        assert [e["field"] for e in refused.value.details["errors"]] == [field]
        assert audit_rows(backend, world, "casino_settings.updated") == []

    def test_the_mtl_floor_may_not_exceed_the_ctr_threshold(self, backend: Database) -> None:
        world = build_casino(backend)
        admin = world.admin
        with pytest.raises(DomainError) as refused:
            casinos.update_settings(
                backend.uow(admin),
                admin,
                SettingsChange(mtl_floor_cents=1_000_001, idempotency_key=key()),
            )
        assert refused.value.message.startswith("mtl_floor_cents:")
        with backend.reader(world.scope) as uow:
            row = uow.session.get_one(CasinoSettings, world.casino.id)
            assert row.mtl_floor_cents == 300_000

    def test_only_admins_change_settings_and_only_their_casino(self, backend: Database) -> None:
        world = build_casino(backend)
        other = build_casino(backend, "BETA")
        for role in StaffRole:
            if role is StaffRole.ADMIN:
                continue
            actor = world.actor(role)
            with pytest.raises(DomainError) as refused:
                casinos.update_settings(
                    backend.uow(actor),
                    actor,
                    SettingsChange(idle_lock_minutes=1, idempotency_key=key()),
                )
            assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
        casinos.update_settings(
            backend.uow(world.admin),
            world.admin,
            SettingsChange(idle_lock_minutes=30, idempotency_key=key()),
        )
        theirs = casinos.read_settings(backend.reader(other.admin), other.admin)
        assert theirs.idle_lock_minutes == 5
