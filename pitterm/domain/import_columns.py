"""Staging a chunk of rows column by column: ``RowRules`` at bulk speed, as column texts.

``RowRules.apply`` is the reference: it reads one record and says, with reasons, what is
wrong with it. Applied to a million rows it is also the import's bottleneck. ``ChunkStager``
is the fast path for the common case — rows the reference would stage unchanged in shape —
and decides nothing on its own: a cell it cannot vouch for sends the row to the reference.

Per mapped field it takes the chunk's column of cells at once: low-cardinality fields
(names, dates, tiers) through a memo of cell → normalised text, high-cardinality ones
(e-mail, card, phone, points) through one regular expression over the whole column, with a
per-cell retry only when that fails. A row is fast only if every one of its cells passed;
anything else — an error, an unusual but valid value, a ragged row, a csv problem — gets
``RowRules.apply`` and its result, errors and all.

The output (``StagedChunk``) is what one INSERT needs: per field, the fast rows' normalised
values as one newline-separated text (the database splits it; an empty line is null) — the
two date fields as arrays in Postgres's binary format instead, so the database need not
parse a million dates — the positions of the rows left out, and those rows' reference
results as values.
tests/test_import_columns.py checks the fast path against the reference on generated rows,
value for value.

Pure: no database, no files.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar, cast

from pitterm.domain.import_file import Block, Chunk, Record
from pitterm.domain.import_rows import (
    FIELD_NAMES,
    FORMULA_STARTS,
    MAX_CELL,
    MAX_TIER_LABEL,
    RowResult,
    RowRules,
    _checked_domain,
    _is_name,
    _parse_date,
)
from pitterm.domain.import_status import ImportRowStatus

V = TypeVar("V")

SLOW_COLUMNS: tuple[str, ...] = (
    "row_number",
    "line_number",
    "errors",
    "raw_values",
    *FIELD_NAMES,
)
"""The values of each row left to the reference, in order (``StagedChunk.slow``)."""
MEMO_LIMIT = 65_536
"""Entries per memo before it starts over (a file has far fewer distinct names and dates)."""

_BAD: Final = "\x00"
"""A verdict "not for the fast path" (no normalised text can hold a NUL)."""
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = rf"(?=[^@\n]{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9.-]+"
_EMAILS = rf"(?=[^@\n]{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9.-]{{1,189}}"
"""_EMAIL at most 254 characters long (64 before the @, 189 after), for a whole column."""
_CARD = r"[A-Z0-9-]{4,32}"
_PHONE = r"[0-9+().-][0-9+() .-]{3,30}[0-9+().-]"
"""5 to 32 characters; neither end a space (a cell with spaces around goes cell by cell)."""
_DIGITS = r"[0-9]{1,12}"
"""ASCII digits only: the reference also reads other scripts' digits, which the database
would not."""
_DIGITS_ONLY = re.compile(_DIGITS)
_GROUPED_POINTS = re.compile(r"[0-9]{1,3}(?:[ ,_][0-9]{3}){1,3}")
_SEPARATORS = str.maketrans("", "", " ,_")
_DOMAINS = re.compile(r"@([^@\n]*)\n")
_EMAIL_MAX = 254

DATE_OID: Final = 1082
TIMESTAMPTZ_OID: Final = 1184
BINARY_FIELDS: Final = {"date_of_birth": DATE_OID, "imported_last_activity_at": TIMESTAMPTZ_OID}
"""Fields whose fast values come as one-dimensional binary arrays of these element types."""
_DAY_ZERO = date(2000, 1, 1)
_INSTANT_ZERO = datetime(2000, 1, 1, tzinfo=UTC)
"""Postgres's epoch: binary dates count days from it, binary instants microseconds."""
_MICROSECOND = timedelta(microseconds=1)
_NULL_ELEMENT: Final = b"\xff\xff\xff\xff"
"""A null element of a binary array (length -1)."""
_BAD_ELEMENT: Final = b""
"""An element's verdict "not for the fast path" (a real element is never empty)."""
_DATE_ELEMENT = struct.Struct("!ii")
_INSTANT_ELEMENT = struct.Struct("!iq")
_ARRAY_HEADER = struct.Struct("!iiIii")


