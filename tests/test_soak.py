"""Soak: 16 simulated terminals working one casino's pit at once, then every invariant checked.

Each terminal is a thread with its own engine, connected as the application role the way a
pit terminal connects, signed in as its own staff member: pit bosses and floor supervisors
run the floor (rated, ghost and reward-only visits; slips started, re-rated, paused, resumed
and closed with accrual; visits closed; buy-ins and cash-outs), pit bosses and cashiers
issue comps (cashiers get a pit boss's approval when the balance is short, as the comp
screen does), pit bosses give manual credits, and everyone reads balances, ledger history,
player cards and searches. Some requests are sent twice with the same idempotency key, as a
terminal retrying after a lost answer would. Simulated time runs faster than the wall clock
(one gaming day, never crossing into the next), so slips accrue real points.

Afterwards: balance = Σ ledger for every player; exactly one base accrual per closed,
identified, rated slip and none for any other slip; one audit row per mutation (counted by
action against what the terminals did) and one stored outcome per request; nothing
half-written. Domain refusals a busy pit produces (a short balance, a taken seat, a player
already in a visit) are counted apart from unexpected errors, which must be zero.

``make soak`` runs the slow test for 5 minutes (``PITTERM_SOAK_SECONDS`` changes it); the
short variant runs in the suite so this code keeps working.
"""

from __future__ import annotations

import os
import random
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import String, and_, cast, func, select, update
from sqlalchemy.orm import Session

from pitterm.domain import audit, cash, floor, ledger, loyalty, players, slips, visits
from pitterm.domain.actor import Actor
from pitterm.domain.auth import Credentials
from pitterm.domain.casinos import NewGame, NewStaff, NewTable, add_game, add_staff, add_table
from pitterm.domain.database import Database, UnitOfWork, make_engine
from pitterm.domain.enums import (
    CashDirection,
    GameType,
    LedgerReason,
    Rounding,
    SlipStatus,
    StaffRole,
    VisitKind,
    VisitStatus,
)
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome
from pitterm.domain.tables import (
    AuditLog,
    CashTransaction,
    CasinoSettings,
    IdempotencyRecord,
    LoyaltyLedger,
    PlayerLoyalty,
    RatingSlip,
    RatingSlipBet,
    RatingSlipPause,
    Visit,
)
from tests.conftest import APP_LOGIN, FROZEN_NOW, PostgresTestDatabase
from tests.factories import CODES, PINS, CasinoWorld, build_casino, signed_in
from tests.floor_support import assert_balances_match_ledger, enrol, open_visit, start

pytestmark = pytest.mark.postgres

