"""Messy CSV bytes never crash the import: a file-level refusal, or rows whose counts add up."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pitterm.domain import imports
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError
from pitterm.domain.import_status import ImportBatchStatus, ImportRowStatus
from pitterm.domain.tables import ImportBatch, ImportRow
from tests.factories import CasinoWorld, build_casino

COLUMNS = ["first", "last", "dob", "email", "card", "tier", "points", "seen"]
MAPPING = {
    "columns": {
        "first": "first_name",
        "last": "last_name",
        "dob": "date_of_birth",
        "email": "email",
        "card": "loyalty_card_number",
        "tier": "imported_tier",
        "points": "imported_points_balance",
        "seen": "imported_last_activity_at",
    },
    "date_formats": ["%Y-%m-%d", "%d/%m/%Y"],
}
PLAUSIBLE = {
    "first": ["Rita", "José", "  Ray ", "O'Neil", "=cmd|' /C calc'!A0", ""],
    "last": ["Hayworth", "de la Cruz", "'; DROP TABLE player; --", "Zoë", ""],
    "dob": ["1970-05-17", "31/02/1980", "17/05/1970", "01/02/1970", "yesterday", ""],
    "email": ["rita@example.com", "RAY@Example.COM", "bad@", "@", ""],
    "card": ["C-1001", "c-1002", "C 1003!", "", '=HYPERLINK("x")'],
    "tier": ["Gold", "Gold+", "@SUM(A1)", "", "Platinum"],
    "points": ["1200", "-5", "1,234", "12.5", "", "99999999999999"],
    "seen": ["2026-10-01", "2099-01-01", "", "13/13/2026"],
}
MESS = st.text(
    alphabet=st.sampled_from(list("ab é\"',;|\t\n\r\x00=+-@0123456789\ufeff\u2028")),
    max_size=12,
)


@st.composite
def messy_csv(draw: st.DrawFn) -> bytes:
    """Bytes that are mostly a player CSV, with every kind of damage a vendor file has."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = list(COLUMNS)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if draw(st.integers(0, 5)) == 0:
        header.append(draw(st.sampled_from(["notes", "first", ""])))  # extra or duplicate
    if draw(st.integers(0, 7)) == 0:
        header.remove(draw(st.sampled_from(COLUMNS)))  # a mapped column missing

    def cell(column: str) -> str:
        value = draw(
            st.one_of(st.sampled_from(PLAUSIBLE.get(column, [""])), MESS)
            if draw(st.integers(0, 3)) == 0
            else st.sampled_from(PLAUSIBLE.get(column, ["x"]))
        )
        quote = draw(st.integers(0, 4))
        if quote == 0:
            return '"' + value.replace('"', '""') + '"'
        if quote == 1:
            return '"' + value  # an unterminated or stray quote
        return value

    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 8))):
        cells = [cell(column) for column in header]
        ragged = draw(st.integers(0, 6))
        if ragged == 0 and cells:
            cells = cells[: draw(st.integers(0, len(cells) - 1))]
        elif ragged == 1:
            cells.append("surplus")
        lines.append(delimiter.join(cells))
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def counts(database: Database) -> tuple[int, int]:
    with database.raw() as conn:
        batches = conn.scalar(select(func.count()).select_from(ImportBatch)) or 0
        rows = conn.scalar(select(func.count()).select_from(ImportRow)) or 0
    return batches, rows


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=messy_csv())
def test_messy_files_are_refused_whole_or_staged_with_consistent_counts(
    backend: Database, world: CasinoWorld, tmp_path: Path, data: bytes
) -> None:
    lm = world.actor(StaffRole.LOYALTY_MANAGER)
    path = tmp_path / f"fuzz-{next(_names)}.csv"
    path.write_bytes(data)
    before = counts(backend)
    try:
        result = imports.stage_file(backend.uow(lm), lm, path, MAPPING, chunk_rows=3)
    except DomainError as error:
        event(f"refused: {error.code.value}")
        assert counts(backend) == before  # a refusal stages nothing
        return
    batch = result.batch
    event("staged, with errors" if batch.error_count else "staged")
    assert result.completed and batch.status is ImportBatchStatus.STAGED
    with backend.raw() as conn:
        rows = list(
            conn.execute(
                select(ImportRow.row_number, ImportRow.status, ImportRow.errors)
                .where(ImportRow.batch_id == batch.id)
                .order_by(ImportRow.row_number)
            )
        )
    assert [r.row_number for r in rows] == list(range(1, batch.row_count + 1))
    errors = [r for r in rows if ImportRowStatus(r.status) is ImportRowStatus.ERROR]
    assert batch.error_count == len(errors)
    assert batch.staged_count == batch.row_count - len(errors) >= 0
    assert all(r.errors for r in errors)
    assert all(set(e) == {"column", "reason"} for r in errors for e in r.errors)
    assert all(not r.errors for r in rows if r not in errors)


