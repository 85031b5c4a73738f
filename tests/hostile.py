"""Hypothesis strategies for hostile input: boundary and garbage values for any pydantic field.

``values_for(annotation)`` draws values of roughly the field's type — with the boundaries a
typist or an attacker reaches (negative, zero, 2⁶³, 10³⁰, NaN, ∞, NUL, RTL marks, emoji, lone
surrogates, 10 kB notes, blank strings) — and, now and then, a value of the wrong type.
``mutated(base, model)`` keeps a valid input and breaks one to three fields of it, so every
hostile value is also tried on its own against an otherwise acceptable request.
"""

from __future__ import annotations

import math
import types
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from inspect import isclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, EmailStr

HUGE_INTS = [
    0,
    -1,
    1,
    2,
    -(2**31),
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    -(10**30),
]
ODD_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, 1.5, 1e308, -1e-308, 2.0**63]
SPECIAL_TEXT = [
    "",
    " ",
    "   ",
    "\t\n\r",
    "\x00",
    "a\x00b",
    "\x00" * 3,
    "\u202eevil\u202c",
    "\u200f\u200e",
    "\u200b",
    "\ufeff",
    "😀",
    "👨‍👩‍👧‍👦",
    "Zoë O'Brien",
    "e\u0301",
    "ﷺ",
    "=1+1",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "'; DROP TABLE player; --",
    "%_\\",
    "\ud800",
    "a\udfffb",
    "NaN",
    "null",
    "0",
    "-0",
    "1e309",
    "x" * 10_240,
    "é" * 5_000,
    "😀" * 3_000,
    " " * 10_240,
]
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=40),
    st.text(st.one_of(st.characters(), SURROGATES, st.sampled_from("\x00\u202e ")), max_size=20),
)
ZONES = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
DATETIMES: st.SearchStrategy[Any] = st.one_of(
    st.datetimes(timezones=st.sampled_from(ZONES)),
    st.datetimes(),  # naive
    st.sampled_from(
        [
            datetime.min,
            datetime.max,
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 11, 21, 20, 0, tzinfo=UTC),
            "2026-11-21T20:00:00Z",
            "2026-11-21T20:00:00+99:00",
            "2026-11-21",
            "2026-02-30T00:00:00Z",
            "tomorrow",
            0,
            -1,
            10**30,
            2**63,
            1.5e18,
        ]
    ),
)
DATES: st.SearchStrategy[Any] = st.one_of(
    st.dates(),
    st.sampled_from(
        [date.min, date.max, "1970-05-17", "1970-02-30", "17/05/1970", "", 0, 10**30, "9999-12-31"]
    ),
)
DECIMALS: st.SearchStrategy[Any] = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-1000, max_value=1000, places=6),
    st.sampled_from(
        [
            Decimal("NaN"),
            Decimal("sNaN"),
            Decimal("Infinity"),
            Decimal("-0"),
            Decimal("1E+999999"),
            Decimal("1E-999999"),
            Decimal("0.00001"),
            Decimal("1.0005"),
            Decimal("99.9995"),
            "1e309",
            "NaN",
            "1.5",
            " 2 ",
            "1,5",
            math.nan,
            math.inf,
            10**30,
        ]
    ),
)
INTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(HUGE_INTS),
    st.integers(-10, 100),
    st.integers(-(10**12), 10**12),
    st.sampled_from(["12", " 12 ", "1e3", "0x10", "1_000", "١٢", "12.0", 12.0, 12.5, True]),
)
GARBAGE: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HUGE_INTS),
    st.sampled_from(ODD_FLOATS),
    TEXT,
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(object()),
)


def values_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of roughly ``annotation``'s type, boundaries first; now and then the wrong type."""
    return st.one_of(_typed(annotation), _typed(annotation), _typed(annotation), GARBAGE)


