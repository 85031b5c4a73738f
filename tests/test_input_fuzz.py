"""Hostile input never crashes the domain: every pydantic input model, every main mutation.

Three layers:

* **Parsing.** Every input model of ``pitterm.domain`` (found by introspection; a model that
  is neither covered here nor a result fails ``test_every_input_model_is_fuzzed``) gets
  random and boundary values. Each input either parses into a model that is stable under
  re-parsing, JSON-storable and free of text a database refuses (NUL, lone surrogates), or is
  refused with a DomainError carrying a code — a leaked ValidationError or any other
  exception fails.
* **Services.** The main mutations are called for real with hostile values in an otherwise
  valid request (real players, slips, programs...). Each call succeeds with exactly the
  values asked for stored, or refuses with a DomainError. SQLite runs the bigger sample;
  Postgres (which rejects NUL in text, the classic Postgres-only crash) a smaller one, and
  every text field is tried with a NUL on both backends.
* **CSV exports.** Every CSV writer in the domain gets cells starting with ``=``, ``+``,
  ``-``, ``@``, tab and CR; none reaches the file as something a spreadsheet would run.
"""

from __future__ import annotations

import ast
import csv
import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import pitterm.domain
from pitterm.domain import (
    audit_export,
    auth,
    cash,
    casinos,
    drift,
    imports,
    loyalty,
    players,
    promo,
    promo_numbers,
    slips,
    visits,
)
from pitterm.domain import reconciliation as recon
from pitterm.domain.actor import Actor
from pitterm.domain.csv_safe import safe_cell, write_rows
from pitterm.domain.enums import GameType, StaffRole, Tier, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import request_hash
from pitterm.domain.import_rows import ImportMapping, parse_mapping
from pitterm.domain.promo_rules import PromoType
from pitterm.domain.tables import (
    CashTransaction,
    CompItem,
    GameSettings,
    GamingTable,
    LoyaltyLedger,
    LoyaltyTierMapping,
    Player,
    PromoCoupon,
    PromoProgram,
    RatingSlip,
    Staff,
    Visit,
)
from pitterm.domain.validation import parse
from tests.conftest import BACKENDS, fresh_database
from tests.hostile import TEXT, hostile_input, mutated, unstorable_text, wild
from tests.import_support import MAPPING, RITA, write_csv
from tests.role_operations import DOMAIN, RoleWorld, build_role_world, key, service_functions

SCALE = int(os.environ.get("PITTERM_FUZZ_SCALE", "1"))
"""Multiply every example count (a long local hunt: PITTERM_FUZZ_SCALE=20)."""
PARSE_EXAMPLES = 60 * SCALE
SERVICE_EXAMPLES = {"sqlite": 25 * SCALE, "postgres": 6 * SCALE}
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- the input models ----------------------------------------------------------------------

ID = uuid.UUID("2f1c6a4e-8f7a-4a51-9a3e-2c3f0d1b5e77")
AT = datetime.fromisoformat("2026-11-21T20:00:00+00:00")


@dataclass(frozen=True)
class InputSpec:
    """An input model, a valid example of it, and how the domain parses it at the boundary."""

    model: type[BaseModel]
    base: dict[str, Any]
    parse: Callable[[Any], BaseModel]
    code: ErrorCode = ErrorCode.VALIDATION_FAILED


def _by_parse(model: type[BaseModel]) -> Callable[[Any], BaseModel]:
    return lambda data: parse(model, data)


def _spec(model: type[BaseModel], **base: Any) -> InputSpec:
    return InputSpec(model, base, _by_parse(model))


