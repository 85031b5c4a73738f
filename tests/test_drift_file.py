"""`pitterm drift check` over the sandbox's JSON formats, with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pitterm.cli import main
from pitterm.domain.drift_file import check_files
from pitterm.domain.drift_rules import Cause, DriftClass
from pitterm.domain.errors import DomainError, ErrorCode

LEDGER = [
    {
        "account_id": "A",
        "timestamp": "2026-11-01T10:00:00Z",
        "type": "earn",
        "points_delta": 100,
        "description": "play",
    },
    {
        "account_id": "B",
        "timestamp": "2026-11-01T10:05:00Z",
        "type": "earn",
        "points_delta": 50,
        "description": "play",
    },
    {
        "account_id": "A",
        "timestamp": "2026-11-01T09:00:00Z",
        "type": "redeem",
        "points_delta": -30,
        "description": "meal",
    },
    {
        "account_id": "C",
        "timestamp": "2026-11-02T10:00:00Z",
        "type": "earn",
        "points_delta": 200,
        "description": "play",
    },
    {
        "account_id": "C",
        "timestamp": "2026-11-03T10:00:00Z",
        "type": "correct",
        "points_delta": -200,
        "description": "duplicate",
    },
]
BALANCES = [
    {"account_id": "A", "snapshot_balance": 70},  # in balance
    {"account_id": "B", "snapshot_balance": 53},  # minor at tolerance 1 (|3| ≤ 10)
    {"account_id": "C", "snapshot_balance": 200},  # correction never applied: material
    {"account_id": "D", "snapshot_balance": -4},  # no events at all: minor at tolerance 1
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    ledger, balances = tmp_path / "ledger.json", tmp_path / "balances.json"
    ledger.write_text(json.dumps(LEDGER))
    balances.write_text(json.dumps(BALANCES))
    return ledger, balances


def test_known_answers(files: tuple[Path, Path]) -> None:
    result = check_files(*files, tolerance=1)
    by_id = {a.account_id: a for a in result.accounts}
    assert [a.account_id for a in result.accounts] == ["A", "B", "C", "D"]
    assert (by_id["A"].computed, by_id["A"].drift_class) == (70, DriftClass.IN_BALANCE)
    assert (by_id["B"].drift, by_id["B"].drift_class) == (3, DriftClass.MINOR)
    assert (by_id["C"].drift, by_id["C"].drift_class) == (200, DriftClass.MATERIAL)
    assert by_id["C"].cause is Cause.MISSING_CORRECTION
    assert (by_id["D"].drift, by_id["D"].events) == (-4, 0)
    summary = result.summary
    assert (summary.accounts_checked, summary.in_balance, summary.minor, summary.material) == (
        4,
        1,
        2,
        1,
    )
    assert (summary.largest_positive, summary.largest_positive_account) == (200, "C")
    assert (summary.largest_negative, summary.largest_negative_account) == (-4, "D")


def test_missing_snapshot_counts_as_zero(tmp_path: Path) -> None:
    ledger, balances = tmp_path / "l.json", tmp_path / "b.json"
    ledger.write_text(json.dumps(LEDGER[:1]))
    balances.write_text("[]")
    [only] = check_files(ledger, balances, 0).accounts
    assert (only.snapshot, only.computed, only.drift) == (0, 100, -100)


def test_cli_text_and_exit_status(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, balances = files
    status = main(
        ["drift", "check", "--ledger", str(ledger), "--balances", str(balances), "--tolerance", "1"]
    )
    out = capsys.readouterr().out
    assert status == 2
    assert "accounts checked 4: in balance 1, minor drift 2, material mismatch 1" in out
    assert "Missing correction" in out


def test_cli_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ledger, balances = files
    main(
        [
            "drift",
            "check",
            "--ledger",
            str(ledger),
            "--balances",
            str(balances),
            "--json",
            "--tolerance",
            "1000",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["in_balance"] == 4
    assert {a["account_id"] for a in report["accounts"]} == {"A", "B", "C", "D"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"not": "an array"', "not a JSON array"),
        (
            '[{"account_id": "A", "timestamp": "2026-11-01", "points_delta": "ten"}]',
            "item 1, field 'points_delta'",
        ),
        (
            '[{"account_id": "A", "timestamp": "yesterday", "points_delta": 1}]',
            "item 1, field 'timestamp'",
        ),
        ('[{"timestamp": "2026-11-01", "points_delta": 1}]', "item 1, field 'account_id'"),
        ("[1, 2]", "item 1 is not an object"),
    ],
)
def test_bad_files_are_refused_with_the_place(tmp_path: Path, content: str, problem: str) -> None:
    ledger, balances = tmp_path / "l.json", tmp_path / "b.json"
    ledger.write_text(content)
    balances.write_text("[]")
    with pytest.raises(DomainError) as bad:
        check_files(ledger, balances, 0)
    assert bad.value.code is ErrorCode.DRIFT_FILE_INVALID
    assert problem in bad.value.message


def test_cli_bad_input_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "drift",
            "check",
            "--ledger",
            str(tmp_path / "missing.json"),
            "--balances",
            str(tmp_path / "missing.json"),
        ]
    )
    assert status == 3
    assert "DRIFT_FILE_INVALID" in capsys.readouterr().err


def test_cli_json_streams_the_same_report_check_files_builds(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, balances = files
    main(["drift", "check", "--ledger", str(ledger), "--balances", str(balances), "--json"])
    streamed = json.loads(capsys.readouterr().out)
    assert streamed == json.loads(check_files(ledger, balances, 0).model_dump_json())
    assert [a["account_id"] for a in streamed["accounts"]] == ["A", "B", "C", "D"]


def test_extremes_tie_to_the_first_account_id(tmp_path: Path) -> None:
    ledger, balances = tmp_path / "l.json", tmp_path / "b.json"
    ledger.write_text("[]")
    balances.write_text(
        json.dumps(
            [
                {"account_id": "Z", "snapshot_balance": 9},
                {"account_id": "M", "snapshot_balance": 9},
                {"account_id": "Q", "snapshot_balance": -9},
                {"account_id": "B", "snapshot_balance": -9},
                {"account_id": "M", "snapshot_balance": 9},  # a repeat: the last one counts
            ]
        )
    )
    summary = check_files(ledger, balances, 0).summary
    assert summary.accounts_checked == 4
    assert (summary.largest_positive, summary.largest_positive_account) == (9, "M")
    assert (summary.largest_negative, summary.largest_negative_account) == (-9, "B")
