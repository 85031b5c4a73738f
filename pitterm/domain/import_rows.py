"""The player import's mapping and row rules: which file column feeds which pitterm field, and
how one CSV record becomes a normalised staged row or a list of errors (DESIGN §8).

Player fields follow enrolment's rules exactly — each row is checked by ``NewPlayer`` itself
(trimmed and collapsed names, upper-case card numbers, plausible birth dates, the phone
pattern, lower-case e-mail) — so a staged row is one that enrolment would accept. The import
adds only what a foreign file needs: column mapping, date formats, integers, the loyalty
fields, and a refusal of cells no person's name holds (formulas, control characters).

Pure: no database, no files. ``RowRules`` is built once per batch and applied per record.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.import_file import DELIMITERS, ENCODINGS
from pitterm.domain.import_status import ImportRowStatus
from pitterm.domain.players import NewPlayer
from pitterm.domain.validation import describe, refuse_unstorable

MAX_CELL = 1_000
"""Cells longer than this are refused before any other rule looks at them."""
MAX_POINTS = 10**12
MAX_TIER_LABEL = 64
SHOWN_CHARS = 120
"""How much of an error row's cell is kept for the error report."""
FORMULA_STARTS = ("=", "+", "-", "@")


class ImportField(StrEnum):
    """The pitterm fields a file column can be mapped to."""

    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    DATE_OF_BIRTH = "date_of_birth"
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD_NUMBER = "loyalty_card_number"
    IMPORTED_TIER = "imported_tier"
    """The vendor's tier label, verbatim (mapped to a canonical tier at reconciliation)."""
    IMPORTED_POINTS_BALANCE = "imported_points_balance"
    """For reference only: imported points never reach the ledger."""
    IMPORTED_LAST_ACTIVITY_AT = "imported_last_activity_at"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ImportField.FIRST_NAME: "first name",
    ImportField.LAST_NAME: "last name",
    ImportField.DATE_OF_BIRTH: "date of birth",
    ImportField.EMAIL: "e-mail",
    ImportField.PHONE: "phone",
    ImportField.LOYALTY_CARD_NUMBER: "loyalty card number",
    ImportField.IMPORTED_TIER: "vendor tier",
    ImportField.IMPORTED_POINTS_BALANCE: "points balance",
    ImportField.IMPORTED_LAST_ACTIVITY_AT: "last activity date",
}
REQUIRED_FIELDS = (ImportField.FIRST_NAME, ImportField.LAST_NAME, ImportField.DATE_OF_BIRTH)
IDENTITY_FIELDS = (ImportField.LOYALTY_CARD_NUMBER, ImportField.EMAIL)
DATE_FIELDS = (ImportField.DATE_OF_BIRTH, ImportField.IMPORTED_LAST_ACTIVITY_AT)
_PROBE_DATE = datetime(1987, 11, 23, 13, 45, 56)
MAX_COLUMN_NAME = 200
MAX_DATE_FORMAT = 40
MAX_DATE_FORMATS = 10
"""Longer header names are not real vendor columns (and would swamp every message)."""