INPUTS: dict[str, InputSpec] = {
    "auth.Credentials": _spec(auth.Credentials, staff_code="PB1", pin="2000"),
    "reconciliation.SetTierMapping": _spec(
        recon.SetTierMapping, batch_id=ID, vendor_label="Gold+", tier="gold"
    ),
    "reconciliation.QueueFilter": _spec(
        recon.QueueFilter, status="pending", outcome="upgrade", vendor_label="Gold+"
    ),
    "reconciliation.ApplyReconciliation": _spec(
        recon.ApplyReconciliation,
        batch_id=ID,
        row_number=1,
        confirm_freshness=True,
        override_reason="vendor is authoritative",
        idempotency_key=ID,
    ),
    "reconciliation.RevertReconciliation": _spec(
        recon.RevertReconciliation,
        batch_id=ID,
        row_number=1,
        reason="wrong file",
        idempotency_key=ID,
    ),
    "auth.ResetPin": _spec(auth.ResetPin, staff_id=ID, pin="2468", idempotency_key=ID),
    "audit_export.AuditExportWindow": _spec(
        audit_export.AuditExportWindow, since="2026-11-01", until="2026-11-30"
    ),
    "casinos.SettingsChange": _spec(
        casinos.SettingsChange,
        time_zone="America/New_York",
        gaming_day_start="05:30",
        idle_lock_minutes=10,
        near_ctr_fraction="0.85",
        mtl_floor_cents=250_000,
        four_eyes_overdraw=True,
        idempotency_key=ID,
    ),
    "cash.RecordCash": _spec(
        cash.RecordCash, visit_id=ID, direction="cash_in", amount_cents=5_000, idempotency_key=ID
    ),
    "casinos.NewCasino": _spec(casinos.NewCasino, code="GAMMA", name="Gamma Casino"),
    "casinos.NewStaff": _spec(
        casinos.NewStaff, code="CA9", name="Cass Hier", role="cashier", pin="1234"
    ),
    "casinos.NewGame": _spec(
        casinos.NewGame,
        name="Roulette",
        game_type="roulette",
        house_edge="5.26",
        decisions_per_hour=38,
        points_conversion_rate="10",
        min_bet_cents=500,
        max_bet_cents=100_000,
    ),
    "casinos.NewTable": _spec(
        casinos.NewTable, label="RL-01", pit="Pit 3", game_settings_id=ID, seats=8
    ),
    "import_rows.ImportMapping": InputSpec(
        ImportMapping, dict(MAPPING), parse_mapping, ErrorCode.IMPORT_MAPPING_INVALID
    ),
    "loyalty.Redeem": _spec(
        loyalty.Redeem, player_id=ID, points=10, note="dinner", idempotency_key=ID
    ),
    "loyalty.ManualCredit": _spec(
        loyalty.ManualCredit, player_id=ID, points=10, note="goodwill", idempotency_key=ID
    ),
    "loyalty.ApplyPromotion": _spec(
        loyalty.ApplyPromotion, slip_id=ID, campaign_id="double", multiplier="2", idempotency_key=ID
    ),
    "loyalty.Adjust": _spec(
        loyalty.Adjust, player_id=ID, points=-5, note="miskeyed", idempotency_key=ID
    ),
    "loyalty.Reverse": _spec(loyalty.Reverse, entry_id=ID, note="typo", idempotency_key=ID),
    "loyalty.NewComp": _spec(loyalty.NewComp, name="Buffet", category="Dining", points_cost=250),
    "loyalty.LedgerFilter": _spec(loyalty.LedgerFilter, player_id=ID, since=AT),
    "players.NewPlayer": _spec(
        players.NewPlayer,
        first_name="Rita",
        last_name="Hayworth",
        date_of_birth="1970-05-17",
        email="rita@example.com",
        phone="702-555-0100",
        loyalty_card_number="BV-1001",
        idempotency_key=ID,
    ),
    "promo.NewProgram": _spec(
        promo.NewProgram,
        name="Match play",
        promo_type="match_play",
        start_at=AT,
        end_at=AT + timedelta(days=30),
        terms="One per patron.",
        idempotency_key=ID,
    ),
    "promo.EditProgram": _spec(
        promo.EditProgram,
        name="Match play",
        promo_type="match_play",
        start_at=AT,
        end_at=AT + timedelta(days=30),
        program_id=ID,
        idempotency_key=ID,
    ),
    "promo.ProgramCommand": _spec(promo.ProgramCommand, program_id=ID, idempotency_key=ID),
    "promo.IssueCoupon": _spec(
        promo.IssueCoupon,
        program_id=ID,
        face_value_cents=2_500,
        required_match_wager_cents=2_500,
        metadata={"batch": "B1"},
        idempotency_key=ID,
    ),
    "promo.VoidCoupon": _spec(
        promo.VoidCoupon, coupon_id=ID, reason="misprint", idempotency_key=ID
    ),
    "promo.ReplaceCoupon": _spec(
        promo.ReplaceCoupon, coupon_id=ID, reason="torn", idempotency_key=ID
    ),
    "promo.CouponFilter": _spec(promo.CouponFilter, program_id=ID, status="issued"),
    "slips.StartSlip": _spec(
        slips.StartSlip,
        visit_id=ID,
        table_id=ID,
        seat=1,
        average_bet_cents=10_000,
        idempotency_key=ID,
    ),
    "slips.ChangeBet": _spec(
        slips.ChangeBet, slip_id=ID, average_bet_cents=20_000, idempotency_key=ID
    ),
    "slips.SlipCommand": _spec(slips.SlipCommand, slip_id=ID, idempotency_key=ID),
    "slips.MoveSlip": _spec(slips.MoveSlip, slip_id=ID, table_id=ID, seat=2, idempotency_key=ID),
    "visits.OpenVisit": _spec(
        visits.OpenVisit,
        kind="gaming_ghost_unrated",
        description="red cap",
        notes="tips the dealer",
        idempotency_key=ID,
    ),
    "visits.VisitCommand": _spec(visits.VisitCommand, visit_id=ID, idempotency_key=ID),
    "visits.AssociateGhost": _spec(
        visits.AssociateGhost, visit_id=ID, player_id=ID, idempotency_key=ID
    ),
}

NOT_INPUTS: dict[str, str] = {
    "actor.Actor": "made by sign-in from the staff row, never typed",
    "accrual.PolicySnapshot": "frozen from the table's game settings when a slip starts",
    "accrual.Accrual": "the result of a calculation",
    "ledger.Posted": "what ledger.post did, inside a service",
    "idempotency.Outcome": "the base of every mutation's result",
    "casinos.Added": "the stored outcome of a keyed add_staff/add_game/add_table (its id)",
    "import_file.FileFacts": "what the import learnt about a file",
    "import_models.ImportProgress": "progress reports the import sends out",
}
"""Models that are neither parsed from a caller nor returned by a service, with the reason."""


