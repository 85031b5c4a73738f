"""Every service operation, how to call it validly, and who may: the role matrix test's registry.

``OPERATIONS`` maps ``"module.function"`` (a public function of ``pitterm.domain``) to the
capability DESIGN §3 puts it under and a builder. A builder prepares what the call needs in a
``RoleWorld`` (as the admin, through the real services) and returns a thunk that makes the
call as the given actor; preparing never counts as the call, so a refused call can be checked
to have written nothing. ``service_functions()`` finds the operations in the source, so a new
service without an entry here fails ``tests/test_role_matrix.py``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from pitterm.domain import (
    audit_export,
    auth,
    cash,
    casinos,
    directory,
    drift,
    floor,
    imports,
    loyalty,
    players,
    promo,
    slips,
    visits,
)
from pitterm.domain import reconciliation as recon
from pitterm.domain.actor import Actor
from pitterm.domain.auth import Credentials, parse_credentials
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection, GameType, StaffRole, Tier, VisitKind
from pitterm.domain.errors import DomainError
from pitterm.domain.promo_rules import PromoType
from pitterm.domain.tables import Base, PlayerLoyalty, Staff
from tests.factories import CODES, PINS, CasinoWorld, build_casino
from tests.import_support import HEADER, MAPPING, write_csv

DOMAIN = Path(__file__).resolve().parent.parent / "pitterm" / "domain"

NOT_OPERATIONS: dict[str, str] = {
    "audit.by": "writes the audit row of the caller's change, inside the caller's transaction",
    "capabilities.require": "the capability check itself",
    "idempotency.run_idempotent": "the transaction wrapper every mutation runs its body in",
    "idempotency.run_idempotent_from": "run_idempotent with the body's first statement",
    "records.visit": "loads a row for a service that already checked the actor",
    "slips.close_live_slips": "part of close_visit / open_visit, inside their transaction",
    "slips.close_locked": "part of close_slip / move_slip / close_visit, inside their transaction",
    "reconciliation.open_records": "part of imports.execute_batch, inside its transaction",
}
"""Public domain functions that take an actor but are building blocks, not operations."""


def service_functions() -> set[str]:
    """``module.function`` for every public top-level function in pitterm/domain that takes an
    ``actor`` or calls ``require``/``can``: the operations a role may or may not perform."""
    found: set[str] = set()
    for path in sorted(DOMAIN.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            takes_actor = any(a.arg == "actor" for a in arguments)
            checks = any(
                isinstance(n, ast.Call)
                and (
                    (isinstance(n.func, ast.Name) and n.func.id in {"require", "can"})
                    or (isinstance(n.func, ast.Attribute) and n.func.attr in {"require", "can"})
                )
                for n in ast.walk(node)
            )
            if takes_actor or checks:
                found.add(f"{path.stem}.{node.name}")
    return found - {"capabilities.can"}


# -- who may ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call an operation, read from the matrix (never a list of roles)."""

    any_of: tuple[Capability, ...] = ()
    """Roles holding any one of these capabilities may."""
    everyone: bool = False
    """Self-service for whoever is signed in (their own terminal status, their own PIN)."""
    dealer_own_table: bool = False
    """A dealer may too, but sees only the table it is assigned to (DESIGN §3)."""

    def allows(self, role: StaffRole) -> bool:
        if self.everyone or (self.dealer_own_table and role is StaffRole.DEALER):
            return True
        return any(can(role, capability) for capability in self.any_of)


Thunk = Callable[[], object]
Builder = Callable[["RoleWorld", Actor], Thunk]


@dataclass(frozen=True)
class Operation:
    name: str
    access: Access
    build: Builder


OPERATIONS: dict[str, Operation] = {}


def operation(
    name: str, *capabilities: Capability, everyone: bool = False, dealer_own_table: bool = False
) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        assert name not in OPERATIONS, name
        access = Access(tuple(capabilities), everyone=everyone, dealer_own_table=dealer_own_table)
        OPERATIONS[name] = Operation(name, access, build)
        return build

    return register


# -- the world the calls run in --------------------------------------------------------


def key() -> uuid.UUID:
    return uuid.uuid4()