TERMINALS = 16
ROLES = [StaffRole.PIT_BOSS] * 7 + [StaffRole.FLOOR_SUPERVISOR] * 5 + [StaffRole.CASHIER] * 4
"""Who sits at the 16 terminals."""
PLAYERS = 200
SHORT_SECONDS = 10.0
SOAK_SECONDS = float(os.environ.get("PITTERM_SOAK_SECONDS", "300"))
MAX_OPEN_VISITS = 5
"""Visits one terminal keeps going at once (a pit boss's section)."""
REPLAY_CHANCE = 0.05
"""How often a terminal resends a request it already got an answer to (same key)."""
SIMULATED_SPAN = timedelta(hours=10)
"""How far simulated time moves in a run: noon to 22:00, inside one gaming day."""
MAX_SPEED = 60.0
"""A minute of play per wall-clock second at most, so slips earn believable points."""
EXPECTED_REFUSALS = frozenset(
    {
        ErrorCode.LOYALTY_INSUFFICIENT_BALANCE,
        ErrorCode.LOYALTY_OVERDRAW_EXCEEDS_CAP,
        ErrorCode.VISIT_ALREADY_OPEN,
        ErrorCode.SEAT_TAKEN,
        ErrorCode.BET_INVALID,
    }
)
"""Refusals a busy pit produces by itself: short balances, races for a seat or a patron,
and a mistyped bet. Any other error during the soak is unexpected."""
FIRST_NAMES = ("Ava", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
LAST_NAMES = (
    "Abbott",
    "Baker",
    "Castro",
    "Dunn",
    "Ellis",
    "Flores",
    "Grant",
    "Hughes",
    "Ibarra",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Olsen",
    "Patel",
    "Quinn",
    "Russo",
    "Silva",
    "Tanaka",
)
CATALOG = (
    ("Buffet for one", "Dining", 250),
    ("Steakhouse for two", "Dining", 1_500),
    ("Show tickets (pair)", "Entertainment", 4_000),
    ("Spa day", "Hotel", 2_500),
)


# -- the run ----------------------------------------------------------------------------------


class SoakClock:
    """Simulated time: from the tests' frozen noon, ``speed`` times faster than the wall."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._t0 = time.monotonic()

    def restart(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return FROZEN_NOW + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


@dataclass
class Tally:
    """What one terminal did: successes and latencies per kind, refusals, the rows it expects."""

    ops: Counter[str] = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refusals: Counter[str] = field(default_factory=Counter)
    """Expected domain refusals, by code."""
    unexpected: Counter[str] = field(default_factory=Counter)
    """Anything else, by the DomainError's code or the exception's type: must stay zero."""
    failures: list[str] = field(default_factory=list)
    """The first unexpected failures in full, to show what went wrong."""
    audit: Counter[str] = field(default_factory=Counter)
    """Audit rows the terminal's successful changes should have written, by action."""
    ledger: Counter[str] = field(default_factory=Counter)
    """Ledger entries they should have written, by reason."""
    outcomes: Counter[str] = field(default_factory=Counter)
    """Idempotency records (stored outcomes) they should have written, by operation."""
    cash_rows: int = 0

    def merge(self, other: Tally) -> None:
        self.ops.update(other.ops)
        for kind, values in other.latency.items():
            self.latency[kind].extend(values)
        self.refusals.update(other.refusals)
        self.unexpected.update(other.unexpected)
        self.failures.extend(other.failures)
        self.audit.update(other.audit)
        self.ledger.update(other.ledger)
        self.outcomes.update(other.outcomes)
        self.cash_rows += other.cash_rows

    def fail(self, code: str, detail: str) -> None:
        self.unexpected[code] += 1
        if len(self.failures) < 20:
            self.failures.append(detail)


@dataclass
class TrackedVisit:
    """A visit this terminal opened, as the terminal believes it stands."""

    visit_id: uuid.UUID
    kind: VisitKind
    player_id: uuid.UUID | None
    slip_id: uuid.UUID | None = None
    slip_status: SlipStatus | None = None


@dataclass
class Pit:
    """The casino the terminals share: its players, tables, comps and an approver's login."""

    world: CasinoWorld
    players: list[uuid.UUID]
    tables: dict[uuid.UUID, int]
    """Table id → seats."""
    comps: list[uuid.UUID]
    approver: Credentials
    """A pit boss's code and PIN, typed at a cashier's terminal to approve an overdraw."""
    actors: list[Actor]
    """The staff signed in at each terminal, in terminal order."""


class Terminal:
    """One simulated pit terminal: a staff member, their own engine, their own section."""

    def __init__(
        self, number: int, database: Database, actor: Actor, pit: Pit, deadline: float
    ) -> None:
        self.number = number
        self.database = database
        self.actor = actor
        self.pit = pit
        self.deadline = deadline
        self.rng = random.Random(20261121 + number)
        self.tally = Tally()
        self.visits: dict[uuid.UUID, TrackedVisit] = {}
        self.replay: Callable[[], None] | None = None
        """A request to send again (same key) as the next action, as a retrying terminal would."""
        self.taken: set[tuple[uuid.UUID, int]] = set()
        """Seats the floor showed in play at the last look."""
        role = actor.role
        self.floor = role in {StaffRole.PIT_BOSS, StaffRole.FLOOR_SUPERVISOR}
        self.comps = role in {StaffRole.PIT_BOSS, StaffRole.CASHIER}
        self.credits = role is StaffRole.PIT_BOSS

    # -- the loop ------------------------------------------------------------------------------

    def run(self, start: threading.Barrier) -> None:
        start.wait()
        if self.floor:
            self.attempt("read.floor", self.look_at_floor)
        while time.monotonic() < self.deadline:
            if self.replay is not None:
                action, self.replay = self.replay, None
                self.attempt("replay", action)
                continue
            kind, action = self.choose()
            self.attempt(kind, action)

    def choose(self) -> tuple[str, Callable[[], None]]:
        options: list[tuple[float, str, Callable[[], None]]] = [
            (3, "read.balance", self.read_balance),
            (2, "read.history", self.read_history),
            (2, "read.search", self.search),
            (1, "read.card", self.read_card),
        ]
        if self.floor:
            options += self._floor_options()
        if self.comps:
            options.append((6 if self.actor.role is StaffRole.CASHIER else 3, "comp", self.comp))
        if self.credits:
            options.append((2, "credit", self.credit))
        if self.actor.role is StaffRole.CASHIER:
            options.append((2, "cash", self.cashier_cash))
        weights = [weight for weight, _, _ in options]
        _, kind, action = self.rng.choices(options, weights=weights)[0]
        return kind, action

    def _floor_options(self) -> list[tuple[float, str, Callable[[], None]]]:
        live = [v for v in self.visits.values() if v.slip_id is not None]
        idle_gaming = [
            v for v in self.visits.values() if v.slip_id is None and v.kind in slips.GAMING_KINDS
        ]
        options: list[tuple[float, str, Callable[[], None]]] = [
            (1, "read.floor", self.look_at_floor)
        ]
        if len(self.visits) < MAX_OPEN_VISITS:
            options.append((3, "visit.open", self.open_visit))
        if idle_gaming:
            options.append((4, "slip.start", self.start_slip))
        if any(v.slip_status is SlipStatus.OPEN for v in live):
            options += [(3, "slip.bet", self.change_bet), (1, "slip.pause", self.pause)]
        if any(v.slip_status is SlipStatus.PAUSED for v in live):
            options.append((4, "slip.resume", self.resume))  # a break is short
        if live:
            options.append((2, "slip.close", self.close_slip))
        if self.visits:
            options += [(2, "visit.close", self.close_visit), (1, "cash", self.floor_cash)]
        if any(v.kind is VisitKind.REWARD_IDENTIFIED for v in self.visits.values()):
            options.append((1, "visit.convert", self.convert))
        return options

    def attempt(self, kind: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            action()
        except DomainError as error:
            if error.code in EXPECTED_REFUSALS:
                self.tally.refusals[error.code.value] += 1
            else:
                cause = f" ({error.__cause__})" if error.__cause__ is not None else ""
                self.tally.fail(error.code.value, f"{kind}: {error!s}{cause}")
            return
        except Exception as error:
            self.tally.fail(type(error).__name__, f"{kind}: {traceback.format_exc(limit=8)}")
            return
        self.tally.ops[kind] += 1
        self.tally.latency[kind].append(time.perf_counter() - started)

    def uow(self) -> UnitOfWork:
        return self.database.uow(self.actor)

    def reader(self) -> UnitOfWork:
        return self.database.reader(self.actor)

    def player(self) -> uuid.UUID:
        return self.rng.choice(self.pit.players)

    def changed(
        self,
        outcome: Outcome,
        operation: str,
        audit_rows: dict[str, int],
        resend: Callable[[], Outcome],
        ledger_rows: dict[str, int] | None = None,
    ) -> None:
        """Count what a successful change wrote; sometimes queue it to be sent again."""
        if outcome.is_existing:
            self.tally.fail("REPLAYED_FRESH_KEY", f"{operation}: a fresh key replayed")
            return
        self.tally.outcomes[operation] += 1
        self.tally.audit.update(audit_rows)
        self.tally.ledger.update(ledger_rows or {})
        if self.rng.random() < REPLAY_CHANCE:
            expected = outcome.model_dump(exclude={"is_existing"})

            def send_again() -> None:
                again = resend()
                if not again.is_existing or again.model_dump(exclude={"is_existing"}) != expected:
                    self.tally.fail(
                        "REPLAY_DIFFERED", f"{operation}: resent, it did not replay the answer"
                    )

            self.replay = send_again

    # -- reads ---------------------------------------------------------------------------------

    def read_balance(self) -> None:
        loyalty.balance(self.reader(), self.actor, self.player())

    def read_history(self) -> None:
        where = loyalty.LedgerFilter(player_id=self.player()) if self.rng.random() < 0.7 else None
        page = loyalty.history(self.reader(), self.actor, where, limit=25)
        if page.next_cursor is not None and self.rng.random() < 0.5:
            loyalty.history(self.reader(), self.actor, where, page.next_cursor, limit=25)

    def search(self) -> None:
        roll = self.rng.random()
        if roll < 0.6:
            text = self.rng.choice(LAST_NAMES)[: self.rng.randint(2, 4)]
        elif roll < 0.85:
            text = f"SK-{self.rng.randrange(PLAYERS):04d}"
        else:
            text = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)[:2]}"
        players.search(self.reader(), self.actor, text)

    def read_card(self) -> None:
        loyalty.player_card(self.reader(), self.actor, self.player())

    def look_at_floor(self) -> None:
        view = floor.overview(self.reader(), self.actor)
        self.taken = {(slip.table_id, slip.seat) for t in view.tables for slip in t.slips}

    # -- visits --------------------------------------------------------------------------------

    def open_visit(self) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            kind, player = VisitKind.GAMING_IDENTIFIED_RATED, self.player()
        elif roll < 0.8:
            kind, player = VisitKind.GAMING_GHOST_UNRATED, None
        else:
            kind, player = VisitKind.REWARD_IDENTIFIED, self.player()
        command = visits.OpenVisit(
            kind=kind,
            player_id=player,
            description=f"T{self.number} patron in a {self.rng.choice(['red', 'grey'])} coat"
            if player is None
            else None,
            idempotency_key=uuid.uuid4(),
        )
        opened = visits.open_visit(self.uow(), self.actor, command)
        if opened.closed_previous_visit_id is not None:
            self.tally.fail(
                "CLOSED_PREVIOUS_DAY", f"visit.open: closed {opened.closed_previous_visit_id}"
            )
        self.visits[opened.visit_id] = TrackedVisit(opened.visit_id, kind, player)
        self.changed(
            opened,
            "visit.open",
            {"visit.opened": 1},
            lambda: visits.open_visit(self.uow(), self.actor, command),
        )

    def close_visit(self) -> None:
        visit = self.rng.choice(list(self.visits.values()))
        command = visits.VisitCommand(visit_id=visit.visit_id, idempotency_key=uuid.uuid4())
        closed = visits.close_visit(self.uow(), self.actor, command)
        del self.visits[visit.visit_id]
        expected_slips = [] if visit.slip_id is None else [visit.slip_id]
        if [s.slip_id for s in closed.closed_slips] != expected_slips:
            self.tally.fail("WRONG_SLIPS_CLOSED", f"visit.close: {closed.closed_slips}")
        minted = self._check_minted(visit, closed.closed_slips)
        self.changed(
            closed,
            "visit.close",
            {"visit.closed": 1, "slip.closed": len(closed.closed_slips)},
            lambda: visits.close_visit(self.uow(), self.actor, command),
            {LedgerReason.BASE_ACCRUAL.value: minted},
        )

    def convert(self) -> None:
        reward = [v for v in self.visits.values() if v.kind is VisitKind.REWARD_IDENTIFIED]
        visit = self.rng.choice(reward)
        command = visits.VisitCommand(visit_id=visit.visit_id, idempotency_key=uuid.uuid4())
        converted = visits.convert_to_gaming(self.uow(), self.actor, command)
        visit.kind = VisitKind.GAMING_IDENTIFIED_RATED
        self.changed(
            converted,
            "visit.convert",
            {"visit.converted": 1},
            lambda: visits.convert_to_gaming(self.uow(), self.actor, command),
        )

    # -- slips ---------------------------------------------------------------------------------

    def start_slip(self) -> None:
        idle = [
            v for v in self.visits.values() if v.slip_id is None and v.kind in slips.GAMING_KINDS
        ]
        visit = self.rng.choice(idle)
        free = [
            (table, seat)
            for table, seats in self.pit.tables.items()
            for seat in range(1, seats + 1)
            if (table, seat) not in self.taken
        ]
        table, seat = self.rng.choice(free)
        command = slips.StartSlip(
            visit_id=visit.visit_id,
            table_id=table,
            seat=seat,
            average_bet_cents=self._bet(),
            idempotency_key=uuid.uuid4(),
        )
        try:
            started = slips.start_slip(self.uow(), self.actor, command)
        except DomainError as error:
            if error.code is ErrorCode.SEAT_TAKEN:  # someone sat down first: look again
                self.look_at_floor()
            raise
        self.taken.add((table, seat))
        visit.slip_id, visit.slip_status = started.slip_id, SlipStatus.OPEN
        self.changed(
            started,
            "slip.start",
            {"slip.started": 1},
            lambda: slips.start_slip(self.uow(), self.actor, command),
        )

    def change_bet(self) -> None:
        visit = self._slip_visit(SlipStatus.OPEN)
        assert visit.slip_id is not None
        command = slips.ChangeBet(
            slip_id=visit.slip_id, average_bet_cents=self._bet(), idempotency_key=uuid.uuid4()
        )
        changed = slips.change_bet(self.uow(), self.actor, command)
        self.changed(
            changed,
            "slip.change_bet",
            {"slip.bet_changed": 1},
            lambda: slips.change_bet(self.uow(), self.actor, command),
        )

    def pause(self) -> None:
        visit = self._slip_visit(SlipStatus.OPEN)
        assert visit.slip_id is not None
        command = slips.SlipCommand(slip_id=visit.slip_id, idempotency_key=uuid.uuid4())
        paused = slips.pause_slip(self.uow(), self.actor, command)
        visit.slip_status = SlipStatus.PAUSED
        self.changed(
            paused,
            "slip.pause",
            {"slip.paused": 1},
            lambda: slips.pause_slip(self.uow(), self.actor, command),
        )

    def resume(self) -> None:
        visit = self._slip_visit(SlipStatus.PAUSED)
        assert visit.slip_id is not None
        command = slips.SlipCommand(slip_id=visit.slip_id, idempotency_key=uuid.uuid4())
        resumed = slips.resume_slip(self.uow(), self.actor, command)
        visit.slip_status = SlipStatus.OPEN
        self.changed(
            resumed,
            "slip.resume",
            {"slip.resumed": 1},
            lambda: slips.resume_slip(self.uow(), self.actor, command),
        )

    def close_slip(self) -> None:
        visit = self.rng.choice([v for v in self.visits.values() if v.slip_id is not None])
        assert visit.slip_id is not None
        command = slips.SlipCommand(slip_id=visit.slip_id, idempotency_key=uuid.uuid4())
        closed = slips.close_slip(self.uow(), self.actor, command)
        minted = self._check_minted(visit, [closed])
        visit.slip_id = visit.slip_status = None
        self.changed(
            closed,
            "slip.close",
            {"slip.closed": 1},
            lambda: slips.close_slip(self.uow(), self.actor, command),
            {LedgerReason.BASE_ACCRUAL.value: minted},
        )

    def _slip_visit(self, status: SlipStatus) -> TrackedVisit:
        return self.rng.choice([v for v in self.visits.values() if v.slip_status is status])

    def _bet(self) -> int:
        if self.rng.random() < 0.02:
            return 500  # a typo below the table minimum: refused with BET_INVALID
        return self.rng.choice([1_000, 2_500, 5_000, 10_000, 25_000, 50_000])

    def _check_minted(self, visit: TrackedVisit, closed: list[slips.ClosedSlip]) -> int:
        """Rated slips mint their points (zero-point slips too); ghost slips never do."""
        minted = 0
        for slip in closed:
            rated = visit.kind is VisitKind.GAMING_IDENTIFIED_RATED
            if slip.minted != rated or (not rated and slip.ledger_entry_id is not None):
                self.tally.fail("WRONG_MINT", f"minted={slip.minted} on a {visit.kind.value} visit")
            minted += int(slip.minted)
        return minted

    # -- cash ----------------------------------------------------------------------------------

    def floor_cash(self) -> None:
        self._cash(self.rng.choice(list(self.visits)))

    def cashier_cash(self) -> None:
        """The cashier looks the patron up; cash goes on their open visit, if they have one."""
        found = players.get(self.reader(), self.actor, self.player())
        if found.open_visit_id is not None:
            self._cash(found.open_visit_id)

    def _cash(self, visit_id: uuid.UUID) -> None:
        direction = self.rng.choice([CashDirection.CASH_IN, CashDirection.CASH_OUT])
        command = cash.RecordCash(
            visit_id=visit_id,
            direction=direction,
            amount_cents=self.rng.randrange(2_000, 500_000, 100),
            idempotency_key=uuid.uuid4(),
        )
        recorded = cash.record_cash(self.uow(), self.actor, command)
        self.tally.cash_rows += 1
        self.changed(
            recorded,
            "cash.record",
            {f"cash.{direction.value}": 1},
            lambda: cash.record_cash(self.uow(), self.actor, command),
        )

    # -- loyalty -------------------------------------------------------------------------------

    def comp(self) -> None:
        """As the comp screen does it: read the card (the comp goes on the patron's open visit,
        if any), try; if the balance is short, get approval and send the same key again."""
        card = players.get(self.reader(), self.actor, self.player())
        catalog = self.rng.random() < 0.6
        command = loyalty.Redeem(
            player_id=card.id,
            visit_id=card.open_visit_id,
            comp_id=self.rng.choice(self.pit.comps) if catalog else None,
            points=None if catalog else self.rng.randrange(100, 3_000, 50),
            note=f"comp from terminal {self.number}",
            idempotency_key=uuid.uuid4(),
        )
        try:
            redeemed = loyalty.redeem(self.uow(), self.actor, command)
        except DomainError as error:
            if error.code is not ErrorCode.LOYALTY_INSUFFICIENT_BALANCE or self.rng.random() < 0.4:
                raise
            self.tally.refusals[error.code.value] += 1  # the screen now asks for approval
            approver = None if self.actor.role is StaffRole.PIT_BOSS else self.pit.approver
            command = command.model_copy(update={"allow_overdraw": True, "approver": approver})
            redeemed = loyalty.redeem(self.uow(), self.actor, command)
        audit_rows = {"loyalty.redeem": 1}
        if redeemed.overdraw_applied:
            self.tally.ops["comp.overdraw"] += 1
            if command.approver is not None:
                audit_rows["loyalty.overdraw_approval"] = 1
        self.changed(
            redeemed,
            "loyalty.redeem",
            audit_rows,
            lambda: loyalty.redeem(self.uow(), self.actor, command),
            {LedgerReason.REDEEM.value: 1},
        )

    def credit(self) -> None:
        command = loyalty.ManualCredit(
            player_id=self.player(),
            points=self.rng.randrange(50, 1_500, 50),
            note=f"service recovery, terminal {self.number}",
            idempotency_key=uuid.uuid4(),
        )
        credited = loyalty.manual_credit(self.uow(), self.actor, command)
        self.changed(
            credited,
            "loyalty.manual_credit",
            {"loyalty.manual_credit": 1},
            lambda: loyalty.manual_credit(self.uow(), self.actor, command),
            {LedgerReason.MANUAL_REWARD.value: 1},
        )