def domain_models() -> dict[str, type[BaseModel]]:
    """``module.Class`` for every pydantic model defined in a pitterm.domain module."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(pitterm.domain.__path__):
        module = importlib.import_module(f"pitterm.domain.{info.name}")
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseModel)
                and obj.__module__ == module.__name__
            ):
                found[f"{info.name}.{name}"] = obj
    return found


def _names_in(node: ast.AST | None) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node else set()


def models_at_the_boundary() -> tuple[set[str], set[str]]:
    """(models parsed from callers, models returned to them), read from the source: the
    first argument of every ``parse(...)`` call and the parameter annotations of every
    service function, against the return annotations of every public function."""
    models = domain_models()
    by_class: dict[str, list[str]] = {}
    for qualified in models:
        by_class.setdefault(qualified.split(".")[1], []).append(qualified)
    services = service_functions()
    parsed: set[str] = set()
    returned: set[str] = set()
    for path in sorted(Path(DOMAIN).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "parse"
                and node.args
            ):
                parsed |= _names_in(node.args[0])
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                if f"{path.stem}.{node.name}" in services or node.name.startswith("parse"):
                    arguments = node.args.args + node.args.kwonlyargs
                    for argument in arguments:
                        if argument.arg not in {"uow", "actor"}:
                            parsed |= _names_in(argument.annotation)
                returned |= _names_in(node.returns)
    resolve = lambda names: {q for n in names for q in by_class.get(n, [])}  # noqa: E731
    return _with_nested(resolve(parsed), models), _with_nested(resolve(returned), models)


def _with_nested(names: set[str], models: dict[str, type[BaseModel]]) -> set[str]:
    """The models and every model their fields contain."""
    by_type = {model: name for name, model in models.items()}
    pending, seen = list(names), set(names)
    while pending:
        for info in models[pending.pop()].model_fields.values():
            for inner in _types_in(info.annotation):
                name = by_type.get(inner)
                if name and name not in seen:
                    seen.add(name)
                    pending.append(name)
    return seen


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in get_args(annotation):
        yield from _types_in(argument)


def test_every_input_model_is_fuzzed() -> None:
    models = domain_models()
    parsed, returned = models_at_the_boundary()
    assert not parsed - set(INPUTS), (
        f"input models with no fuzz spec: {sorted(parsed - set(INPUTS))}"
    )
    unclassified = set(models) - set(INPUTS) - returned - set(NOT_INPUTS)
    assert not unclassified, f"models neither fuzzed, returned nor excused: {sorted(unclassified)}"
    assert set(INPUTS) <= set(models), sorted(set(INPUTS) - set(models))
    assert set(NOT_INPUTS) <= set(models)
    for name, spec in INPUTS.items():
        assert models[name] is spec.model, name


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_hostile_values_parse_cleanly_or_are_refused_with_a_code(name: str) -> None:
    spec = INPUTS[name]
    accepted = check_parse(spec, spec.base)
    assert accepted, f"the valid example of {name} was refused"
    assert not check_parse(spec, None)

    @settings(FUZZ, max_examples=PARSE_EXAMPLES)
    @given(data=hostile_input(spec.model, spec.base))
    def run(data: Any) -> None:
        event("accepted" if check_parse(spec, data) else "refused")

    run()


def check_parse(spec: InputSpec, data: Any) -> bool:
    """Accepted and correct (True), or refused with the model's error code (False)."""
    try:
        parsed = spec.parse(data)
    except DomainError as error:
        assert error.code is spec.code, error
        assert error.message.strip()
        assert len(error.message) < 2_000  # a notification, not an echo of the input
        return False
    assert isinstance(parsed, spec.model)
    assert spec.parse(parsed) == parsed, "re-parsing an accepted input changed it"
    json.dumps(parsed.model_dump(mode="json"), allow_nan=False)
    request_hash("fuzz", parsed)
    assert unstorable_text(parsed) is None, f"accepted text a database cannot store: {parsed!r}"
    return True


# -- plain-text inputs of read services ------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RoleWorld]:
    """One world per backend for the module (players, slips, a program, a batch...)."""
    folder = tmp_path_factory.mktemp("fuzz")
    with fresh_database(request, request.param, folder) as database:
        yield build_role_world(database, folder)


def _kind(world: RoleWorld) -> str:
    return world.db.engine.dialect.name.replace("postgresql", "postgres")


def _examples(world: RoleWorld, scale: int = 1) -> int:
    return SERVICE_EXAMPLES[_kind(world)] * scale


TEXT_READS: dict[str, Callable[[RoleWorld, str], object]] = {
    "players.search": lambda w, t: players.search(w.db.reader(w.admin), w.admin, t),
    "promo.lookup": lambda w, t: promo.lookup(w.db.reader(w.admin), w.admin, t),
    "imports.find_batch": lambda w, t: imports.find_batch(w.db.reader(w.admin), w.admin, t),
    "auth.find_casino": lambda w, t: auth.find_casino(w.db.uow(), t),
    "auth.parse_credentials": lambda w, t: auth.parse_credentials(t, t),
    "auth.reauthenticate": lambda w, t: auth.reauthenticate(
        w.db.uow(_pit_boss(w)), _pit_boss(w), t
    ),
}


def _pit_boss(world: RoleWorld) -> Actor:
    return world.casino.actor(StaffRole.PIT_BOSS)


@pytest.mark.parametrize("name", sorted(TEXT_READS))
def test_typed_text_never_crashes_a_lookup(fuzz_world: RoleWorld, name: str) -> None:
    call = TEXT_READS[name]
    for text in ("\x00", "a\x00b", "\ud800", "x" * 10_240, "%", "'", "\u202e"):
        _outcome(lambda text=text: call(fuzz_world, text), hypothesis=False)

    @settings(FUZZ, max_examples=_examples(fuzz_world, 2))
    @given(text=TEXT)
    def run(text: str) -> None:
        _outcome(lambda: call(fuzz_world, text))

    run()
    if name == "auth.reauthenticate":  # nothing here may lock the pit boss out for later tests
        boss = _pit_boss(fuzz_world)
        auth.unlock_staff(fuzz_world.db.uow(fuzz_world.admin), fuzz_world.admin, boss.staff_id)


def _outcome(call: Callable[[], object], *, hypothesis: bool = True) -> object | DomainError:
    """The call's result, or the DomainError it raised (which must carry a code)."""
    try:
        return call()
    except DomainError as error:
        assert isinstance(error.code, ErrorCode) and error.message.strip()
        if hypothesis:
            event(f"refused: {error.code.value}")
        return error


# -- the services, for real ------------------------------------------------------------------


def _row(world: RoleWorld, table: type[Any], row_id: object) -> Any:
    with world.db.reader(world.casino.scope) as uow:
        found = uow.session.get(table, row_id)
        assert found is not None, (table.__name__, row_id)
        uow.session.expunge(found)
        return found


