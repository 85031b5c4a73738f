"""The player import's results and progress reports: what the Import screen and CLI show.

Plain pydantic models (frozen), so a worker thread can hand them to the UI thread as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from pitterm.domain.import_rows import ImportField, ImportMapping
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome, ImportRowStatus


class ImportPhase(StrEnum):
    SCANNING = "scanning"
    """Reading the whole file once: its hash and its encoding."""
    STAGING = "staging"
    EXECUTING = "executing"


class ImportProgress(BaseModel):
    """Where a long import operation is; ``fraction`` drives a progress bar."""

    model_config = ConfigDict(frozen=True)

    phase: ImportPhase
    batch_id: uuid.UUID | None = None
    rows_done: int = 0
    rows_error: int = 0
    rows_total: int | None = None
    """Known when executing (the batch's row count); unknown while a file is staged."""
    bytes_done: int = 0
    bytes_total: int = 0

    @property
    def fraction(self) -> float | None:
        if self.rows_total:
            return min(1.0, self.rows_done / self.rows_total)
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        return None


ProgressCallback = Callable[[ImportProgress], None]
StopCheck = Callable[[], bool]


class RowProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    column: str | None
    """The file column at fault, or None when the whole row is."""
    reason: str


class BatchInfo(BaseModel):
    """A batch as screens and the CLI show it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    file_name: str
    file_size: int
    content_sha256: str
    encoding: str
    encoding_note: str | None
    delimiter: str
    header: list[str]
    mapping: ImportMapping
    status: ImportBatchStatus
    row_count: int
    """Rows staged so far, with or without errors (also the last staged row's number)."""
    error_count: int
    created_count: int
    linked_count: int
    skipped_count: int
    failure_reason: str | None
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    staged_at: datetime | None
    executed_by: uuid.UUID | None
    executed_at: datetime | None

    @property
    def staged_count(self) -> int:
        """Rows that passed validation (and will be created or linked on execution)."""
        return self.row_count - self.error_count

    @property
    def pending_count(self) -> int:
        """Rows still waiting for an execution outcome."""
        return self.row_count - self.created_count - self.linked_count - self.skipped_count


class StageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch: BatchInfo
    resumed_from_row: int
    """0 for a fresh import; else the number of rows already staged when this run began."""
    completed: bool
    """False when ``should_stop`` ended the run early: importing the file again resumes it."""


class ExecuteResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch: BatchInfo
    is_existing: bool
    """True when the batch had already been executed: nothing was changed."""
    completed: bool


class PreviewRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    row_number: int
    line_number: int
    cells: list[str]
    """The record's cells as read (shortened, control characters made visible)."""
    status: ImportRowStatus | None
    """None when no usable mapping was given."""
    values: dict[str, Any]
    problems: list[RowProblem]


class ImportPreview(BaseModel):
    """The first rows of a file, read as staging would read them: nothing is written."""

    model_config = ConfigDict(frozen=True)

    file_name: str
    file_size: int
    encoding: str
    encoding_note: str | None
    """Set when the encoding was judged from the first bytes only or is not clean UTF-8."""
    delimiter: str
    header: list[str]
    header_problems: list[str]
    suggested_columns: dict[str, ImportField]
    suggested_date_formats: list[str]
    mapping_problem: str | None
    """Why the given mapping cannot be used with this file (None when it can, or none given)."""
    rows: list[PreviewRow]


class RowView(BaseModel):
    """One staged row, with its outcome once executed."""

    model_config = ConfigDict(frozen=True)

    row_number: int
    line_number: int
    status: ImportRowStatus
    problems: list[RowProblem]
    raw_values: dict[str, str]
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    email: str | None
    phone: str | None
    loyalty_card_number: str | None
    imported_tier: str | None
    imported_points_balance: int | None
    imported_last_activity_at: datetime | None
    outcome: ImportOutcome | None
    outcome_reason: str | None
    player_id: uuid.UUID | None


class RowPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[RowView]
    next_after: int | None
    """Pass as ``after_row`` for the next page; None on the last page."""


class ProblemLine(BaseModel):
    """One line of the error report: a staging error, or why execution skipped a row."""

    model_config = ConfigDict(frozen=True)

    row_number: int
    line_number: int
    column: str | None
    reason: str
    value: str | None


class ProblemPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    problems: list[ProblemLine]
    next_after: int | None