# -- setting up the pit -------------------------------------------------------------------------


def build_pit(database: Database) -> Pit:
    """ALPHA with 20 tables, a comp catalog, 200 players holding points, and 16 staff."""
    world = build_casino(database)
    admin = world.admin
    baccarat = add_game(
        database.uow(admin),
        admin,
        NewGame(
            name="Baccarat",
            game_type=GameType.BACCARAT,
            house_edge=Decimal("1.06"),
            decisions_per_hour=72,
            points_conversion_rate=Decimal(10),
            rounding=Rounding.FLOOR,
            min_bet_cents=2_500,
            max_bet_cents=1_000_000,
        ),
    )
    assert world.game_id is not None
    tables = dict.fromkeys(world.table_ids, 7)
    for number in range(3, 15):
        tables[_table(database, world, f"BJ-{number:02d}", world.game_id, 7)] = 7
    for number in range(1, 7):
        tables[_table(database, world, f"BAC-{number:02d}", baccarat, 9)] = 9
    comps = [
        loyalty.add_comp(
            database.uow(admin),
            admin,
            loyalty.NewComp(name=name, category=category, points_cost=cost),
        ).id
        for name, category, cost in CATALOG
    ]
    boss = world.actor(StaffRole.PIT_BOSS)
    rng = random.Random(7)
    roster: list[uuid.UUID] = []
    for number in range(PLAYERS):
        enrolled = players.enrol(
            database.uow(boss),
            boss,
            players.NewPlayer(
                first_name=FIRST_NAMES[number % len(FIRST_NAMES)],
                last_name=LAST_NAMES[number % len(LAST_NAMES)],
                date_of_birth=date(1950 + number % 50, 1 + number % 12, 1 + number % 28),
                loyalty_card_number=f"SK-{number:04d}",
                idempotency_key=uuid.uuid4(),
            ),
        )
        roster.append(enrolled.player_id)
        if number % 4:  # a quarter start at zero
            loyalty.manual_credit(
                database.uow(boss),
                boss,
                loyalty.ManualCredit(
                    player_id=enrolled.player_id,
                    points=rng.randrange(100, 6_000, 10),
                    note="opening balance",
                    idempotency_key=uuid.uuid4(),
                ),
            )
    actors: list[Actor] = []
    seen: Counter[StaffRole] = Counter()
    for role in ROLES:
        seen[role] += 1
        if seen[role] == 1:
            code, pin = CODES[role], PINS[role]
        else:
            code, pin = f"{CODES[role][:2]}{seen[role]}", f"{PINS[role][0]}{seen[role]:03d}"
            add_staff(
                database.uow(admin),
                admin,
                NewStaff(code=code, name=f"{role.label} {seen[role]}", role=role, pin=pin),
            )
        actors.append(signed_in(database, world.casino, code, pin))
    approver = Credentials(staff_code=CODES[StaffRole.PIT_BOSS], pin=PINS[StaffRole.PIT_BOSS])
    return Pit(world, roster, tables, comps, approver, actors)