_names = itertools.count()


# --- both backends stage the same rows --------------------------------------------------------
# SQLite stages every row through the reference rules; Postgres through the column-wise fast
# path, plain blocks of lines, and the database's own reading of the texts and binary arrays
# it is sent. For the same file, the rows must be the same, value for value.

FIELDS = (
    "row_number",
    "line_number",
    "status",
    "errors",
    "raw_values",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "loyalty_card_number",
    "imported_tier",
    "imported_points_balance",
    "imported_last_activity_at",
)
VENDOR = {
    **PLAUSIBLE,
    "first": [*PLAUSIBLE["first"], "Mary  Jane", "ZOË", "Ada "],
    "email": [*PLAUSIBLE["email"], "a.b+c@mail.example.org", " x@y.co ", "Ü@example.com"],
    "card": [*PLAUSIBLE["card"], "c-00042", "C-9 ", "ß-1234"],
    "points": [*PLAUSIBLE["points"], "007", "1 234 567", "12,345,678,901"],
    "seen": [*PLAUSIBLE["seen"], "01/03/2026", "2026-03-08", "2026-11-01"],
}


@st.composite
def vendor_csv(draw: st.DrawFn) -> tuple[bytes, int]:
    """Mostly plausible rows (so that plain blocks form), some damaged; and a chunk size."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    header = draw(st.permutations(COLUMNS))
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(1, 25))):
        cells = [draw(st.sampled_from(VENDOR[column])) for column in header]
        damage = draw(st.integers(0, 9))
        if damage == 0:
            index = draw(st.integers(0, len(cells) - 1))
            cells[index] = '"' + cells[index].replace('"', '""') + '"'
        elif damage == 1:
            cells[draw(st.integers(0, len(cells) - 1))] = draw(MESS)
        elif damage == 2:
            cells = cells[:-1]
        lines.append(delimiter.join(cells))
        if draw(st.integers(0, 15)) == 0:
            lines.append("")
    text = newline.join(lines) + newline
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"])), "replace"), (
        draw(st.integers(1, 8))
    )


def staged_rows(database: Database, batch_id: object) -> list[tuple[object, ...]]:
    columns = [getattr(ImportRow, name) for name in FIELDS]
    with database.raw() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(*columns)
                .where(ImportRow.batch_id == batch_id)
                .order_by(ImportRow.row_number)
            )
        ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=vendor_csv())
def test_postgres_stages_exactly_the_rows_sqlite_stages(
    sqlite_database: Database, pg_database: Database, tmp_path: Path, data: tuple[bytes, int]
) -> None:
    content, chunk_rows = data
    path = tmp_path / f"vendor-{next(_names)}.csv"
    path.write_bytes(content)
    code = f"V{next(_names)}"
    found = []
    for database in (sqlite_database, pg_database):
        lm = build_casino(database, code).actor(StaffRole.LOYALTY_MANAGER)
        try:
            batch = imports.stage_file(
                database.uow(lm), lm, path, MAPPING, chunk_rows=chunk_rows
            ).batch
        except DomainError as error:
            found.append(error.code)
            continue
        found.append(staged_rows(database, batch.id))
    event("staged" if isinstance(found[0], list) else "refused")
    assert found[0] == found[1]
