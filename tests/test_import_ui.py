"""Import mode by keys: preview, map, stage, cancel and resume, report, execute, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, func, select
from textual.widgets import DataTable, Static

from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.import_models import ImportPhase, ImportProgress
from pitterm.domain.import_rows import ImportField
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome
from pitterm.domain.tables import ImportBatch, ImportRow, Player
from pitterm.screens.import_screen import ImportScreen
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol
from tests.import_support import generate, row_numbers
from tests.test_app_shell import SIZE, drive, make_app, notifications, settle, sign_in_as

VENDOR_HEADER = [
    "First Name",
    "Last Name",
    "DOB",
    "Email",
    "Card",
    "Member Tier",
    "Points",
    "Last Visit",
]
VENDOR_ROWS = [
    ["Rita", "Hayworth", "1970-05-17", "rita@example.com", "C-1001", "Gold+", "1200", "2026-10-01"],
    ["Ray", "Smith", "1961-03-02", "ray@example.com", "C-2002", "SILVER", "300", "2026-08-15"],
    ["Ada", "Lovelace", "1985-12-10", "ada@example.com", "C-3003", "Bronze", "0", ""],
    ["Omar", "Khan", "1980-02-31", "omar@example.com", "C-4004", "Gold+", "50", "2026-01-01"],
    ["Mei", "Chen", "1990-07-07", "mei@example.com", "C-5005", "Platinum Elite", "-5", ""],
    ["Lena", "Ng", "1975-01-20", "", "", "Black Card", "10", "2025-06-30"],
]
"""Six rows: Rita's card is enrolled (linked), Ray and Ada are new (created), and three
errors — an impossible date, negative points, no card and no e-mail."""
TIER_COLUMN = VENDOR_HEADER.index("Member Tier")


def write_vendor_file(folder: Path, name: str = "vendor.csv") -> Path:
    path = folder / name
    lines = [",".join(VENDOR_HEADER), *(",".join(row) for row in VENDOR_ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def vendor_casino(database: Database) -> CasinoWorld:
    world = build_casino(database)
    enrol(database, world.admin, "Rita", "Hayworth", card="C-1001")
    return world


def text_of(screen: ImportScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def batches(database: Database) -> list[Row[Any]]:
    """Every batch's id, status, row count and mapping, read straight from the database."""
    with database.raw() as conn:
        columns = (ImportBatch.id, ImportBatch.status, ImportBatch.row_count, ImportBatch.mapping)
        return list(conn.execute(select(*columns)).all())


def player_count(database: Database) -> int:
    with database.raw() as conn:
        return conn.scalar(select(func.count()).select_from(Player)) or 0


async def open_file(pilot: object, name: str) -> ImportScreen:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
    await pilot.press("f5")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    await pilot.press("f", *name, "enter")
    await settle(pilot)
    return screen


