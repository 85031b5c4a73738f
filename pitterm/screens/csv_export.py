"""The CSV export form: ask where to write, refuse a bad path, write in a worker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, ClassVar, TextIO

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from pitterm.screens.base import session_of
from pitterm.screens.forms import FormModal


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int


class CsvExportForm(FormModal[Exported]):
    """Dismisses with where the file went and how many rows it holds, or None."""

    HELP = """
    Write everything the current filters match (every page, not just the one on screen) to a
    CSV file: type the path and save. Cells a spreadsheet would run as a formula are made
    harmless.
    """

    DESCRIPTION = "Export to CSV"
    FIELD_IDS: ClassVar[dict[str, str]] = {"path": "export-path"}

    def __init__(
        self, title: str, contents: str, default: Path, write: Callable[[TextIO], int]
    ) -> None:
        super().__init__()
        self.title_text = title
        self.contents = contents
        self.default = default
        self.write = write
        """Writes the rows (through a formula-safe domain export) and returns their count."""

    def form_title(self) -> str:
        return self.title_text

    def compose_fields(self) -> ComposeResult:
        yield Static(
            f"{self.contents} Cells that a spreadsheet would run as formulas are written as text.",
            classes="dialog-body",
        )
        with Horizontal(classes="form-row"):
            yield Label("File", classes="form-label")
            yield Input(str(self.default), id="export-path")

    def submit(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            raise ValueError("path: type where to write the file")
        path = Path(text).expanduser()
        if path.is_dir():
            raise ValueError(f"path: {path} is a folder; add a file name")
        if path.exists():
            raise ValueError(f"path: {path} already exists; choose another name")
        if not path.parent.is_dir():
            raise ValueError(f"path: there is no folder {path.parent}")
        write = self.write

        def export() -> Exported:
            with path.open("x", encoding="utf-8", newline="") as out:
                return Exported(path, write(out))

        self.call_service(export, self.dismiss)


def ask_to_export(
    screen: Screen[Any],
    title: str,
    contents: str,
    stem: str,
    write: Callable[[TextIO], int],
    written: Callable[[Exported], None],
) -> None:
    """Open the export form on a file in the home folder, then report what was written.

    The file is named by the terminal's clock, not the system's, so a trainer's simulated time
    names it too.
    """
    now = session_of(screen).database.clock.now()
    default = Path.home() / f"{stem}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"

    def done(result: Exported | None) -> None:
        if result is not None:
            written(result)

    screen.app.push_screen(CsvExportForm(title, contents, default, write), done)
