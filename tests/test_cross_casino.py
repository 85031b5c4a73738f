"""Every service operation, given another casino's ids, is refused and writes nothing (issue #10).

Two casinos share one database. The role registry's builders (tests/role_operations.py)
prepare their rows in casino B (as B's admin, through the real services); the call is then
made as casino A's admin, who holds every capability, with B's ids. It must fail with a
DomainError saying the thing is not there (a not-found code, CASINO_MISMATCH or
AUTH_FORBIDDEN: never a state error that reveals B's row, never a non-domain exception), and
every table's row count must be unchanged.

Operations that take no id of another casino (creating something in the actor's own casino,
listing, searching by text, the actor's own session) are named in ``NO_FOREIGN_ID`` with a
reason; they are called as A's admin and their result (returned objects and any CSV written)
must not carry any id of B's rows.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import io
import re
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import Base
from tests import role_operations
from tests.conftest import BACKENDS, fresh_database
from tests.factories import build_casino
from tests.role_operations import OPERATIONS, RoleWorld, build_role_world, table_counts

NO_FOREIGN_ID: dict[str, str] = {
    "auth.list_staff": "lists the actor's own casino's staff",
    "auth.terminal_status": "the actor's own session",
    "auth.reauthenticate": "the actor's own PIN",
    "casinos.add_staff": "creates staff in the actor's own casino",
    "casinos.add_game": "creates a game in the actor's own casino",
    "casinos.list_games": "lists the actor's own casino's games",
    "casinos.read_settings": "the actor's own casino's settings",
    "casinos.update_settings": "changes the actor's own casino's settings",
    "audit_export.export_csv": "exports the actor's own casino's audit trail (a time window)",
    "loyalty.add_comp": "creates a comp in the actor's own casino",
    "loyalty.comp_catalog": "lists the actor's own casino's comps",
    "loyalty.overdraw_policy": "the actor's own casino's policy",
    "floor.list_tables": "lists the actor's own casino's tables",
    "floor.overview": "the actor's own casino's floor",
    "directory.ledger_context": "the actor's own casino's directory",
    "players.search": "a text search (no id) over the actor's own casino",
    "players.enrol": "creates a player in the actor's own casino",
    "cash.day_totals": "totals of the actor's own casino",
    "cash.compliance_day": "the actor's own casino's compliance day",
    "promo.create_program": "creates a program in the actor's own casino",
    "promo.expire_due": "expires the actor's own casino's due coupons",
    "promo.programs": "lists the actor's own casino's programs",
    "promo.exposure": "the actor's own casino's exposure",
    "promo.alerts": "the actor's own casino's alerts",
    "promo.shift_lens": "the actor's own casino's shift",
    "promo.issuance_by_hour": "the actor's own casino's issuance",
    "imports.preview": "reads a file (no id); writes nothing",
    "imports.stage_file": "stages a file as a new batch of the actor's own casino",
    "imports.list_batches": "lists the actor's own casino's batches",
    "drift.audit": "audits the actor's own casino's ledger",
    "drift.audit_incremental": "audits the actor's own casino's ledger",
    "reconciliation.list_batches": "lists the actor's own casino's batches",
}
"""Operations whose call names no row of another casino: nothing to refuse, only to not leak."""

FILTER_BY_ID: dict[str, str] = {
    "loyalty.history": "the player id only narrows a listing of the actor's own ledger",
    "loyalty.export_history_csv": "the player id only narrows an export of the actor's ledger",
    "promo.inventory": "the program id only narrows a listing of the actor's own coupons",
    "promo.export_inventory_csv": "the program id only narrows an export of the actor's coupons",
}
"""Listings filtered by an id: a foreign id may be refused, or match nothing (an empty
result that shows none of the other casino's rows and writes nothing)."""

PER_ROW: dict[str, str] = {
    "reconciliation.apply_many": "each row is its own decision; a refused row is in the result",
}
"""Batch operations that report each row's refusal in their result instead of raising."""

NOT_THERE = {
    ErrorCode.CASINO_MISMATCH,
    ErrorCode.AUTH_FORBIDDEN,
    ErrorCode.VALIDATION_FAILED,  # a reference field naming no row of this casino
} | {code for code in ErrorCode if code.name.endswith("_NOT_FOUND")}
"""The answers a foreign id may get: it is not there (or not yours). A state error (already
closed, insufficient points, ...) would mean the service read the other casino's row."""


@dataclass
class TwoCasinos:
    db: Database
    other: RoleWorld
    """Casino B: the registry's world, whose builders prepare the rows."""
    actor: Actor
    """Casino A's admin, holding every capability, calling with B's ids."""


@pytest.fixture(scope="module", params=BACKENDS)
def two(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoCasinos]:
    """One database per backend for the whole module: casino A and casino B (the role world)."""
    folder = tmp_path_factory.mktemp("cross")
    with fresh_database(request, request.param, folder) as database:
        own = build_casino(database, "HOME", "Home Casino")
        other = build_role_world(database, folder)
        assert own.casino.id != other.casino.casino.id
        yield TwoCasinos(database, other, own.admin)


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[object]:
    """Record calls of the named service (so a builder cannot call the wrong one)."""
    module_name, function = name.split(".")
    module = importlib.import_module(f"pitterm.domain.{module_name}")
    real = getattr(module, function)
    calls: list[object] = []

    @functools.wraps(real)
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, function, spy)
    return calls


