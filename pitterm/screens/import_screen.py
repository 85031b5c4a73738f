"""Import mode (DESIGN §8): pick a CSV file, map its columns, preview, stage, execute.

Three panes in one mode screen. *File & mapping*: the file's detected encoding and
delimiter, a table of its columns each with the pitterm field it feeds (cycled by keys),
the date formats, and the first rows read as staging would read them — re-previewed in a
worker on every change. *Batch*: staging or execution progress (a worker the cancel key
stops after its current chunk; a cancelled import resumes with a key), the batch's counts
and its problem rows a page at a time, the error report and execution. *Batches*: the
casino's earlier batches, to reopen one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, DataTable, Input, Label, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from pitterm.domain import imports
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.errors import DomainError
from pitterm.domain.import_models import (
    BatchInfo,
    ImportPhase,
    ImportPreview,
    ImportProgress,
    ProblemPage,
    RowProblem,
)
from pitterm.domain.import_rows import ImportField
from pitterm.domain.import_status import ImportBatchStatus
from pitterm.screens.base import ModeScreen
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.import_modals import ReportPathModal
from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.literal import literal

PREVIEW_ROWS = 50
"""Rows the mapping pane previews."""
PROBLEM_PAGE = 50
"""Problem rows per page of the batch pane."""
MAX_CELL_WIDTH = 30
"""Widest a preview column grows; the highlighted row's problems are shown in full below."""
PROBLEMS_WIDTH = 26
FIELD_CYCLE: tuple[ImportField | None, ...] = (None, *ImportField)
"""What a column can feed, in the order the cycle key walks it (None: ignored)."""

SETUP, BATCH, BATCHES = "import-setup", "import-batch", "import-batches"
_PANE_ACTIONS = {
    SETUP: {"next_field", "unmap", "focus_dates", "toggle_view", "stage"},
    BATCH: {"resume", "execute", "report", "next_page", "previous_page", "back"},
    BATCHES: {"back"},
}


