"""The column-wise fast path stages exactly what the row-by-row reference stages.

``ChunkStager.stage`` must give, for every record, the reference's verdict (``RowRules``):
the same values for a staged row, the same errors and raw cells for a refused one. Chunks of
generated records — plausible cells, vendor mess, unusual but valid values, ragged rows —
and blocks of plain split lines are staged both ways and compared row by row, value by value,
each value read as the database reads its text.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pitterm.domain.import_columns import (
    SLOW_COLUMNS,
    ChunkStager,
    StagedChunk,
    _text,
    binary_array_values,
)
from pitterm.domain.import_file import Block, Chunk, Record
from pitterm.domain.import_rows import FIELD_NAMES, RowRules, _parse_date, parse_mapping
from tests.import_support import HEADER, MAPPING, RITA

NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
VEGAS = ZoneInfo("America/Los_Angeles")
FORMATS = {**MAPPING, "date_formats": ["%Y-%m-%d", "%d/%m/%Y"]}

CELLS: dict[str, list[str]] = {
    "First Name": ["Rita", "José", " Ray ", "O'Neil", "Mary  Jane", "=cmd", "", "Zoë", "ẞtraße"],
    "Last Name": ["Hayworth", "de la Cruz", "'; DROP TABLE", "Nguyễn", "L" * 81, "Smi\x07th", "李"],
    "DOB": ["1970-05-17", "31/02/1980", "17/05/1970", "01/02/1970", "1850-01-01", "", "2099-01-01"],
    "Email": [
        *["rita@example.com", "RAY@Example.COM", "bad@", "a b@x.com", "x@xn--bcher-kva.com"],
        *["ü@example.com", "a..b@example.com", "q@localhost", "", "x" * 70 + "@example.com"],
        "r@" + ".".join(["d" * 62] * 3) + ".example.com",  # long (202) but valid
        "r@" + ".".join(["d" * 62] * 4) + ".example.com",  # over 254 characters
    ],
    "Phone": ["702-555-0100", "(702) 555 0100", "702  555 0100", "call me", "", "+1 702"],
    "Card": ["C-1001", "c-1002", "C 1003!", "", "ß-1234", "abc", "ſ-99999", "C-\u0661\u0662\u0663"],
    "Tier": ["Gold", "Gold+", "@SUM(A1)", "", "G" * 65, "Gold\\Plus", "\\N", "Gold  Plus"],
    "Points": ["1200", "-5", "1,234", "12.5", "", "99999999999999", "007", "\u0663\u0664", "1 234"],
    "Last Visit": ["2026-10-01", "2099-01-01", "", "13/13/2026", "01/02/2026", "\u2028"],
}
MESS = st.text(
    alphabet=st.sampled_from(list("aé ß\t\n\\\x00\ufffd\xa0\u2028=+-@0123456789,")), max_size=8
)


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    rows = []
    for n in range(1, draw(st.integers(1, 12)) + 1):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            rows.append(Record(n, n + 1, None, "a quoted cell is never closed"))
            continue
        cells = [
            draw(st.one_of(st.sampled_from(CELLS[column]), MESS))
            if draw(st.integers(0, 4)) == 0
            else draw(st.sampled_from(CELLS[column][:2]))
            for column in HEADER
        ]
        if kind == 1:
            cells = cells[: draw(st.integers(0, len(cells) - 1))]
        elif kind == 2:
            cells.append(draw(st.sampled_from(["", " ", "extra"])))
        rows.append(Record(n, n + 1, cells))
    return rows


def fast_rows(staged: StagedChunk) -> list[tuple[Any, ...]]:
    """Every row of a staged chunk as the INSERT stores it (values read as the database
    reads their texts): the fast rows from the column texts, the others from their values."""
    rows = []
    if staged.fast is not None:
        texts = {name: column_values(text, staged.count) for name, text in staged.fast.items()}
        for n in range(1, staged.count + 1):
            if n in staged.skip:
                continue
            values = {name: texts[name][n - 1] if name in texts else "" for name in FIELD_NAMES}
            line = staged.lines[n - 1] if staged.lines else staged.first_line + n - 1
            rows.append(typed(staged.first_row + n - 1, line, None, None, values))
    slow = dict(zip(SLOW_COLUMNS, staged.slow, strict=True))
    for i in range(len(slow["row_number"])):
        values = {name: slow[name][i] for name in FIELD_NAMES}
        rows.append(
            typed(
                slow["row_number"][i],
                slow["line_number"][i],
                slow["errors"][i],
                slow["raw_values"][i],
                values,
            )
        )
    return sorted(rows, key=lambda row: row[0])


def column_values(text: str | bytes, count: int) -> list[Any]:
    """A fast column's values: the lines of its text, or its binary array's elements."""
    if isinstance(text, bytes):
        values = binary_array_values(text)
        assert len(values) == count
        return values
    lines = text.split("\n") if text else [""] * count
    assert len(lines) == count
    return lines


def typed(
    row: int, line: int, errors: str | None, raw: str | None, values: dict[str, Any]
) -> tuple[Any, ...]:
    """A row's texts as the database reads them: empty or None is null, then each column's
    type (the date, bigint and timestamptz input functions read ISO text and digits)."""
    out: list[Any] = [
        row,
        line,
        json.loads(errors) if errors else [],
        json.loads(raw) if raw else {},
    ]
    for name in FIELD_NAMES:
        value = values[name]
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, date):  # a binary array's element (a datetime is a date too)
            out.append(value)
        elif name == "date_of_birth":
            out.append(date.fromisoformat(value))
        elif name == "imported_points_balance":
            assert value.isascii() and value.isdigit(), value
            out.append(int(value))
        elif name == "imported_last_activity_at":
            out.append(datetime.fromisoformat(value))
        else:
            assert "\n" not in value and "\x00" not in value, value
            out.append(value)
    return tuple(out)


def reference_rows(stager: ChunkStager, records: list[Record]) -> tuple[list[tuple], int]:
    rows, errors = [], 0
    for record in records:
        result = stager.reference(record)
        errors += result.status.value == "error"
        values = {name: _text(result.values[name]) for name in FIELD_NAMES}
        errors_json = json.dumps(result.errors) if result.errors else None
        raw_json = json.dumps(result.raw) if result.raw else None
        rows.append(typed(record.row_number, record.line_number, errors_json, raw_json, values))
    return rows, errors


def staged_both_ways(stager: ChunkStager, chunk: Chunk) -> tuple[list, list, int, int]:
    staged = stager.stage(chunk)
    records = list(chunk.records()) if isinstance(chunk, Block) else chunk
    slow, expected = reference_rows(stager, records)
    assert staged.count == len(records)
    return fast_rows(staged), slow, staged.errors, expected


@settings(max_examples=400, deadline=None)
@given(chunk=records())
def test_fast_path_agrees_with_the_reference(chunk: list[Record]) -> None:
    stager = ChunkStager(RowRules(parse_mapping(FORMATS), HEADER, time_zone=VEGAS, now=NOW))
    fast, slow, errors, expected = staged_both_ways(stager, chunk)
    assert fast == slow
    assert errors == expected


PLAIN_MESS = st.text(alphabet=st.sampled_from(list("aé ß\\\xa0=+-@0123456789")), max_size=8)


@st.composite
def blocks(draw: st.DrawFn) -> Block:
    """Plain lines, split: cells without quotes or line breaks, padded or not."""
    count = draw(st.integers(1, 12))
    columns = []
    for column in HEADER:
        plain = [c for c in CELLS[column] if "\n" not in c and "\x00" not in c]
        cells = []
        for _ in range(count):
            cell = (
                draw(st.one_of(st.sampled_from(plain), PLAIN_MESS))
                if draw(st.integers(0, 4)) == 0
                else draw(st.sampled_from(plain[:2]))
            )
            cells.append(draw(st.sampled_from(["", " ", "  "])) + cell)
        columns.append(cells)
    first = draw(st.integers(1, 10_000))
    return Block(first, first + draw(st.integers(1, 5)), columns)


@settings(max_examples=300, deadline=None)
@given(block=blocks())
def test_a_block_agrees_with_the_reference_on_the_cells_csv_reads(block: Block) -> None:
    stager = ChunkStager(RowRules(parse_mapping(FORMATS), HEADER, time_zone=VEGAS, now=NOW))
    fast, slow, errors, expected = staged_both_ways(stager, block)
    assert fast == slow
    assert errors == expected


def test_a_clean_chunk_takes_the_fast_path_and_keeps_every_value() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    chunk = [Record(n, n + 1, list(RITA)) for n in range(1, 101)]
    calls = []
    reference = stager.reference
    stager.reference = lambda record: calls.append(record) or reference(record)  # type: ignore[method-assign]
    staged = stager.stage(chunk)
    assert (staged.errors, staged.skip, calls) == (0, [], [])
    assert (staged.first_row, staged.first_line, staged.lines) == (1, 2, None)
    assert staged.fast is not None
    first = {name: column_values(text, 100)[0] for name, text in staged.fast.items()}
    assert first == {
        "first_name": "Rita",
        "last_name": "Hayworth",
        "date_of_birth": date(1970, 5, 17),
        "email": "rita@example.com",
        "phone": "702-555-0100",
        "loyalty_card_number": "C-1001",
        "imported_tier": "Gold",
        "imported_points_balance": "1200",
        "imported_last_activity_at": datetime(2026, 10, 1, 7, 0, tzinfo=UTC),
    }


def test_one_bad_row_leaves_the_rest_fast_and_gets_the_reference_errors() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    bad = list(RITA)
    bad[7] = "-5"
    chunk = [Record(1, 2, list(RITA)), Record(2, 3, bad), Record(3, 4, list(RITA))]
    calls = []
    reference = stager.reference
    stager.reference = lambda record: calls.append(record) or reference(record)  # type: ignore[method-assign]
    staged = stager.stage(chunk)
    assert staged.errors == 1
    assert [r.row_number for r in calls] == [2]
    assert staged.skip == [2]
    slow = dict(zip(SLOW_COLUMNS, staged.slow, strict=True))
    assert slow["row_number"] == [2]
    assert json.loads(slow["errors"][0]) == [
        {"column": "Points", "reason": "a points balance cannot be negative"}
    ]


def test_cells_that_would_break_the_column_texts_go_to_the_reference() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    odd = list(RITA)
    odd[6] = "\\N"  # a tier label that looks like COPY's null: data here, kept as it is
    broken = list(RITA)
    broken[1] = "Hay\nworth"  # a line break inside a quoted cell
    nul = list(RITA)
    nul[3] = "rita\x00@example.com"
    chunk = [Record(1, 2, odd), Record(2, 3, broken), Record(4, 5, nul)]
    staged = stager.stage(chunk)
    assert (staged.errors, staged.skip, staged.lines) == (2, [2, 3], [2, 3, 5])
    rows = fast_rows(staged)
    assert rows[0][4 + FIELD_NAMES.index("imported_tier")] == "\\N"
    assert rows[1][2][0]["column"] == "Last Name"
    assert rows[2][2][0]["column"] == "Email"
    assert all("\x00" not in text for text in (staged.fast or {}).values() if isinstance(text, str))


@settings(max_examples=500, deadline=None)
@given(
    value=st.one_of(
        st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)).map(
            lambda ymd: f"{ymd[0]:04d}-{ymd[1]:02d}-{ymd[2]:02d}"
        ),
        st.text(alphabet="0123456789-/", min_size=8, max_size=11),
    )
)
def test_iso_dates_read_directly_as_strptime_reads_them(value: str) -> None:
    """The ISO fast path of _parse_date: strptime's reading, or strptime's refusal."""
    fast = _parse_date.__wrapped__(value, ("%Y-%m-%d",))
    try:
        expected: datetime | None = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        expected = None
    if expected is None:
        assert isinstance(fast, str)
    else:
        assert fast == expected