def _table(
    database: Database, world: CasinoWorld, label: str, game: uuid.UUID, seats: int
) -> uuid.UUID:
    return add_table(
        database.uow(world.admin),
        world.admin,
        NewTable(
            label=label,
            pit="Pit 2" if label.startswith("BAC") else "Pit 1",
            game_settings_id=game,
            seats=seats,
        ),
    )


# -- checking -------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Row counts that the soak should move by exactly what the terminals report."""

    audit: Counter[str]
    ledger: Counter[str]
    outcomes: Counter[str]
    cash_rows: int


def snapshot(database: Database, pit: Pit) -> Snapshot:
    with database.reader(pit.world.scope) as uow:
        session = uow.session

        def counts(column: Any) -> Counter[str]:
            rows = session.execute(select(column, func.count()).group_by(column)).all()
            return Counter({str(value): count for value, count in rows})

        cash_rows = session.scalar(select(func.count()).select_from(CashTransaction)) or 0
        return Snapshot(
            audit=counts(AuditLog.action),
            ledger=counts(LoyaltyLedger.reason),
            outcomes=counts(IdempotencyRecord.operation),
            cash_rows=int(cash_rows),
        )


def _mismatches(
    label: str, after: Counter[str], before: Counter[str], expected: Counter[str]
) -> list[str]:
    """Each key whose rows moved by other than what the terminals did, as a readable line."""
    return [
        f"{label} {key}: expected {expected[key]}, found {after[key] - before[key]}"
        for key in sorted(after.keys() | before.keys() | expected.keys())
        if after[key] - before[key] != expected[key]
    ]


