"""Input validation: pydantic models in, DomainError(VALIDATION_FAILED) naming the field out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pitterm.domain.errors import DomainError, ErrorCode

M = TypeVar("M", bound=BaseModel)


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01 at +14:00 is the day before year 1 in UTC: no datetime holds it.
        raise ValueError("is outside the range of dates that can be stored") from None


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An aware date and time from a caller, as UTC; refused (naming the field) when the
offset pushes it out of ``datetime``'s range."""

SHOWN_PROBLEMS = 5
"""Problems spelled out in a message; the rest are counted (all are in ``details``)."""


def parse(model: type[M], data: M | dict[str, Any]) -> M:
    """Re-validate ``data`` as ``model`` (callers may pass a dict or an unchecked instance).

    Text a database cannot store is refused here too, naming the field: Postgres rejects NUL
    in text and jsonb, and no driver can encode an unpaired surrogate.
    """
    try:
        if isinstance(data, model):
            parsed = model.model_validate(data.model_dump())
        else:
            parsed = model.model_validate(data)
    except ValidationError as error:
        raise DomainError(
            ErrorCode.VALIDATION_FAILED,
            describe(error),
            errors=[{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors()],
        ) from error
    refuse_unstorable(parsed.model_dump())
    return parsed


def refuse_unstorable(value: object, field: str = "input", code: ErrorCode | None = None) -> None:
    """Refuse (VALIDATION_FAILED, or ``code``) text anywhere in ``value`` that cannot be stored."""
    found = _unstorable(value, field)
    if found is not None:
        where, problem = found
        raise DomainError(
            code or ErrorCode.VALIDATION_FAILED,
            f"{where}: {problem}",
            errors=[{"field": where, "message": problem}],
        )


def storable_text(value: str, field: str) -> str:
    """``value`` unchanged, or VALIDATION_FAILED naming ``field`` if it cannot be stored."""
    refuse_unstorable(value, field)
    return value


def _unstorable(value: object, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        if "\x00" in value:
            return path, "contains a NUL character, which cannot be stored"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "contains an invalid character (an unpaired surrogate)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable(key, path) or _unstorable(item, _join(path, key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = _unstorable(item, _join(path, index))
            if found is not None:
                return found
    return None


def _join(path: str, part: object) -> str:
    return str(part) if path == "input" else f"{path}.{part}"


def describe(error: ValidationError) -> str:
    """'field: problem; other_field: problem' — short enough for a notification."""
    problems = error.errors()
    shown = "; ".join(f"{_field(e['loc'])}: {_message(e)}" for e in problems[:SHOWN_PROBLEMS])
    hidden = len(problems) - SHOWN_PROBLEMS
    if hidden <= 0:
        return shown
    return f"{shown}; and {hidden} more problem{'s' if hidden != 1 else ''}"


def _message(error: ErrorDetails) -> str:
    # Our own validators raise ValueError("..."); pydantic prefixes those with "Value error, ".
    return error["msg"].removeprefix("Value error, ")


def _field(loc: tuple[int | str, ...]) -> str:
    # A dict key is part of the location: a pasted 10 kB key must not swamp the message.
    return ".".join(_short(str(part)) for part in loc) or "input"


def _short(part: str, limit: int = 40) -> str:
    return part if len(part) <= limit else part[: limit - 1] + "…"
