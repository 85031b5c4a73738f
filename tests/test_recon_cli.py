"""`pitterm recon report BATCH`: the reconciliation report from the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pitterm.cli import main
from pitterm.domain import reconciliation as recon
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from tests.factories import PINS
from tests.recon_support import CASES, ROW, ReconWorld, apply, build, revert


@pytest.fixture
def world(sqlite_database: Database, monkeypatch: pytest.MonkeyPatch) -> ReconWorld:
    rw = build(sqlite_database)
    apply(sqlite_database, rw, ROW["Upgrade"])
    apply(sqlite_database, rw, ROW["Downgrade"], rw.admin, override="=cmd|' /C calc'!A0")
    revert(sqlite_database, rw, ROW["Upgrade"], rw.admin)
    monkeypatch.setenv("PITTERM_PIN", PINS[StaffRole.LOYALTY_MANAGER])
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("PITTERM_CASINO", raising=False)
    return rw


def argv(database: Database, *args: str, staff: str = "LM1") -> list[str]:
    return ["--db", database.url, "recon", "report", *args, "--casino", "ALPHA", "--staff", staff]


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_to_a_file_by_batch_prefix(
    sqlite_database: Database,
    world: ReconWorld,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "recon.csv"
    short = str(world.batch_id)[:8]
    code, stdout, err = run(capsys, argv(sqlite_database, short, "--out", str(out)))
    assert code == 0, err
    assert stdout == "" and f"{len(CASES)} reconciliation record(s) written to {out}" in err
    with out.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [int(line["row"]) for line in lines] == list(range(1, len(CASES) + 1))
    upgrade = lines[ROW["Upgrade"] - 1]
    assert (upgrade["vendor_tier"], upgrade["canonical_tier_at_staging"]) == ("Gold+", "silver")
    assert (upgrade["status"], upgrade["applied_by"], upgrade["reverted_by"]) == (
        "reverted",
        "LM1",
        "ADM1",
    )
    assert upgrade["applied_at"].startswith("2026-11-21T20:00:00")
    down = lines[ROW["Downgrade"] - 1]
    assert (down["outcome"], down["tier_before"], down["tier_after"]) == (
        "downgrade",
        "platinum",
        "silver",
    )
    assert down["override_reason"] == "'=cmd|' /C calc'!A0"  # not a formula any more
    assert lines[ROW["Unknown"] - 1]["freshness"] == "unknown"
    assert lines[ROW["Seed"] - 1]["outcome"] == "seed"


def test_report_to_stdout_matches_the_service(
    sqlite_database: Database, world: ReconWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run(capsys, argv(sqlite_database, str(world.batch_id)))
    assert code == 0, err
    expected = io.StringIO()
    recon.write_report(sqlite_database.reader(world.lm), world.lm, world.batch_id, expected)
    assert stdout == expected.getvalue()
    assert stdout.splitlines()[0] == ",".join(recon.REPORT_HEADER)


def test_refusals(
    sqlite_database: Database,
    world: ReconWorld,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run(capsys, argv(sqlite_database, "ffffffff"))
    assert code == 1 and err.startswith("IMPORT_BATCH_NOT_FOUND")
    monkeypatch.setenv("PITTERM_PIN", PINS[StaffRole.PIT_BOSS])
    code, stdout, err = run(capsys, argv(sqlite_database, str(world.batch_id), staff="PB1"))
    assert code == 1 and err.startswith("AUTH_FORBIDDEN") and stdout == ""
    args = ["--db", sqlite_database.url, "recon", "report", str(world.batch_id), "--staff", "LM1"]
    code, _, err = run(capsys, args)
    assert code == 2 and "--casino" in err
    with pytest.raises(SystemExit) as usage:
        main(["--db", sqlite_database.url, "recon", "report", "--staff", "LM1"])
    assert usage.value.code == 2