def _collapsed(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class ServiceCase:
    """A mutation called with a valid request whose ``free`` fields are made hostile."""

    model: type[BaseModel]
    free: tuple[str, ...]
    base: Callable[[RoleWorld], dict[str, Any]]
    call: Callable[[RoleWorld, dict[str, Any]], Any]
    stored: Callable[[RoleWorld, Any, Any], None]
    """Given the parsed request and the result: assert the stored row holds what was asked."""
    text_fields: tuple[str, ...] = field(default=())


def _redeem_stored(w: RoleWorld, asked: loyalty.Redeem, done: loyalty.Redeemed) -> None:
    entry = _row(w, LoyaltyLedger, done.ledger_id)
    assert entry.points_delta == done.points_delta == -(asked.points or 0)
    assert entry.note == _collapsed(asked.note)
    assert entry.metadata_["redemption"]["reference"] == asked.reference
    assert entry.visit_id == asked.visit_id


def _credit_stored(w: RoleWorld, asked: loyalty.ManualCredit, done: loyalty.Credited) -> None:
    entry = _row(w, LoyaltyLedger, done.ledger_id)
    assert entry.points_delta == asked.points
    assert entry.note == _collapsed(asked.note)
    assert entry.metadata_["suggested_points"] == asked.suggested_points
    assert entry.visit_id == asked.visit_id


def _adjust_stored(w: RoleWorld, asked: loyalty.Adjust, done: loyalty.Corrected) -> None:
    entry = _row(w, LoyaltyLedger, done.ledger_id)
    assert (entry.points_delta, entry.note) == (asked.points, _collapsed(asked.note))


def _reverse_stored(w: RoleWorld, asked: loyalty.Reverse, done: loyalty.Corrected) -> None:
    entry = _row(w, LoyaltyLedger, done.ledger_id)
    assert entry.reverses_entry_id == asked.entry_id and entry.note == _collapsed(asked.note)


def _promotion_stored(
    w: RoleWorld, asked: loyalty.ApplyPromotion, done: loyalty.PromotionApplied
) -> None:
    entry = _row(w, LoyaltyLedger, done.ledger_id)
    assert entry.metadata_["campaign_id"] == asked.campaign_id
    if not done.is_existing and asked.bonus_points is not None:
        assert entry.points_delta == asked.bonus_points


def _visit_stored(w: RoleWorld, asked: visits.OpenVisit, done: visits.VisitOpened) -> None:
    visit = _row(w, Visit, done.visit_id)
    assert (visit.visit_kind, visit.player_id) == (asked.kind, asked.player_id)
    assert (visit.ghost_table_id, visit.ghost_seat) == (asked.table_id, asked.seat)
    assert (visit.ghost_description, visit.notes) == (asked.description, asked.notes)


def _slip_stored(w: RoleWorld, asked: slips.StartSlip, done: slips.SlipRef) -> None:
    slip = _row(w, RatingSlip, done.slip_id)
    assert (slip.seat, slip.average_bet_cents, slip.table_id) == (
        asked.seat,
        asked.average_bet_cents,
        asked.table_id,
    )


def _bet_stored(w: RoleWorld, asked: slips.ChangeBet, done: slips.SlipRef) -> None:
    assert _row(w, RatingSlip, done.slip_id).average_bet_cents == asked.average_bet_cents


def _move_stored(w: RoleWorld, asked: slips.MoveSlip, done: slips.Moved) -> None:
    slip = _row(w, RatingSlip, done.new_slip_id)
    assert (slip.table_id, slip.seat) == (asked.table_id, asked.seat)


def _cash_stored(w: RoleWorld, asked: cash.RecordCash, done: cash.CashRecorded) -> None:
    row = _row(w, CashTransaction, done.transaction_id)
    assert (row.direction, row.amount_cents) == (asked.direction, asked.amount_cents)


def _coupon_stored(w: RoleWorld, asked: promo.IssueCoupon, done: promo.CouponIssued) -> None:
    coupon = _row(w, PromoCoupon, done.coupon.id)
    assert coupon.face_value_cents == asked.face_value_cents
    assert coupon.required_match_wager_cents == asked.required_match_wager_cents
    assert coupon.issued_to_player_id == asked.player_id
    assert {k: coupon.metadata_[k] for k in asked.metadata} == asked.metadata
    if asked.expires_at is not None:
        assert coupon.expires_at == asked.expires_at
    if asked.validation_number is not None:
        assert coupon.validation_number == promo_numbers.parse(asked.validation_number).text


def _void_stored(w: RoleWorld, asked: promo.VoidCoupon, done: promo.CouponVoided) -> None:
    assert _row(w, PromoCoupon, asked.coupon_id).void_reason == _collapsed(asked.reason)


def _replace_stored(w: RoleWorld, asked: promo.ReplaceCoupon, done: promo.CouponReplaced) -> None:
    old = _row(w, PromoCoupon, asked.coupon_id)
    new = _row(w, PromoCoupon, done.replacement.id)
    assert old.replace_reason == _collapsed(asked.reason)
    assert old.replaced_by_coupon_id == new.id
    if asked.expires_at is not None:
        assert new.expires_at == asked.expires_at


def _program_stored(w: RoleWorld, asked: promo.NewProgram, done: promo.ProgramSaved) -> None:
    program = _row(w, PromoProgram, done.program.id)
    for name in ("name", "promo_type", "start_at", "end_at", "terms", "min_wager_cents"):
        assert getattr(program, name) == getattr(asked, name), name
    assert program.max_uses == asked.max_uses


def _player_stored(w: RoleWorld, asked: players.NewPlayer, done: players.Enrolled) -> None:
    player = _row(w, Player, done.player_id)
    for name in ("first_name", "last_name", "date_of_birth", "email", "phone"):
        assert getattr(player, name) == getattr(asked, name), name
    assert player.loyalty_card_number == asked.loyalty_card_number


def _staff_stored(w: RoleWorld, asked: casinos.NewStaff, staff_id: uuid.UUID) -> None:
    staff = _row(w, Staff, staff_id)
    assert (staff.code, staff.name, staff.role) == (asked.code.upper(), asked.name, asked.role)
    assert staff.assigned_table_id == asked.assigned_table_id
    signed = auth.sign_in(w.db.uow(w.casino.scope), auth.parse_credentials(asked.code, asked.pin))
    assert signed.staff_id == staff_id


def _game_stored(w: RoleWorld, asked: casinos.NewGame, game_id: uuid.UUID) -> None:
    game = _row(w, GameSettings, game_id)
    for name in set(casinos.NewGame.model_fields) - {"idempotency_key"}:
        assert getattr(game, name) == getattr(asked, name), name


def _table_stored(w: RoleWorld, asked: casinos.NewTable, table_id: uuid.UUID) -> None:
    table = _row(w, GamingTable, table_id)
    for name in set(casinos.NewTable.model_fields) - {"idempotency_key"}:
        assert getattr(table, name) == getattr(asked, name), name


def _comp_stored(w: RoleWorld, asked: loyalty.NewComp, done: loyalty.CompView) -> None:
    comp = _row(w, CompItem, done.id)
    assert (comp.name, comp.category, comp.points_cost) == (
        asked.name,
        asked.category,
        asked.points_cost,
    )


def _tier_mapping_stored(
    w: RoleWorld, asked: recon.SetTierMapping, done: recon.MappingChanged
) -> None:
    mapping = _row(w, LoyaltyTierMapping, (asked.batch_id, asked.vendor_label))
    assert (mapping.tier, mapping.ignored) == (None if asked.ignore else asked.tier, asked.ignore)
    assert done.label.vendor_label == asked.vendor_label


def _recon_applied(w: RoleWorld, asked: recon.ApplyReconciliation, done: recon.Applied) -> None:
    assert (done.record.batch_id, done.record.row_number) == (asked.batch_id, asked.row_number)
    assert done.record.tier_after is Tier.GOLD  # bronze → the mapped gold: an upgrade


def _mapping_stored(w: RoleWorld, asked: ImportMapping, done: imports.StageResult) -> None:
    assert done.completed
    assert done.batch.mapping == asked


def _admin_call(service: Callable[..., Any]) -> Callable[[RoleWorld, dict[str, Any]], Any]:
    return lambda w, request: service(w.db.uow(w.admin), w.admin, request)


def _unique(prefix: str) -> Callable[[RoleWorld], str]:
    return lambda w: f"{prefix}{w.n()}"


def _stage(w: RoleWorld, request: dict[str, Any]) -> imports.StageResult:
    path = write_csv(w.folder / f"fuzz-{w.n()}.csv", [[*RITA[:5], f"F-{w.n()}", *RITA[6:]]])
    return imports.stage_file(w.db.uow(w.admin), w.admin, path, request)


SERVICES: dict[str, ServiceCase] = {
    "loyalty.redeem": ServiceCase(
        loyalty.Redeem,
        ("points", "note", "reference", "allow_overdraw", "visit_id"),
        lambda w: {"player_id": w.rich_player, "points": 10, "note": "dinner", "reference": "R1"},
        _admin_call(loyalty.redeem),
        _redeem_stored,
        ("note", "reference"),
    ),
    "loyalty.manual_credit": ServiceCase(
        loyalty.ManualCredit,
        ("points", "note", "suggested_points", "visit_id"),
        lambda w: {"player_id": w.rich_player, "points": 10, "note": "goodwill"},
        _admin_call(loyalty.manual_credit),
        _credit_stored,
        ("note",),
    ),
    "loyalty.adjust": ServiceCase(
        loyalty.Adjust,
        ("points", "note"),
        lambda w: {"player_id": w.rich_player, "points": -2, "note": "miskeyed"},
        _admin_call(loyalty.adjust),
        _adjust_stored,
        ("note",),
    ),
    "loyalty.reverse": ServiceCase(
        loyalty.Reverse,
        ("note",),
        lambda w: {"entry_id": w.fresh_credit_entry(), "note": "typo"},
        _admin_call(loyalty.reverse),
        _reverse_stored,
        ("note",),
    ),
    "loyalty.apply_promotion": ServiceCase(
        loyalty.ApplyPromotion,
        ("campaign_id", "multiplier", "bonus_points"),
        lambda w: {"slip_id": w.rated_slip, "campaign_id": f"c{w.n()}", "bonus_points": 5},
        _admin_call(loyalty.apply_promotion),
        _promotion_stored,
        ("campaign_id",),
    ),
    "loyalty.add_comp": ServiceCase(
        loyalty.NewComp,
        ("name", "category", "points_cost"),
        lambda w: {"name": f"Comp fuzz {w.n()}", "category": "Dining", "points_cost": 100},
        _admin_call(loyalty.add_comp),
        _comp_stored,
        ("name", "category"),
    ),
    "visits.open_visit": ServiceCase(
        visits.OpenVisit,
        ("kind", "description", "notes", "seat", "table_id"),
        lambda w: {
            "kind": VisitKind.GAMING_GHOST_UNRATED,
            "description": "red cap",
            "notes": "tips",
            "table_id": w.fresh_table(),
            "seat": 3,
        },
        _admin_call(visits.open_visit),
        _visit_stored,
        ("description", "notes"),
    ),
    "slips.start_slip": ServiceCase(
        slips.StartSlip,
        ("seat", "average_bet_cents"),
        lambda w: {
            "visit_id": w.fresh_visit(),
            "table_id": w.fresh_table(),
            "seat": 1,
            "average_bet_cents": 10_000,
        },
        _admin_call(slips.start_slip),
        _slip_stored,
    ),
    "slips.change_bet": ServiceCase(
        slips.ChangeBet,
        ("average_bet_cents",),
        lambda w: {"slip_id": w.fresh_slip(), "average_bet_cents": 20_000},
        _admin_call(slips.change_bet),
        _bet_stored,
    ),
    "slips.move_slip": ServiceCase(
        slips.MoveSlip,
        ("seat",),
        lambda w: {"slip_id": w.fresh_slip(), "table_id": w.fresh_table(), "seat": 2},
        _admin_call(slips.move_slip),
        _move_stored,
    ),
    "cash.record_cash": ServiceCase(
        cash.RecordCash,
        ("direction", "amount_cents"),
        lambda w: {"visit_id": w.open_visit, "direction": "cash_out", "amount_cents": 1_000},
        _admin_call(cash.record_cash),
        _cash_stored,
    ),
    "promo.issue_coupon": ServiceCase(
        promo.IssueCoupon,
        (
            "face_value_cents",
            "required_match_wager_cents",
            "metadata",
            "validation_number",
            "expires_at",
            "player_id",
        ),
        lambda w: {
            "program_id": w.program_id,
            "face_value_cents": 1_000,
            "required_match_wager_cents": 1_000,
            "player_id": w.rich_player,
            "metadata": {"batch": "B1"},
        },
        _admin_call(promo.issue_coupon),
        _coupon_stored,
        ("validation_number",),
    ),
    "promo.void_coupon": ServiceCase(
        promo.VoidCoupon,
        ("reason",),
        lambda w: {"coupon_id": w.fresh_coupon().id, "reason": "misprint"},
        _admin_call(promo.void_coupon),
        _void_stored,
        ("reason",),
    ),
    "promo.replace_coupon": ServiceCase(
        promo.ReplaceCoupon,
        ("reason", "validation_number", "expires_at"),
        lambda w: {"coupon_id": w.fresh_coupon().id, "reason": "torn"},
        _admin_call(promo.replace_coupon),
        _replace_stored,
        ("reason",),
    ),
    "promo.create_program": ServiceCase(
        promo.NewProgram,
        ("name", "promo_type", "start_at", "end_at", "terms", "min_wager_cents", "max_uses"),
        lambda w: {
            "name": f"Fuzz program {w.n()}",
            "promo_type": PromoType.FREE_BET,
            "start_at": w.db.clock.now(),
            "end_at": w.db.clock.now() + timedelta(days=7),
            "terms": "none",
        },
        _admin_call(promo.create_program),
        _program_stored,
        ("name", "terms"),
    ),
    "players.enrol": ServiceCase(
        players.NewPlayer,
        ("first_name", "last_name", "date_of_birth", "email", "phone", "loyalty_card_number"),
        lambda w: {
            "first_name": "Fuzz",
            "last_name": f"Player{w.n()}",
            "date_of_birth": date(1970, 5, 17),
            "email": f"fuzz{w.n()}@example.com",
            "phone": "702-555-0100",
            "loyalty_card_number": f"FZ-{w.n()}",
        },
        _admin_call(players.enrol),
        _player_stored,
        ("first_name", "last_name", "phone", "loyalty_card_number"),
    ),
    "casinos.add_staff": ServiceCase(
        casinos.NewStaff,
        ("code", "name", "role", "pin"),
        lambda w: {"code": f"FZ{w.n()}", "name": "Fuzz Staff", "role": "cashier", "pin": "1234"},
        _admin_call(casinos.add_staff),
        _staff_stored,
        ("code", "name", "pin"),
    ),
    "casinos.add_game": ServiceCase(
        casinos.NewGame,
        (
            "name",
            "house_edge",
            "decisions_per_hour",
            "points_conversion_rate",
            "rounding",
            "policy_version",
            "min_bet_cents",
            "max_bet_cents",
        ),
        lambda w: {
            "name": f"Craps {w.n()}",
            "game_type": GameType.CRAPS,
            "house_edge": Decimal("1.41"),
            "decisions_per_hour": 100,
            "points_conversion_rate": Decimal(10),
            "min_bet_cents": 500,
            "max_bet_cents": 100_000,
        },
        _admin_call(casinos.add_game),
        _game_stored,
        ("name", "policy_version"),
    ),
    "casinos.add_table": ServiceCase(
        casinos.NewTable,
        ("label", "pit", "seats"),
        lambda w: {
            "label": f"FZ{w.n()}",
            "pit": "Pit 7",
            "game_settings_id": w.casino.game_id,
            "seats": 6,
        },
        _admin_call(casinos.add_table),
        _table_stored,
        ("label", "pit"),
    ),
    "reconciliation.set_tier_mapping": ServiceCase(
        recon.SetTierMapping,
        ("vendor_label", "tier", "ignore"),
        lambda w: {
            "batch_id": w.fresh_recon_batch(maps_to=None),
            "vendor_label": "Gold+",
            "tier": Tier.GOLD,
        },
        _admin_call(recon.set_tier_mapping),
        _tier_mapping_stored,
        ("vendor_label",),
    ),
    "reconciliation.apply": ServiceCase(
        recon.ApplyReconciliation,
        ("row_number", "confirm_freshness", "override_reason"),
        lambda w: {"batch_id": w.fresh_recon_batch(), "row_number": 1},
        _admin_call(recon.apply),
        _recon_applied,
        ("override_reason",),
    ),
    "imports.stage_file": ServiceCase(
        ImportMapping,
        ("date_formats", "delimiter", "encoding"),
        lambda w: dict(MAPPING),
        _stage,
        _mapping_stored,
    ),
}
"""The main mutations; the key is the service, called as the admin (the role test covers who)."""


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_hostile_requests_are_stored_as_asked_or_refused(fuzz_world: RoleWorld, name: str) -> None:
    case = SERVICES[name]
    spec = INPUTS[_model_name(case.model)]

    @settings(FUZZ, max_examples=_examples(fuzz_world))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        base = {**case.base(fuzz_world)}
        if "idempotency_key" in case.model.model_fields:
            base["idempotency_key"] = key()
        request = data.draw(mutated(case.model, base, case.free), label="request")
        call_service(fuzz_world, case, spec, request)

    run()


def call_service(world: RoleWorld, case: ServiceCase, spec: InputSpec, request: Any) -> None:
    result = _outcome(lambda: case.call(world, request))
    if isinstance(result, DomainError):
        return
    event("stored")
    case.stored(world, spec.parse(request), result)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_nul_in_any_text_field_is_refused_on_both_backends(
    fuzz_world: RoleWorld, name: str
) -> None:
    """Postgres refuses NUL in text (and \\u0000 in jsonb): the domain must say so first."""
    case = SERVICES[name]
    for field_name in case.text_fields:
        for bad in ("a\x00b", "\x00", "a\ud800"):
            base = {**case.base(fuzz_world), field_name: bad}
            if "idempotency_key" in case.model.model_fields:
                base["idempotency_key"] = key()
            with pytest.raises(DomainError) as refused:
                case.call(fuzz_world, base)
            assert refused.value.code in {ErrorCode.VALIDATION_FAILED}, refused.value
            assert field_name in refused.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("house_edge", Decimal("1.4105")),
        ("house_edge", Decimal("99.9995")),
        ("points_conversion_rate", Decimal("0.00001")),
        ("points_conversion_rate", Decimal("2.123456")),
    ],
)
def test_game_policy_decimals_are_stored_exactly_or_refused(
    fuzz_world: RoleWorld, name: str, value: Decimal
) -> None:
    """More decimal places than the column keeps would be rounded silently by Postgres."""
    case = SERVICES["casinos.add_game"]
    request = {**case.base(fuzz_world), name: value}
    result = _outcome(lambda: case.call(fuzz_world, request), hypothesis=False)
    if isinstance(result, DomainError):
        assert result.code is ErrorCode.VALIDATION_FAILED and name in result.message
        return
    case.stored(fuzz_world, parse(casinos.NewGame, request), result)


