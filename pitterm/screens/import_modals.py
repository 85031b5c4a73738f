"""Import mode's dialog: where to write a batch's error report (a CSV of its problem rows)."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from pitterm.domain import imports
from pitterm.screens.forms import FormModal


class ReportPathModal(FormModal[tuple[Path, int]]):
    """Asks for a path and writes the batch's error report there; dismisses with (path, lines)."""

    HELP = """
    Write the batch's problem rows to a CSV error report: type where, and save. Each line
    names the file's row and what is wrong with it, to fix at the source.
    """

    TITLE = "Write the error report"
    DESCRIPTION = "Write the import error report"
    FIELD_IDS = {"path": "import-report-path"}

    def __init__(self, batch_id: uuid.UUID, suggested: Path) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.suggested = suggested

    def compose_fields(self) -> ComposeResult:
        yield Static(
            "One line per problem: row, line, column, reason, value (formula-safe CSV).",
            classes="dialog-body",
        )
        yield Label("File")
        yield Input(str(self.suggested), id="import-report-path")

    def submit(self) -> None:
        text = self.query_one("#import-report-path", Input).value.strip()
        if not text:
            raise ValueError("path: enter the file to write")
        path = Path(text).expanduser()
        if path.is_dir():
            raise ValueError(f"path: {path} is a folder; name a file in it")
        if not path.parent.is_dir():
            raise ValueError(f"path: the folder {path.parent} does not exist")
        session = self.session
        actor = session.signed_in()
        batch_id = self.batch_id

        def write() -> tuple[Path, int]:
            with path.open("w", encoding="utf-8", newline="") as out:
                lines = imports.write_problem_report(session.reader(), actor, batch_id, out)
            return path, lines

        self.call_service(write, self.dismiss)