@drive
async def test_preview_map_stage_report_and_execute(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor_casino(sqlite_database)
    write_vendor_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_file(pilot, "vendor.csv")
        facts = text_of(screen, "#import-facts")
        assert "vendor.csv" in facts and "encoding utf-8" in facts and "delimiter comma" in facts
        mapping = screen.query_one("#import-mapping", DataTable)
        assert [str(mapping.get_row_at(i)[0]) for i in range(mapping.row_count)] == VENDOR_HEADER
        assert screen.columns[TIER_COLUMN] is None  # "Member Tier" is not a name it knows
        preview = screen.query_one("#import-preview", DataTable)
        assert preview.row_count == len(VENDOR_ROWS)
        assert "First 6 rows, 3 with problems" in text_of(screen, "#import-preview-note")

        # Member Tier: ignored → phone (free) → vendor tier (the card field is taken).
        await pilot.press(*["down"] * TIER_COLUMN, "space", "space")
        await settle(pilot)
        assert screen.columns[TIER_COLUMN] is ImportField.IMPORTED_TIER
        labels = [str(column.label) for column in preview.columns.values()]
        assert "vendor tier" in labels
        assert str(preview.get_row_at(0)[labels.index("vendor tier")]) == "Gold+"

        await pilot.press("s")
        await settle(pilot)
        summary = text_of(screen, "#import-summary")
        assert "status STAGED" in summary
        assert "rows 6 │ valid 3 │ errors 3" in summary
        problems = screen.query_one("#import-problems", DataTable)
        assert [str(problems.get_row_at(i)[0]) for i in range(problems.row_count)] == [
            "4",
            "5",
            "6",
        ]
        [batch] = batches(sqlite_database)
        assert batch.status is ImportBatchStatus.STAGED
        assert batch.mapping["columns"]["Member Tier"] == "imported_tier"

        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        [report] = list(tmp_path.glob("vendor-errors-*.csv"))
        lines = report.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "row,line,column,reason,value" and len(lines) == 4

        before = player_count(sqlite_database)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        summary = text_of(screen, "#import-summary")
        assert "status EXECUTED" in summary
        assert "created 2 │ linked 1 │ skipped 3" in summary
        assert player_count(sqlite_database) == before + 2
        with sqlite_database.raw() as conn:
            found = conn.execute(select(ImportRow.row_number, ImportRow.outcome)).all()
        outcomes = dict(found)
        assert outcomes == {
            1: ImportOutcome.LINKED,
            2: ImportOutcome.CREATED,
            3: ImportOutcome.CREATED,
            4: ImportOutcome.SKIPPED,
            5: ImportOutcome.SKIPPED,
            6: ImportOutcome.SKIPPED,
        }

        await pilot.press("b")  # the batches list reopens it
        await settle(pilot)
        listed = screen.query_one("#import-batch-list", DataTable)
        assert listed.row_count == 1 and str(listed.get_row_at(0)[2]) == "executed"
        await pilot.press("enter")
        await settle(pilot)
        assert "status EXECUTED" in text_of(screen, "#import-summary")


@drive
async def test_cancel_mid_staging_then_resume_stages_every_row_once(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_casino(sqlite_database)
    generate(tmp_path / "big.csv", 3000, bad_every=100)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ImportScreen, "chunk_rows", 5)
    show_progress = ImportScreen._show_progress

    def press_cancel_mid_file(screen: ImportScreen, report: ImportProgress) -> None:
        # Pilot waits for the app to go idle after a key, by which time a small file is
        # staged: press c from the progress report instead, once 100 rows are in.
        show_progress(screen, report)
        mid_file = report.phase is ImportPhase.STAGING and report.rows_done >= 100
        if mid_file and not screen._stop.is_set():
            screen.app.simulate_key("c")

    monkeypatch.setattr(ImportScreen, "_show_progress", press_cancel_mid_file)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_file(pilot, "big.csv")
        await pilot.press("s")
        await settle(pilot)
        monkeypatch.setattr(ImportScreen, "_show_progress", show_progress)
        [batch] = batches(sqlite_database)
        assert batch.status is ImportBatchStatus.STAGING
        assert 0 < batch.row_count < 3000
        assert "press r to resume" in text_of(screen, "#import-progress-note")
        assert "status STAGING" in text_of(screen, "#import-summary")

        await pilot.press("r")
        await settle(pilot)
        assert "rows 3,000 │ valid 2,970 │ errors 30" in text_of(screen, "#import-summary")
        [batch] = batches(sqlite_database)
        assert batch.status is ImportBatchStatus.STAGED
        assert row_numbers(sqlite_database, batch.id) == list(range(1, 3001))
        await pilot.press("n")  # 30 problem rows fit one page: no next page
        await settle(pilot)
        assert "page 1" in text_of(screen, "#import-problems-note")


@drive
async def test_an_empty_or_header_only_file_is_refused(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_casino(sqlite_database)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "head.csv").write_text(",".join(VENDOR_HEADER) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_file(pilot, "empty.csv")
        assert "Refused" in text_of(screen, "#import-facts")
        assert "empty.csv is empty (0 bytes)" in text_of(screen, "#import-facts")
        assert any("IMPORT_FILE_EMPTY" in n or "empty" in n for n in notifications(app))

        await pilot.press("f", *"head.csv", "enter")
        await settle(pilot)
        assert "has a header but no rows" in text_of(screen, "#import-facts")
        await pilot.press("s")
        await settle(pilot)
        assert "header but no rows" in text_of(screen, "#import-progress-note")
        assert batches(sqlite_database) == []


@drive
async def test_only_import_roles_have_the_import_mode(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("f5")
        await settle(pilot)
        assert not isinstance(app.screen, ImportScreen)
        assert not app.may_open("import")
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ImportScreen)
