"""Staging a chunk of records column by column: ``RowRules`` at bulk speed, as COPY text.

``RowRules.apply`` is the reference: it reads one record and says, with reasons, what is
wrong with it. Applied to a million rows it is also the import's bottleneck. ``ChunkStager``
is the fast path for the common case — rows the reference would stage unchanged in shape —
and decides nothing on its own: a cell it cannot vouch for sends the row to the reference.

Per mapped field it takes the chunk's column of cells at once: low-cardinality fields
(names, dates, tiers) through a memo of cell → normalised text, high-cardinality ones
(e-mail, card, phone, points) through one regular expression over the whole column, with a
per-cell retry only when that fails. A row is fast only if every one of its cells passed;
anything else — an error, an unusual but valid value, a ragged row, a csv problem — gets
``RowRules.apply`` and its result, errors and all. The output is Postgres COPY text (tab
separated, ``\\N`` for null), built by joining columns, never by formatting values row by
row. tests/test_import_columns.py checks the fast path against the reference on generated
rows, value for value.

Pure: no database, no files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import date, datetime, timedelta
from itertools import compress
from operator import attrgetter
from typing import Any, Final

from pitterm.domain.import_file import Record
from pitterm.domain.import_rows import (
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

NULL: Final = "\\N"
"""COPY's null."""
LOAD_COLUMNS: tuple[str, ...] = (
    "row_number",
    "line_number",
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
"""The columns of each COPY line, in order; a staged row's errors and raw values are null."""
FIELD_COLUMNS = LOAD_COLUMNS[4:]
_EMAIL_AT = FIELD_COLUMNS.index("email")
_CARD_AT = FIELD_COLUMNS.index("loyalty_card_number")
MEMO_LIMIT = 65_536
"""Entries per memo before it starts over (a file has far fewer distinct names and dates)."""

_BAD: Final = "\x00"
"""A memo's verdict "not for the fast path" (no normalised text can hold a NUL)."""
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = rf"(?=[^@\n]{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9.-]+"
_CARD = r"[A-Z0-9-]{4,32}"
_PHONE = r"[0-9+().-][0-9+() .-]{4,31}"
_DIGITS = r"[0-9]{1,12}"
"""ASCII digits only: the reference also reads other scripts' digits, which COPY would not."""
_GROUPED_POINTS = re.compile(r"[0-9]{1,3}(?:[ ,_][0-9]{3}){1,3}")
_SEPARATORS = str.maketrans("", "", " ,_")
_DOMAINS = re.compile(r"@([^@\n]*)\n")
_PREFIX = "{0}\t{1}\t" + NULL + "\t" + NULL
"""A fast row's row and line numbers, and its null errors and raw values."""
_ROW_NUMBER = attrgetter("row_number")
_LINE_NUMBER = attrgetter("line_number")
_NO_ID = (NULL, NULL)


def _column(cell: str, *, optional: bool) -> re.Pattern[str]:
    """Every cell of a newline-joined column (each followed by a newline) matches ``cell``."""
    one = f"(?:{cell})?" if optional else f"(?:{cell})"
    return re.compile(f"(?:{one}\\n)*")


class ChunkStager:
    """``rules`` applied to chunks of records; staged rows come out as COPY text."""

    def __init__(self, rules: RowRules) -> None:
        self.rules = rules
        self.fields = {name: index for name, index, _column in rules.plan}
        self._names: dict[str, str] = {}
        self._births: dict[str, str] = {}
        self._tiers: dict[str, str] = {}
        self._activity: dict[str, str] = {}
        self._domains: dict[str, bool] = {}
        self._emails = _column(_EMAIL, optional=True)
        self._email = re.compile(_EMAIL)
        self._cards = _column(_CARD, optional=True)
        self._card = re.compile(_CARD)
        self._phones = _column(_PHONE, optional=True)
        self._phone = re.compile(_PHONE)
        self._points = _column(_DIGITS, optional=True)
        self._digits = re.compile(_DIGITS)

    def stage(self, records: Sequence[Record]) -> tuple[str, int]:
        """COPY lines for ``records`` (LOAD_COLUMNS) and how many of them are error rows."""
        width = self.rules.width
        fast = [r for r in records if r.fields is not None and len(r.fields) == width]
        slow = (
            []
            if len(fast) == len(records)
            else [r for r in records if r.fields is None or len(r.fields) != width]
        )
        lines: list[str] = []
        if fast:
            texts, bad = self._fast(fast)
            prefixes = map(_PREFIX.format, map(_ROW_NUMBER, fast), map(_LINE_NUMBER, fast))
            joined: Iterable[str] = map("\t".join, zip(prefixes, *texts, strict=False))
            if bad:
                slow.extend(fast[i] for i in sorted(bad))
                keep = [True] * len(fast)
                for i in bad:
                    keep[i] = False
                joined = compress(joined, keep)
            lines.extend(joined)
        errors = 0
        for record in slow:
            result = self.reference(record)
            errors += result.status is ImportRowStatus.ERROR
            lines.append(_line(record, result))
        return ("\n".join(lines) + "\n") if lines else "", errors

    def reference(self, record: Record) -> RowResult:
        """What ``RowRules`` says of one record (the slow path, and the arbiter)."""
        if record.fields is None:
            return self.rules.refuse(record.problem or "the row cannot be read")
        return self.rules.apply(record.fields)

    # -- the fast path -------------------------------------------------------------------

    def _fast(self, records: list[Record]) -> tuple[list[list[str]], set[int]]:
        """Per field column, COPY text for every record; and the records not for this path.

        Column at a time, and the checks for a failure are C-level scans: the common chunk
        has none, and pays no Python loop over its rows.
        """
        count = len(records)
        by_position = list(zip(*(r.fields for r in records if r.fields is not None), strict=True))
        bad: set[int] = set()
        texts: list[list[str]] = []
        for name in FIELD_COLUMNS:
            index = self.fields.get(name)
            if index is None:
                texts.append([NULL] * count)
                continue
            column = self._check(name, list(map(str.strip, by_position[index])))
            if _BAD in column:
                bad.update(i for i, text in enumerate(column) if text is _BAD)
            texts.append(column)
        email, card = texts[_EMAIL_AT], texts[_CARD_AT]
        if NULL in email:  # no identity: the reference says why
            bad.update(i for i, pair in enumerate(zip(email, card, strict=True)) if pair == _NO_ID)
        return texts, bad

    def _check(self, name: str, cells: list[str]) -> list[str]:
        if name in ("first_name", "last_name"):
            return self._memo(cells, self._names, _name_text, optional=False)
        if name == "date_of_birth":
            return self._memo(cells, self._births, _birth_text(self.rules), optional=False)
        if name == "imported_tier":
            return self._memo(cells, self._tiers, _tier_text, optional=True)
        if name == "imported_last_activity_at":
            return self._memo(cells, self._activity, self._activity_text, optional=True)
        if name == "email":
            return self._emails_text(cells)
        if name == "loyalty_card_number":
            return self._regex(cells, self._cards, self._card, str.upper)
        if name == "phone":
            # Spaces are allowed, runs of them are not (the reference collapses them).
            texts = self._regex(cells, self._phones, self._phone, None)
            if any("  " in cell for cell in cells):
                texts = [_BAD if "  " in c else t for c, t in zip(cells, texts, strict=True)]
            return texts
        return self._points_text(cells)

    def _memo(
        self,
        cells: list[str],
        memo: dict[str, str],
        compute: Callable[[str], str],
        *,
        optional: bool,
    ) -> list[str]:
        texts: list[str | None] = list(map(memo.get, cells))
        i = -1
        with suppress(ValueError):  # ``index`` finds the next miss; none left ends the loop
            while True:
                i = texts.index(None, i + 1)
                cell = cells[i]
                if not cell:
                    texts[i] = NULL if optional else _BAD
                    continue
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                texts[i] = memo[cell] = compute(cell)
        return texts  # type: ignore[return-value]

    def _regex(
        self,
        cells: list[str],
        column: re.Pattern[str],
        cell: re.Pattern[str],
        transform: Callable[[str], str] | None,
    ) -> list[str]:
        joined = "\n".join(cells) + "\n"
        if transform is not None:
            joined = transform(joined)
        if joined.count("\n") == len(cells) and column.fullmatch(joined):
            return [text or NULL for text in joined[:-1].split("\n")]
        out = []
        for value in cells:
            text = transform(value) if transform is not None else value
            if not value:
                out.append(NULL)
            elif "\n" not in text and cell.fullmatch(text):
                out.append(text)
            else:
                out.append(_BAD)
        return out

    def _emails_text(self, cells: list[str]) -> list[str]:
        joined = "\n".join(cells) + "\n"
        if (
            joined.count("\n") == len(cells)
            and max(map(len, cells)) <= 254
            and self._emails.fullmatch(joined)
            and all(map(self._plain_domain, set(_DOMAINS.findall(joined))))
        ):
            return [text or NULL for text in joined[:-1].lower().split("\n")]
        return self._emails_one_by_one(cells)

    def _plain_domain(self, domain: str) -> bool:
        ok = self._domains.get(domain)
        if ok is None:
            if len(self._domains) >= MEMO_LIMIT:
                self._domains.clear()
            ok = self._domains[domain] = _plain_domain(domain)
        return ok

    def _emails_one_by_one(self, cells: list[str]) -> list[str]:
        texts = self._regex(cells, self._emails, self._email, None)
        if any(len(cell) > 254 for cell in cells):
            texts = [_BAD if len(c) > 254 else t for c, t in zip(cells, texts, strict=True)]
        for i, text in enumerate(texts):
            if text is not _BAD and text != NULL:
                ok = self._plain_domain(text.rpartition("@")[2])
                texts[i] = text.lower() if ok else _BAD
        return texts

    def _points_text(self, cells: list[str]) -> list[str]:
        joined = "\n".join(cells) + "\n"
        if joined.count("\n") == len(cells) and self._points.fullmatch(joined):
            return [text or NULL for text in joined[:-1].split("\n")]
        out = []
        for cell in cells:
            if not cell:
                out.append(NULL)
            elif self._digits.fullmatch(cell):
                out.append(cell)
            elif _GROUPED_POINTS.fullmatch(cell):
                out.append(cell.translate(_SEPARATORS))
            else:
                out.append(_BAD)
        return out

    def _activity_text(self, cell: str) -> str:
        value = _plain(cell)
        if value is None:
            return _BAD
        moment = self.rules._last_activity(value)
        return _BAD if isinstance(moment, str) else moment.isoformat()


def _plain(cell: str) -> str | None:
    """The cell as the reference reads it (spaces collapsed), or None for the unusual ones."""
    if len(cell) > MAX_CELL or not cell.isprintable() or "\ufffd" in cell:
        return None
    return " ".join(cell.split()) if "  " in cell else cell


def _name_text(cell: str) -> str:
    value = _plain(cell)
    if value is None or len(value) > 80 or not _is_name(value):
        return _BAD
    return value


def _tier_text(cell: str) -> str:
    value = _plain(cell)
    if value is None or len(value) > MAX_TIER_LABEL or value.startswith(FORMULA_STARTS):
        return _BAD
    return value.replace("\\", "\\\\")


def _birth_text(rules: RowRules) -> Callable[[str], str]:
    earliest = date(1900, 1, 1)

    def text(cell: str) -> str:
        value = _plain(cell)
        if value is None:
            return _BAD
        moment = _parse_date(value, rules.formats)
        if isinstance(moment, str):
            return _BAD
        born = moment.date()
        # Enrolment compares with today; a date this close to it is left to the reference
        # (which asks the clock each time) rather than remembered across midnight.
        if not earliest <= born < date.today() - timedelta(days=1):
            return _BAD
        return born.isoformat()

    return text


def _plain_domain(domain: str) -> bool:
    """A domain the fast path may take as is: ASCII, no punycode, and one the e-mail
    validator accepts and normalises to itself (up to case)."""
    if not domain.isascii() or "xn--" in domain.lower():
        return False
    checked = _checked_domain(domain)
    return checked is not None and checked.lower() == domain.lower()


def _line(record: Record, result: RowResult) -> str:
    """One COPY line from the reference's result (a slow-path row)."""
    values = result.values
    parts = [
        str(record.row_number),
        str(record.line_number),
        _text(json.dumps(result.errors, ensure_ascii=False)) if result.errors else NULL,
        _text(json.dumps(result.raw, ensure_ascii=False)) if result.raw else NULL,
    ]
    parts.extend(_text(values[name]) for name in FIELD_COLUMNS)
    return "\t".join(parts)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