def _column(cell: str) -> re.Pattern[str]:
    """Every cell of a newline-joined column (each followed by a newline) is ``cell`` or
    empty."""
    return re.compile(f"(?:(?:{cell})?\\n)*")


def _optional(cell: str) -> re.Pattern[str]:
    return re.compile(f"(?:{cell})?")


@dataclass(frozen=True)
class StagedChunk:
    """A chunk of rows, staged: what the INSERT of its rows needs.

    The rows are numbered ``first_row``, ``first_row + 1``, … in chunk order; their line
    numbers are ``lines`` when given, else ``first_line`` on, one each.
    """

    count: int
    errors: int
    """How many of the rows are error rows (all of them are among the slow ones)."""
    first_row: int
    first_line: int
    lines: list[int] | None
    fast: dict[str, str | bytes] | None
    """Per mapped field, the normalised value of every row of the chunk, newline-separated,
    an empty line for null (BINARY_FIELDS: a binary array, null for a slow row). Only rows
    not in ``skip`` are to be stored from it; None when every row is slow."""
    skip: list[int]
    """The chunk positions (from 1) of the slow rows, in order."""
    slow: list[list[Any]]
    """Per SLOW_COLUMNS, the slow rows' values: numbers, JSON texts (errors, raw values;
    None when there are none), and field values as text or None."""