def _written(monkeypatch: pytest.MonkeyPatch) -> list[io.StringIO]:
    """Keep every StringIO a builder's call writes CSV into, so its text can be checked."""
    made: list[io.StringIO] = []

    def string_io(*args: Any) -> io.StringIO:
        buffer = io.StringIO(*args)
        made.append(buffer)
        return buffer

    monkeypatch.setattr(role_operations, "io", types.SimpleNamespace(StringIO=string_io))
    return made


def _casino_ids(database: Database, casino_id: uuid.UUID) -> set[uuid.UUID]:
    """The casino's id and every UUID primary key of its rows, in every casino-scoped table."""
    found = {casino_id}
    with database.raw() as conn:
        for table in Base.metadata.sorted_tables:
            if "casino_id" not in table.c:
                continue
            keys = [c for c in table.primary_key.columns if c.type.python_type is uuid.UUID]
            for column in keys:
                found.update(conn.scalars(select(column).where(table.c.casino_id == casino_id)))
    return found


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _mentioned(value: object, seen: set[int] | None = None) -> set[uuid.UUID]:
    """Every UUID in a result: fields of models and dataclasses, containers, and text."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return set()
    seen.add(id(value))
    if isinstance(value, uuid.UUID):
        return {value}
    if isinstance(value, str):
        return {uuid.UUID(m) for m in UUID_TEXT.findall(value)}
    if isinstance(value, dict):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__") and not isinstance(value, type | types.ModuleType):
        items = [v for k, v in vars(value).items() if not k.startswith("_")]
    else:
        return set()
    found: set[uuid.UUID] = set()
    for item in items:
        found |= _mentioned(item, seen)
    return found


def test_registry_split_is_complete() -> None:
    special = {**NO_FOREIGN_ID, **FILTER_BY_ID, **PER_ROW}
    stale = sorted(set(special) - set(OPERATIONS))
    assert not stale, f"exemptions naming no operation: {stale}"
    assert len(special) == len(NO_FOREIGN_ID) + len(FILTER_BY_ID) + len(PER_ROW)
    assert all(reason.strip() for reason in special.values())


FOREIGN = sorted(set(OPERATIONS) - set(NO_FOREIGN_ID) - set(FILTER_BY_ID) - set(PER_ROW))
OWN = sorted(NO_FOREIGN_ID)


@pytest.mark.parametrize("name", FOREIGN)
def test_foreign_ids_are_refused(
    two: TwoCasinos, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    call = OPERATIONS[name].build(two.other, two.actor)  # rows prepared in casino B
    calls = _spy(monkeypatch, name)
    before = table_counts(two.db)
    with pytest.raises(DomainError) as refused:
        call()
    assert calls, f"the builder for {name} did not call it"
    assert refused.value.code in NOT_THERE, f"{name}: {refused.value.code} {refused.value}"
    assert table_counts(two.db) == before, f"a refused cross-casino {name} wrote rows"


@pytest.mark.parametrize("name", OWN)
def test_own_casino_calls_show_nothing_of_the_other(
    two: TwoCasinos, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    call = OPERATIONS[name].build(two.other, two.actor)
    calls = _spy(monkeypatch, name)
    written = _written(monkeypatch)
    result = call()  # valid in A's own casino: it must succeed
    assert calls, f"the builder for {name} did not call it"
    other_ids = _casino_ids(two.db, two.other.casino.casino.id)
    shown = _mentioned(result) | {u for b in written for u in _mentioned(b.getvalue())}
    leaked = shown & other_ids
    assert not leaked, f"{name} as casino A showed {len(leaked)} ids of casino B's rows"


@pytest.mark.parametrize("name", sorted(FILTER_BY_ID))
def test_foreign_filters_match_nothing(
    two: TwoCasinos, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    call = OPERATIONS[name].build(two.other, two.actor)
    calls = _spy(monkeypatch, name)
    written = _written(monkeypatch)
    before = table_counts(two.db)
    try:
        result: object = call()
    except DomainError as refused:
        assert refused.code in NOT_THERE, f"{name}: {refused.code} {refused}"
        result = None
    assert calls, f"the builder for {name} did not call it"
    assert table_counts(two.db) == before, f"a cross-casino {name} wrote rows"
    other_ids = _casino_ids(two.db, two.other.casino.casino.id)
    shown = _mentioned(result) | {u for b in written for u in _mentioned(b.getvalue())}
    leaked = shown & other_ids
    assert not leaked, f"{name} as casino A showed {len(leaked)} ids of casino B's rows"


def test_apply_many_refuses_each_foreign_row(
    two: TwoCasinos, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "reconciliation.apply_many"
    call = OPERATIONS[name].build(two.other, two.actor)
    calls = _spy(monkeypatch, name)
    before = table_counts(two.db)
    results = call()
    assert calls, f"the builder for {name} did not call it"
    assert isinstance(results, list) and results
    for row in results:
        assert not row.ok and row.record is None, row
        assert row.error_code in NOT_THERE, row
    assert table_counts(two.db) == before, "a refused cross-casino apply_many wrote rows"
