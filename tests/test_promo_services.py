"""Promo programs and coupons through the services, on both backends (seed 004, DESIGN §7)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pitterm.domain import promo, promo_numbers, visits
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.promo_rules import CouponStatus, ProgramStatus, PromoType
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, open_visit
from tests.promo_support import (
    audit_actions,
    expect,
    issue,
    key,
    new_program,
    replace,
    set_settings,
    void,
)


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def clock_of(database: Database) -> FixedClock:
    clock = database.clock
    assert isinstance(clock, FixedClock)
    return clock


def command(program_id: uuid.UUID) -> promo.ProgramCommand:
    return promo.ProgramCommand(program_id=program_id, idempotency_key=key())


class TestPrograms:
    def test_lifecycle_and_illegal_transitions(self, backend: Database, world: CasinoWorld) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        draft = new_program(backend, boss, activate=False, terms="One per patron per day.")
        assert draft.status is ProgramStatus.DRAFT and not draft.issuable_now
        assert draft.created_by_code == "PB1" and draft.uses == 0
        expect(
            ErrorCode.PROMO_PROGRAM_TRANSITION_INVALID,
            promo.pause_program,
            backend.uow(boss),
            boss,
            command(draft.id),
        )
        active = promo.activate_program(backend.uow(boss), boss, command(draft.id)).program
        assert active.status is ProgramStatus.ACTIVE and active.issuable_now
        paused = promo.pause_program(backend.uow(boss), boss, command(draft.id)).program
        assert paused.status is ProgramStatus.PAUSED and not paused.issuable_now
        assert promo.activate_program(
            backend.uow(boss), boss, command(draft.id)
        ).program.status is (ProgramStatus.ACTIVE)
        ended = promo.end_program(backend.uow(boss), boss, command(draft.id)).program
        assert ended.status is ProgramStatus.ENDED
        for call in (promo.activate_program, promo.pause_program, promo.end_program):
            error = expect(
                ErrorCode.PROMO_PROGRAM_TRANSITION_INVALID,
                call,
                backend.uow(boss),
                boss,
                command(draft.id),
            )
            assert "ended is final" in error.message
        assert audit_actions(backend, world.casino.id, draft.id) == [
            "promo.program_activated",
            "promo.program_activated",
            "promo.program_created",
            "promo.program_ended",
            "promo.program_paused",
        ]
        listed = promo.programs(backend.reader(boss), boss)
        assert [p.id for p in listed] == [draft.id]
        assert promo.programs(backend.reader(boss), boss, status=ProgramStatus.ACTIVE) == []

    def test_a_draft_can_be_abandoned_and_a_closed_window_not_activated(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        draft = new_program(backend, boss, activate=False)
        assert promo.end_program(backend.uow(boss), boss, command(draft.id)).program.status is (
            ProgramStatus.ENDED
        )
        past = new_program(
            backend, boss, activate=False, start=timedelta(days=-10), length=timedelta(days=2)
        )
        expect(
            ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
            promo.activate_program,
            backend.uow(boss),
            boss,
            command(past.id),
        )
        expect(
            ErrorCode.PROMO_PROGRAM_NOT_FOUND,
            promo.activate_program,
            backend.uow(boss),
            boss,
            command(uuid.uuid4()),
        )

    def test_creation_is_validated_and_idempotent(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        now = backend.clock.now()
        request = promo.NewProgram(
            name="Weekend match",
            promo_type=PromoType.MATCH_PLAY,
            start_at=now,
            end_at=now + timedelta(days=2),
            min_wager_cents=2500,
            max_uses=100,
            idempotency_key=key(),
        )
        first = promo.create_program(backend.uow(boss), boss, request)
        again = promo.create_program(backend.uow(boss), boss, request)
        assert again.is_existing and again.program.id == first.program.id
        expect(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            promo.create_program,
            backend.uow(boss),
            boss,
            request.model_copy(update={"name": "Other"}),
        )
        expect(
            ErrorCode.PROMO_PROGRAM_NAME_TAKEN,
            promo.create_program,
            backend.uow(boss),
            boss,
            request.model_copy(update={"idempotency_key": key()}),
        )
        expect(
            ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
            promo.create_program,
            backend.uow(boss),
            boss,
            request.model_copy(
                update={"name": "Backwards", "end_at": now, "idempotency_key": key()}
            ),
        )
        naive = {**request.model_dump(), "name": "Naive", "start_at": now.replace(tzinfo=None)}
        expect(ErrorCode.VALIDATION_FAILED, promo.create_program, backend.uow(boss), boss, naive)

    def test_edits_follow_the_state(self, backend: Database, world: CasinoWorld) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        draft = new_program(backend, boss, activate=False, name="Draft")

        def edit(view: promo.ProgramView, **changes: object) -> promo.ProgramSaved:
            fields = {
                f: getattr(view, f)
                for f in (
                    "name",
                    "promo_type",
                    "start_at",
                    "end_at",
                    "terms",
                    "min_wager_cents",
                    "max_uses",
                )
            }
            return promo.edit_program(
                backend.uow(boss),
                boss,
                promo.EditProgram(
                    program_id=view.id, idempotency_key=key(), **{**fields, **changes}
                ),
            )

        saved = edit(draft, promo_type=PromoType.FREE_BET, terms="Table games only.")
        assert saved.changed == ["promo_type", "terms"]
        assert saved.program.promo_type is PromoType.FREE_BET
        assert edit(saved.program).changed == []
        active = promo.activate_program(backend.uow(boss), boss, command(draft.id)).program
        error = expect(
            ErrorCode.PROMO_PROGRAM_NOT_EDITABLE, edit, active, promo_type=PromoType.OTHER
        )
        assert error.details["fields"] == ["promo_type"]
        expect(
            ErrorCode.PROMO_PROGRAM_NOT_EDITABLE,
            edit,
            active,
            start_at=active.start_at - timedelta(hours=1),
        )
        longer = edit(active, name="Renamed", end_at=active.end_at + timedelta(days=7))
        assert longer.changed == ["end_at", "name"]
        expect(
            ErrorCode.PROMO_PROGRAM_WINDOW_INVALID,
            edit,
            longer.program,
            end_at=backend.clock.now() - timedelta(seconds=1),
        )
        other = new_program(backend, boss, PromoType.FREE_BET, name="Taken")
        expect(ErrorCode.PROMO_PROGRAM_NAME_TAKEN, edit, longer.program, name="Taken")
        issue(backend, boss, other.id, match=False)
        issue(backend, boss, other.id, match=False)
        expect(ErrorCode.VALIDATION_FAILED, edit, other, max_uses=1)
        assert edit(other, max_uses=2).program.max_uses == 2
        ended = promo.end_program(backend.uow(boss), boss, command(other.id)).program
        expect(ErrorCode.PROMO_PROGRAM_NOT_EDITABLE, edit, ended, terms="too late")
        actions = audit_actions(backend, world.casino.id, draft.id)
        assert actions.count("promo.program_edited") == 2


class TestIssue:
    def test_match_play_to_a_player(self, backend: Database, world: CasinoWorld) -> None:
        sup = world.actor(StaffRole.FLOOR_SUPERVISOR)
        program = new_program(backend, world.admin, min_wager_cents=2500)
        player = enrol(backend, world.admin)
        coupon = issue(
            backend, sup, program.id, 2500, 5000, player_id=player, metadata={"batch": "B-17"}
        )
        assert coupon.status is CouponStatus.ISSUED and coupon.outstanding
        assert promo_numbers.is_valid(coupon.validation_number)
        assert coupon.validation_number.startswith("MP-")
        assert (coupon.face_value_cents, coupon.required_match_wager_cents) == (2500, 5000)
        assert coupon.at_risk_cents == 5000 and coupon.currency_code == "USD"
        assert coupon.player_id == player and coupon.player_name == "Rita Hayworth"
        assert coupon.issued_by_code == "FS1" and coupon.issued_at == backend.clock.now()
        assert coupon.expires_at == program.end_at
        assert coupon.metadata == {"batch": "B-17", "number_source": "generated"}
        assert audit_actions(backend, world.casino.id, coupon.id) == ["promo.coupon_issued"]
        assert promo.get_program(backend.reader(sup), sup, program.id).uses == 1
        assert promo.get_coupon(backend.reader(sup), sup, coupon.id) == coupon

    def test_issue_is_idempotent(self, backend: Database, world: CasinoWorld) -> None:
        program = new_program(backend, world.admin)
        request = promo.IssueCoupon(
            program_id=program.id,
            face_value_cents=1000,
            required_match_wager_cents=1000,
            idempotency_key=key(),
        )
        first = promo.issue_coupon(backend.uow(world.admin), world.admin, request)
        again = promo.issue_coupon(backend.uow(world.admin), world.admin, request)
        assert again.is_existing and again.coupon == first.coupon
        expect(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            promo.issue_coupon,
            backend.uow(world.admin),
            world.admin,
            request.model_copy(update={"face_value_cents": 900}),
        )
        assert promo.get_program(backend.reader(world.admin), world.admin, program.id).uses == 1

    def test_only_from_an_active_program_inside_its_window(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        admin = world.admin
        draft = new_program(backend, admin, activate=False)
        expect(ErrorCode.PROMO_PROGRAM_NOT_ACTIVE, issue, backend, admin, draft.id)
        later = new_program(backend, admin, start=timedelta(hours=1))
        expect(ErrorCode.PROMO_PROGRAM_OUTSIDE_WINDOW, issue, backend, admin, later.id)
        running = new_program(backend, admin, length=timedelta(days=1, hours=2))
        promo.pause_program(backend.uow(admin), admin, command(running.id))
        expect(ErrorCode.PROMO_PROGRAM_NOT_ACTIVE, issue, backend, admin, running.id)
        promo.activate_program(backend.uow(admin), admin, command(running.id))
        issue(backend, admin, running.id)
        clock_of(backend).advance(timedelta(hours=2))  # the window ends now
        expect(ErrorCode.PROMO_PROGRAM_OUTSIDE_WINDOW, issue, backend, admin, running.id)
        expect(ErrorCode.PROMO_PROGRAM_NOT_FOUND, issue, backend, admin, uuid.uuid4())

    def test_match_amounts(self, backend: Database, world: CasinoWorld) -> None:
        admin = world.admin
        match = new_program(backend, admin)
        free_bet = new_program(backend, admin, PromoType.FREE_BET)
        expect(ErrorCode.PROMO_FACE_VALUE_INVALID, issue, backend, admin, match.id, 0, 0)
        expect(ErrorCode.PROMO_MATCH_WAGER_INVALID, issue, backend, admin, match.id, 2500, 0)
        expect(ErrorCode.PROMO_MATCH_WAGER_INVALID, issue, backend, admin, match.id, 2500, 2499)
        assert issue(backend, admin, match.id, 2500, 10_000).at_risk_cents == 10_000
        set_settings(backend, world.casino.id, promo_require_exact_match=True)
        expect(ErrorCode.PROMO_MATCH_WAGER_INVALID, issue, backend, admin, match.id, 2500, 10_000)
        assert issue(backend, admin, match.id, 2500, 2500).required_match_wager_cents == 2500
        expect(ErrorCode.PROMO_MATCH_WAGER_INVALID, issue, backend, admin, free_bet.id, 500, 500)
        bet = issue(backend, admin, free_bet.id, 500, 0)
        assert bet.at_risk_cents == 0 and bet.validation_number.startswith("FB-")

    def test_players_visits_and_anonymous_issuance(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        program = new_program(backend, boss)
        rita = enrol(backend, boss, "Rita", "Hayworth")
        cary = enrol(backend, boss, "Cary", "Grant")
        visit = open_visit(backend, boss, VisitKind.REWARD_IDENTIFIED, rita)
        by_visit = issue(backend, boss, program.id, visit_id=visit)
        assert (by_visit.player_id, by_visit.visit_id) == (rita, visit)
        expect(
            ErrorCode.PROMO_VISIT_MISMATCH,
            issue,
            backend,
            boss,
            program.id,
            visit_id=visit,
            player_id=cary,
        )
        expect(ErrorCode.VISIT_NOT_FOUND, issue, backend, boss, program.id, visit_id=uuid.uuid4())
        expect(ErrorCode.PLAYER_NOT_FOUND, issue, backend, boss, program.id, player_id=uuid.uuid4())
        ghost = open_visit(
            backend, boss, VisitKind.GAMING_GHOST_UNRATED, description="red scarf, seat 3"
        )
        anonymous = issue(backend, boss, program.id)
        assert anonymous.player_id is None and anonymous.player_name is None
        set_settings(backend, world.casino.id, promo_allow_anonymous_issuance=False)
        expect(ErrorCode.PROMO_ANONYMOUS_NOT_ALLOWED, issue, backend, boss, program.id)
        expect(
            ErrorCode.PROMO_ANONYMOUS_NOT_ALLOWED, issue, backend, boss, program.id, visit_id=ghost
        )
        assert issue(backend, boss, program.id, player_id=cary).player_id == cary
        other = build_casino(backend, "BRAVO")
        stranger = enrol(backend, other.admin, "Ann", "Other")
        expect(ErrorCode.PLAYER_NOT_FOUND, issue, backend, boss, program.id, player_id=stranger)
        visits.close_visit(
            backend.uow(boss), boss, visits.VisitCommand(visit_id=visit, idempotency_key=key())
        )
        expect(ErrorCode.VISIT_NOT_OPEN, issue, backend, boss, program.id, visit_id=visit)

    def test_expiry_defaults_to_the_window_and_must_follow_issue(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        admin = world.admin
        program = new_program(backend, admin)
        now = backend.clock.now()
        assert issue(backend, admin, program.id).expires_at == program.end_at
        soon = now + timedelta(hours=3)
        assert issue(backend, admin, program.id, expires_at=soon).expires_at == soon
        for bad in (now, now - timedelta(minutes=1)):
            expect(
                ErrorCode.PROMO_EXPIRY_INVALID, issue, backend, admin, program.id, expires_at=bad
            )

    def test_max_uses(self, backend: Database, world: CasinoWorld) -> None:
        admin = world.admin
        program = new_program(backend, admin, max_uses=2)
        first = issue(backend, admin, program.id)
        second = issue(backend, admin, program.id)
        expect(ErrorCode.PROMO_PROGRAM_USES_EXHAUSTED, issue, backend, admin, program.id)
        replace(backend, admin, second.id)  # a replacement carries its predecessor's use
        expect(ErrorCode.PROMO_PROGRAM_USES_EXHAUSTED, issue, backend, admin, program.id)
        void(backend, admin, first.id)  # a voided coupon never reached a patron
        issue(backend, admin, program.id)
        assert promo.get_program(backend.reader(admin), admin, program.id).uses == 2

    def test_typed_pre_printed_numbers(self, backend: Database, world: CasinoWorld) -> None:
        admin = world.admin
        program = new_program(backend, admin)
        number = promo_numbers.compose("MP", "PRNT2345").text
        typed = issue(backend, admin, program.id, validation_number=number.replace("-", "").lower())
        assert typed.validation_number == number
        assert typed.metadata["number_source"] == "pre-printed"
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_TAKEN,
            issue,
            backend,
            admin,
            program.id,
            validation_number=number,
        )
        mistyped = number[:-1] + next(c for c in "ABC" if c != number[-1])
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_MISTYPED,
            issue,
            backend,
            admin,
            program.id,
            validation_number=mistyped,
        )
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_INVALID,
            issue,
            backend,
            admin,
            program.id,
            validation_number="MP-12",
        )
        free_bet_stock = promo_numbers.compose("FB", "PRNT2345").text
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_INVALID,
            issue,
            backend,
            admin,
            program.id,
            validation_number=free_bet_stock,
        )
        # Unique across casinos: another casino cannot take the same pre-printed number.
        other = build_casino(backend, "BRAVO")
        theirs = new_program(backend, other.admin)
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_TAKEN,
            issue,
            backend,
            other.admin,
            theirs.id,
            validation_number=number,
        )
        assert promo.get_program(backend.reader(admin), admin, program.id).uses == 1

    def test_generated_numbers_retry_on_collision(
        self, backend: Database, world: CasinoWorld, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        admin = world.admin
        program = new_program(backend, admin)
        taken = issue(backend, admin, program.id).validation_number
        other = build_casino(backend, "BRAVO")
        theirs = new_program(backend, other.admin)
        fresh = promo_numbers.compose("MP", "FRESH234")
        draws = iter([promo_numbers.parse(taken), promo_numbers.parse(taken), fresh])
        monkeypatch.setattr(promo_numbers, "generate", lambda prefix, rng=None: next(draws))
        assert issue(backend, other.admin, theirs.id).validation_number == fresh.text
        monkeypatch.setattr(
            promo_numbers, "generate", lambda prefix, rng=None: promo_numbers.parse(taken)
        )
        expect(ErrorCode.PROMO_VALIDATION_NUMBER_EXHAUSTED, issue, backend, admin, program.id)


class TestVoidReplaceExpire:
    def test_void(self, backend: Database, world: CasinoWorld) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        coupon = issue(backend, boss, new_program(backend, boss).id)
        expect(ErrorCode.PROMO_REASON_REQUIRED, void, backend, boss, coupon.id, "   ")
        voided = void(backend, boss, coupon.id, "  printed   twice ").coupon
        assert voided.status is CouponStatus.VOIDED and not voided.outstanding
        assert (voided.void_reason, voided.voided_by_code) == ("printed twice", "PB1")
        assert voided.voided_at == backend.clock.now()
        error = expect(ErrorCode.PROMO_COUPON_STATE_INVALID, void, backend, boss, coupon.id)
        assert error.details["status"] == "voided"
        expect(ErrorCode.PROMO_COUPON_STATE_INVALID, replace, backend, boss, coupon.id)
        expect(ErrorCode.PROMO_COUPON_NOT_FOUND, void, backend, boss, uuid.uuid4())
        assert audit_actions(backend, world.casino.id, coupon.id) == [
            "promo.coupon_issued",
            "promo.coupon_voided",
        ]

    def test_replace(self, backend: Database, world: CasinoWorld) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        program = new_program(backend, boss)
        player = enrol(backend, boss)
        old = issue(backend, boss, program.id, 2500, 5000, player_id=player, metadata={"k": "v"})
        clock_of(backend).advance(timedelta(minutes=5))
        expect(ErrorCode.PROMO_REASON_REQUIRED, replace, backend, boss, old.id, "")
        result = replace(backend, boss, old.id, "coffee spill")
        replaced, new = result.replaced, result.replacement
        assert replaced.status is CouponStatus.REPLACED and not replaced.outstanding
        assert replaced.replaced_by_coupon_id == new.id
        assert replaced.replaced_by_number == new.validation_number
        assert replaced.replace_reason == "coffee spill" and replaced.replaced_by_code == "PB1"
        assert new.status is CouponStatus.ISSUED and new.outstanding
        assert (new.replaces_coupon_id, new.replaces_number) == (old.id, old.validation_number)
        assert new.validation_number != old.validation_number
        assert (new.face_value_cents, new.required_match_wager_cents, new.player_id) == (
            2500,
            5000,
            player,
        )
        assert new.expires_at == old.expires_at and new.issued_at == backend.clock.now()
        assert new.metadata == {
            "k": "v",
            "number_source": "generated",
            "replaces": old.validation_number,
        }
        expect(ErrorCode.PROMO_COUPON_STATE_INVALID, replace, backend, boss, old.id)
        expect(ErrorCode.PROMO_COUPON_STATE_INVALID, void, backend, boss, old.id)
        # A replacement is not new issuance: it works while the program is paused.
        promo.pause_program(backend.uow(boss), boss, command(program.id))
        typed = promo_numbers.compose("MP", "REPL2345").text
        again = replace(backend, boss, new.id, "lost", validation_number=typed)
        assert again.replacement.validation_number == typed
        assert again.replacement.metadata["replaces"] == new.validation_number
        assert audit_actions(backend, world.casino.id, new.id) == [
            "promo.coupon_issued",
            "promo.coupon_replaced",
        ]

    def test_expiry_on_read_then_by_the_job(self, backend: Database, world: CasinoWorld) -> None:
        boss = world.actor(StaffRole.PIT_BOSS)
        program = new_program(backend, boss)
        now = backend.clock.now()
        due = issue(backend, boss, program.id, expires_at=now + timedelta(hours=1))
        later = issue(backend, boss, program.id, expires_at=now + timedelta(hours=3))
        clock_of(backend).advance(timedelta(hours=1))  # exactly at expiry: expired
        seen = promo.get_coupon(backend.reader(boss), boss, due.id)
        assert seen.status is CouponStatus.EXPIRED and not seen.outstanding
        assert promo.lookup(backend.reader(boss), boss, due.validation_number).status is (
            CouponStatus.EXPIRED
        )
        issued = promo.inventory(backend.reader(boss), boss, promo.CouponFilter(status="issued"))
        expired = promo.inventory(backend.reader(boss), boss, promo.CouponFilter(status="expired"))
        assert [c.id for c in issued.rows] == [later.id]
        assert [c.id for c in expired.rows] == [due.id]
        error = expect(ErrorCode.PROMO_COUPON_STATE_INVALID, void, backend, boss, due.id)
        assert error.details["status"] == "expired"
        expect(ErrorCode.PROMO_COUPON_STATE_INVALID, replace, backend, boss, due.id)
        sup = world.actor(StaffRole.FLOOR_SUPERVISOR)
        run = promo.expire_due(backend.uow(sup), sup)
        assert run.expired_count == 1 and run.coupon_ids == [due.id]
        assert promo.expire_due(backend.uow(sup), sup).expired_count == 0
        assert audit_actions(backend, world.casino.id, due.id) == [
            "promo.coupon_expired",
            "promo.coupon_issued",
        ]
        assert promo.get_coupon(backend.reader(boss), boss, due.id).status is CouponStatus.EXPIRED
        assert promo.get_coupon(backend.reader(boss), boss, later.id).status is CouponStatus.ISSUED


class TestInventory:
    def test_keyset_pages_and_filters(self, backend: Database, world: CasinoWorld) -> None:
        admin = world.admin
        match = new_program(backend, admin)
        free_bet = new_program(backend, admin, PromoType.FREE_BET)
        start = backend.clock.now()
        made = []
        for i in range(7):
            program = match if i % 2 == 0 else free_bet
            made.append(issue(backend, admin, program.id, 1000 + i, match=program is match))
            if i % 3 == 0:
                clock_of(backend).advance(timedelta(minutes=10))  # some share a timestamp
        void(backend, admin, made[0].id)
        newest_first = sorted(made, key=lambda c: (c.issued_at, str(c.id)), reverse=True)
        seen, cursor = [], None
        while True:
            page = promo.inventory(backend.reader(admin), admin, cursor=cursor, limit=3)
            seen += page.rows
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [c.id for c in seen] == [c.id for c in newest_first]

        def ids(**where: object) -> set[uuid.UUID]:
            rows = promo.inventory(backend.reader(admin), admin, promo.CouponFilter(**where)).rows
            return {c.id for c in rows}

        assert ids(program_id=match.id) == {c.id for c in made[::2]}
        assert ids(promo_type=PromoType.FREE_BET) == {c.id for c in made[1::2]}
        assert ids(status=CouponStatus.VOIDED) == {made[0].id}
        assert ids(status=CouponStatus.ISSUED) == {c.id for c in made[1:]}
        late = start + timedelta(minutes=10)
        assert ids(issued_since=late) == {c.id for c in made if c.issued_at >= late}
        assert ids(issued_until=late) == {c.id for c in made if c.issued_at < late}
        # An offset date before year 1 in UTC is refused by name, not an OverflowError.
        before_year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
        expect(
            ErrorCode.VALIDATION_FAILED,
            promo.inventory,
            backend.reader(admin),
            admin,
            {"issued_since": before_year_one},
        )
        expect(
            ErrorCode.PROMO_CURSOR_INVALID,
            promo.inventory,
            backend.reader(admin),
            admin,
            None,
            "not-a-cursor",
        )

    def test_lookup_verifies_the_check_character_first(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        sup = world.actor(StaffRole.FLOOR_SUPERVISOR)
        coupon = issue(backend, sup, new_program(backend, world.admin).id)
        number = coupon.validation_number
        typed = number.replace("-", " ").lower()
        assert promo.lookup(backend.reader(sup), sup, typed).id == coupon.id
        swapped = number[:3] + number[4] + number[3] + number[5:]
        if swapped != number:
            error = expect(
                ErrorCode.PROMO_VALIDATION_NUMBER_MISTYPED,
                promo.lookup,
                backend.reader(sup),
                sup,
                swapped,
            )
            assert "mistyped" in error.message
        expect(
            ErrorCode.PROMO_VALIDATION_NUMBER_INVALID, promo.lookup, backend.reader(sup), sup, "0"
        )
        unknown = promo_numbers.compose("MP", "UNKNWN22").text
        expect(ErrorCode.PROMO_COUPON_NOT_FOUND, promo.lookup, backend.reader(sup), sup, unknown)
        other = build_casino(backend, "BRAVO")
        expect(
            ErrorCode.PROMO_COUPON_NOT_FOUND,
            promo.lookup,
            backend.reader(other.admin),
            other.admin,
            number,
        )

    def test_csv_export_is_complete_and_formula_safe(
        self, backend: Database, world: CasinoWorld
    ) -> None:
        admin = world.admin
        program = new_program(backend, admin, name="=HYPERLINK(evil)")
        player = enrol(backend, admin, "@Rita", "Hayworth")
        first = issue(backend, admin, program.id, 2550, 5000, player_id=player)
        issue(backend, admin, program.id, 1000)
        void(backend, admin, first.id, "+cmd|' /C calc'!A0")
        out = io.StringIO()
        count = promo.export_inventory_csv(backend.reader(admin), admin, None, out)
        lines = out.getvalue().splitlines()
        assert count == 2 and len(lines) == 3
        assert lines[0].split(",")[:4] == ["validation_number", "status", "promo_type", "program"]
        row = next(line for line in lines if first.validation_number in line)
        assert "'=HYPERLINK(evil)" in row and "'@Rita Hayworth" in row and "'+cmd" in row
        assert ",25.50,50.00,50.00,USD," in row and ",voided," in row
        only_voided = io.StringIO()
        assert (
            promo.export_inventory_csv(
                backend.reader(admin), admin, promo.CouponFilter(status="voided"), only_voided
            )
            == 1
        )


OPERATIONS = {
    "create_program": Capability.MANAGE_PROMO,
    "activate_program": Capability.MANAGE_PROMO,
    "issue_coupon": Capability.ISSUE_COUPON,
    "void_coupon": Capability.MANAGE_PROMO,
    "replace_coupon": Capability.MANAGE_PROMO,
    "read": None,
}


def test_role_matrix_for_promo_operations(backend: Database, world: CasinoWorld) -> None:
    program = new_program(backend, world.admin)
    draft = new_program(backend, world.admin, activate=False)
    for role in StaffRole:
        actor = world.actor(role)
        calls = {
            "create_program": lambda a: new_program(backend, a, activate=False),
            "activate_program": lambda a: promo.activate_program(
                backend.uow(a), a, command(draft.id)
            ),
            "issue_coupon": lambda a: issue(backend, a, program.id),
            "void_coupon": lambda a: void(backend, a, issue(backend, world.admin, program.id).id),
            "replace_coupon": lambda a: replace(
                backend, a, issue(backend, world.admin, program.id).id
            ),
            "read": lambda a: (
                promo.programs(backend.reader(a), a),
                promo.inventory(backend.reader(a), a),
                promo.shift_lens(backend.reader(a), a),
                promo.expire_due(backend.uow(a), a),
            ),
        }
        for name, capability in OPERATIONS.items():
            if capability is None:
                allowed = can(role, Capability.ISSUE_COUPON) or can(role, Capability.MANAGE_PROMO)
            else:
                allowed = can(role, capability)
            try:
                calls[name](actor)
            except DomainError as error:
                if error.code is ErrorCode.AUTH_FORBIDDEN:
                    assert not allowed, (role, name)
                    continue
                # Allowed, and refused for a business reason (the draft is already active).
                assert allowed and name == "activate_program", (role, name, error)
                continue
            assert allowed, (role, name)
    expected_issuers = {
        StaffRole.FLOOR_SUPERVISOR,
        StaffRole.PIT_BOSS,
        StaffRole.LOYALTY_MANAGER,
        StaffRole.ADMIN,
    }
    assert {r for r in StaffRole if can(r, Capability.ISSUE_COUPON)} == expected_issuers
    assert {r for r in StaffRole if can(r, Capability.MANAGE_PROMO)} == expected_issuers - {
        StaffRole.FLOOR_SUPERVISOR
    }