def check_invariants(
    database: Database, pit: Pit, before: Snapshot, tally: Tally, terminals: list[Terminal]
) -> dict[str, list[str]]:
    """Every invariant of the pit, by name, with the violations found (all must be empty)."""
    after = snapshot(database, pit)
    found: dict[str, list[str]] = {
        "one audit row per mutation (by action)": _mismatches(
            "audit", after.audit, before.audit, tally.audit
        ),
        "one ledger entry per points change (by reason)": _mismatches(
            "ledger", after.ledger, before.ledger, tally.ledger
        ),
        "one stored outcome per request (by operation)": _mismatches(
            "outcome", after.outcomes, before.outcomes, tally.outcomes
        ),
        "one cash row per buy-in or cash-out": (
            []
            if after.cash_rows - before.cash_rows == tally.cash_rows
            else [f"expected {tally.cash_rows}, found {after.cash_rows - before.cash_rows}"]
        ),
    }
    with database.reader(pit.world.scope) as uow:
        found |= _ledger_checks(uow.session)
        found |= _slip_checks(uow.session)
        found |= _terminal_checks(uow.session, terminals)
    return found


def _ledger_checks(s: Session) -> dict[str, list[str]]:
    sums = dict(
        s.execute(
            select(LoyaltyLedger.player_id, func.sum(LoyaltyLedger.points_delta)).group_by(
                LoyaltyLedger.player_id
            )
        ).all()
    )
    accounts = dict(s.execute(select(PlayerLoyalty.player_id, PlayerLoyalty.current_balance)).all())
    cap = s.scalar(select(CasinoSettings.overdraw_cap_points))
    assert cap is not None
    unaudited = s.scalars(
        select(LoyaltyLedger.id)
        .outerjoin(
            AuditLog,
            and_(
                AuditLog.entity_type == "loyalty_ledger",
                AuditLog.entity_id == cast(LoyaltyLedger.id, String),
            ),
        )
        .where(LoyaltyLedger.reason != LedgerReason.BASE_ACCRUAL, AuditLog.id.is_(None))
    ).all()
    return {
        "balance = Σ ledger, every player": [
            f"player {player}: balance {accounts.get(player)}, ledger {sums.get(player) or 0}"
            for player in accounts.keys() | sums.keys()
            if accounts.get(player) != (sums.get(player) or 0)
        ],
        "no balance below the overdraw cap": [
            f"player {player}: {balance}" for player, balance in accounts.items() if balance < -cap
        ],
        "every comp and credit has its audit row": [f"entry {entry}" for entry in unaudited],
    }


