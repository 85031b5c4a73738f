"""The column-wise fast path stages exactly what the row-by-row reference stages.

``ChunkStager.stage`` must give, for every record, the reference's verdict (``RowRules``):
the same values for a staged row, the same errors and raw cells for a refused one. Chunks of
generated records — plausible cells, vendor mess, unusual but valid values, ragged rows —
are staged both ways and compared line by line, value by value.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pitterm.domain.import_columns import FIELD_COLUMNS, NULL, ChunkStager, _line
from pitterm.domain.import_file import Record
from pitterm.domain.import_rows import RowRules, _parse_date, parse_mapping
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


def lines(text: str) -> list[str]:
    """COPY lines end at a newline only (a U+2028 in a cell is data)."""
    assert text.endswith("\n")
    return text[:-1].split("\n")


def unescaped(part: str) -> str:
    """COPY text's backslash escapes undone, as the server reads them."""
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), part)


def decoded(line: str) -> tuple[Any, ...]:
    """A COPY line as values: numbers as ints, JSON as objects, null as None."""
    parts = [None if part == NULL else unescaped(part) for part in line.split("\t")]
    row, number, errors, raw, *fields = parts
    points = FIELD_COLUMNS.index("imported_points_balance")
    if fields[points] is not None:
        fields[points] = int(fields[points])
    return (
        int(row),  # type: ignore[arg-type]
        int(number),  # type: ignore[arg-type]
        json.loads(errors) if errors else [],
        json.loads(raw) if raw else {},
        *fields,
    )


def staged_both_ways(stager: ChunkStager, chunk: list[Record]) -> tuple[list, list, int, int]:
    text, errors = stager.stage(chunk)
    fast = sorted(decoded(line) for line in lines(text))
    results = [stager.reference(record) for record in chunk]
    slow = sorted(decoded(_line(r, res)) for r, res in zip(chunk, results, strict=True))
    return fast, slow, errors, sum(res.status.value == "error" for res in results)


@settings(max_examples=400, deadline=None)
@given(chunk=records())
def test_fast_path_agrees_with_the_reference(chunk: list[Record]) -> None:
    stager = ChunkStager(RowRules(parse_mapping(FORMATS), HEADER, time_zone=VEGAS, now=NOW))
    fast, slow, errors, expected = staged_both_ways(stager, chunk)
    assert fast == slow
    assert errors == expected


def test_a_clean_chunk_takes_the_fast_path_and_keeps_every_value() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    chunk = [Record(n, n + 1, list(RITA)) for n in range(1, 101)]
    calls = []
    reference = stager.reference
    stager.reference = lambda record: calls.append(record) or reference(record)  # type: ignore[method-assign]
    text, errors = stager.stage(chunk)
    assert (errors, calls) == (0, [])
    first = lines(text)[0].split("\t")
    assert first == [
        "1",
        "2",
        NULL,
        NULL,
        "Rita",
        "Hayworth",
        "1970-05-17",
        "rita@example.com",
        "702-555-0100",
        "C-1001",
        "Gold",
        "1200",
        "2026-10-01T07:00:00+00:00",
    ]
    assert date.fromisoformat(first[6]) == date(1970, 5, 17)


def test_one_bad_row_leaves_the_rest_fast_and_gets_the_reference_errors() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    bad = list(RITA)
    bad[7] = "-5"
    chunk = [Record(1, 2, list(RITA)), Record(2, 3, bad), Record(3, 4, list(RITA))]
    calls = []
    reference = stager.reference
    stager.reference = lambda record: calls.append(record) or reference(record)  # type: ignore[method-assign]
    text, errors = stager.stage(chunk)
    assert errors == 1
    assert [r.row_number for r in calls] == [2]
    refused = next(decoded(line) for line in lines(text) if line.startswith("2\t"))
    assert refused[2] == [{"column": "Points", "reason": "a points balance cannot be negative"}]


def test_cells_that_would_break_copy_are_escaped() -> None:
    stager = ChunkStager(RowRules(parse_mapping(MAPPING), HEADER, time_zone=VEGAS, now=NOW))
    odd = list(RITA)
    odd[6] = "\\N"  # a tier label that looks like COPY's null
    broken = list(RITA)
    broken[1] = "Hay\tworth\\"
    text, errors = stager.stage([Record(1, 2, odd), Record(2, 3, broken)])
    staged = lines(text)
    assert len(staged) == 2 and errors == 1
    assert all(len(line.split("\t")) == 13 for line in staged)
    assert staged[0].split("\t")[10] == "\\\\N"  # escaped: COPY reads it back as \N, not null
    assert decoded(staged[0])[10] == "\\N"
    assert decoded(staged[1])[2][0]["column"] == "Last Name"


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