class ImportMapping(BaseModel):
    """How a file's columns feed pitterm fields; saved with the batch.

    Unmapped columns are ignored. First name, last name and date of birth must be mapped,
    and so must a loyalty card number or an e-mail: identity is resolved exactly, by card or
    by e-mail with date of birth, never by name.
    """

    model_config = ConfigDict(frozen=True)

    columns: dict[str, ImportField] = Field(min_length=1)
    """File column name (as in the header, surrounding spaces ignored) → pitterm field."""
    date_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d"], min_length=1, max_length=MAX_DATE_FORMATS
    )
    """strptime formats tried on every date cell; a cell two formats read differently is an
    error (01/02/1970 under both %m/%d/%Y and %d/%m/%Y), never a guess."""
    delimiter: str | None = None
    """Force the delimiter (, ; tab |) instead of detecting it."""
    encoding: str | None = None
    """Force the encoding (utf-8, latin-1, cp1252) instead of detecting it."""

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, ImportField]) -> dict[str, ImportField]:
        cleaned: dict[str, ImportField] = {}
        for name, target in value.items():
            column = name.strip()
            if not column:
                raise ValueError("a column name is blank")
            if len(column) > MAX_COLUMN_NAME:
                raise ValueError(f"a column name is longer than {MAX_COLUMN_NAME} characters")
            if column in cleaned:
                raise ValueError(f"column {column!r} is mapped twice")
            cleaned[column] = target
        seen: dict[ImportField, str] = {}
        for column, target in cleaned.items():
            if target in seen:
                raise ValueError(
                    f"{target.value} is fed by two columns ({seen[target]!r} and {column!r})"
                )
            seen[target] = column
        missing = [f.value for f in REQUIRED_FIELDS if f not in seen]
        if missing:
            raise ValueError(f"no column is mapped to {', '.join(missing)}")
        if not any(f in seen for f in IDENTITY_FIELDS):
            raise ValueError(
                "map a loyalty_card_number or an email column: players are matched exactly by"
                " card, or by e-mail with date of birth"
            )
        return cleaned

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if len(fmt) > MAX_DATE_FORMAT:
                raise ValueError(f"a date format is longer than {MAX_DATE_FORMAT} characters")
            try:
                parsed = datetime.strptime(_PROBE_DATE.strftime(fmt), fmt)
            except ValueError as error:
                raise ValueError(f"{fmt!r} is not a usable date format ({error})") from error
            if parsed.date() != _PROBE_DATE.date():
                raise ValueError(f"{fmt!r} must give the day, the month and the year")
        return list(dict.fromkeys(value))

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
        value = named.get(value.lower(), value)
        if len(value) != 1 or value not in DELIMITERS:
            raise ValueError("one of , ; | or tab")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower().replace("_", "-")
        value = {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1"}.get(value, value)
        if value not in ENCODINGS:
            raise ValueError(f"one of {', '.join(ENCODINGS)}")
        return value

    def column_for(self, target: ImportField) -> str | None:
        return next((c for c, f in self.columns.items() if f is target), None)


def parse_mapping(data: ImportMapping | dict[str, Any]) -> ImportMapping:
    """Validate a mapping, refusing with IMPORT_MAPPING_INVALID and the reason."""
    try:
        if isinstance(data, ImportMapping):
            parsed = ImportMapping.model_validate(data.model_dump())
        else:
            parsed = ImportMapping.model_validate(data)
    except ValidationError as error:
        raise DomainError(
            ErrorCode.IMPORT_MAPPING_INVALID, f"mapping: {describe(error)}"
        ) from error
    # Stored as JSON with the batch: Postgres's jsonb refuses NUL.
    refuse_unstorable(parsed.model_dump(), "mapping", ErrorCode.IMPORT_MAPPING_INVALID)
    return parsed


def mapping_from_toml(text: str) -> ImportMapping:
    """A mapping from TOML: ``date_formats = [...]`` (and optional ``delimiter``,
    ``encoding``) at the top, then a ``[columns]`` table of file column → pitterm field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DomainError(
            ErrorCode.IMPORT_MAPPING_INVALID, f"mapping file: not valid TOML ({error})."
        ) from error
    unknown = sorted(set(data) - set(ImportMapping.model_fields))
    if unknown:
        raise DomainError(
            ErrorCode.IMPORT_MAPPING_INVALID,
            f"mapping file: unknown key(s) {', '.join(unknown)}; expected [columns],"
            " date_formats, delimiter, encoding.",
        )
    return parse_mapping(data)


def suggest_mapping(header: Sequence[str]) -> dict[str, ImportField]:
    """Columns whose names plainly say which field they hold (a starting point to edit)."""
    suggested: dict[str, ImportField] = {}
    taken: set[ImportField] = set()
    for column in header:
        key = re.sub(r"[^a-z0-9#]+", "", column.lower())
        target = _SYNONYMS.get(key)
        if target is not None and target not in taken:
            suggested[column] = target
            taken.add(target)
    return suggested


_SYNONYMS: dict[str, ImportField] = {
    **dict.fromkeys(["firstname", "first", "givenname", "forename"], ImportField.FIRST_NAME),
    **dict.fromkeys(["lastname", "last", "surname", "familyname"], ImportField.LAST_NAME),
    **dict.fromkeys(
        ["dateofbirth", "dob", "birthdate", "birthday", "born"], ImportField.DATE_OF_BIRTH
    ),
    **dict.fromkeys(["email", "emailaddress", "mail"], ImportField.EMAIL),
    **dict.fromkeys(["phone", "phonenumber", "telephone", "mobile", "cell"], ImportField.PHONE),
    **dict.fromkeys(
        [
            "loyaltycardnumber",
            "cardnumber",
            "card#",
            "card",
            "cardno",
            "playercard",
            "loyaltycard",
            "loyaltynumber",
            "memberid",
        ],
        ImportField.LOYALTY_CARD_NUMBER,
    ),
    **dict.fromkeys(
        ["tier", "vendortier", "loyaltytier", "level", "clubtier", "status"],
        ImportField.IMPORTED_TIER,
    ),
    **dict.fromkeys(
        ["points", "pointsbalance", "balance", "pointbalance", "loyaltypoints"],
        ImportField.IMPORTED_POINTS_BALANCE,
    ),
    **dict.fromkeys(
        ["lastactivity", "lastactivitydate", "lastvisit", "lastvisitdate", "lastplayed"],
        ImportField.IMPORTED_LAST_ACTIVITY_AT,
    ),
}


def suggest_date_formats(samples: Sequence[str]) -> list[str]:
    """Common formats that read every sample; several when the samples cannot tell them apart."""
    values = [s.strip() for s in samples if s.strip()]
    if not values:
        return ["%Y-%m-%d"]
    fitting = [f for f in COMMON_DATE_FORMATS if all(_strptime(v, f) is not None for v in values)]
    return fitting or ["%Y-%m-%d"]


COMMON_DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d-%b-%Y",
    "%b %d %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M",
)


def _strptime(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


_ISO_ONLY = ("%Y-%m-%d",)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@lru_cache(maxsize=65_536)
def _parse_date(value: str, formats: tuple[str, ...]) -> datetime | str:
    """The one datetime the formats read from ``value``, or why there is none.

    Cached: a file has far fewer distinct dates than rows. The usual mapping, ISO dates
    alone, reads a zero-padded YYYY-MM-DD directly (what strptime would read, at a fraction
    of its cost); anything else, and any date that does not exist, goes through strptime.
    """
    if formats == _ISO_ONLY and _ISO_DATE.fullmatch(value):
        try:
            return datetime(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            pass  # 31/02 and the like: strptime says why
    readings: set[datetime] = set()
    impossible = False
    for fmt in formats:
        try:
            readings.add(datetime.strptime(value, fmt))
        except ValueError as error:
            impossible = impossible or "out of range" in str(error)
    if not readings:
        if impossible:
            return f"{value!r} is not a real date (no such day or month)"
        shown = " or ".join(formats)
        return f"{value!r} is not a date in the mapping's format ({shown})"
    if len(readings) > 1:
        options = " or ".join(sorted(r.date().isoformat() for r in readings))
        return f"{value!r} is ambiguous: {options} (several date formats read it)"
    return readings.pop()


# --- e-mail: enrolment's rule, with its expensive half memoised ----------------------------

_EMAIL = TypeAdapter(EmailStr)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


def normalise_email(value: str) -> str:
    """What enrolment stores for this e-mail (pydantic's EmailStr, then lower case).

    Raises ValueError with the validator's message. The common case — a plain ASCII local
    part at an ASCII domain — validates the domain once per distinct domain (where almost
    all of email-validator's time goes) and the local part by its dot-atom grammar; anything
    else goes through the full validator. tests/test_import_rules.py checks both agree.
    """
    local, at, domain = value.rpartition("@")
    if (
        at
        and len(local) <= 64
        and len(value) <= 254
        and domain.isascii()
        and "xn--" not in domain.lower()
        and _SIMPLE_LOCAL.fullmatch(local)
    ):
        checked = _checked_domain(domain)
        if checked is not None:
            return f"{local}@{checked}".lower()
    return _full_email(value)


@lru_cache(maxsize=4_096)
def _checked_domain(domain: str) -> str | None:
    try:
        return _EMAIL.validate_python(f"a@{domain}").partition("@")[2]
    except ValidationError:
        return None


def _full_email(value: str) -> str:
    try:
        return _EMAIL.validate_python(value).lower()
    except ValidationError as error:
        raise ValueError(_human(error.errors()[0])) from error


# --- rows ----------------------------------------------------------------------------------

_ROW_KEY = uuid.UUID(int=0)
"""NewPlayer wants a request key; a staged row's identity is (batch, row number) instead."""
_ASCII_NAME = re.compile(r"[A-Za-z][A-Za-z '.\-]*")
_NAME_MARKS = frozenset(" '.-’")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd]")
_POINTS = re.compile(r"[+-]?(?:\d{1,3}(?:[ ,_]\d{3})+|\d+)")


@dataclass
class RowResult:
    """One record, staged or refused."""

    status: ImportRowStatus
    values: dict[str, Any]
    """Normalised values by field name (every ImportField's value; None when absent or bad)."""
    errors: list[dict[str, str | None]] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    """An error row's mapped cells by file column, shortened and made printable."""


# Plain-string field names for the per-row path (enum member access is slow in a hot loop).
_FIRST, _LAST, _BORN = "first_name", "last_name", "date_of_birth"
_EMAIL_F, _PHONE, _CARD = "email", "phone", "loyalty_card_number"
_TIER, _POINTS_F, _ACTIVITY = (
    "imported_tier",
    "imported_points_balance",
    "imported_last_activity_at",
)
FIELD_NAMES: tuple[str, ...] = tuple(f.value for f in ImportField)
_ACTIVITY_CACHE = 4_096


class RowRules:
    """The mapping bound to one file's header: ``apply`` turns a record into a RowResult."""

    def __init__(
        self, mapping: ImportMapping, header: Sequence[str], *, time_zone: tzinfo, now: datetime
    ) -> None:
        self.mapping = mapping
        self.header = list(header)
        self.width = len(self.header)
        self.time_zone = time_zone
        self.now = now
        self.formats = tuple(mapping.date_formats)
        position = {name: index for index, name in enumerate(self.header)}
        self.plan: list[tuple[str, int, str]] = [
            (target.value, position[column], column) for column, target in mapping.columns.items()
        ]
        self.column_of: dict[str, str] = {name: column for name, _index, column in self.plan}
        self.order: dict[str | None, int] = {column: i for _name, i, column in self.plan}
        self._identity = [n for n in (_CARD, _EMAIL_F) if n in self.column_of]
        self._activity: dict[str, datetime | str] = {}

    def refuse(self, reason: str, fields: list[str] | None = None) -> RowResult:
        """A record that cannot be read as a row at all (csv trouble, wrong field count)."""
        return RowResult(
            ImportRowStatus.ERROR,
            dict.fromkeys(FIELD_NAMES),
            [{"column": None, "reason": reason}],
            self._raw(fields) if fields is not None else {},
        )

    def apply(self, fields: list[str]) -> RowResult:
        """Normalise and validate one record's mapped cells."""
        count = len(fields)
        if count != self.width and (
            count < self.width or any(cell.strip() for cell in fields[self.width :])
        ):
            return self.refuse(f"the row has {count} cells; the header has {self.width}", fields)
        cells: dict[str, str] = {}
        errors: list[dict[str, str | None]] = []
        for name, index, column in self.plan:
            cell = fields[index].strip()
            if not cell:
                continue
            if len(cell) > MAX_CELL or not cell.isprintable() or "\ufffd" in cell:
                problem = _cell_problem(cell)
                if problem is not None:
                    errors.append({"column": column, "reason": problem})
                    continue
                cell = " ".join(cell.split())
            elif "  " in cell:
                cell = " ".join(cell.split())
            cells[name] = cell
        values = self._loyalty(cells, errors)
        self._player(cells, values, errors)
        if errors:
            errors.sort(key=lambda e: self.order.get(e["column"], -1))
            return RowResult(
                ImportRowStatus.ERROR, dict.fromkeys(FIELD_NAMES), errors, self._raw(fields)
            )
        return RowResult(ImportRowStatus.STAGED, values)

    def _raw(self, fields: list[str]) -> dict[str, str]:
        return {
            column: shown(fields[index])
            for _name, index, column in self.plan
            if index < len(fields) and fields[index]
        }

    def _error(self, errors: list[dict[str, str | None]], name: str, reason: str) -> None:
        errors.append({"column": self.column_of.get(name), "reason": reason})

    def _loyalty(
        self, cells: dict[str, str], errors: list[dict[str, str | None]]
    ) -> dict[str, Any]:
        tier = cells.get(_TIER)
        if tier is not None:
            if len(tier) > MAX_TIER_LABEL:
                self._error(errors, _TIER, f"longer than {MAX_TIER_LABEL} characters")
                tier = None
            elif tier.startswith(FORMULA_STARTS):
                self._error(errors, _TIER, _formula(tier))
                tier = None
        points: int | str | None = None
        given = cells.get(_POINTS_F)
        if given is not None:
            points = _points(given)
            if isinstance(points, str):
                self._error(errors, _POINTS_F, points)
                points = None
        activity: datetime | str | None = None
        given = cells.get(_ACTIVITY)
        if given is not None:
            activity = self._last_activity(given)
            if isinstance(activity, str):
                self._error(errors, _ACTIVITY, activity)
                activity = None
        return {_TIER: tier, _POINTS_F: points, _ACTIVITY: activity}

    def _last_activity(self, value: str) -> datetime | str:
        """An aware UTC instant: a date or time without a zone is the casino's local time."""
        known = self._activity.get(value)
        if known is not None:
            return known
        moment = _parse_date(value, self.formats)
        if not isinstance(moment, str):
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=self.time_zone)
            moment = moment.astimezone(UTC)
            if moment > self.now:
                moment = "is in the future"
        if len(self._activity) >= _ACTIVITY_CACHE:
            self._activity.clear()
        self._activity[value] = moment
        return moment

    def _player(
        self, cells: dict[str, str], values: dict[str, Any], errors: list[dict[str, str | None]]
    ) -> None:
        failed = {e["column"] for e in errors}
        data: dict[str, Any] = {"idempotency_key": _ROW_KEY}
        for name in (_FIRST, _LAST):
            given = cells.get(name)
            if given is None:
                if self.column_of[name] not in failed:
                    self._error(errors, name, "required")
            elif _is_name(given):
                data[name] = given
            elif given.startswith(FORMULA_STARTS):
                self._error(errors, name, _formula(given))
            else:
                self._error(
                    errors, name, "a name holds letters, spaces, apostrophes, hyphens and periods"
                )
        born = cells.get(_BORN)
        if born is None:
            if self.column_of[_BORN] not in failed:
                self._error(errors, _BORN, "required")
        else:
            moment = _parse_date(born, self.formats)
            if isinstance(moment, str):
                self._error(errors, _BORN, moment)
            else:
                data[_BORN] = moment.date()
        phone, card = cells.get(_PHONE), cells.get(_CARD)
        if phone is not None:
            data[_PHONE] = phone
        if card is not None:
            data[_CARD] = card
        email = cells.get(_EMAIL_F)
        if email is not None:
            try:
                email = normalise_email(email)
            except ValueError as error:
                self._error(errors, _EMAIL_F, str(error))
        if (
            card is None
            and email is None
            and not any(self.column_of[n] in failed for n in self._identity)
        ):
            errors.append(
                {
                    "column": None,
                    "reason": "a row needs a loyalty card number or an e-mail, to be matched"
                    " exactly",
                }
            )
        if errors:
            return
        try:
            player = NewPlayer.model_validate(data)
        except ValidationError as error:
            for problem in error.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                errors.append({"column": self.column_of.get(name), "reason": _human(problem)})
            return
        values[_FIRST] = player.first_name
        values[_LAST] = player.last_name
        values[_BORN] = player.date_of_birth
        values[_EMAIL_F] = email
        values[_PHONE] = player.phone
        values[_CARD] = player.loyalty_card_number


def _cell_problem(cell: str) -> str | None:
    if len(cell) > MAX_CELL:
        return f"too long ({len(cell):,} characters)"
    found = _CONTROL.search(cell)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "holds a NUL character"
    if char in "\r\n":
        return "holds a line break"
    if char == "\ufffd":
        return "holds bytes that are not valid in the file's encoding"
    return f"holds a control character (U+{ord(char):04X})"


def _is_name(value: str) -> bool:
    if value.isascii():
        return _ASCII_NAME.fullmatch(value) is not None
    value = unicodedata.normalize("NFC", value)
    if not value[0].isalpha():
        return False
    return all(
        ch.isalpha() or ch in _NAME_MARKS or unicodedata.category(ch) in ("Mn", "Mc")
        for ch in value
    )


def _formula(value: str) -> str:
    return f"starts with {value[0]!r}, as a spreadsheet formula does"


def _points(value: str) -> int | str:
    if not _POINTS.fullmatch(value):
        return f"{value!r} is not a whole number of points"
    number = int(re.sub(r"[ ,_]", "", value))
    if number < 0:
        return "a points balance cannot be negative"
    if number > MAX_POINTS:
        return f"more than {MAX_POINTS:,} points"
    return number


def _human(problem: ErrorDetails) -> str:
    """A pydantic complaint in the words the error report uses."""
    kind, context = problem["type"], problem.get("ctx") or {}
    if kind == "string_too_long":
        return f"longer than {context.get('max_length')} characters"
    if kind == "string_too_short":
        return "required"
    if kind == "string_pattern_mismatch":
        return "a phone number has 5 to 32 digits, spaces and + ( ) . -"
    message = problem["msg"].removeprefix("Value error, ")
    if message.startswith(_EMAIL_PREFIX):
        return f"not a valid e-mail address ({message.removeprefix(_EMAIL_PREFIX)})"
    return message


_EMAIL_PREFIX = "value is not a valid email address: "


def shown(cell: str) -> str:
    """A cell as the error report shows it: shortened, control characters made visible."""
    text = cell if len(cell) <= SHOWN_CHARS else cell[:SHOWN_CHARS] + "…"
    return text.translate(_VISIBLE)


_VISIBLE = {
    **{code: 0x2400 + code for code in range(32)},
    0x7F: 0x2421,
    **dict.fromkeys(range(128, 160), 65533),
}