class ChunkStager:
    """``rules`` applied to chunks of rows, the common rows column by column."""

    def __init__(self, rules: RowRules) -> None:
        self.rules = rules
        self.fields = {name: index for name, index, _column in rules.plan}
        self._names: dict[str, str] = {}
        self._births: dict[str, bytes] = {}
        self._tiers: dict[str, str] = {}
        self._activity: dict[str, bytes] = {}
        self._domains: dict[str, bool] = {}
        self._birth_element = _birth_element(rules)
        self._emails = _column(_EMAILS)
        self._email = re.compile(_EMAIL)
        self._cards = _column(_CARD)
        self._card = _optional(_CARD)
        self._phones = _column(_PHONE)
        self._phone = _optional(_PHONE)
        self._points = _column(_DIGITS)

    def stage(self, chunk: Chunk) -> StagedChunk:
        """The chunk's rows, the common ones as column texts, the others by the reference."""
        width = self.rules.width
        odd: list[int] = []
        if isinstance(chunk, Block):
            columns, count = chunk.columns, chunk.row_count
            first_row, first_line, lines = chunk.first_row, chunk.first_line, None
            record_at: Callable[[int], Record] = chunk.record
        else:
            count = len(chunk)
            blank = [""] * width
            rows: list[Sequence[str]] = []
            for i, record in enumerate(chunk):
                if record.fields is not None and len(record.fields) == width:
                    rows.append(record.fields)
                else:
                    odd.append(i)
                    rows.append(blank)
            columns = list(map(list, zip(*rows, strict=True)))
            first_row, first_line = chunk[0].row_number, chunk[0].line_number
            consecutive = chunk[-1].line_number - first_line == count - 1
            lines = None if consecutive else [r.line_number for r in chunk]
            record_at = chunk.__getitem__
        fast: dict[str, str | bytes] = {}
        slow_rows = set(odd)
        for name in FIELD_NAMES:
            index = self.fields.get(name)
            if index is None:
                continue
            text, bad = self._check(name, columns[index])
            fast[name] = text
            slow_rows.update(bad)
        slow_rows.update(self._no_identity(fast, count))
        skip = sorted(slow_rows)
        slow: list[list[Any]] = [[] for _ in SLOW_COLUMNS]
        errors = 0
        for i in skip:
            record = record_at(i)
            result = self.reference(record)
            errors += result.status is ImportRowStatus.ERROR
            for column, value in zip(slow, _slow_values(record, result), strict=True):
                column.append(value)
        return StagedChunk(
            count=count,
            errors=errors,
            first_row=first_row,
            first_line=first_line,
            lines=lines,
            fast=fast if len(skip) < count else None,
            skip=[i + 1 for i in skip],
            slow=slow,
        )

    def reference(self, record: Record) -> RowResult:
        """What ``RowRules`` says of one record (the slow path, and the arbiter)."""
        if record.fields is None:
            return self.rules.refuse(record.problem or "the row cannot be read")
        return self.rules.apply(record.fields)

    # -- the fast path -------------------------------------------------------------------

    def _check(self, name: str, cells: list[str]) -> tuple[str | bytes, list[int]]:
        """The column's normalised text (or binary array), and the positions the fast path
        cannot vouch for."""
        if name in ("first_name", "last_name"):
            return self._memo(cells, self._names, _name_text)
        if name == "date_of_birth":
            return self._packed(cells, self._births, self._birth_element, DATE_OID)
        if name == "imported_tier":
            return self._memo(cells, self._tiers, _tier_text)
        if name == "imported_last_activity_at":
            return self._packed(cells, self._activity, self._activity_element, TIMESTAMPTZ_OID)
        if name == "email":
            return self._emails_text(cells)
        if name == "loyalty_card_number":
            return self._cards_text(cells)
        if name == "phone":
            return self._phones_text(cells)
        return self._points_text(cells)

    def _memo(
        self, cells: list[str], memo: dict[str, str], compute: Callable[[str], str]
    ) -> tuple[str, list[int]]:
        return _joined(_remembered(cells, memo, compute))

    def _packed(
        self, cells: list[str], memo: dict[str, bytes], compute: Callable[[str], bytes], oid: int
    ) -> tuple[bytes, list[int]]:
        """``_memo`` for a binary column: each cell's array element, remembered."""
        elements = _remembered(cells, memo, compute)
        bad: list[int] = []
        if _BAD_ELEMENT in elements:
            bad = [i for i, element in enumerate(elements) if element == _BAD_ELEMENT]
            for i in bad:
                elements[i] = _NULL_ELEMENT
        header = _ARRAY_HEADER.pack(1, _NULL_ELEMENT in elements, oid, len(cells), 1)
        return header + b"".join(elements), bad

    def _emails_text(self, cells: list[str]) -> tuple[str, list[int]]:
        joined = "\n".join(cells) + "\n"
        if joined.count("\n") != len(cells):  # a cell with a line break
            return self._emails_one_by_one(cells)
        bad = _unmatched(joined, self._emails)
        if not all(map(self._plain_domain, set(_DOMAINS.findall(joined)))):
            return self._emails_one_by_one(cells)
        lowered = joined[:-1].lower()
        if not bad:
            return lowered, []
        texts = lowered.split("\n")
        for i in bad:
            texts[i] = self._email_text(cells[i])
        return _joined(texts)

    def _emails_one_by_one(self, cells: list[str]) -> tuple[str, list[int]]:
        return _joined(list(map(self._email_text, cells)))

    def _email_text(self, cell: str) -> str:
        text = cell.strip()
        if not text:
            return ""
        if (
            len(text) > _EMAIL_MAX
            or not self._email.fullmatch(text)
            or not self._plain_domain(text.rpartition("@")[2])
        ):
            return _BAD
        return text.lower()

    def _plain_domain(self, domain: str) -> bool:
        ok = self._domains.get(domain)
        if ok is None:
            if len(self._domains) >= MEMO_LIMIT:
                self._domains.clear()
            ok = self._domains[domain] = _plain_domain(domain)
        return ok

    def _cards_text(self, cells: list[str]) -> tuple[str, list[int]]:
        return self._regex(cells, self._cards, self._card_text, str.upper)

    def _card_text(self, cell: str) -> str:
        text = cell.strip().upper()
        return text if self._card.fullmatch(text) else _BAD

    def _phones_text(self, cells: list[str]) -> tuple[str, list[int]]:
        text, bad = self._regex(cells, self._phones, self._phone_text)
        if "  " not in text:
            return text, bad
        # Spaces are allowed, runs of them are not (the reference collapses them).
        texts = text.split("\n")
        doubled = [i for i, value in enumerate(texts) if "  " in value]
        for i in doubled:
            texts[i] = ""
        return "\n".join(texts), sorted({*bad, *doubled})

    def _phone_text(self, cell: str) -> str:
        text = cell.strip()
        return text if self._phone.fullmatch(text) else _BAD

    def _points_text(self, cells: list[str]) -> tuple[str, list[int]]:
        return self._regex(cells, self._points, _points_text)

    def _regex(
        self,
        cells: list[str],
        column: re.Pattern[str],
        one: Callable[[str], str],
        transform: Callable[[str], str] | None = None,
    ) -> tuple[str, list[int]]:
        """A column that one pattern over its joined text vouches for; the cells it does not
        take (and only those) are tried one by one (``one``: their text, or _BAD)."""
        joined = "\n".join(cells) + "\n"
        if transform is not None:
            joined = transform(joined)
        if joined.count("\n") != len(cells):  # a cell with a line break
            return _joined(list(map(one, cells)))
        bad = _unmatched(joined, column)
        if not bad:
            return joined[:-1], []
        texts = joined[:-1].split("\n")
        for i in bad:
            texts[i] = one(cells[i])
        return _joined(texts)

    def _activity_element(self, cell: str) -> bytes:
        value = cell.strip()
        if not value:
            return _NULL_ELEMENT
        plain = _plain(value)
        if plain is None:
            return _BAD_ELEMENT
        moment = self.rules._last_activity(plain)
        if isinstance(moment, str):
            return _BAD_ELEMENT
        return _INSTANT_ELEMENT.pack(8, (moment - _INSTANT_ZERO) // _MICROSECOND)

    def _no_identity(self, fast: dict[str, str | bytes], count: int) -> list[int]:
        """Rows with neither an e-mail nor a card: the reference says why they cannot stage."""
        emails = _empty_at(fast.get("email"), count)
        cards = _empty_at(fast.get("loyalty_card_number"), count)
        return sorted(emails & cards)


def _remembered(cells: list[str], memo: dict[str, V], compute: Callable[[str], V]) -> list[V]:
    """Each cell's value from ``memo``, computing (and remembering) the ones it lacks.

    The common cells of a column repeat (tiers, birth dates, first names), so most come
    from the memo in one C-level pass; ``memo`` is emptied when it reaches MEMO_LIMIT.
    """
    values: list[V | None] = list(map(memo.get, cells))
    i = -1
    with suppress(ValueError):  # ``index`` finds the next miss; none left ends the loop
        while True:
            i = values.index(None, i + 1)
            cell = cells[i]
            known = memo.get(cell)
            if known is None:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                known = memo[cell] = compute(cell)
            values[i] = known
    return cast(list[V], values)  # every None was filled in


def _joined(texts: list[str]) -> tuple[str, list[int]]:
    """A column's texts as one text (an empty line for a bad cell), and the bad positions."""
    joined = "\n".join(texts)
    if _BAD not in joined:
        return joined, []
    bad = [i for i, text in enumerate(texts) if text == _BAD]
    return joined.replace(_BAD, ""), bad


def _unmatched(joined: str, column: re.Pattern[str]) -> list[int]:
    """The positions of the lines of ``joined`` (newline-ended cells) that ``column`` (a run
    of valid lines) does not take: the longest valid run is matched from the start and again
    after each line it stops at, so a column with a few bad cells is still scanned in C."""
    bad: list[int] = []
    position = row = 0
    end = len(joined)
    match = column.match
    while True:
        stop = match(joined, position).end()  # type: ignore[union-attr]
        if stop == end:
            return bad
        row += joined.count("\n", position, stop)
        bad.append(row)
        position = joined.index("\n", stop) + 1
        row += 1


def _points_text(cell: str) -> str:
    text = cell.strip()
    if not text or _DIGITS_ONLY.fullmatch(text):
        return text
    if _GROUPED_POINTS.fullmatch(text):
        return text.translate(_SEPARATORS)
    return _BAD


def _empty_at(text: str | bytes | None, count: int) -> set[int]:
    """The positions of a column text's empty lines (every position: an unmapped field)."""
    if text is None:
        return set(range(count))
    assert isinstance(text, str)
    if text and "\n\n" not in text and text[0] != "\n" and text[-1] != "\n":
        return set()
    return {i for i, value in enumerate(text.split("\n")) if not value}


def _plain(cell: str) -> str | None:
    """The cell as the reference reads it (spaces collapsed), or None for the unusual ones."""
    if len(cell) > MAX_CELL or not cell.isprintable() or "\ufffd" in cell:
        return None
    return " ".join(cell.split()) if "  " in cell else cell


def _name_text(cell: str) -> str:
    value = _plain(cell.strip())
    if not value or len(value) > 80 or not _is_name(value):
        return _BAD
    return value


def _tier_text(cell: str) -> str:
    value = cell.strip()
    if not value:
        return ""
    plain = _plain(value)
    if plain is None or len(plain) > MAX_TIER_LABEL or plain.startswith(FORMULA_STARTS):
        return _BAD
    return plain


def _birth_element(rules: RowRules) -> Callable[[str], bytes]:
    earliest = date(1900, 1, 1)

    def element(cell: str) -> bytes:
        value = _plain(cell.strip())
        if not value:
            return _BAD_ELEMENT
        moment = _parse_date(value, rules.formats)
        if isinstance(moment, str):
            return _BAD_ELEMENT
        born = moment.date()
        # Enrolment compares with today; a date this close to it is left to the reference
        # (which asks the clock each time) rather than remembered across midnight.
        if not earliest <= born < date.today() - timedelta(days=1):
            return _BAD_ELEMENT
        return _DATE_ELEMENT.pack(4, (born - _DAY_ZERO).days)

    return element


def binary_array_values(data: bytes) -> list[date | datetime | None]:
    """A BINARY_FIELDS array's values, read as Postgres reads it (for tests and checks)."""
    _ndim, _flags, oid, count, _lower = _ARRAY_HEADER.unpack_from(data)
    values: list[date | datetime | None] = []
    offset = _ARRAY_HEADER.size
    for _ in range(count):
        (length,) = struct.unpack_from("!i", data, offset)
        offset += 4
        if length == -1:
            values.append(None)
            continue
        if oid == DATE_OID:
            (days,) = struct.unpack_from("!i", data, offset)
            values.append(_DAY_ZERO + timedelta(days=days))
        else:
            (micros,) = struct.unpack_from("!q", data, offset)
            values.append(_INSTANT_ZERO + micros * _MICROSECOND)
        offset += length
    if offset != len(data):
        raise ValueError("trailing bytes after the array's elements")
    return values


def _plain_domain(domain: str) -> bool:
    """A domain the fast path may take as is: ASCII, no punycode, and one the e-mail
    validator accepts and normalises to itself (up to case)."""
    if not domain.isascii() or "xn--" in domain.lower():
        return False
    checked = _checked_domain(domain)
    return checked is not None and checked.lower() == domain.lower()


def _slow_values(record: Record, result: RowResult) -> list[Any]:
    """A slow row's values in SLOW_COLUMNS order."""
    values = result.values
    return [
        record.row_number,
        record.line_number,
        json.dumps(result.errors, ensure_ascii=False) if result.errors else None,
        json.dumps(result.raw, ensure_ascii=False) if result.raw else None,
        *(_text(values[name]) for name in FIELD_NAMES),
    ]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