@pytest.mark.parametrize("row_number", [2**31, 2**63, 10**30])
def test_huge_row_numbers_are_refused(fuzz_world: RoleWorld, row_number: int) -> None:
    """Past the integer column's range: refused, not an overflow in the driver."""
    admin = fuzz_world.admin
    for service, model in (
        (recon.apply, recon.ApplyReconciliation),
        (recon.revert, recon.RevertReconciliation),
    ):
        request = {"batch_id": fuzz_world.recon_batch, "row_number": row_number}
        error = _outcome(
            lambda s=service, r=request: s(
                fuzz_world.db.uow(admin), admin, {**r, "idempotency_key": key()}
            ),
            hypothesis=False,
        )
        assert isinstance(error, DomainError), model
        assert error.code is ErrorCode.VALIDATION_FAILED and "row_number" in error.message


def test_nul_in_coupon_metadata_is_refused(fuzz_world: RoleWorld) -> None:
    case = SERVICES["promo.issue_coupon"]
    for metadata in ({"batch": "a\x00"}, {"a\x00": "b"}):
        request = {**case.base(fuzz_world), "metadata": metadata, "idempotency_key": key()}
        with pytest.raises(DomainError) as refused:
            case.call(fuzz_world, request)
        assert refused.value.code is ErrorCode.VALIDATION_FAILED
        assert "metadata" in refused.value.message


