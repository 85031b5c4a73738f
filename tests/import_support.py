"""Helpers for the player-import tests: mappings, CSV files, and reading staged rows back."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from pitterm.domain import imports
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.tables import ImportRow

HEADER = [
    "First Name",
    "Last Name",
    "DOB",
    "Email",
    "Phone",
    "Card",
    "Tier",
    "Points",
    "Last Visit",
]
MAPPING: dict[str, Any] = {
    "columns": {
        "First Name": "first_name",
        "Last Name": "last_name",
        "DOB": "date_of_birth",
        "Email": "email",
        "Phone": "phone",
        "Card": "loyalty_card_number",
        "Tier": "imported_tier",
        "Points": "imported_points_balance",
        "Last Visit": "imported_last_activity_at",
    },
    "date_formats": ["%Y-%m-%d"],
}
MAPPING_TOML = """\
date_formats = ["%Y-%m-%d"]

[columns]
"First Name" = "first_name"
"Last Name" = "last_name"
DOB = "date_of_birth"
Email = "email"
Phone = "phone"
Card = "loyalty_card_number"
Tier = "imported_tier"
Points = "imported_points_balance"
"Last Visit" = "imported_last_activity_at"
"""
RITA = ["Rita", "Hayworth", "1970-05-17", "rita@example.com", "702-555-0100", "C-1001", "Gold"]
RITA += ["1200", "2026-10-01"]


FIRST_NAMES = ["Rita", "Ray", "Ada", "Lena", "Omar", "Mei", "José", "Zoë", "Ivan", "Aisha"]


def player_row(n: int, *, bad: bool = False) -> list[str]:
    """Row n of a generated file: unique card and e-mail; ``bad`` rows have negative points."""
    born = date(1940, 1, 1) + timedelta(days=(n * 37) % 20_000)
    points = -n if bad else n * 3
    return [
        FIRST_NAMES[n % len(FIRST_NAMES)],
        "Smith" if n % 2 else "O'Brien",
        born.isoformat(),
        f"p{n}@example.com",
        "",
        f"C-{n:07d}",
        ("Gold", "Silver", "Bronze")[n % 3],
        str(points),
        "2026-09-01",
    ]


def csv_text(
    rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER, delimiter: str = ","
) -> str:
    """Rows joined plainly (no quoting): callers put quotes in the cells they want quoted."""
    lines = [delimiter.join(header), *(delimiter.join(r) for r in rows)]
    return "\n".join(lines) + "\n"


def write_csv(
    path: Path,
    rows: Iterable[Sequence[str]],
    header: Sequence[str] = HEADER,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    path.write_bytes(csv_text(rows, header, delimiter).encode(encoding))
    return path


def generate(path: Path, count: int, *, bad_every: int = 0) -> Path:
    """A file of ``count`` generated players; every ``bad_every``-th row has an error."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        for n in range(1, count + 1):
            bad = bool(bad_every) and n % bad_every == 0
            out.write(",".join(player_row(n, bad=bad)) + "\n")
    return path


def row_numbers(database: Database, batch_id: object) -> list[int]:
    with database.raw() as conn:
        return list(
            conn.scalars(
                select(ImportRow.row_number)
                .where(ImportRow.batch_id == batch_id)
                .order_by(ImportRow.row_number)
            )
        )


def row_count(database: Database) -> int:
    with database.raw() as conn:
        return conn.scalar(select(func.count()).select_from(ImportRow)) or 0


def stage_sample(database: Database, actor: Actor) -> imports.StageResult:
    """Stage a two-row file (one good row, one error row) into the actor's casino.

    For tests that need rows in import_batch and import_row (tenancy's populate()).
    """
    folder = Path(tempfile.mkdtemp(prefix="pitterm-import-"))
    bad = [*RITA[:7], "-5", RITA[8]]
    bad[5] = f"C-{actor.casino_id.hex[:8].upper()}"
    path = write_csv(folder / "sample.csv", [RITA, bad])
    try:
        return imports.stage_file(database.uow(actor), actor, path, MAPPING)
    finally:
        path.unlink()
        folder.rmdir()