def _typed(annotation: Any) -> st.SearchStrategy[Any]:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _with_lengths(_typed(args[0]), args[1:])
    if origin in (Union, types.UnionType):
        return st.one_of([_typed(a) for a in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin is dict:
        key, value = args
        return st.one_of(
            st.dictionaries(_typed(key), _typed(value), max_size=4),
            st.dictionaries(TEXT, GARBAGE, max_size=3),
            st.builds(lambda n: {f"k{i}": "v" for i in range(n)}, st.sampled_from([20, 21, 500])),
        )
    if origin is list:
        return st.lists(_typed(args[0]), max_size=4)
    if annotation is type(None):
        return st.none()
    if isclass(annotation):
        if issubclass(annotation, BaseModel):
            return st.deferred(lambda: wild(annotation))
        if issubclass(annotation, Enum):
            return st.one_of(
                st.sampled_from(list(annotation)),
                st.sampled_from([m.value for m in annotation]),
                st.sampled_from([m.name for m in annotation] + ["", "OPEN", "nonsense"]),
            )
        if annotation is bool:
            return st.sampled_from([True, False, 0, 1, 2, "yes", "true", "off", "", None])
        if annotation is int:
            return INTS
        if annotation is float:
            return st.one_of(st.floats(allow_nan=True), st.sampled_from(ODD_FLOATS))
        if annotation is Decimal:
            return DECIMALS
        if annotation is str:
            return TEXT
        if annotation is EmailStr:
            return st.one_of(
                st.emails(), TEXT, st.sampled_from(["A@B.CO", "a\x00@b.co", "@", "x@"])
            )
        if annotation is uuid.UUID:
            return st.one_of(
                st.uuids(),
                st.uuids().map(str),
                st.sampled_from(["", "not-a-uuid", "0" * 32, str(uuid.UUID(int=0)), 2**128, -1]),
            )
        if annotation is AwareDatetime or annotation is datetime:
            return DATETIMES
        if annotation is date:
            return DATES
        if annotation is time:
            return st.one_of(st.times(), st.sampled_from(["25:00", "06:00", "", 86_400]))
    raise NotImplementedError(f"no hostile values for {annotation!r}")


def _with_lengths(
    base: st.SearchStrategy[Any], metadata: tuple[Any, ...]
) -> st.SearchStrategy[Any]:
    """Strings right at a declared maximum length: one under, at, over (and padded)."""
    limits = [m.max_length for m in metadata if getattr(m, "max_length", None)]
    if not limits:
        return base
    return st.one_of(base, _around(limits[0]))


def _around(limit: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda fill, delta, pad: pad + fill * (limit + delta) + pad,
        st.sampled_from(["x", "é", "😀", " "]),
        st.sampled_from([-1, 0, 1]),
        st.sampled_from(["", " ", "\t"]),
    )


def field_values(model: type[BaseModel], name: str) -> st.SearchStrategy[Any]:
    """Hostile values for one field of ``model``, its declared length limits included."""
    info = model.model_fields[name]
    limits = [m.max_length for m in info.metadata if isinstance(m, MaxLen)]
    strategy = values_for(info.annotation)
    return st.one_of(strategy, _around(limits[0])) if limits else strategy


@st.composite
def wild(draw: st.DrawFn, model: type[BaseModel]) -> Any:
    """Anything for ``model``: fields missing, hostile, unknown; sometimes not even a dict."""
    if draw(st.integers(0, 19)) == 0:
        return draw(GARBAGE)
    data: dict[str, Any] = {}
    for name in model.model_fields:
        if draw(st.integers(0, 9)):
            data[name] = draw(field_values(model, name))
    if draw(st.integers(0, 9)) == 0:
        data[draw(TEXT)] = draw(GARBAGE)
    return data


@st.composite
def mutated(
    draw: st.DrawFn,
    model: type[BaseModel],
    base: dict[str, Any],
    fields: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """``base`` (a valid input) with one to three of ``fields`` replaced by hostile values."""
    names = list(fields if fields is not None else model.model_fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    data = dict(base)
    for name in chosen:
        data[name] = draw(field_values(model, name))
    return data


def hostile_input(model: type[BaseModel], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid input with a few fields broken; sometimes anything at all."""
    return st.one_of(mutated(model, base), mutated(model, base), mutated(model, base), wild(model))


def unstorable_text(value: object, path: str = "input") -> str | None:
    """The path of the first string a database cannot store (NUL, lone surrogate), if any."""
    if isinstance(value, str):
        if "\x00" in value:
            return path
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        for k, v in value.items():
            found = unstorable_text(k, f"{path}.<key>") or unstorable_text(v, f"{path}.{k}")
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = unstorable_text(v, f"{path}.{i}")
            if found:
                return found
    return None