def _model_name(model: type[BaseModel]) -> str:
    return f"{model.__module__.rsplit('.', 1)[1]}.{model.__name__}"


def test_every_service_case_breaks_real_fields() -> None:
    for name, case in SERVICES.items():
        assert _model_name(case.model) in INPUTS, name
        assert set(case.free) <= set(case.model.model_fields), name
        assert set(case.text_fields) <= set(case.model.model_fields), name
        module, function = name.split(".")
        assert callable(getattr(importlib.import_module(f"pitterm.domain.{module}"), function))


# -- read filters ------------------------------------------------------------------------------


def test_hostile_ledger_filters_page_or_refuse(fuzz_world: RoleWorld) -> None:
    admin = fuzz_world.admin

    @settings(FUZZ, max_examples=_examples(fuzz_world, 2))
    @given(data=st.one_of(wild(loyalty.LedgerFilter), mutated(loyalty.LedgerFilter, {})))
    def run(data: Any) -> None:
        try:
            where = parse(loyalty.LedgerFilter, data)
        except DomainError:
            return
        page = _outcome(lambda: loyalty.history(fuzz_world.db.reader(admin), admin, where))
        assert not isinstance(page, DomainError), page

    run()
    for naive in ({"since": datetime(2026, 1, 1)}, {"until": "2026-01-01T00:00:00"}):
        with pytest.raises(DomainError) as refused:
            loyalty.history(fuzz_world.db.reader(admin), admin, naive)  # type: ignore[arg-type]
        assert refused.value.code is ErrorCode.VALIDATION_FAILED