def _slip_checks(s: Session) -> dict[str, list[str]]:
    accruals = (
        select(
            LoyaltyLedger.rating_slip_id.label("slip_id"),
            func.count().label("entries"),
            func.sum(LoyaltyLedger.points_delta).label("minted"),
        )
        .where(LoyaltyLedger.reason == LedgerReason.BASE_ACCRUAL)
        .group_by(LoyaltyLedger.rating_slip_id)
        .subquery()
    )
    other_entries = (
        select(LoyaltyLedger.rating_slip_id.label("slip_id"), func.count().label("entries"))
        .where(LoyaltyLedger.reason != LedgerReason.BASE_ACCRUAL)
        .group_by(LoyaltyLedger.rating_slip_id)
        .subquery()
    )
    open_pauses = (
        select(RatingSlipPause.slip_id.label("slip_id"), func.count().label("open"))
        .where(RatingSlipPause.resumed_at.is_(None))
        .group_by(RatingSlipPause.slip_id)
        .subquery()
    )
    bets = select(
        RatingSlipBet.slip_id.label("slip_id"),
        RatingSlipBet.average_bet_cents.label("bet"),
        func.row_number()
        .over(partition_by=RatingSlipBet.slip_id, order_by=RatingSlipBet.changed_at.desc())
        .label("newest"),
    ).subquery()
    last_bet = select(bets.c.slip_id, bets.c.bet).where(bets.c.newest == 1).subquery()
    rows = s.execute(
        select(
            RatingSlip,
            Visit.visit_kind.label("kind"),
            Visit.player_id.label("player_id"),
            Visit.status.label("visit_status"),
            accruals.c.entries,
            accruals.c.minted,
            other_entries.c.entries.label("other_entries"),
            open_pauses.c.open,
            last_bet.c.bet,
        )
        .join(Visit, Visit.id == RatingSlip.visit_id)
        .outerjoin(accruals, accruals.c.slip_id == RatingSlip.id)
        .outerjoin(other_entries, other_entries.c.slip_id == RatingSlip.id)
        .outerjoin(open_pauses, open_pauses.c.slip_id == RatingSlip.id)
        .outerjoin(last_bet, last_bet.c.slip_id == RatingSlip.id)
    ).all()
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        slip: RatingSlip = row.RatingSlip
        closed = slip.status is SlipStatus.CLOSED
        rated = row.kind is VisitKind.GAMING_IDENTIFIED_RATED and row.player_id is not None
        name = f"slip {slip.id} ({row.kind.value}, {slip.status.value})"
        if closed and rated and (row.entries != 1 or row.minted != slip.points):
            found["exactly one base accrual per closed rated slip"].append(
                f"{name}: {row.entries or 0} accruals of {row.minted} for {slip.points} points"
            )
        if (not closed or not rated) and row.entries is not None:
            found["no accrual for ghost or unclosed slips"].append(f"{name}: {row.entries}")
        if row.kind is VisitKind.GAMING_GHOST_UNRATED and row.other_entries is not None:
            found["no accrual for ghost or unclosed slips"].append(f"{name}: other entries")
        if closed and (
            slip.closed_at is None
            or slip.closed_by is None
            or slip.played_seconds is None
            or slip.theo is None
            or (slip.points is not None) != rated
        ):
            found["no half-written rows"].append(f"{name}: close fields incomplete")
        if not closed and row.visit_status is VisitStatus.CLOSED:
            found["no half-written rows"].append(f"{name}: live on a closed visit")
        if row.kind is VisitKind.REWARD_IDENTIFIED:
            found["no half-written rows"].append(f"{name}: a reward-only visit has a slip")
        if (row.open or 0) != (1 if slip.status is SlipStatus.PAUSED else 0):
            found["no half-written rows"].append(f"{name}: {row.open or 0} open pauses")
        if row.bet != slip.average_bet_cents:
            found["no half-written rows"].append(
                f"{name}: bet {slip.average_bet_cents}, last bet row {row.bet}"
            )
    half_closed = s.scalars(
        select(Visit.id).where(
            Visit.status == VisitStatus.CLOSED,
            Visit.closed_at.is_(None) | Visit.closed_by.is_(None),
        )
    ).all()
    found["no half-written rows"] += [
        f"visit {v}: closed without who and when" for v in half_closed
    ]
    for check in (
        "exactly one base accrual per closed rated slip",
        "no accrual for ghost or unclosed slips",
        "no half-written rows",
    ):
        found.setdefault(check, [])
    return dict(found)


