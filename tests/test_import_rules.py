"""Player import rules, no database: the mapping, and how a record is normalised or refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.import_rows import (
    ImportField,
    ImportMapping,
    RowRules,
    mapping_from_toml,
    normalise_email,
    parse_mapping,
    shown,
    suggest_date_formats,
    suggest_mapping,
)
from pitterm.domain.import_status import ImportRowStatus
from pitterm.domain.players import NewPlayer
from tests.import_support import HEADER, MAPPING, MAPPING_TOML, RITA

NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
VEGAS = ZoneInfo("America/Los_Angeles")


def rules(mapping: dict | None = None, header: list[str] | None = None) -> RowRules:
    return RowRules(parse_mapping(mapping or MAPPING), header or HEADER, time_zone=VEGAS, now=NOW)


def row(**changes: str) -> list[str]:
    cells = dict(zip(HEADER, RITA, strict=True))
    cells.update({k.replace("_", " "): v for k, v in changes.items()})
    return [cells[h] for h in HEADER]


def problems(fields: list[str], mapping: dict | None = None) -> dict[str | None, str]:
    result = rules(mapping).apply(fields)
    assert result.status is ImportRowStatus.ERROR, result
    return {e["column"]: str(e["reason"]) for e in result.errors}


class TestMapping:
    def test_toml_mapping_reads_columns_and_formats(self) -> None:
        mapping = mapping_from_toml(MAPPING_TOML)
        assert mapping.columns["Last Visit"] is ImportField.IMPORTED_LAST_ACTIVITY_AT
        assert mapping.date_formats == ["%Y-%m-%d"]
        assert mapping == parse_mapping(MAPPING)

    @pytest.mark.parametrize(
        ("change", "words"),
        [
            ({"columns": {"A": "first_name", "B": "last_name", "C": "email"}}, "date_of_birth"),
            (
                {"columns": {"A": "first_name", "B": "last_name", "C": "date_of_birth"}},
                "loyalty_card_number or an email",
            ),
            (
                {
                    "columns": {
                        "A": "first_name",
                        "B": "first_name",
                        "C": "last_name",
                        "D": "date_of_birth",
                        "E": "email",
                    }
                },
                "fed by two columns",
            ),
            ({"date_formats": ["%Y"]}, "day, the month and the year"),
            ({"date_formats": []}, "date_formats"),
            ({"columns": {**MAPPING["columns"], "X": "shoe_size"}}, "columns.X"),
            ({"delimiter": "::"}, "delimiter"),
            ({"encoding": "utf-16"}, "encoding"),
        ],
    )
    def test_bad_mappings_are_refused_with_the_reason(self, change: dict, words: str) -> None:
        with pytest.raises(DomainError) as raised:
            parse_mapping({**MAPPING, **change})
        assert raised.value.code is ErrorCode.IMPORT_MAPPING_INVALID
        assert words in raised.value.message

    def test_bad_toml_is_refused(self) -> None:
        for text, words in [("[columns", "not valid TOML"), ("colour = 1", "unknown key")]:
            with pytest.raises(DomainError) as raised:
                mapping_from_toml(text)
            assert raised.value.code is ErrorCode.IMPORT_MAPPING_INVALID
            assert words in raised.value.message

    def test_named_delimiters_and_encodings(self) -> None:
        mapping = parse_mapping({**MAPPING, "delimiter": "tab", "encoding": "Latin1"})
        assert (mapping.delimiter, mapping.encoding) == ("\t", "latin-1")

    def test_suggestions_from_header_names(self) -> None:
        suggested = suggest_mapping(["FIRST NAME", "Surname", "D.O.B.", "E-mail", "Card #", "X"])
        assert suggested == {
            "FIRST NAME": ImportField.FIRST_NAME,
            "Surname": ImportField.LAST_NAME,
            "D.O.B.": ImportField.DATE_OF_BIRTH,
            "E-mail": ImportField.EMAIL,
            "Card #": ImportField.LOYALTY_CARD_NUMBER,
        }
        assert suggest_date_formats(["05/17/1970", "12/31/1999"]) == ["%m/%d/%Y"]
        assert suggest_date_formats(["01/02/1970"]) == ["%m/%d/%Y", "%d/%m/%Y"]


class TestNormalisation:
    def test_a_good_row_is_trimmed_collapsed_lowered_and_typed(self) -> None:
        fields = row(
            First_Name="  Rita  ",
            Last_Name="de   la  Cruz",
            Email=" Rita.Hay@EXAMPLE.com ",
            Card="c-1001",
            Points="1,200",
            Tier="  Gold  Plus ",
        )
        result = rules().apply(fields)
        assert result.status is ImportRowStatus.STAGED, result.errors
        assert result.values == {
            "first_name": "Rita",
            "last_name": "de la Cruz",
            "date_of_birth": date(1970, 5, 17),
            "email": "rita.hay@example.com",
            "phone": "702-555-0100",
            "loyalty_card_number": "C-1001",
            "imported_tier": "Gold Plus",
            "imported_points_balance": 1200,
            # A date without a time is midnight at the casino (Las Vegas), in UTC.
            "imported_last_activity_at": datetime(2026, 10, 1, 7, 0, tzinfo=UTC),
        }

    def test_player_fields_follow_enrolment_exactly(self) -> None:
        """Whatever staging accepts, NewPlayer (enrolment) accepts with the same values."""
        values = rules().apply(row(Card="ab-12", Email="X@Example.COM")).values
        enrolled = NewPlayer(
            first_name=values["first_name"],
            last_name=values["last_name"],
            date_of_birth=values["date_of_birth"],
            email="X@Example.COM",
            phone=values["phone"],
            loyalty_card_number="ab-12",
            idempotency_key=uuid.uuid4(),
        )
        assert (enrolled.email, enrolled.loyalty_card_number) == (
            values["email"],
            values["loyalty_card_number"],
        )

    def test_optional_cells_may_be_blank_but_identity_may_not(self) -> None:
        result = rules().apply(row(Phone="", Tier="", Points="", Last_Visit="", Card=""))
        assert result.status is ImportRowStatus.STAGED
        assert result.values["imported_points_balance"] is None
        found = problems(row(Card="", Email=""))
        assert "loyalty card number or an e-mail" in found[None]

    @pytest.mark.parametrize(
        ("cells", "column", "words"),
        [
            ({"First_Name": ""}, "First Name", "required"),
            ({"DOB": "1970-02-31"}, "DOB", "not a real date"),
            ({"DOB": "17/05/1970"}, "DOB", "not a date in the mapping's format"),
            ({"DOB": "1850-01-01"}, "DOB", "between 1900-01-01 and today"),
            ({"Email": "rita@"}, "Email", "not a valid e-mail address"),
            ({"Card": "C 1001!"}, "Card", "letters, digits or dashes"),
            ({"Phone": "call me"}, "Phone", "a phone number has"),
            ({"Last_Name": "L" * 81}, "Last Name", "longer than 80 characters"),
            ({"Points": "-5"}, "Points", "cannot be negative"),
            ({"Points": "12.5"}, "Points", "not a whole number"),
            ({"Points": "10000000000000"}, "Points", "more than"),
            ({"Last_Visit": "2027-01-01"}, "Last Visit", "in the future"),
            ({"First_Name": '=HYPERLINK("http://x","y")'}, "First Name", "formula"),
            ({"Last_Name": "'; DROP TABLE player; --"}, "Last Name", "a name holds letters"),
            ({"Tier": "@SUM(A1)"}, "Tier", "formula"),
            ({"Tier": "G" * 65}, "Tier", "longer than 64"),
            ({"Last_Name": "Smith\x00"}, "Last Name", "NUL"),
            ({"Last_Name": "Smi\nth"}, "Last Name", "line break"),
            ({"Last_Name": "Smith\x07"}, "Last Name", "control character (U+0007)"),
            ({"Last_Name": "Sm\ufffdth"}, "Last Name", "not valid in the file's encoding"),
            ({"Email": "a" * 1_000_000 + "@example.com"}, "Email", "too long (1,000,012"),
        ],
    )
    def test_each_bad_cell_is_named_with_its_reason(
        self, cells: dict[str, str], column: str, words: str
    ) -> None:
        found = problems(row(**cells))
        assert column in found, found
        assert words in found[column]

    def test_a_row_can_have_several_errors_in_file_order(self) -> None:
        result = rules().apply(row(First_Name="", DOB="31/02/1980", Points="-1", Email="x"))
        assert [e["column"] for e in result.errors] == ["First Name", "DOB", "Email", "Points"]
        assert result.raw == {
            "Last Name": "Hayworth",
            "DOB": "31/02/1980",
            "Email": "x",
            "Phone": "702-555-0100",
            "Card": "C-1001",
            "Tier": "Gold",
            "Points": "-1",
            "Last Visit": "2026-10-01",
        }
        assert set(result.values.values()) == {None}

    def test_ragged_rows_are_refused_whole(self) -> None:
        short = problems(RITA[:5])
        assert short == {None: "the row has 5 cells; the header has 9"}
        long = problems([*RITA, "extra"])
        assert long == {None: "the row has 10 cells; the header has 9"}
        # Trailing empty cells (a spreadsheet's trailing delimiters) are not data.
        assert rules().apply([*RITA, "", " "]).status is ImportRowStatus.STAGED

    def test_ambiguous_dates_are_refused_never_guessed(self) -> None:
        mapping = {**MAPPING, "date_formats": ["%m/%d/%Y", "%d/%m/%Y"]}
        found = problems(row(DOB="01/02/1970", Last_Visit="13/01/2026"), mapping)
        assert found == {
            "DOB": "'01/02/1970' is ambiguous: 1970-01-02 or 1970-02-01 (several"
            " date formats read it)"
        }
        fine = rules(mapping).apply(row(DOB="17/05/1970", Last_Visit="10/01/2026"))
        assert fine.status is ImportRowStatus.ERROR  # 10/01 reads both ways
        assert rules(mapping).apply(row(DOB="05/17/1970", Last_Visit="01/13/2026")).values[
            "date_of_birth"
        ] == date(1970, 5, 17)

    def test_names_in_other_scripts_and_with_marks_are_names(self) -> None:
        for name in ["José", "Zoë", "O'Brien", "Mary-Jane", "St. John", "Nguyễn", "李", "अमिताभ"]:
            assert rules().apply(row(First_Name=name)).status is ImportRowStatus.STAGED, name

    def test_shown_cells_are_short_and_printable(self) -> None:
        assert shown("a\x00b\nc") == "a␀b␊c"
        assert shown("x" * 500) == "x" * 120 + "…"


ATOM = st.text(alphabet=st.sampled_from("abcXYZ019!#$%&'*+/=?^_`{|}~-é"), min_size=1, max_size=12)
DOMAIN = st.sampled_from(
    [
        "example.com",
        "Example.COM",
        "mail.example.org",
        "xn--bcher-kva.com",
        "localhost",
        "b.test",
        "a..b.com",
        "-x.com",
        "例え.jp",
        "123.com",
        "x.y",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    local=st.one_of(
        st.lists(ATOM, min_size=1, max_size=3).map(".".join),
        st.text(max_size=20),
    ),
    domain=st.one_of(DOMAIN, st.text(max_size=15)),
)
def test_email_rule_matches_enrolment(local: str, domain: str) -> None:
    """The memoised e-mail check gives enrolment's answer: the same address, or a refusal."""
    value = f"{local}@{domain}"
    try:
        expected: str | None = NewPlayer(
            first_name="A",
            last_name="B",
            date_of_birth=date(1970, 1, 1),
            email=value,
            idempotency_key=uuid.uuid4(),
        ).email
    except ValidationError:
        expected = None
    try:
        actual: str | None = normalise_email(value.strip())
    except ValueError:
        actual = None
    if value != value.strip():
        return  # staging trims cells before any rule sees them
    assert actual == expected


def test_mapping_model_is_frozen_and_compares_by_value() -> None:
    assert parse_mapping(MAPPING) == ImportMapping.model_validate(MAPPING)