def test_hostile_coupon_filters_page_or_refuse(fuzz_world: RoleWorld) -> None:
    admin = fuzz_world.admin

    @settings(FUZZ, max_examples=_examples(fuzz_world, 2))
    @given(data=st.one_of(wild(promo.CouponFilter), mutated(promo.CouponFilter, {})))
    def run(data: Any) -> None:
        _outcome(lambda: promo.inventory(fuzz_world.db.reader(admin), admin, data))

    run()


def test_hostile_audit_export_windows_export_or_refuse(fuzz_world: RoleWorld) -> None:
    admin = fuzz_world.admin
    spec = INPUTS["audit_export.AuditExportWindow"]

    @settings(FUZZ, max_examples=_examples(fuzz_world))
    @given(data=hostile_input(spec.model, spec.base))
    def run(data: Any) -> None:
        _outcome(
            lambda: audit_export.export_csv(fuzz_world.db.reader(admin), admin, data, io.StringIO())
        )

    run()
    for window in (
        {"since": date.min},
        {"until": date.max},
        {"since": date.max, "until": date.max},
    ):
        _outcome(
            lambda w=window: audit_export.export_csv(
                fuzz_world.db.reader(admin), admin, w, io.StringIO()
            ),
            hypothesis=False,
        )


def test_hostile_drift_tolerances_are_refused_with_a_code(fuzz_world: RoleWorld) -> None:
    admin = fuzz_world.admin
    for tolerance in (-1, 10**30, 2**63, float("nan"), float("inf")):
        error = _outcome(
            lambda t=tolerance: drift.audit(fuzz_world.db.reader(admin), admin, t),
            hypothesis=False,
        )
        assert isinstance(error, DomainError) and error.code is ErrorCode.DRIFT_TOLERANCE_INVALID


# -- CSV exports -----------------------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [f"{t}cmd|' /C calc'!A0" for t in TRIGGERS] + ["=1+1", "-2+3", "+1", "@SUM(A1)"]
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]\d+)?")


def assert_no_formula_cells(text: str) -> int:
    """Every cell a spreadsheet would evaluate is neutralised; returns the cells checked."""
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for cell in cells:
        if cell.startswith(TRIGGERS):
            assert NUMBER.fullmatch(cell), f"formula cell reached the CSV: {cell!r}"
    return len(cells)