def letters(n: int) -> str:
    """``n`` spelt in letters (import rows take no digits in names): 205 → 'cae'."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(n))


@dataclass
class RoleWorld:
    """One casino with a staff member of every role, and the long-lived things calls share.

    Anything a call consumes (a slip to close, an entry to reverse, a coupon to void) is made
    fresh by the builder through the ``fresh_*`` helpers, always as the admin.
    """

    db: Database
    casino: CasinoWorld
    folder: Path
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    rich_player: uuid.UUID = field(default_factory=uuid.uuid4)
    comp_id: uuid.UUID = field(default_factory=uuid.uuid4)
    rated_slip: uuid.UUID = field(default_factory=uuid.uuid4)
    open_visit: uuid.UUID = field(default_factory=uuid.uuid4)
    program_id: uuid.UUID = field(default_factory=uuid.uuid4)
    coupon_number: str = ""
    batch_id: uuid.UUID = field(default_factory=uuid.uuid4)
    recon_batch: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def admin(self) -> Actor:
        return self.casino.admin

    def n(self) -> int:
        return next(self.counter)

    # players, ledger

    def fresh_player(self) -> uuid.UUID:
        return players.enrol(
            self.db.uow(self.admin),
            self.admin,
            players.NewPlayer(
                first_name="Role",
                last_name=f"Player{self.n()}",
                date_of_birth=date(1970, 5, 17),
                idempotency_key=key(),
            ),
        ).player_id

    def fresh_credit_entry(self) -> uuid.UUID:
        return loyalty.manual_credit(
            self.db.uow(self.admin),
            self.admin,
            loyalty.ManualCredit(
                player_id=self.rich_player, points=10, note="to reverse", idempotency_key=key()
            ),
        ).ledger_id

    def fresh_comp(self) -> uuid.UUID:
        return loyalty.add_comp(
            self.db.uow(self.admin),
            self.admin,
            loyalty.NewComp(name=f"Comp {self.n()}", category="Dining", points_cost=50),
        ).id

    # floor

    def fresh_table(self) -> uuid.UUID:
        assert self.casino.game_id is not None
        return casinos.add_table(
            self.db.uow(self.admin),
            self.admin,
            casinos.NewTable(
                label=f"T{self.n()}", pit="Pit 9", game_settings_id=self.casino.game_id, seats=7
            ),
        )

    def fresh_visit(self, kind: VisitKind = VisitKind.GAMING_IDENTIFIED_RATED) -> uuid.UUID:
        if kind is VisitKind.GAMING_GHOST_UNRATED:
            request: dict[str, Any] = {"kind": kind, "description": "red cap"}
        else:
            request = {"kind": kind, "player_id": self.fresh_player()}
        return visits.open_visit(
            self.db.uow(self.admin), self.admin, {**request, "idempotency_key": key()}
        ).visit_id

    def fresh_slip(self, visit_id: uuid.UUID | None = None) -> uuid.UUID:
        visit_id = visit_id or self.fresh_visit()
        return slips.start_slip(
            self.db.uow(self.admin),
            self.admin,
            slips.StartSlip(
                visit_id=visit_id,
                table_id=self.fresh_table(),
                seat=1,
                average_bet_cents=10_000,
                idempotency_key=key(),
            ),
        ).slip_id

    def slip_command(self, slip_id: uuid.UUID) -> slips.SlipCommand:
        return slips.SlipCommand(slip_id=slip_id, idempotency_key=key())

    def paused_slip(self) -> uuid.UUID:
        slip_id = self.fresh_slip()
        slips.pause_slip(self.db.uow(self.admin), self.admin, self.slip_command(slip_id))
        return slip_id

    # promo

    def fresh_program(self, *, active: bool) -> uuid.UUID:
        now = self.db.clock.now()
        saved = promo.create_program(
            self.db.uow(self.admin),
            self.admin,
            promo.NewProgram(
                name=f"Program {self.n()}",
                promo_type=PromoType.MATCH_PLAY,
                start_at=now - timedelta(days=1),
                end_at=now + timedelta(days=30),
                idempotency_key=key(),
            ),
        )
        if active:
            command = self.program_command(saved.program.id)
            promo.activate_program(self.db.uow(self.admin), self.admin, command)
        return saved.program.id

    def program_command(self, program_id: uuid.UUID) -> promo.ProgramCommand:
        return promo.ProgramCommand(program_id=program_id, idempotency_key=key())

    def fresh_coupon(self) -> promo.CouponView:
        return promo.issue_coupon(
            self.db.uow(self.admin),
            self.admin,
            promo.IssueCoupon(
                program_id=self.program_id,
                face_value_cents=2_500,
                required_match_wager_cents=2_500,
                player_id=self.rich_player,
                idempotency_key=key(),
            ),
        ).coupon

    # imports

    def fresh_file(self, rows: int = 2) -> Path:
        """A player file no batch has seen (new content, new cards)."""
        n = self.n()
        lines = [
            [
                "Imp",
                f"Row {letters(n)} {letters(i)}",
                "1970-05-17",
                f"imp{n}x{i}@example.com",
                "",
                f"R-{n:05d}-{i}",
                "Gold",
                "100",
                "2026-10-01",
            ]
            for i in range(rows)
        ]
        return write_csv(self.folder / f"players-{n}.csv", lines, HEADER)

    def staged_batch(self) -> uuid.UUID:
        staged = imports.stage_file(self.db.uow(self.admin), self.admin, self.fresh_file(), MAPPING)
        return staged.batch.id

    def half_staged(self) -> tuple[uuid.UUID, Path]:
        path = self.fresh_file(rows=3)
        stopped = imports.stage_file(
            self.db.uow(self.admin),
            self.admin,
            path,
            MAPPING,
            chunk_rows=1,
            should_stop=lambda: True,
        )
        assert not stopped.completed
        return stopped.batch.id, path

    def fresh_recon_batch(
        self,
        *,
        tier: Tier | None = None,
        label: str = "Gold+",
        maps_to: Tier | None = Tier.GOLD,
        first_name: str = "Recon",
    ) -> uuid.UUID:
        """An executed batch whose row 1 is a player now at ``tier`` (default bronze), labelled
        ``label`` by the vendor, the label mapped to ``maps_to`` (None: left unmapped)."""
        n = self.n()
        card = f"RC-{n:05d}"
        player = players.enrol(
            self.db.uow(self.admin),
            self.admin,
            players.NewPlayer(
                first_name=first_name,
                last_name=f"Row {letters(n)}",
                date_of_birth=date(1975, 3, 4),
                loyalty_card_number=card,
                idempotency_key=key(),
            ),
        ).player_id
        if tier is not None:  # test setup: the canonical tier the player already holds
            with self.db.raw() as conn:
                conn.execute(
                    update(PlayerLoyalty).where(PlayerLoyalty.player_id == player).values(tier=tier)
                )
                conn.commit()
        row = ["Recon", f"Row {letters(n)}", "1975-03-04", "", "", card, label, "100", "2026-10-01"]
        path = write_csv(self.folder / f"recon-{n}.csv", [row], HEADER)
        staged = imports.stage_file(self.db.uow(self.admin), self.admin, path, MAPPING)
        imports.execute_batch(self.db.uow(self.admin), self.admin, staged.batch.id)
        if maps_to is not None:
            recon.set_tier_mapping(
                self.db.uow(self.admin),
                self.admin,
                recon.SetTierMapping(batch_id=staged.batch.id, vendor_label=label, tier=maps_to),
            )
        return staged.batch.id

    def apply_command(self, batch_id: uuid.UUID, **extra: Any) -> recon.ApplyReconciliation:
        return recon.ApplyReconciliation(
            batch_id=batch_id, row_number=1, idempotency_key=key(), **extra
        )

    # staff

    def locked_staff(self) -> uuid.UUID:
        code = f"LOCK{self.n()}"
        staff_id = casinos.add_staff(
            self.db.uow(self.admin),
            self.admin,
            casinos.NewStaff(code=code, name="Locked Out", role=StaffRole.CASHIER, pin="4321"),
        )
        for _ in range(auth.MAX_FAILED_ATTEMPTS):
            with contextlib.suppress(DomainError):
                auth.sign_in(self.db.uow(self.casino.scope), parse_credentials(code, "0000"))
        return staff_id


def build_role_world(database: Database, folder: Path) -> RoleWorld:
    """The shared world: a rich player with an open visit, a closed rated slip, a comp, an
    active match-play program with a coupon, and an executed-and-staged import batch."""
    world = RoleWorld(database, build_casino(database), folder)
    admin = world.admin
    world.rich_player = world.fresh_player()
    loyalty.manual_credit(
        database.uow(admin),
        admin,
        loyalty.ManualCredit(
            player_id=world.rich_player, points=1_000_000, note="float", idempotency_key=key()
        ),
    )
    world.open_visit = visits.open_visit(
        database.uow(admin),
        admin,
        {"kind": VisitKind.GAMING_IDENTIFIED_RATED, "player_id": world.rich_player}
        | {"idempotency_key": key()},
    ).visit_id
    world.comp_id = world.fresh_comp()
    # A closed slip that earned base points, for promotions (one per campaign).
    rated = world.fresh_slip()
    assert isinstance(database.clock, FixedClock)
    database.clock.advance(timedelta(hours=1))
    slips.close_slip(database.uow(admin), admin, world.slip_command(rated))
    world.rated_slip = rated
    world.program_id = world.fresh_program(active=True)
    world.coupon_number = world.fresh_coupon().validation_number
    world.batch_id = world.staged_batch()
    world.recon_batch = world.fresh_recon_batch()
    return world


def table_counts(database: Database) -> dict[str, int]:
    """Rows in every table, in one statement (the owner's connection: no row security)."""
    names = [t.name for t in Base.metadata.sorted_tables]
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in names)
    with database.raw() as conn:
        row = conn.execute(text(query)).one()
    return dict(zip(names, row, strict=True))