def _terminal_checks(s: Session, terminals: list[Terminal]) -> dict[str, list[str]]:
    """What each terminal believes is open and in play is what the database holds."""
    open_visits = set(s.scalars(select(Visit.id).where(Visit.status == VisitStatus.OPEN)))
    slip_status = dict(s.execute(select(RatingSlip.id, RatingSlip.status)).all())
    drift: list[str] = []
    for terminal in terminals:
        for visit in terminal.visits.values():
            if visit.visit_id not in open_visits:
                drift.append(f"T{terminal.number}: visit {visit.visit_id} is not open")
            if (
                visit.slip_id is not None
                and slip_status.get(visit.slip_id) is not visit.slip_status
            ):
                drift.append(f"T{terminal.number}: slip {visit.slip_id} is not {visit.slip_status}")
    return {"terminals agree with the database": drift}


# -- running and reporting ----------------------------------------------------------------------


@dataclass
class SoakResult:
    seconds: float
    pit: Pit
    before: Snapshot
    terminals: list[Terminal]
    tally: Tally
    invariants: dict[str, list[str]]
    slips: int


def run_soak(pg_database: PostgresTestDatabase, seconds: float) -> SoakResult:
    """Build the pit, let 16 terminals work it for ``seconds``, then check everything."""
    pit = build_pit(pg_database)
    clock = SoakClock(speed=min(MAX_SPEED, SIMULATED_SPAN.total_seconds() / seconds))
    app_url = pg_database.cluster.url_for(pg_database.name, APP_LOGIN)
    databases = [
        Database(make_engine(app_url, pool_size=1, max_overflow=2), clock) for _ in range(TERMINALS)
    ]
    try:
        before = snapshot(pg_database, pit)
        start = threading.Barrier(TERMINALS + 1)
        terminals = [
            Terminal(number + 1, databases[number], actor, pit, deadline=0.0)
            for number, actor in enumerate(pit.actors)
        ]
        threads = [
            threading.Thread(target=t.run, args=(start,), name=f"terminal-{t.number}")
            for t in terminals
        ]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        for terminal in terminals:  # the clock starts once every thread is at the barrier
            terminal.deadline = began + seconds
        clock.restart()
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        for database in databases:
            database.dispose()
    tally = Tally()
    for terminal in terminals:
        tally.merge(terminal.tally)
    invariants = check_invariants(pg_database, pit, before, tally, terminals)
    with pg_database.reader(pit.world.scope) as uow:
        slip_count = uow.session.scalar(select(func.count()).select_from(RatingSlip)) or 0
    return SoakResult(elapsed, pit, before, terminals, tally, invariants, int(slip_count))


def report(result: SoakResult) -> str:
    """The figures: operations per second by kind, refusals and errors by code, invariants."""
    tally = result.tally
    lines = [
        f"soak: {TERMINALS} terminals, {result.seconds:.1f} s, {len(result.pit.players)} players,"
        f" {result.slips} slips",
        f"{'operation':<22}{'count':>8}{'ops/s':>9}{'mean ms':>9}{'p95 ms':>9}",
    ]
    for kind in sorted(tally.latency):
        samples = sorted(tally.latency[kind])
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        lines.append(
            f"{kind:<22}{len(samples):>8}{len(samples) / result.seconds:>9.1f}"
            f"{1000 * sum(samples) / len(samples):>9.1f}{1000 * p95:>9.1f}"
        )
    total = sum(len(v) for v in tally.latency.values())
    writes = sum(
        len(v) for k, v in tally.latency.items() if not k.startswith("read.") and k != "replay"
    )
    lines.append(
        f"{'total':<22}{total:>8}{total / result.seconds:>9.1f}"
        f"   (writes {writes}, {writes / result.seconds:.1f}/s;"
        f" overdrawn comps {tally.ops['comp.overdraw']})"
    )
    refused = sum(tally.refusals.values())
    lines.append(f"expected refusals: {refused}")
    lines += [f"  {code}: {count}" for code, count in tally.refusals.most_common()]
    lines.append(f"unexpected errors: {sum(tally.unexpected.values())}")
    lines += [f"  {code}: {count}" for code, count in tally.unexpected.most_common()]
    lines += [f"    {detail}" for detail in tally.failures]
    lines.append("invariants:")
    for name, violations in result.invariants.items():
        verdict = "ok" if not violations else f"{len(violations)} VIOLATIONS"
        lines.append(f"  {name}: {verdict}")
        lines += [f"    {v}" for v in violations[:10]]
    return "\n".join(lines)


CORE_KINDS = (
    "visit.open",
    "visit.close",
    "slip.start",
    "slip.close",
    "comp",
    "credit",
    "cash",
    "read.balance",
    "read.history",
    "read.search",
)
"""Work every run must have done, however slow the machine (the short run included)."""
EVERY_KIND = (
    *CORE_KINDS,
    "visit.convert",
    "slip.bet",
    "slip.pause",
    "slip.resume",
    "comp.overdraw",
    "replay",
    "read.card",
    "read.floor",
)
"""Every kind of work: the full soak must have done each of them."""


def assert_soak_held(result: SoakResult, kinds: tuple[str, ...]) -> None:
    """No unexpected error, every invariant holds, and the mix really happened."""
    text = report(result)
    print(text)
    assert not result.tally.unexpected, text
    assert {name: v for name, v in result.invariants.items() if v} == {}, text
    tally = result.tally
    missing = [kind for kind in kinds if tally.ops[kind] == 0]
    assert missing == [], f"no {', '.join(missing)} in the run\n{text}"
    assert tally.ledger[LedgerReason.BASE_ACCRUAL.value] > 0, text
    if "comp.overdraw" in kinds:
        assert tally.audit["loyalty.overdraw_approval"] > 0, text