@settings(FUZZ, max_examples=300 * SCALE)
@given(
    value=st.one_of(
        TEXT,
        st.sampled_from(PAYLOADS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_safe_cell_neutralises_every_trigger(value: object) -> None:
    cell = safe_cell(value)
    if isinstance(value, str) and value.startswith(TRIGGERS):
        assert cell == "'" + value
    assert_no_formula_cells(write_rows(None, [[value]]))


def test_ledger_export_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    player = players.enrol(
        w.db.uow(admin),
        admin,
        players.NewPlayer(
            first_name="=HYPERLINK(1)",
            last_name="-2+3",
            date_of_birth=date(1970, 1, 1),
            idempotency_key=key(),
        ),
    ).player_id
    for note in PAYLOADS:
        loyalty.manual_credit(
            w.db.uow(admin),
            admin,
            loyalty.ManualCredit(player_id=player, points=5, note=note, idempotency_key=key()),
        )
    loyalty.adjust(
        w.db.uow(admin),
        admin,
        loyalty.Adjust(player_id=player, points=-5, note="@risk", idempotency_key=key()),
    )
    out = io.StringIO()
    count = loyalty.export_history_csv(
        w.db.reader(admin), admin, loyalty.LedgerFilter(player_id=player), out
    )
    assert count == len(PAYLOADS) + 1
    text = out.getvalue()
    assert assert_no_formula_cells(text) > count
    assert "'=HYPERLINK(1) -2+3" in text and ",-5," in text  # the negative delta stays a number


def test_inventory_export_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    coupons = [w.fresh_coupon() for _ in PAYLOADS]
    for coupon, reason in zip(coupons, PAYLOADS, strict=True):
        promo.void_coupon(
            w.db.uow(admin),
            admin,
            promo.VoidCoupon(coupon_id=coupon.id, reason=reason, idempotency_key=key()),
        )
    out = io.StringIO()
    where = promo.CouponFilter(program_id=w.program_id)
    assert promo.export_inventory_csv(w.db.reader(admin), admin, where, out) >= len(PAYLOADS)
    text = out.getvalue()
    assert_no_formula_cells(text)
    assert "'=cmd|' /C calc'!A0" in text


def test_import_problem_report_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    bad_rows = [  # every row has a bad e-mail (the payload, quoted), date and points
        ["=cmd", "Smith", "not a date", _quoted(p), "", f"X-{i}", "@Gold", "+12x", "-1+1"]
        for i, p in enumerate(PAYLOADS)
    ]
    path = write_csv(w.folder / f"formulas-{w.n()}.csv", bad_rows)
    batch = imports.stage_file(w.db.uow(admin), admin, path, MAPPING).batch
    assert batch.error_count == len(PAYLOADS)
    out = io.StringIO()
    lines = imports.write_problem_report(w.db.reader(admin), admin, batch.id, out)
    assert lines >= len(PAYLOADS)
    text = out.getvalue()
    assert assert_no_formula_cells(text) > lines
    assert "'+12x" in text


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def test_drift_report_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    for first in PAYLOADS[:4]:
        players.enrol(
            w.db.uow(admin),
            admin,
            players.NewPlayer(
                first_name=first,
                last_name="@Drift",
                date_of_birth=date(1970, 1, 1),
                idempotency_key=key(),
            ),
        )
    report = drift.audit(w.db.reader(admin), admin, 0)
    report = report.model_copy(
        update={
            "accounts": [
                drift.DriftedAccount(
                    player_id=ID,
                    player_name=name,
                    cached=-5,
                    computed=0,
                    drift=-5,
                    drift_class=drift.DriftClass.MATERIAL,
                    entries=1,
                )
                for name in PAYLOADS
            ]
        }
    )
    text = drift.report_csv(report)
    assert assert_no_formula_cells(text) > len(PAYLOADS)
    assert "'@SUM(A1)" in text


def test_audit_log_export_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    for payload in PAYLOADS:
        code = f"FX{w.n()}"
        casinos.add_staff(
            w.db.uow(admin),
            admin,
            casinos.NewStaff(code=code, name=payload, role=StaffRole.CASHIER, pin="2580"),
        )
        auth.sign_in(w.db.uow(w.casino.scope), auth.parse_credentials(code, "2580"))
    out = io.StringIO()
    window = audit_export.AuditExportWindow()
    result = audit_export.export_csv(w.db.reader(admin), admin, window, out)
    text = out.getvalue()
    assert assert_no_formula_cells(text) > result.rows >= 2 * len(PAYLOADS)
    assert "'=cmd|' /C calc'!A0" in text and "'@SUM(A1)" in text


def test_reconciliation_report_neutralises_formulas(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin
    batch_id = w.fresh_recon_batch(
        # The import itself refuses vendor labels that look like formulas.
        tier=Tier.PLATINUM,
        label="Silver",
        maps_to=Tier.SILVER,
        first_name="+HYPERLINK(1)",
    )
    recon.apply(w.db.uow(admin), admin, w.apply_command(batch_id, override_reason="@vendor -1+1"))
    out = io.StringIO()
    assert recon.write_report(w.db.reader(admin), admin, batch_id, out) == 1
    text = out.getvalue()
    assert assert_no_formula_cells(text) > 20
    assert "'+HYPERLINK(1)" in text and "'@vendor -1+1" in text


def test_hostile_queue_filters_and_labels_are_refused_or_listed(fuzz_world: RoleWorld) -> None:
    w, admin = fuzz_world, fuzz_world.admin

    @settings(FUZZ, max_examples=_examples(w, 2))
    @given(data=st.one_of(wild(recon.QueueFilter), mutated(recon.QueueFilter, {})))
    def run(data: Any) -> None:
        _outcome(lambda: recon.list_queue(w.db.reader(admin), admin, w.recon_batch, data))

    run()
    for label in ("a\x00", "\ud800", "x" * 10_240, ""):
        _outcome(
            lambda label=label: recon.clear_tier_mapping(
                w.db.uow(admin), admin, w.recon_batch, label
            ),
            hypothesis=False,
        )
        _outcome(
            lambda label=label: recon.list_queue(
                w.db.reader(admin), admin, w.recon_batch, {"vendor_label": label}
            ),
            hypothesis=False,
        )


def test_every_csv_writer_is_tested() -> None:
    """Each domain function that writes CSV has a neutralisation test above."""
    tested = {
        "loyalty.export_history_csv",
        "promo.export_inventory_csv",
        "imports.write_problem_report",
        "drift.report_csv",
        "audit_export.export_csv",
        "reconciliation.write_report",
    }
    writers: set[str] = set()
    for path in sorted(Path(DOMAIN).glob("*.py")):
        if path.stem == "csv_safe":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                calls = {
                    n.func.id
                    for n in ast.walk(node)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                }
                if calls & {"write_rows", "safe_cell"} or "csv.writer" in ast.unparse(node):
                    writers.add(f"{path.stem}.{node.name}")
    assert writers == tested