def assigned_table(database: Database, dealer: Actor) -> uuid.UUID | None:
    with database.raw() as conn:
        return conn.scalar(select(Staff.assigned_table_id).where(Staff.id == dealer.staff_id))


# -- the registry ----------------------------------------------------------------------

V = Capability.VIEW_FLOOR
OPS = Capability.OPERATE_VISITS_SLIPS
PROMO_VIEW = (Capability.ISSUE_COUPON, Capability.MANAGE_PROMO)
"""Promo reads: whoever may issue coupons or manage programs (promo.py ``_require_view``)."""


# auth


@operation("auth.list_staff", Capability.MANAGE_STAFF_SETTINGS)
def _list_staff(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: auth.list_staff(w.db.reader(a), a)


@operation("auth.unlock_staff", Capability.MANAGE_STAFF_SETTINGS)
def _unlock_staff(w: RoleWorld, a: Actor) -> Thunk:
    staff_id = w.locked_staff()
    return lambda: auth.unlock_staff(w.db.uow(a), a, staff_id)


@operation("auth.reset_pin", Capability.MANAGE_STAFF_SETTINGS)
def _reset_pin(w: RoleWorld, a: Actor) -> Thunk:
    command = auth.ResetPin(staff_id=w.locked_staff(), pin="97531", idempotency_key=key())
    return lambda: auth.reset_pin(w.db.uow(a), a, command)


@operation("auth.set_staff_active", Capability.MANAGE_STAFF_SETTINGS)
def _set_staff_active(w: RoleWorld, a: Actor) -> Thunk:
    staff_id = w.locked_staff()
    return lambda: auth.set_staff_active(w.db.uow(a), a, staff_id, False)


@operation("auth.terminal_status", everyone=True)
def _terminal_status(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: auth.terminal_status(w.db.reader(a), a)


@operation("auth.reauthenticate", everyone=True)
def _reauthenticate(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: auth.reauthenticate(w.db.uow(a), a, PINS[a.role])


# casinos, comps


@operation("casinos.add_staff", Capability.MANAGE_STAFF_SETTINGS)
def _add_staff(w: RoleWorld, a: Actor) -> Thunk:
    new = casinos.NewStaff(code=f"NEW{w.n()}", name="New Hire", role=StaffRole.CASHIER, pin="1234")
    return lambda: casinos.add_staff(w.db.uow(a), a, new)


@operation("casinos.add_game", Capability.MANAGE_STAFF_SETTINGS)
def _add_game(w: RoleWorld, a: Actor) -> Thunk:
    new = casinos.NewGame(
        name=f"Baccarat {w.n()}",
        game_type=GameType.BACCARAT,
        house_edge=Decimal("1.06"),
        decisions_per_hour=80,
        points_conversion_rate=Decimal(10),
        min_bet_cents=2_500,
        max_bet_cents=1_000_000,
    )
    return lambda: casinos.add_game(w.db.uow(a), a, new)


@operation("casinos.add_table", Capability.MANAGE_STAFF_SETTINGS)
def _add_table(w: RoleWorld, a: Actor) -> Thunk:
    assert w.casino.game_id is not None
    new = casinos.NewTable(
        label=f"N{w.n()}", pit="Pit 2", game_settings_id=w.casino.game_id, seats=6
    )
    return lambda: casinos.add_table(w.db.uow(a), a, new)


@operation("casinos.list_games", Capability.MANAGE_STAFF_SETTINGS)
def _list_games(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: casinos.list_games(w.db.reader(a), a)


@operation("casinos.read_settings", Capability.MANAGE_STAFF_SETTINGS)
def _read_settings(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: casinos.read_settings(w.db.reader(a), a)


@operation("casinos.update_settings", Capability.MANAGE_STAFF_SETTINGS)
def _update_settings(w: RoleWorld, a: Actor) -> Thunk:
    # A setting no other operation here depends on: the promo expiry alert's horizon.
    change = casinos.SettingsChange(
        promo_expiry_alert_hours=24 + w.n() % 600, idempotency_key=key()
    )
    return lambda: casinos.update_settings(w.db.uow(a), a, change)


@operation("audit_export.export_csv", Capability.MANAGE_STAFF_SETTINGS)
def _export_audit(w: RoleWorld, a: Actor) -> Thunk:
    window = audit_export.AuditExportWindow()
    return lambda: audit_export.export_csv(w.db.reader(a), a, window, io.StringIO())


@operation("loyalty.add_comp", Capability.MANAGE_STAFF_SETTINGS)
def _add_comp(w: RoleWorld, a: Actor) -> Thunk:
    new = loyalty.NewComp(name=f"Show {w.n()}", category="Entertainment", points_cost=400)
    return lambda: loyalty.add_comp(w.db.uow(a), a, new)


@operation("loyalty.set_comp_active", Capability.MANAGE_STAFF_SETTINGS)
def _set_comp_active(w: RoleWorld, a: Actor) -> Thunk:
    comp_id = w.fresh_comp()
    return lambda: loyalty.set_comp_active(w.db.uow(a), a, comp_id, False)


# reads of the floor, players and the ledger


@operation("floor.list_tables", V, dealer_own_table=True)
def _list_tables(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: floor.list_tables(w.db.reader(a), a)


@operation("floor.overview", V, dealer_own_table=True)
def _overview(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: floor.overview(w.db.reader(a), a)


@operation("directory.ledger_context", V)
def _ledger_context(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: directory.ledger_context(w.db.reader(a), a)


@operation("players.search", V)
def _search(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: players.search(w.db.reader(a), a, "Role")


@operation("players.get", V)
def _get_player(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: players.get(w.db.reader(a), a, w.rich_player)


@operation("loyalty.balance", V)
def _balance(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: loyalty.balance(w.db.reader(a), a, w.rich_player)


@operation("loyalty.player_card", V)
def _player_card(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: loyalty.player_card(w.db.reader(a), a, w.rich_player)


@operation("loyalty.comp_catalog", V)
def _comp_catalog(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: loyalty.comp_catalog(w.db.reader(a), a)


@operation("loyalty.history", V)
def _history(w: RoleWorld, a: Actor) -> Thunk:
    where = loyalty.LedgerFilter(player_id=w.rich_player)
    return lambda: loyalty.history(w.db.reader(a), a, where)


@operation("loyalty.export_history_csv", V)
def _export_history(w: RoleWorld, a: Actor) -> Thunk:
    where = loyalty.LedgerFilter(player_id=w.rich_player)
    return lambda: loyalty.export_history_csv(w.db.reader(a), a, where, io.StringIO())


@operation("slips.suggestion", V)
def _suggestion(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: slips.suggestion(w.db.reader(a), a, w.rated_slip)


@operation("cash.day_totals", V)
def _day_totals(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: cash.day_totals(w.db.reader(a), a)


@operation("cash.compliance_day", V)
def _compliance_day(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: cash.compliance_day(w.db.reader(a), a)


# visits and slips


@operation("players.enrol", OPS)
def _enrol(w: RoleWorld, a: Actor) -> Thunk:
    new = players.NewPlayer(
        first_name="Walk",
        last_name=f"In{w.n()}",
        date_of_birth=date(1980, 1, 2),
        idempotency_key=key(),
    )
    return lambda: players.enrol(w.db.uow(a), a, new)


@operation("visits.open_visit", OPS)
def _open_visit(w: RoleWorld, a: Actor) -> Thunk:
    command = visits.OpenVisit(
        kind=VisitKind.REWARD_IDENTIFIED, player_id=w.fresh_player(), idempotency_key=key()
    )
    return lambda: visits.open_visit(w.db.uow(a), a, command)


@operation("visits.close_visit", OPS)
def _close_visit(w: RoleWorld, a: Actor) -> Thunk:
    command = visits.VisitCommand(visit_id=w.fresh_visit(), idempotency_key=key())
    return lambda: visits.close_visit(w.db.uow(a), a, command)


@operation("visits.convert_to_gaming", OPS)
def _convert(w: RoleWorld, a: Actor) -> Thunk:
    visit_id = w.fresh_visit(VisitKind.REWARD_IDENTIFIED)
    command = visits.VisitCommand(visit_id=visit_id, idempotency_key=key())
    return lambda: visits.convert_to_gaming(w.db.uow(a), a, command)


@operation("visits.associate_ghost", Capability.ASSOCIATE_GHOST)
def _associate(w: RoleWorld, a: Actor) -> Thunk:
    command = visits.AssociateGhost(
        visit_id=w.fresh_visit(VisitKind.GAMING_GHOST_UNRATED),
        player_id=w.rich_player,
        idempotency_key=key(),
    )
    return lambda: visits.associate_ghost(w.db.uow(a), a, command)


@operation("slips.start_slip", OPS)
def _start_slip(w: RoleWorld, a: Actor) -> Thunk:
    command = slips.StartSlip(
        visit_id=w.fresh_visit(),
        table_id=w.fresh_table(),
        seat=3,
        average_bet_cents=5_000,
        idempotency_key=key(),
    )
    return lambda: slips.start_slip(w.db.uow(a), a, command)


@operation("slips.change_bet", OPS)
def _change_bet(w: RoleWorld, a: Actor) -> Thunk:
    command = slips.ChangeBet(
        slip_id=w.fresh_slip(), average_bet_cents=20_000, idempotency_key=key()
    )
    return lambda: slips.change_bet(w.db.uow(a), a, command)


@operation("slips.pause_slip", OPS)
def _pause(w: RoleWorld, a: Actor) -> Thunk:
    command = w.slip_command(w.fresh_slip())
    return lambda: slips.pause_slip(w.db.uow(a), a, command)


@operation("slips.resume_slip", OPS)
def _resume(w: RoleWorld, a: Actor) -> Thunk:
    command = w.slip_command(w.paused_slip())
    return lambda: slips.resume_slip(w.db.uow(a), a, command)


@operation("slips.close_slip", OPS)
def _close_slip(w: RoleWorld, a: Actor) -> Thunk:
    command = w.slip_command(w.fresh_slip())
    return lambda: slips.close_slip(w.db.uow(a), a, command)


@operation("slips.move_slip", OPS)
def _move(w: RoleWorld, a: Actor) -> Thunk:
    command = slips.MoveSlip(
        slip_id=w.fresh_slip(), table_id=w.fresh_table(), seat=2, idempotency_key=key()
    )
    return lambda: slips.move_slip(w.db.uow(a), a, command)


@operation("cash.record_cash", Capability.RECORD_CASH)
def _record_cash(w: RoleWorld, a: Actor) -> Thunk:
    command = cash.RecordCash(
        visit_id=w.open_visit,
        direction=CashDirection.CASH_IN,
        amount_cents=50_000,
        idempotency_key=key(),
    )
    return lambda: cash.record_cash(w.db.uow(a), a, command)


# loyalty mutations


@operation("loyalty.overdraw_policy", Capability.ISSUE_COMP)
def _overdraw_policy(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: loyalty.overdraw_policy(w.db.reader(a), a)


@operation("loyalty.redeem", Capability.ISSUE_COMP)
def _redeem(w: RoleWorld, a: Actor) -> Thunk:
    command = loyalty.Redeem(
        player_id=w.rich_player, comp_id=w.comp_id, note="dinner", idempotency_key=key()
    )
    return lambda: loyalty.redeem(w.db.uow(a), a, command)


@operation("loyalty.manual_credit", Capability.MANUAL_CREDIT)
def _manual_credit(w: RoleWorld, a: Actor) -> Thunk:
    command = loyalty.ManualCredit(
        player_id=w.rich_player, points=25, note="goodwill", idempotency_key=key()
    )
    return lambda: loyalty.manual_credit(w.db.uow(a), a, command)


@operation("loyalty.apply_promotion", Capability.APPLY_PROMOTION)
def _apply_promotion(w: RoleWorld, a: Actor) -> Thunk:
    command = loyalty.ApplyPromotion(
        slip_id=w.rated_slip, campaign_id=f"campaign-{w.n()}", bonus_points=5, idempotency_key=key()
    )
    return lambda: loyalty.apply_promotion(w.db.uow(a), a, command)


@operation("loyalty.adjust", Capability.ADJUST_REVERSE)
def _adjust(w: RoleWorld, a: Actor) -> Thunk:
    command = loyalty.Adjust(
        player_id=w.rich_player, points=-3, note="miskeyed", idempotency_key=key()
    )
    return lambda: loyalty.adjust(w.db.uow(a), a, command)


@operation("loyalty.reverse", Capability.ADJUST_REVERSE)
def _reverse(w: RoleWorld, a: Actor) -> Thunk:
    command = loyalty.Reverse(entry_id=w.fresh_credit_entry(), note="typo", idempotency_key=key())
    return lambda: loyalty.reverse(w.db.uow(a), a, command)


# promotional instruments


def _program_form(w: RoleWorld) -> dict[str, Any]:
    now = w.db.clock.now()
    return {
        "name": f"Promo {w.n()}",
        "promo_type": PromoType.FREE_BET,
        "start_at": now + timedelta(days=1),
        "end_at": now + timedelta(days=8),
        "idempotency_key": key(),
    }


@operation("promo.create_program", Capability.MANAGE_PROMO)
def _create_program(w: RoleWorld, a: Actor) -> Thunk:
    command = promo.NewProgram(**_program_form(w))
    return lambda: promo.create_program(w.db.uow(a), a, command)


@operation("promo.edit_program", Capability.MANAGE_PROMO)
def _edit_program(w: RoleWorld, a: Actor) -> Thunk:
    draft = w.fresh_program(active=False)
    command = promo.EditProgram(**_program_form(w), program_id=draft, terms="One per patron.")
    return lambda: promo.edit_program(w.db.uow(a), a, command)


@operation("promo.activate_program", Capability.MANAGE_PROMO)
def _activate(w: RoleWorld, a: Actor) -> Thunk:
    command = w.program_command(w.fresh_program(active=False))
    return lambda: promo.activate_program(w.db.uow(a), a, command)


@operation("promo.pause_program", Capability.MANAGE_PROMO)
def _pause_program(w: RoleWorld, a: Actor) -> Thunk:
    command = w.program_command(w.fresh_program(active=True))
    return lambda: promo.pause_program(w.db.uow(a), a, command)


@operation("promo.end_program", Capability.MANAGE_PROMO)
def _end_program(w: RoleWorld, a: Actor) -> Thunk:
    command = w.program_command(w.fresh_program(active=True))
    return lambda: promo.end_program(w.db.uow(a), a, command)


@operation("promo.issue_coupon", Capability.ISSUE_COUPON)
def _issue(w: RoleWorld, a: Actor) -> Thunk:
    command = promo.IssueCoupon(
        program_id=w.program_id,
        face_value_cents=1_000,
        required_match_wager_cents=1_000,
        player_id=w.rich_player,
        idempotency_key=key(),
    )
    return lambda: promo.issue_coupon(w.db.uow(a), a, command)


@operation("promo.void_coupon", Capability.MANAGE_PROMO)
def _void(w: RoleWorld, a: Actor) -> Thunk:
    command = promo.VoidCoupon(
        coupon_id=w.fresh_coupon().id, reason="misprint", idempotency_key=key()
    )
    return lambda: promo.void_coupon(w.db.uow(a), a, command)


@operation("promo.replace_coupon", Capability.MANAGE_PROMO)
def _replace(w: RoleWorld, a: Actor) -> Thunk:
    command = promo.ReplaceCoupon(
        coupon_id=w.fresh_coupon().id, reason="torn", idempotency_key=key()
    )
    return lambda: promo.replace_coupon(w.db.uow(a), a, command)


@operation("promo.expire_due", *PROMO_VIEW)
def _expire_due(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.expire_due(w.db.uow(a), a)


@operation("promo.programs", *PROMO_VIEW)
def _programs(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.programs(w.db.reader(a), a)


@operation("promo.get_program", *PROMO_VIEW)
def _get_program(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.get_program(w.db.reader(a), a, w.program_id)


@operation("promo.get_coupon", *PROMO_VIEW)
def _get_coupon(w: RoleWorld, a: Actor) -> Thunk:
    coupon_id = w.fresh_coupon().id
    return lambda: promo.get_coupon(w.db.reader(a), a, coupon_id)


@operation("promo.lookup", *PROMO_VIEW)
def _lookup(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.lookup(w.db.reader(a), a, w.coupon_number)


@operation("promo.inventory", *PROMO_VIEW)
def _inventory(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.inventory(w.db.reader(a), a, promo.CouponFilter(program_id=w.program_id))


@operation("promo.export_inventory_csv", *PROMO_VIEW)
def _export_inventory(w: RoleWorld, a: Actor) -> Thunk:
    where = promo.CouponFilter(program_id=w.program_id)
    return lambda: promo.export_inventory_csv(w.db.reader(a), a, where, io.StringIO())


@operation("promo.exposure", *PROMO_VIEW)
def _exposure(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.exposure(w.db.reader(a), a)


@operation("promo.alerts", *PROMO_VIEW)
def _alerts(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.alerts(w.db.reader(a), a)


@operation("promo.shift_lens", *PROMO_VIEW)
def _shift_lens(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.shift_lens(w.db.reader(a), a)


@operation("promo.issuance_by_hour", *PROMO_VIEW)
def _issuance_by_hour(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: promo.issuance_by_hour(w.db.reader(a), a)


# player import

IMP = Capability.IMPORT_RECONCILE


@operation("imports.preview", IMP)
def _preview(w: RoleWorld, a: Actor) -> Thunk:
    path = w.fresh_file()
    return lambda: imports.preview(w.db.reader(a), a, path, MAPPING)


@operation("imports.stage_file", IMP)
def _stage(w: RoleWorld, a: Actor) -> Thunk:
    path = w.fresh_file()
    return lambda: imports.stage_file(w.db.uow(a), a, path, MAPPING)


@operation("imports.resume_batch", IMP)
def _resume_batch(w: RoleWorld, a: Actor) -> Thunk:
    batch_id, path = w.half_staged()
    return lambda: imports.resume_batch(w.db.uow(a), a, batch_id, path)


@operation("imports.execute_batch", IMP)
def _execute(w: RoleWorld, a: Actor) -> Thunk:
    batch_id = w.staged_batch()
    return lambda: imports.execute_batch(w.db.uow(a), a, batch_id)


@operation("imports.get_batch", IMP)
def _get_batch(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.get_batch(w.db.reader(a), a, w.batch_id)


@operation("imports.find_batch", IMP)
def _find_batch(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.find_batch(w.db.reader(a), a, str(w.batch_id))


@operation("imports.list_batches", IMP)
def _list_batches(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.list_batches(w.db.reader(a), a)


@operation("imports.list_rows", IMP)
def _list_rows(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.list_rows(w.db.reader(a), a, w.batch_id)


@operation("imports.list_problems", IMP)
def _list_problems(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.list_problems(w.db.reader(a), a, w.batch_id)


@operation("imports.iter_problems", IMP)
def _iter_problems(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: list(imports.iter_problems(w.db.reader(a), a, w.batch_id))


@operation("imports.write_problem_report", IMP)
def _problem_report(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: imports.write_problem_report(w.db.reader(a), a, w.batch_id, io.StringIO())


# drift audit

DRIFT = Capability.RUN_DRIFT_AUDIT


@operation("drift.audit", DRIFT)
def _drift_audit(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: drift.audit(w.db.uow(a), a, 0, checkpoint=True)


@operation("drift.audit_incremental", DRIFT)
def _drift_incremental(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: drift.audit_incremental(w.db.uow(a), a, 0)


@operation("drift.drill_down", DRIFT)
def _drill_down(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: drift.drill_down(w.db.reader(a), a, w.rich_player, 0)


# tier reconciliation


@operation("reconciliation.list_batches", IMP)
def _recon_batches(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.list_batches(w.db.reader(a), a)


@operation("reconciliation.tier_labels", IMP)
def _tier_labels(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.tier_labels(w.db.reader(a), a, w.recon_batch)


@operation("reconciliation.set_tier_mapping", IMP)
def _set_mapping(w: RoleWorld, a: Actor) -> Thunk:
    command = recon.SetTierMapping(
        batch_id=w.fresh_recon_batch(maps_to=None), vendor_label="Gold+", tier=Tier.GOLD
    )
    return lambda: recon.set_tier_mapping(w.db.uow(a), a, command)


@operation("reconciliation.clear_tier_mapping", IMP)
def _clear_mapping(w: RoleWorld, a: Actor) -> Thunk:
    batch_id = w.fresh_recon_batch()
    return lambda: recon.clear_tier_mapping(w.db.uow(a), a, batch_id, "Gold+")


@operation("reconciliation.list_queue", IMP)
def _queue(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.list_queue(w.db.reader(a), a, w.recon_batch)


@operation("reconciliation.queue_counts", IMP)
def _queue_counts(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.queue_counts(w.db.reader(a), a, w.recon_batch)


@operation("reconciliation.diff", IMP)
def _diff(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.diff(w.db.reader(a), a, w.recon_batch, 1)


@operation("reconciliation.apply", IMP)
def _apply(w: RoleWorld, a: Actor) -> Thunk:
    command = w.apply_command(w.fresh_recon_batch())
    return lambda: recon.apply(w.db.uow(a), a, command)


@operation("reconciliation.apply_many", IMP)
def _apply_many(w: RoleWorld, a: Actor) -> Thunk:
    commands = [w.apply_command(w.fresh_recon_batch())]
    return lambda: recon.apply_many(w.db.uow(a), a, commands)


@operation("reconciliation.revert", IMP)
def _revert(w: RoleWorld, a: Actor) -> Thunk:
    batch_id = w.fresh_recon_batch()
    recon.apply(w.db.uow(w.admin), w.admin, w.apply_command(batch_id))
    command = recon.RevertReconciliation(batch_id=batch_id, row_number=1, idempotency_key=key())
    return lambda: recon.revert(w.db.uow(a), a, command)


@operation("reconciliation.iter_records", IMP)
def _iter_records(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: list(recon.iter_records(w.db.reader(a), a, w.recon_batch))


@operation("reconciliation.write_report", IMP)
def _recon_report(w: RoleWorld, a: Actor) -> Thunk:
    return lambda: recon.write_report(w.db.reader(a), a, w.recon_batch, io.StringIO())


def approval_credentials(role: StaffRole) -> Credentials:
    """The world's staff member of ``role``, typing their code and PIN at an approval prompt."""
    return Credentials(staff_code=CODES[role], pin=PINS[role])
