"""Input validation: pydantic models in, DomainError(VALIDATION_FAILED) naming the field out."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pitterm.domain.errors import DomainError, ErrorCode

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: M | dict[str, Any]) -> M:
    """Re-validate ``data`` as ``model`` (callers may pass a dict or an unchecked instance)."""
    try:
        if isinstance(data, model):
            return model.model_validate(data.model_dump())
        return model.model_validate(data)
    except ValidationError as error:
        raise DomainError(
            ErrorCode.VALIDATION_FAILED,
            describe(error),
            errors=[{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors()],
        ) from error


def describe(error: ValidationError) -> str:
    """'field: problem; other_field: problem' — short enough for a notification."""
    return "; ".join(f"{_field(e['loc'])}: {_message(e)}" for e in error.errors())


def _message(error: ErrorDetails) -> str:
    # Our own validators raise ValueError("..."); pydantic prefixes those with "Value error, ".
    return error["msg"].removeprefix("Value error, ")


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "input"
