"""Validation numbers: shape, check character, and the errors it must catch (pure)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitterm.domain import promo_numbers
from pitterm.domain.promo_numbers import (
    ALPHABET,
    COMPACT_LENGTH,
    InvalidNumber,
    NumberCheckError,
    NumberFormatError,
    check_character,
    compact,
    compose,
    generate,
    is_valid,
    parse,
)
from pitterm.domain.promo_rules import PromoType

symbols = st.sampled_from(ALPHABET)
prefixes = st.sampled_from([t.prefix for t in PromoType])
bodies = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    return compose(draw(prefixes), draw(bodies)).text


def test_alphabet_has_32_unambiguous_symbols() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("01OI") & set(ALPHABET)
    for promo_type in PromoType:
        assert all(c in ALPHABET for c in promo_type.prefix)


def test_shape_of_a_generated_number() -> None:
    number = generate("MP", random.Random(7))
    text = number.text
    assert len(text) == len("MP-7K3Q-9XDA-4")
    assert text.startswith("MP-") and text[7] == "-" and text[12] == "-"
    assert parse(text) == number
    assert is_valid(text)


def test_typed_spellings_are_forgiven_but_not_look_alikes() -> None:
    text = generate("FB", random.Random(1)).text
    assert parse(compact(text).lower()) == parse(text)
    assert parse(f"  {text[:7]} {text[8:]} ").text == text
    for look_alike in "0O1I":
        with pytest.raises(NumberFormatError, match="never appear"):
            parse(text[:-2] + look_alike + text[-1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "enter a validation number"),
        ("MP-7K3Q", "has 11 characters"),
        ("MP-7K3Q-9XDA-44", "has 11 characters"),
        ("MP-7K3Q-9XDA-#", "cannot appear"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(NumberFormatError, match=message):
        parse(text)


def test_check_character_is_verified() -> None:
    number = compose("MP", "7K3Q9XDA")
    wrong = next(c for c in ALPHABET if c != number.check)
    with pytest.raises(NumberCheckError, match="mistyped"):
        parse(f"MP-7K3Q-9XDA-{wrong}")


def test_compose_refuses_bad_parts() -> None:
    with pytest.raises(NumberFormatError):
        compose("M0", "7K3Q9XDA")
    with pytest.raises(NumberFormatError):
        compose("MP", "7K3Q")
    with pytest.raises(NumberFormatError):
        check_character("MPO")


def test_generation_uses_the_whole_alphabet() -> None:
    rng = random.Random(2026)
    seen = {c for _ in range(400) for c in generate("PR", rng).body}
    assert seen == set(ALPHABET)


@given(numbers())
def test_every_composed_number_is_valid(text: str) -> None:
    assert is_valid(text)
    assert len(compact(text)) == COMPACT_LENGTH


@given(numbers(), st.integers(0, COMPACT_LENGTH - 1), symbols)
def test_any_single_character_error_is_detected(text: str, position: int, symbol: str) -> None:
    raw = list(compact(text))
    if raw[position] == symbol:
        return
    raw[position] = symbol
    with pytest.raises(NumberCheckError):
        parse("".join(raw))


@given(numbers(), st.integers(0, COMPACT_LENGTH - 2))
def test_any_adjacent_transposition_is_detected(text: str, position: int) -> None:
    raw = list(compact(text))
    if raw[position] == raw[position + 1]:
        return
    raw[position], raw[position + 1] = raw[position + 1], raw[position]
    with pytest.raises(NumberCheckError):
        parse("".join(raw))


def test_single_errors_and_transpositions_exhaustively_for_one_number() -> None:
    # The property tests sample; this checks every substitution and swap of one number.
    raw = compact(compose("NN", "ZZ23YX98").text)
    for i in range(COMPACT_LENGTH):
        for symbol in ALPHABET:
            if symbol != raw[i]:
                assert not is_valid(raw[:i] + symbol + raw[i + 1 :])
        if i + 1 < COMPACT_LENGTH and raw[i] != raw[i + 1]:
            assert not is_valid(raw[:i] + raw[i + 1] + raw[i] + raw[i + 2 :])


def test_invalid_number_errors_share_a_base() -> None:
    assert issubclass(NumberCheckError, InvalidNumber)
    assert issubclass(NumberFormatError, InvalidNumber)
    assert promo_numbers.EXAMPLE.startswith("MP-")