def test_soak_short(pg_database: PostgresTestDatabase) -> None:
    """16 terminals for 10 seconds: the soak's code and checks, in every test run.

    Then the checks are shown to bite: as the owner, break one thing of each kind behind the
    services' back (a cached balance, a slip's bet, a stray audit row, an accrual on a ghost
    or live slip) and every one of them is reported.
    """
    result = run_soak(pg_database, SHORT_SECONDS)
    assert_soak_held(result, CORE_KINDS)
    pit = result.pit
    with pg_database.reader(pit.world.scope) as uow:
        unrated = uow.session.execute(
            select(RatingSlip.id, RatingSlip.casino_id)
            .join(Visit, Visit.id == RatingSlip.visit_id)
            .where(
                (Visit.visit_kind == VisitKind.GAMING_GHOST_UNRATED)
                | (RatingSlip.status != SlipStatus.CLOSED)
            )
            .limit(1)
        ).first()
    assert unrated is not None, "the run left no ghost or live slip to tamper with"
    with pg_database.raw() as conn:
        conn.execute(
            update(PlayerLoyalty)
            .where(PlayerLoyalty.player_id == pit.players[0])
            .values(current_balance=PlayerLoyalty.current_balance + 7)
        )
        conn.execute(
            update(RatingSlip)
            .where(RatingSlip.id == unrated.id)
            .values(average_bet_cents=RatingSlip.average_bet_cents + 1)
        )
        conn.commit()
    admin = pit.world.admin
    with pg_database.uow(admin) as uow:
        audit.by(uow, admin, "slip.paused", "rating_slip", unrated.id)
        ledger.post(
            uow,
            casino_id=unrated.casino_id,
            player_id=pit.players[1],
            points_delta=5,
            reason=LedgerReason.BASE_ACCRUAL,
            staff_id=admin.staff_id,
            idempotency_key=uuid.uuid4(),
            metadata={},
            rating_slip_id=unrated.id,
        )
        uow.commit()
    broken = check_invariants(pg_database, pit, result.before, result.tally, result.terminals)
    for check in (
        "balance = Σ ledger, every player",
        "no half-written rows",
        "one audit row per mutation (by action)",
        "one ledger entry per points change (by reason)",
        "no accrual for ghost or unclosed slips",
    ):
        assert broken[check], f"{check} did not notice the tampering"


@pytest.mark.slow
def test_soak(pg_database: PostgresTestDatabase) -> None:
    """16 terminals for PITTERM_SOAK_SECONDS (5 minutes by default): ``make soak``."""
    assert_soak_held(run_soak(pg_database, SOAK_SECONDS), EVERY_KIND)


# -- races the soak found, pinned down ----------------------------------------------------------

RACES = 30
"""Rounds per race: before the fix about two in five rounds deadlocked."""


def _race(*calls: Callable[[], object]) -> list[BaseException]:
    """Run the calls at once, one thread each; the exceptions they raised."""
    barrier = threading.Barrier(len(calls))
    raised: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:
            raised.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return raised


def test_opening_a_visit_races_a_comp_the_same_pit_boss_approves(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    """PB1 opens a visit for a patron while a cashier comps that patron on PB1's approval.

    Opening locked the player row and the approval locked PB1's staff row, each FOR UPDATE;
    the comp's ledger entry references the player and the visit references PB1, so each
    waited for the other: Postgres killed one as a deadlock, and the terminal said the
    database did not answer. With FOR NO KEY UPDATE both go through, every round.
    """
    world = build_casino(pg_database)
    boss, cashier = world.actor(StaffRole.PIT_BOSS), world.actor(StaffRole.CASHIER)
    approver = Credentials(staff_code=CODES[StaffRole.PIT_BOSS], pin=PINS[StaffRole.PIT_BOSS])
    for round_ in range(RACES):
        player = players.enrol(
            pg_database.uow(boss),
            boss,
            players.NewPlayer(
                first_name="Race",
                last_name=f"Round {round_}",
                date_of_birth=date(1980, 1, 1),
                idempotency_key=uuid.uuid4(),
            ),
        ).player_id
        opening = visits.OpenVisit(
            kind=VisitKind.GAMING_IDENTIFIED_RATED, player_id=player, idempotency_key=uuid.uuid4()
        )
        comp = loyalty.Redeem(
            player_id=player,
            points=100,
            note="race",
            allow_overdraw=True,
            approver=approver,
            idempotency_key=uuid.uuid4(),
        )
        raised = _race(
            partial(visits.open_visit, app_database.uow(boss), boss, opening),
            partial(loyalty.redeem, app_database.uow(cashier), cashier, comp),
        )
        assert raised == [], f"round {round_}: {raised!r}"
    assert_balances_match_ledger(pg_database, world.scope)


def test_closing_a_rated_visit_races_a_comp_on_that_visit(
    pg_database: PostgresTestDatabase, app_database: Database
) -> None:
    """A pit boss closes a rated visit (accrual included) while a cashier comps the patron on
    that visit, as the comp screen does. Closing locked the visit FOR UPDATE and then wanted
    the loyalty account; the comp held the account and its ledger entry's reference to the
    visit waited for the visit lock: a deadlock. With FOR NO KEY UPDATE, none."""
    world = build_casino(pg_database)
    boss, cashier = world.actor(StaffRole.PIT_BOSS), world.actor(StaffRole.CASHIER)
    approver = Credentials(staff_code=CODES[StaffRole.PIT_BOSS], pin=PINS[StaffRole.PIT_BOSS])
    player = enrol(pg_database, boss)
    for round_ in range(RACES):
        visit = open_visit(pg_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)
        start(pg_database, boss, visit, world.table_ids[0])
        closing = visits.VisitCommand(visit_id=visit, idempotency_key=uuid.uuid4())
        comp = loyalty.Redeem(
            player_id=player,
            points=100,
            note="race",
            visit_id=visit,
            allow_overdraw=True,
            approver=approver,
            idempotency_key=uuid.uuid4(),
        )
        raised = _race(
            partial(visits.close_visit, app_database.uow(boss), boss, closing),
            partial(loyalty.redeem, app_database.uow(cashier), cashier, comp),
        )
        assert raised == [], f"round {round_}: {raised!r}"
    assert_balances_match_ledger(pg_database, world.scope)
    with pg_database.reader(world.scope) as uow:
        accruals = uow.session.scalar(
            select(func.count())
            .select_from(LoyaltyLedger)
            .where(LoyaltyLedger.reason == LedgerReason.BASE_ACCRUAL)
        )
    assert accruals == RACES