class ImportScreen(ModeScreen):
    """Player CSV import: mapping and preview, staging, the batch and its problems."""

    HELP = """
    Import a legacy player file (CSV). Type the file's path, map each column to a pitterm
    field and check the preview, as read or normalised. Staging loads the whole file into a
    batch in chunks you can cancel and resume; nothing is created yet. The batch then shows
    its counts and problem rows, page by page, and writes them to an error report. Executing
    creates or links a player for every good row. Earlier batches can be reopened.
    """

    MODE_NAME = "import"
    MODE_TITLE = "Import"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "focus_file", "File", id="import.file", tooltip="Type the CSV file's path."),
        Binding(
            "space",
            "next_field",
            "Next field",
            id="import.next_field",
            tooltip="Map the selected column to the next pitterm field no other column feeds.",
        ),
        Binding(
            "u",
            "unmap",
            "Ignore column",
            id="import.unmap",
            tooltip="Map the selected column to nothing: it is not imported.",
        ),
        Binding(
            "d",
            "focus_dates",
            "Date formats",
            id="import.dates",
            tooltip="Edit the date formats (strptime, comma-separated) tried on date cells.",
        ),
        Binding(
            "v",
            "toggle_view",
            "Raw/normalised",
            id="import.view",
            tooltip="Show the preview's cells as read, or normalised under the mapping.",
        ),
        Binding(
            "s",
            "stage",
            "Stage",
            id="import.stage",
            tooltip="Stage the whole file into a batch with this mapping (nothing is created"
            " until the batch is executed).",
        ),
        Binding(
            "c",
            "cancel_run",
            "Cancel",
            id="import.cancel",
            tooltip="Stop staging or execution after the current chunk; resume it later.",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            id="import.resume",
            tooltip="Resume staging this batch from the file in the path box.",
        ),
        Binding(
            "e",
            "execute",
            "Execute",
            id="import.execute",
            tooltip="Create or link a player for every staged row of the batch.",
        ),
        Binding(
            "w",
            "report",
            "Error report",
            id="import.report",
            tooltip="Write the batch's problem rows to a CSV file.",
        ),
        Binding(
            "n",
            "next_page",
            "Next page",
            id="import.next_page",
            tooltip="The next page of problem rows.",
        ),
        Binding(
            "p",
            "previous_page",
            "Prev page",
            id="import.previous_page",
            tooltip="The previous page of problem rows.",
        ),
        Binding(
            "b",
            "batches",
            "Batches",
            id="import.batches",
            tooltip="The casino's import batches; Enter reopens one.",
        ),
        Binding(
            "escape",
            "back",
            "Mapping",
            id="import.back",
            tooltip="Back to the file and its mapping.",
        ),
    ]

    chunk_rows: int = imports.STAGE_CHUNK
    """Rows per staging transaction (tests make it small to cancel mid-file)."""

    switcher = getters.query_one("#import-panes", ContentSwitcher)
    path_input = getters.query_one("#import-path", Input)
    facts = getters.query_one("#import-facts", Static)
    mapping_grid = getters.query_one("#import-mapping", DataTable)
    dates_input = getters.query_one("#import-date-formats", Input)
    preview_note = getters.query_one("#import-preview-note", Static)
    preview_grid = getters.query_one("#import-preview", DataTable)
    row_problems = getters.query_one("#import-row-problems", Static)
    progress_bar = getters.query_one("#import-progress", ProgressBar)
    progress_note = getters.query_one("#import-progress-note", Static)
    summary = getters.query_one("#import-summary", Static)
    problems_note = getters.query_one("#import-problems-note", Static)
    problems_grid = getters.query_one("#import-problems", DataTable)
    batches_grid = getters.query_one("#import-batch-list", DataTable)

    def __init__(self) -> None:
        super().__init__()
        self.path: Path | None = None
        """The file being mapped (and staged from)."""
        self.header: list[str] = []
        self.columns: list[ImportField | None] = []
        """The pitterm field of each header column, by position."""
        self.date_formats: list[str] = []
        self.last_preview: ImportPreview | None = None
        self.raw_view = False
        """Preview the cells as read instead of normalised."""
        self.current_batch: BatchInfo | None = None
        """The batch the batch pane shows."""
        self._page_starts: list[int] = [0]
        """after_row of each problem page visited, for the previous-page key."""
        self._next_after: int | None = None
        self._long_run: Worker[None] | None = None
        self._stop = threading.Event()

    # -- layout -------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with ContentSwitcher(initial=SETUP, id="import-panes"):
            with Vertical(id=SETUP):
                with Horizontal(id="import-file-row"):
                    yield Label("CSV file")
                    yield Input(placeholder="path to the vendor export (Enter)", id="import-path")
                # File names, headers and cells are whatever the file held: never markup.
                yield Static(
                    "Press f, type the path of a CSV file and press Enter to preview it;"
                    " b lists earlier batches.",
                    id="import-facts",
                    markup=False,
                )
                with Horizontal(id="import-setup-body"):
                    with Vertical(id="import-mapping-side"):
                        yield DataTable(id="import-mapping", cursor_type="row")
                        with Horizontal(id="import-dates-row"):
                            yield Label("Dates")
                            yield Input(id="import-date-formats")
                    with Vertical(id="import-preview-side"):
                        yield Static("", id="import-preview-note", markup=False)
                        yield DataTable(id="import-preview", cursor_type="row", zebra_stripes=True)
                        yield Static("", id="import-row-problems", markup=False)
            with Vertical(id=BATCH):
                yield Static("", id="import-summary", markup=False)
                yield ProgressBar(total=100, id="import-progress", show_eta=False)
                yield Static("", id="import-progress-note", markup=False)
                yield Static("", id="import-problems-note", markup=False)
                yield DataTable(id="import-problems", cursor_type="row", zebra_stripes=True)
            with Vertical(id=BATCHES):
                yield Static(
                    "Import batches of this casino, newest first.", id="import-batches-note"
                )
                yield DataTable(id="import-batch-list", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        fixed_columns(
            self.mapping_grid,
            Col("File column", "column", 12),
            Col("pitterm field", "field", 19),
            Col("First value", "sample", 11),
        )
        fixed_columns(
            self.problems_grid,
            Col("Row", "row", 7),
            Col("Line", "line", 7),
            Col("Column", "column", 12),
            Col("Reason", "reason", 70),
            Col("Value", "value", 10),
        )
        fixed_columns(
            self.batches_grid,
            Col("Created", "created", 16),
            Col("File", "file", 24),
            Col("Status", "status", 9),
            Col("Rows", "rows", 9),
            Col("Errors", "errors", 9),
            Col("Created", "players_created", 9),
            Col("Linked", "linked", 9),
            Col("Skipped", "skipped", 9),
        )
        self.progress_bar.display = False
        self.mapping_grid.focus()

    # -- keys per pane ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        pane = self.switcher.current or SETUP
        if action == "cancel_run":
            return self._long_run is not None
        if action == "back" and pane == SETUP:
            # Escape leaves the path or date box for the mapping table.
            return isinstance(self.focused, Input)
        if action in {"batches", "focus_file"}:
            return self._long_run is None
        owners = [p for p, actions in _PANE_ACTIONS.items() if action in actions]
        if not owners:
            return True
        if pane not in owners:
            return False
        if self._long_run is not None and action in {"stage", "resume", "execute"}:
            return None
        batch = self.current_batch
        if action == "resume":
            return batch is not None and batch.status is ImportBatchStatus.STAGING
        if action == "execute":
            return batch is not None and batch.status in {
                ImportBatchStatus.STAGED,
                ImportBatchStatus.EXECUTING,
            }
        if action == "report":
            return batch is not None
        if action == "next_page":
            return self._next_after is not None or None
        if action == "previous_page":
            return len(self._page_starts) > 1 or None
        return True

    def _show_pane(self, pane: str) -> None:
        self.switcher.current = pane
        self.refresh_bindings()
        focus = {SETUP: self.mapping_grid, BATCH: self.problems_grid, BATCHES: self.batches_grid}
        focus[pane].focus()

    def action_back(self) -> None:
        if self._long_run is None:
            self._show_pane(SETUP)

    # -- file and preview ---------------------------------------------------------------

    def action_focus_file(self) -> None:
        if self._long_run is not None:
            return
        self._show_pane(SETUP)
        self.path_input.focus()
        self.path_input.select_all()  # typing replaces the old path

    @on(Input.Submitted, "#import-path")
    def _file_chosen(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.facts.update("Type the path of a CSV file first.")
            return
        self.path = Path(text).expanduser()
        self.header, self.columns, self.date_formats = [], [], []
        self.facts.update(f"Reading {self.path.name}…")
        self.mapping_grid.focus()
        self.run_preview(self.session.database, self.session.signed_in(), self.path, None)

    def _mapping(self) -> dict[str, Any]:
        return {
            "columns": {
                column: field.value
                for column, field in zip(self.header, self.columns, strict=True)
                if field is not None
            },
            "date_formats": self.date_formats or ["%Y-%m-%d"],
        }

    def _repreview(self) -> None:
        if self.path is not None and self.header:
            self.preview_note.update("Previewing with the new mapping…")
            self.run_preview(
                self.session.database, self.session.signed_in(), self.path, self._mapping()
            )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="import-preview",
        description="Preview the CSV file",
    )
    def run_preview(
        self, database: Database, actor: Actor, path: Path, mapping: dict[str, Any] | None
    ) -> None:
        try:
            first = imports.preview(database.reader(actor), actor, path, mapping, rows=PREVIEW_ROWS)
            if mapping is None and first.suggested_columns:
                # A fresh file: start from the suggested mapping and show it normalised.
                suggested = {
                    "columns": {c: f.value for c, f in first.suggested_columns.items()},
                    "date_formats": first.suggested_date_formats,
                }
                shown = imports.preview(
                    database.reader(actor), actor, path, suggested, rows=PREVIEW_ROWS
                )
            else:
                shown = first
        except DomainError as error:
            self.app.call_from_thread(self._refused, error)
            raise
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_preview, shown, mapping is None)

    def _refused(self, error: DomainError) -> None:
        self.facts.update(f"Refused — {error}")
        self.facts.add_class("-refused")

    def _show_preview(self, preview: ImportPreview, fresh: bool) -> None:
        self.last_preview = preview
        if fresh:
            self.header = list(preview.header)
            self.columns = [preview.suggested_columns.get(c) for c in self.header]
            self.date_formats = list(preview.suggested_date_formats)
            self.dates_input.value = ", ".join(self.date_formats)
        self.facts.remove_class("-refused")
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
            preview.delimiter, repr(preview.delimiter)
        )
        facts = [
            preview.file_name,
            f"{preview.file_size:,} bytes",
            f"encoding {preview.encoding}",
            f"delimiter {delimiter}",
            f"{len(preview.header)} columns",
        ]
        lines = [" │ ".join(facts)]
        if preview.encoding_note:
            lines.append(preview.encoding_note)
        lines += [f"Header: {problem}" for problem in preview.header_problems]
        if not preview.rows:
            lines.append(
                f"Refused — {preview.file_name} has a header but no rows; nothing to import."
            )
            self.facts.add_class("-refused")
        self.facts.update("\n".join(lines))
        self._fill_mapping()
        self._fill_preview()

    def _fill_mapping(self) -> None:
        grid = self.mapping_grid
        row = grid.cursor_row
        grid.clear()
        first = (
            self.last_preview.rows[0].cells if self.last_preview and self.last_preview.rows else []
        )
        for index, (column, field) in enumerate(zip(self.header, self.columns, strict=True)):
            grid.add_row(
                literal(column),
                field.label if field is not None else "— ignored —",
                literal(first[index] if index < len(first) else ""),
                key=str(index),
            )
        if self.header:
            grid.move_cursor(row=min(row, len(self.header) - 1))

    def _fill_preview(self) -> None:
        preview = self.last_preview
        grid = self.preview_grid
        grid.clear(columns=True)
        if preview is None:
            return
        errors = sum(1 for r in preview.rows if r.problems)
        if preview.mapping_problem:
            self.preview_note.update(f"Mapping not usable yet — {preview.mapping_problem}")
            self.preview_note.add_class("-refused")
        else:
            self.preview_note.update(
                f"First {len(preview.rows)} rows, {errors} with problems"
                f" ({'as read' if self.raw_view else 'normalised'}; v switches)."
            )
            self.preview_note.remove_class("-refused")
        normalised = not self.raw_view and preview.mapping_problem is None
        mapped = [
            (column, field)
            for column, field in zip(self.header, self.columns, strict=True)
            if field is not None
        ]
        labels = [field.label for _, field in mapped] if normalised else list(preview.header)
        rows: list[list[str]] = []
        for row in preview.rows:
            if normalised and row.problems:
                # An error row has no normalised values: show its mapped cells as read.
                by_column = dict(zip(preview.header, row.cells, strict=False))
                cells = [by_column.get(column, "") for column, _ in mapped]
            elif normalised:
                cells = [_shown(row.values.get(field.value)) for _, field in mapped]
            else:
                cells = [*row.cells, *[""] * (len(preview.header) - len(row.cells))]
                cells = cells[: len(preview.header)]
            rows.append(
                [
                    str(row.row_number),
                    row.status.value if row.status is not None else "",
                    _problems_text(row.problems),
                    *cells,
                ]
            )
        for index, label in enumerate(["Row", "Status", "Problems", *labels]):
            widest = max([len(label), *(len(r[index]) for r in rows)])
            cap = PROBLEMS_WIDTH if index == 2 else MAX_CELL_WIDTH
            grid.add_column(literal(label), key=str(index), width=min(widest, cap))
        for row, cells in zip(preview.rows, rows, strict=True):
            grid.add_row(*map(literal, cells), key=str(row.row_number))
        self._show_row_problems()

    @on(DataTable.RowHighlighted, "#import-preview")
    def _show_row_problems(self) -> None:
        preview = self.last_preview
        index = self.preview_grid.cursor_row
        if preview is None or not 0 <= index < len(preview.rows):
            self.row_problems.update("")
            return
        row = preview.rows[index]
        self.row_problems.update(
            f"Row {row.row_number} (line {row.line_number}): {_problems_text(row.problems)}"
            if row.problems
            else f"Row {row.row_number} (line {row.line_number}): no problems."
        )

    # -- mapping keys -------------------------------------------------------------------

    def _selected_column(self) -> int | None:
        if not self.header:
            self.notify("Preview a file first (f, type its path, Enter).", severity="warning")
            return None
        return min(max(self.mapping_grid.cursor_row, 0), len(self.header) - 1)

    def action_next_field(self) -> None:
        index = self._selected_column()
        if index is None:
            return
        # Walk to the next field no other column feeds (or back to ignored).
        taken = {f for i, f in enumerate(self.columns) if i != index and f is not None}
        start = FIELD_CYCLE.index(self.columns[index])
        for step in range(1, len(FIELD_CYCLE) + 1):
            candidate = FIELD_CYCLE[(start + step) % len(FIELD_CYCLE)]
            if candidate not in taken:
                self._set_field(index, candidate)
                return

    def action_unmap(self) -> None:
        index = self._selected_column()
        if index is not None:
            self._set_field(index, None)

    def _set_field(self, index: int, field: ImportField | None) -> None:
        if field is not None:
            # A field is fed by one column: taking it from another column unmaps that one.
            self.columns = [None if f is field else f for f in self.columns]
        self.columns[index] = field
        self._fill_mapping()
        self._repreview()

    def action_focus_dates(self) -> None:
        self.dates_input.focus()

    @on(Input.Submitted, "#import-date-formats")
    def _dates_changed(self, event: Input.Submitted) -> None:
        formats = [f.strip() for f in event.value.split(",") if f.strip()]
        self.date_formats = formats
        self.mapping_grid.focus()
        self._repreview()

    def action_toggle_view(self) -> None:
        self.raw_view = not self.raw_view
        self._fill_preview()

    # -- staging and execution ----------------------------------------------------------

    def _progress(self) -> Callable[[ImportProgress], None]:
        return lambda report: self.app.call_from_thread(self._show_progress, report)

    def _should_stop(self) -> Callable[[], bool]:
        worker = get_current_worker()
        return lambda: self._stop.is_set() or worker.is_cancelled

    def _begin_run(self, note: str) -> None:
        self._stop.clear()
        self._show_pane(BATCH)
        self.progress_bar.display = True
        self.progress_bar.update(total=None, progress=0)
        self.progress_note.update(note)

    def _end_run(self) -> None:
        self._long_run = None
        self.progress_bar.display = False
        self.refresh_bindings()

    def action_stage(self) -> None:
        if self._long_run is not None or self.path is None or not self.header:
            if self.path is None or not self.header:
                self.notify("Preview a file first (f, type its path, Enter).", severity="warning")
            return
        if self.last_preview is not None and self.last_preview.mapping_problem:
            self.notify(
                f"Fix the mapping first: {self.last_preview.mapping_problem}", severity="error"
            )
            return
        self.current_batch = None
        self.summary.update(f"Staging {self.path.name}…")
        self._clear_problems()
        self._begin_run("Reading the file…")
        self._long_run = self.run_stage(
            self.session.database, self.session.signed_in(), self.path, self._mapping(), None
        )
        self.refresh_bindings()

    def action_resume(self) -> None:
        batch = self.current_batch
        if self._long_run is not None or batch is None:
            return
        text = self.path_input.value.strip()
        if not text:
            self.notify("Type the batch's file in the path box (f) to resume.", severity="warning")
            return
        self._begin_run(f"Resuming after row {batch.row_count:,}…")
        self._long_run = self.run_stage(
            self.session.database,
            self.session.signed_in(),
            Path(text).expanduser(),
            None,
            batch.id,
        )
        self.refresh_bindings()

    @work(thread=True, exit_on_error=False, group="import-run", description="Stage the CSV file")
    def run_stage(
        self,
        database: Database,
        actor: Actor,
        path: Path,
        mapping: dict[str, Any] | None,
        batch_id: uuid.UUID | None,
    ) -> None:
        try:
            if batch_id is None:
                assert mapping is not None
                result = imports.stage_file(
                    database.uow(actor),
                    actor,
                    path,
                    mapping,
                    progress=self._progress(),
                    should_stop=self._should_stop(),
                    chunk_rows=self.chunk_rows,
                )
            else:
                result = imports.resume_batch(
                    database.uow(actor),
                    actor,
                    batch_id,
                    path,
                    progress=self._progress(),
                    should_stop=self._should_stop(),
                    chunk_rows=self.chunk_rows,
                )
        except BaseException as error:
            self.app.call_from_thread(self._run_failed, error)
            raise
        note = (
            f"Staged {result.batch.row_count:,} rows."
            if result.completed
            else f"Cancelled after row {result.batch.row_count:,}: press r to resume."
        )
        if result.resumed_from_row and result.completed:
            note = f"Resumed after row {result.resumed_from_row:,}. " + note
        self.app.call_from_thread(self._run_done, result.batch, note)

    def action_execute(self) -> None:
        batch = self.current_batch
        if self._long_run is not None or batch is None:
            return

        def answered(yes: bool | None) -> None:
            if yes and self._long_run is None:
                self._begin_run("Creating and linking players…")
                self._long_run = self.run_execute(
                    self.session.database, self.session.signed_in(), batch.id
                )
                self.refresh_bindings()

        self.app.push_screen(
            ConfirmScreen(
                "Execute the batch",
                f"Create or link a player for each of the {batch.staged_count:,} valid rows of"
                f" {batch.file_name}? The {batch.error_count:,} error rows are skipped."
                " Imported points never reach the ledger.",
                confirm_label="Execute",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="import-run", description="Execute the batch")
    def run_execute(self, database: Database, actor: Actor, batch_id: uuid.UUID) -> None:
        try:
            result = imports.execute_batch(
                database.uow(actor),
                actor,
                batch_id,
                progress=self._progress(),
                should_stop=self._should_stop(),
            )
        except BaseException as error:
            self.app.call_from_thread(self._run_failed, error)
            raise
        b = result.batch
        if result.is_existing:
            note = "Already executed: nothing was changed."
        elif result.completed:
            note = (
                f"Executed: {b.created_count:,} created, {b.linked_count:,} linked,"
                f" {b.skipped_count:,} skipped."
            )
        else:
            note = f"Cancelled with {b.pending_count:,} rows pending: press e to continue."
        self.app.call_from_thread(self._run_done, b, note)

    def action_cancel_run(self) -> None:
        if self._long_run is not None:
            self._stop.set()
            self.progress_note.update("Cancelling after the current chunk…")

    def _show_progress(self, report: ImportProgress) -> None:
        fraction = report.fraction
        if fraction is None:
            self.progress_bar.update(total=None)
        else:
            self.progress_bar.update(total=100, progress=round(fraction * 100, 1))
        if report.phase is ImportPhase.SCANNING:
            note = f"Scanning the file: {report.bytes_done:,} of {report.bytes_total:,} bytes"
        elif report.phase is ImportPhase.STAGING:
            note = f"Staging: {report.rows_done:,} rows, {report.rows_error:,} with errors"
        else:
            note = f"Executing: {report.rows_done:,} of {report.rows_total or 0:,} rows"
        self.progress_note.update(note)

    def _run_failed(self, error: BaseException) -> None:
        self._end_run()
        self.progress_note.update(f"Refused — {error}" if isinstance(error, DomainError) else "")
        if self.current_batch is None:
            self.summary.update("Nothing was staged.")

    def _run_done(self, batch: BatchInfo, note: str) -> None:
        self._end_run()
        self.progress_note.update(note)
        self.open_batch(batch.id)

    # -- the batch pane -----------------------------------------------------------------

    def open_batch(self, batch_id: uuid.UUID, after_row: int = 0) -> None:
        """Show a batch's summary and a page of its problem rows."""
        self.load_batch(self.session.database, self.session.signed_in(), batch_id, after_row)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="import-batch",
        description="Read the import batch",
    )
    def load_batch(
        self, database: Database, actor: Actor, batch_id: uuid.UUID, after_row: int
    ) -> None:
        batch = imports.get_batch(database.reader(actor), actor, batch_id)
        page = imports.list_problems(
            database.reader(actor), actor, batch_id, after_row=after_row, limit=PROBLEM_PAGE
        )
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_batch, batch, page, after_row)

    def _show_batch(self, batch: BatchInfo, page: ProblemPage, after_row: int) -> None:
        if self.current_batch is None or self.current_batch.id != batch.id:
            self._page_starts = [0]
        self.current_batch = batch
        if after_row == 0:
            self._page_starts = [0]
        elif after_row not in self._page_starts:
            self._page_starts.append(after_row)
        self._next_after = page.next_after
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
            batch.delimiter, batch.delimiter
        )
        self.summary.update(
            f"{batch.file_name} │ {batch.file_size:,} bytes │ {batch.encoding} │"
            f" delimiter {delimiter} │ status {batch.status.value.upper()}\n"
            f"rows {batch.row_count:,} │ valid {batch.staged_count:,} │"
            f" errors {batch.error_count:,} │ created {batch.created_count:,} │"
            f" linked {batch.linked_count:,} │ skipped {batch.skipped_count:,} │"
            f" pending {batch.pending_count:,}"
            + (f"\nFailed: {batch.failure_reason}" if batch.failure_reason else "")
        )
        grid = self.problems_grid
        grid.clear()
        for index, line in enumerate(page.problems):
            grid.add_row(
                str(line.row_number),
                str(line.line_number),
                literal(line.column or "(row)"),
                literal(line.reason),
                literal(line.value or ""),
                key=f"{line.row_number}:{index}",
            )
        page_no = len(self._page_starts)
        more = "; n: next page" if page.next_after is not None else ""
        back = "; p: previous page" if page_no > 1 else ""
        self.problems_note.update(
            f"Problems, page {page_no} ({len(page.problems)} lines){more}{back}"
            if page.problems
            else "No problem rows."
        )
        if self.switcher.current != BATCH:
            self._show_pane(BATCH)
        self.refresh_bindings()

    def _clear_problems(self) -> None:
        self.problems_grid.clear()
        self.problems_note.update("")
        self._page_starts, self._next_after = [0], None

    def action_next_page(self) -> None:
        if self.current_batch is not None and self._next_after is not None:
            self.open_batch(self.current_batch.id, self._next_after)

    def action_previous_page(self) -> None:
        if self.current_batch is not None and len(self._page_starts) > 1:
            self._page_starts.pop()
            self.open_batch(self.current_batch.id, self._page_starts[-1])

    def action_report(self) -> None:
        batch = self.current_batch
        if batch is None:
            return
        suggested = Path.cwd() / f"{Path(batch.file_name).stem}-errors-{batch.id.hex[:8]}.csv"

        def written(result: tuple[Path, int] | None) -> None:
            if result is not None:
                path, lines = result
                self.notify(f"Wrote {lines:,} problem lines to {path}", title="Error report")

        self.app.push_screen(ReportPathModal(batch.id, suggested), written)

    # -- the batches pane ---------------------------------------------------------------

    def action_batches(self) -> None:
        if self._long_run is not None:
            return
        self._show_pane(BATCHES)
        self.load_batches(self.session.database, self.session.signed_in())

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="import-batches",
        description="List the import batches",
    )
    def load_batches(self, database: Database, actor: Actor) -> None:
        batches = imports.list_batches(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_batches, batches)

    def _show_batches(self, batches: list[BatchInfo]) -> None:
        grid = self.batches_grid
        grid.clear()
        for b in batches:
            grid.add_row(
                f"{b.created_at:%Y-%m-%d %H:%M}",
                literal(b.file_name),
                b.status.value,
                f"{b.row_count:,}",
                f"{b.error_count:,}",
                f"{b.created_count:,}",
                f"{b.linked_count:,}",
                f"{b.skipped_count:,}",
                key=str(b.id),
            )
        if not batches:
            self.query_one("#import-batches-note", Static).update("No import batches yet.")

    @on(DataTable.RowSelected, "#import-batch-list")
    def _batch_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.progress_note.update("")
            self.open_batch(uuid.UUID(event.row_key.value))


def _problems_text(problems: list[RowProblem]) -> str:
    return "; ".join(f"{p.column}: {p.reason}" if p.column else p.reason for p in problems)


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
