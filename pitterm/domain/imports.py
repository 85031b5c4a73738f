"""Player CSV import (DESIGN §8): preview, staging and execution of a batch.

Staging streams the file (``import_file``), applies the batch's mapping to each record
(``import_rows``) and writes rows in chunks, one transaction per chunk, together with the
batch's counts. The counts are the resume point: an import interrupted at any moment — a
cancelled worker, a killed process — starts again after the last committed row, so every
row is staged exactly once (and the key (batch_id, row_number) would refuse a second).

A file is identified by its content hash within the casino: importing the same bytes again
resumes the unfinished batch, or is refused once it has been staged. Execution resolves
each staged row to a player exactly (loyalty card number, else e-mail with date of birth),
creates or links, and records the outcome on the row — again in resumable chunks, and a
second execution changes nothing. Loyalty fields stay on the staged rows for tier
reconciliation; imported points are never written to the ledger.

Long operations take ``progress`` (called after every committed chunk) and ``should_stop``
(checked after every chunk: a screen's worker cancellation) so the Import screen can show a
progress bar and cancel; a cancelled import resumes later like an interrupted one.
"""

from __future__ import annotations

import operator
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

from psycopg.abc import Buffer
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exc,
    func,
    insert,
    select,
    update,
)

from pitterm.domain import audit, reconciliation
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, require
from pitterm.domain.casinos import load_settings
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import Tier
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.import_columns import (
    BINARY_FIELDS,
    DATE_OID,
    SLOW_COLUMNS,
    ChunkStager,
    StagedChunk,
)
from pitterm.domain.import_file import (
    Block,
    Chunk,
    CsvStream,
    FileFacts,
    Record,
    detect_delimiter,
    sample_facts,
    scan_file,
)
from pitterm.domain.import_models import (
    BatchInfo,
    ExecuteResult,
    ImportPhase,
    ImportPreview,
    ImportProgress,
    PreviewRow,
    ProblemLine,
    ProblemPage,
    ProgressCallback,
    RowPage,
    RowProblem,
    RowView,
    StageResult,
    StopCheck,
)
from pitterm.domain.import_rows import (
    FIELD_NAMES,
    ImportField,
    ImportMapping,
    RowRules,
    mapping_from_toml,
    parse_mapping,
    shown,
    suggest_date_formats,
    suggest_mapping,
)
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome, ImportRowStatus
from pitterm.domain.tables import ImportBatch, ImportRow, Player, PlayerLoyalty

__all__ = [
    "BatchInfo",
    "ExecuteResult",
    "ImportField",
    "ImportMapping",
    "ImportPhase",
    "ImportPreview",
    "ImportProgress",
    "PreviewRow",
    "ProblemLine",
    "ProblemPage",
    "ProgressCallback",
    "RowPage",
    "RowProblem",
    "RowView",
    "StageResult",
    "StopCheck",
    "execute_batch",
    "find_batch",
    "get_batch",
    "iter_problems",
    "list_batches",
    "list_problems",
    "list_rows",
    "mapping_from_toml",
    "parse_mapping",
    "preview",
    "resume_batch",
    "stage_file",
    "write_problem_report",
]

STAGE_CHUNK = 10_000
"""Rows per staging transaction: a few milliseconds of per-transaction work, amortised; on
Postgres the statement's new rows (about 2.5 MB) stay in memory for the trigger that checks
their batch (work_mem, 4 MB by default)."""
EXECUTE_CHUNK = 500
"""Rows per execution transaction."""
PREVIEW_ROWS = 20
PAGE_LIMIT = 1_000
REPORT_HEADER = ("row", "line", "column", "reason", "value")
_DONE = (ImportBatchStatus.STAGED, ImportBatchStatus.EXECUTING, ImportBatchStatus.EXECUTED)


# --- preview ------------------------------------------------------------------------------


def preview(
    uow: UnitOfWork,
    actor: Actor,
    path: Path | str,
    mapping: ImportMapping | dict[str, Any] | None = None,
    *,
    rows: int = PREVIEW_ROWS,
) -> ImportPreview:
    """Detect encoding and delimiter, read the header and the first ``rows`` records, and
    show them normalised under ``mapping`` (or under nothing: cells only, with a suggested
    mapping to start from). Reads only the file's beginning; writes nothing.
    """
    require(actor, Capability.IMPORT_RECONCILE)
    path = Path(path)
    parsed: ImportMapping | None = None
    mapping_problem: str | None = None
    if mapping is not None:
        try:
            parsed = parse_mapping(mapping)
        except DomainError as error:
            mapping_problem = error.message
    facts = sample_facts(path, encoding=parsed.encoding if parsed else None)
    delimiter = (parsed.delimiter if parsed else None) or detect_delimiter(path, facts.encoding)
    with uow:
        time_zone = ZoneInfo(load_settings(uow, actor.casino_id).time_zone)
        now = uow.now()
    with CsvStream(path, facts.encoding, delimiter) as stream:
        header = stream.header
        header_problems = _duplicate_columns(header)
        rules: RowRules | None = None
        if parsed is not None:
            try:
                _check_header(header, parsed)
                rules = RowRules(parsed, header, time_zone=time_zone, now=now)
            except DomainError as error:
                mapping_problem = error.message
        shown_rows: list[PreviewRow] = []
        date_samples: list[str] = []
        suggested = suggest_mapping(header)
        date_columns = [
            header.index(c)
            for c, f in suggested.items()
            if f in (ImportField.DATE_OF_BIRTH, ImportField.IMPORTED_LAST_ACTIVITY_AT)
        ]
        for record in stream.records():
            if record.row_number > rows:
                break
            cells = [shown(c) for c in record.fields] if record.fields is not None else []
            if record.fields is not None:
                date_samples += [record.fields[i] for i in date_columns if i < len(record.fields)]
            if rules is None:
                problems = (
                    [RowProblem(column=None, reason=record.problem)] if record.problem else []
                )
                shown_rows.append(
                    PreviewRow(
                        row_number=record.row_number,
                        line_number=record.line_number,
                        cells=cells,
                        status=ImportRowStatus.ERROR if record.problem else None,
                        values={},
                        problems=problems,
                    )
                )
                continue
            result = (
                rules.apply(record.fields)
                if record.fields is not None
                else rules.refuse(record.problem or "the row cannot be read")
            )
            shown_rows.append(
                PreviewRow(
                    row_number=record.row_number,
                    line_number=record.line_number,
                    cells=cells,
                    status=result.status,
                    values={k: v for k, v in result.values.items() if v is not None},
                    problems=[RowProblem.model_validate(e) for e in result.errors],
                )
            )
    return ImportPreview(
        file_name=path.name,
        file_size=facts.size,
        encoding=facts.encoding,
        encoding_note=facts.encoding_note,
        delimiter=delimiter,
        header=header,
        header_problems=header_problems,
        suggested_columns=suggested,
        suggested_date_formats=suggest_date_formats(date_samples),
        mapping_problem=mapping_problem,
        rows=shown_rows,
    )


# --- staging ------------------------------------------------------------------------------


def stage_file(
    uow: UnitOfWork,
    actor: Actor,
    path: Path | str,
    mapping: ImportMapping | dict[str, Any],
    *,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    chunk_rows: int = STAGE_CHUNK,
) -> StageResult:
    """Stage a CSV file into a new batch, or resume this file's unfinished batch.

    File-level problems (unreadable, empty, header only, UTF-16, a mapping that does not fit
    the header) are refused before anything is written. The same content already staged in
    this casino is refused (IMPORT_ALREADY_IMPORTED); an unfinished batch of it resumes
    after its last committed row, with the mapping it started with (a different mapping is
    refused: IMPORT_MAPPING_CONFLICT).
    """
    require(actor, Capability.IMPORT_RECONCILE)
    mapping = parse_mapping(mapping)
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")

    def scanned(done: int, total: int) -> None:
        _emit(
            progress, ImportProgress(phase=ImportPhase.SCANNING, bytes_done=done, bytes_total=total)
        )

    facts = scan_file(path, encoding=mapping.encoding, progress=scanned)
    with uow:
        existing = uow.session.scalar(
            select(ImportBatch).where(
                ImportBatch.casino_id == actor.casino_id,
                ImportBatch.content_sha256 == facts.sha256,
            )
        )
        known = _info(existing) if existing is not None else None
    if known is not None and known.status is not ImportBatchStatus.FAILED:
        if known.status in _DONE:
            raise DomainError(
                ErrorCode.IMPORT_ALREADY_IMPORTED,
                f"{facts.name} was already imported into this casino as batch {known.id}"
                f" ({known.status.value}, {known.row_count:,} rows); nothing was changed.",
                batch_id=str(known.id),
            )
        if known.mapping != mapping:
            raise DomainError(
                ErrorCode.IMPORT_MAPPING_CONFLICT,
                f"{facts.name} is half imported as batch {known.id} with another mapping;"
                " resume it with the mapping it started with.",
                batch_id=str(known.id),
            )
        return _stage(uow, actor, path, known.id, progress, should_stop, chunk_rows)

    delimiter = mapping.delimiter or detect_delimiter(path, facts.encoding)
    with CsvStream(path, facts.encoding, delimiter) as stream:
        _check_header(stream.header, mapping)
        if next(stream.records(), None) is None:
            raise DomainError(
                ErrorCode.IMPORT_FILE_NO_ROWS,
                f"{facts.name} has a header but no rows; nothing to import.",
            )
        header = stream.header
    if known is not None:
        batch_id = _restart(uow, actor, known.id, facts, delimiter, header, mapping)
    else:
        batch_id = _create(uow, actor, facts, delimiter, header, mapping)
    return _stage(uow, actor, path, batch_id, progress, should_stop, chunk_rows)


def resume_batch(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    path: Path | str,
    *,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    chunk_rows: int = STAGE_CHUNK,
) -> StageResult:
    """Resume staging ``batch_id`` from ``path`` with the batch's own mapping.

    The file must be the one the batch started from (same content hash).
    """
    require(actor, Capability.IMPORT_RECONCILE)
    batch = get_batch(uow, actor, batch_id)
    if batch.status is not ImportBatchStatus.STAGING:
        raise DomainError(
            ErrorCode.IMPORT_ALREADY_IMPORTED
            if batch.status in _DONE
            else ErrorCode.IMPORT_BATCH_FAILED,
            f"Batch {batch.id} is {batch.status.value}; there is nothing to resume.",
            batch_id=str(batch.id),
        )
    path = Path(path)
    facts = scan_file(path, encoding=batch.mapping.encoding)
    if facts.sha256 != batch.content_sha256:
        raise DomainError(
            ErrorCode.IMPORT_FILE_CHANGED,
            f"{path.name} is not the file batch {batch.id} was started from (its content"
            " differs); nothing was changed.",
            batch_id=str(batch.id),
        )
    return _stage(uow, actor, path, batch.id, progress, should_stop, chunk_rows)


def _check_header(header: list[str], mapping: ImportMapping) -> None:
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header, start=1):
        positions.setdefault(name, []).append(index)
    missing = [column for column in mapping.columns if column not in positions]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        named = [repr(h[:40]) for h in header if h]
        have = ", ".join(named[:20]) + (f" and {len(named) - 20} more" if len(named) > 20 else "")
        raise DomainError(
            ErrorCode.IMPORT_MAPPING_INVALID,
            f"The mapping names {names}, which the file's header does not have; the header"
            f" has {have}.",
            missing=missing,
        )
    for column in mapping.columns:
        if len(positions[column]) > 1:
            where = " and ".join(str(i) for i in positions[column])
            raise DomainError(
                ErrorCode.IMPORT_HEADER_INVALID,
                f"Column {column!r} appears more than once in the header (columns {where});"
                " which one to import is ambiguous.",
                column=column,
            )


def _duplicate_columns(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, name in enumerate(header, start=1):
        if name in seen:
            problems.append(f"column {index} repeats the name {name!r} (column {seen[name]})")
        else:
            seen[name] = index
    return problems


def _create(
    uow: UnitOfWork,
    actor: Actor,
    facts: FileFacts,
    delimiter: str,
    header: list[str],
    mapping: ImportMapping,
) -> uuid.UUID:
    batch_id = uuid.uuid4()
    try:
        with uow:
            now = uow.now()
            uow.session.add(
                ImportBatch(
                    id=batch_id,
                    casino_id=actor.casino_id,
                    file_name=facts.name[:255],
                    file_size=facts.size,
                    content_sha256=facts.sha256,
                    encoding=facts.encoding,
                    encoding_note=facts.encoding_note,
                    delimiter=delimiter,
                    header=header,
                    mapping=mapping.model_dump(mode="json"),
                    status=ImportBatchStatus.STAGING,
                    row_count=0,
                    error_count=0,
                    created_count=0,
                    linked_count=0,
                    skipped_count=0,
                    created_by=actor.staff_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.session.flush()
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="import.staging_started",
                entity_type="import_batch",
                entity_id=batch_id,
                after=_provenance(facts, delimiter, mapping),
            )
            uow.commit()
    except exc.IntegrityError as error:
        raise _in_progress(facts.name) from error
    return batch_id


def _restart(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    facts: FileFacts,
    delimiter: str,
    header: list[str],
    mapping: ImportMapping,
) -> uuid.UUID:
    """A failed batch of this content starts over, under the new mapping."""
    with uow:
        batch = _lock(uow, actor, batch_id)
        if batch.status is not ImportBatchStatus.FAILED:
            raise _in_progress(facts.name)
        uow.session.execute(delete(ImportRow).where(ImportRow.batch_id == batch_id))
        before = {"status": batch.status.value, "failure_reason": batch.failure_reason}
        batch.status = ImportBatchStatus.STAGING
        batch.failure_reason = None
        batch.row_count = batch.error_count = 0
        batch.encoding, batch.encoding_note = facts.encoding, facts.encoding_note
        batch.delimiter, batch.header = delimiter, header
        batch.mapping = mapping.model_dump(mode="json")
        batch.created_by = actor.staff_id
        batch.updated_at = uow.now()
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="import.staging_restarted",
            entity_type="import_batch",
            entity_id=batch_id,
            before=before,
            after=_provenance(facts, delimiter, mapping),
        )
        uow.commit()
    return batch_id


def _provenance(facts: FileFacts, delimiter: str, mapping: ImportMapping) -> dict[str, Any]:
    return {
        "file_name": facts.name,
        "file_size": facts.size,
        "content_sha256": facts.sha256,
        "encoding": facts.encoding,
        "encoding_note": facts.encoding_note,
        "delimiter": delimiter,
        "mapping": mapping.model_dump(mode="json"),
    }


def _stage(
    uow: UnitOfWork,
    actor: Actor,
    path: Path,
    batch_id: uuid.UUID,
    progress: ProgressCallback | None,
    should_stop: StopCheck | None,
    chunk_rows: int,
) -> StageResult:
    with uow:
        batch = _info(_lock(uow, actor, batch_id))
        time_zone = ZoneInfo(load_settings(uow, actor.casino_id).time_zone)
        now = uow.now()
        resumed_from = batch.row_count
        if resumed_from:
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="import.staging_resumed",
                entity_type="import_batch",
                entity_id=batch_id,
                after={"after_row": resumed_from},
            )
            uow.commit()
    done = (resumed_from, batch.error_count)
    with CsvStream(path, batch.encoding, batch.delimiter) as stream:
        if stream.header != batch.header:
            raise DomainError(
                ErrorCode.IMPORT_FILE_CHANGED,
                f"{path.name}'s header is not the one batch {batch_id} started with.",
            )
        rules = RowRules(batch.mapping, stream.header, time_zone=time_zone, now=now)
        # Postgres takes each chunk as column texts from the column-wise fast path; SQLite
        # (demo mode) gets the row-by-row reference as rows to insert.
        stager = ChunkStager(rules) if uow.dialect == "postgresql" else None
        writer = _ChunkWriter(
            uow, actor, batch, done, progress, should_stop, threaded=stager is not None
        )
        with writer:
            for chunk in stream.chunks(chunk_rows):
                rest = _after_row(chunk, resumed_from)
                if rest is None:
                    continue
                staged = _staged_rows(batch_id, actor.casino_id, rules, stager, rest)
                if not writer.submit(staged, stream.bytes_read):
                    break
            done = writer.finish()
        if writer.stopped:
            return StageResult(
                batch=get_batch(uow, actor, batch_id),
                resumed_from_row=resumed_from,
                completed=False,
            )
        digest, read = stream.sha256(), stream.bytes_read
    if digest != batch.content_sha256 or read != batch.file_size:
        _fail(uow, actor, batch_id, "the file changed while it was being imported")
        raise DomainError(
            ErrorCode.IMPORT_FILE_CHANGED,
            f"{path.name} changed while it was being imported; the batch's rows were removed."
            " Import the file again once it is final.",
            batch_id=str(batch_id),
        )
    _emit(progress, _staging(batch, *done, batch.file_size))
    with uow:
        row = _lock(uow, actor, batch_id)
        if row.status is ImportBatchStatus.STAGING:
            row.status = ImportBatchStatus.STAGED
            row.staged_at = row.updated_at = uow.now()
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="import.staged",
                entity_type="import_batch",
                entity_id=batch_id,
                after={"row_count": row.row_count, "error_count": row.error_count},
            )
        final = _info(row)
        uow.commit()
    return StageResult(batch=final, resumed_from_row=resumed_from, completed=True)


def _staging(batch: BatchInfo, rows: int, errors: int, read: int) -> ImportProgress:
    return ImportProgress(
        phase=ImportPhase.STAGING,
        batch_id=batch.id,
        rows_done=rows,
        rows_error=errors,
        bytes_done=min(read, batch.file_size),
        bytes_total=batch.file_size,
    )


def _after_row(chunk: Chunk, row: int) -> Chunk | None:
    """The chunk's rows after ``row`` (those a resumed import has not staged yet)."""
    if isinstance(chunk, Block):
        if chunk.first_row > row:
            return chunk
        skip = row - chunk.first_row + 1
        return chunk.after(skip) if skip < chunk.row_count else None
    if chunk[0].row_number > row:
        return chunk
    rest = [record for record in chunk if record.row_number > row]
    return rest or None


STAGED_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "row_number",
    "casino_id",
    "line_number",
    "status",
    "errors",
    "raw_values",
    *FIELD_NAMES,
)
"""The import_row columns staging writes, in the order ``_staged_row`` builds them."""
_STATUS_AT = STAGED_COLUMNS.index("status")
_ERROR = ImportRowStatus.ERROR.value
_FIELDS_OF = operator.itemgetter(*FIELD_NAMES)
_CASTS = {
    "date_of_birth": "::date",
    "imported_points_balance": "::bigint",
    "imported_last_activity_at": "::timestamptz",
}
"""The types' own input functions read the fields' texts, as on any insert of text."""
_STAGED, _ERROR_TEXT = ImportRowStatus.STAGED.value, ImportRowStatus.ERROR.value
_FAST_COLUMNS = ", ".join(
    f"unnest(%(fast_{n})s{_CASTS[n]}[]) AS {n}"
    if n in BINARY_FIELDS
    else f"unnest(string_to_array(%(fast_{n})s, E'\\n', '')) AS {n}"
    for n in FIELD_NAMES
)
_SLOW_ARRAYS = ", ".join(
    f"%(slow_{n})s::{'integer' if n in ('row_number', 'line_number') else 'text'}[]"
    for n in SLOW_COLUMNS
)
_INSERT_STAGED = (
    f"INSERT INTO import_row (batch_id, casino_id, status, {', '.join(SLOW_COLUMNS)})"
    " SELECT * FROM ("
    f" SELECT %(batch)s, %(casino)s, '{_STAGED}', %(first_row)s + f.n - 1,"
    " COALESCE((%(lines)s::integer[])[f.n], %(first_line)s + f.n - 1),"
    " '[]'::jsonb, '{}'::jsonb, "
    + ", ".join(f"f.{n}{'' if n in BINARY_FIELDS else _CASTS.get(n, '')}" for n in FIELD_NAMES)
    # Set-returning functions in a select list run in step (the shorter padded with nulls),
    # without the tuple store a function scan in FROM fills: a third of the source's cost.
    + f" FROM (SELECT {_FAST_COLUMNS}, generate_series(1, %(fast_rows)s) AS n) f"
    " WHERE f.n <> ALL (%(skip)s::integer[])"
    " UNION ALL"
    " SELECT %(batch)s, %(casino)s,"
    f" CASE WHEN s.errors IS NULL THEN '{_STAGED}' ELSE '{_ERROR_TEXT}' END,"
    " s.row_number, s.line_number,"
    " COALESCE(s.errors::jsonb, '[]'::jsonb), COALESCE(s.raw_values::jsonb, '{}'::jsonb), "
    + ", ".join(f"s.{n}{_CASTS.get(n, '')}" for n in FIELD_NAMES)
    + f" FROM unnest({_SLOW_ARRAYS}) AS s({', '.join(SLOW_COLUMNS)})"
    ") AS chunk WHERE EXISTS (SELECT FROM counted)"
)
"""The chunk's rows: the fast ones from their column texts (split by the database, numbered
by their position), the others from their values."""
_STAGE_CHUNK = (
    "WITH counted AS ("
    " UPDATE import_batch SET row_count = row_count + %(count)s,"
    " error_count = error_count + %(errors)s, updated_at = %(now)s"
    " WHERE id = %(batch)s AND casino_id = %(casino)s AND status = %(staging)s"
    " AND row_count = %(expected)s"
    " RETURNING row_count, error_count"
    f"), staged AS ({_INSERT_STAGED})"
    " SELECT row_count, error_count, set_config('synchronous_commit', 'off', true)"
    " FROM counted"
)
"""One statement per chunk (one round trip): the batch's counts advance and the rows go in
only if the batch holds exactly the rows this run expects. Losing the last few commits to a
server crash is harmless (synchronous_commit off): the rows and the count go together, and
the import resumes from whatever survived."""


@dataclass(frozen=True)
class _Chunk:
    """A chunk of records, staged: column texts (Postgres) or rows to insert (SQLite)."""

    count: int
    errors: int
    staged: StagedChunk | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def _staged_rows(
    batch_id: uuid.UUID,
    casino_id: uuid.UUID,
    rules: RowRules,
    stager: ChunkStager | None,
    chunk: Chunk,
) -> _Chunk:
    if stager is not None:
        staged = stager.stage(chunk)
        return _Chunk(staged.count, staged.errors, staged=staged)
    records = chunk.records() if isinstance(chunk, Block) else chunk
    rows = [_staged_row(batch_id, casino_id, rules, record) for record in records]
    errors = sum(1 for r in rows if r[_STATUS_AT] == _ERROR)
    return _Chunk(
        len(rows), errors, rows=[dict(zip(STAGED_COLUMNS, row, strict=True)) for row in rows]
    )


def _staged_row(
    batch_id: uuid.UUID, casino_id: uuid.UUID, rules: RowRules, record: Record
) -> tuple[Any, ...]:
    if record.fields is None:
        result = rules.refuse(record.problem or "the row cannot be read")
    else:
        result = rules.apply(record.fields)
    values = result.values
    return (
        batch_id,
        record.row_number,
        casino_id,
        record.line_number,
        result.status.value,
        result.errors,
        result.raw,
        *_FIELDS_OF(values),
    )


def _commit_chunk(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    expected: int,
    chunk: _Chunk,
) -> tuple[int, int]:
    """Insert a chunk of rows and advance the batch's counts, in one transaction.

    The count moves only if the batch is still staging and holds exactly the rows this run
    expects (the update also locks the batch row): otherwise another terminal is staging
    the same batch, and this run stops rather than race it.
    """
    with uow:
        if chunk.staged is not None:
            found = _stage_chunk(uow, actor, batch_id, expected, chunk.staged)
            if found is None:
                raise _in_progress(f"batch {batch_id}")
            uow.commit()
            return found
        counts = uow.session.execute(
            update(ImportBatch)
            .where(
                ImportBatch.id == batch_id,
                ImportBatch.casino_id == actor.casino_id,
                ImportBatch.status == ImportBatchStatus.STAGING,
                ImportBatch.row_count == expected,
            )
            .values(
                row_count=ImportBatch.row_count + chunk.count,
                error_count=ImportBatch.error_count + chunk.errors,
                updated_at=uow.now(),
            )
            .returning(ImportBatch.row_count, ImportBatch.error_count)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if counts is None:
            raise _in_progress(f"batch {batch_id}")
        uow.session.connection().execute(insert(ImportRow), chunk.rows)
        uow.commit()
    return counts[0], counts[1]


class _ChunkWriter:
    """Commits a batch's staged chunks in order, each with the batch's counts.

    On Postgres it writes in a thread of its own, so that the next chunk is read and checked
    while this one is written: Python's work and the database's overlap, and at most two
    chunks are in hand at once. On SQLite it writes inline. Either way, after each commit —
    before the next one starts — ``progress`` is told and ``should_stop`` asked: a callback
    that fails or asks to stop leaves exactly the chunks committed so far, as sequential
    staging would, and the failure is raised to the caller.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        actor: Actor,
        batch: BatchInfo,
        done: tuple[int, int],
        progress: ProgressCallback | None,
        should_stop: StopCheck | None,
        *,
        threaded: bool,
    ) -> None:
        self.uow, self.actor, self.batch = uow, actor, batch
        self.done = done
        self.progress, self.should_stop = progress, should_stop
        self.stopped = False
        """Set when ``should_stop`` asked to stop: later chunks are not written."""
        self._failure: BaseException | None = None
        self._queue: queue.Queue[tuple[_Chunk, int] | None] = queue.Queue(maxsize=1)
        self._thread = (
            threading.Thread(target=self._run, name="import-stage-writer", daemon=True)
            if threaded
            else None
        )

    def __enter__(self) -> _ChunkWriter:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Always ends the thread; on the caller's own failure, nothing more is written."""
        if self._thread is not None and self._thread.is_alive():
            self.stopped = self.stopped or exc_info[0] is not None
            self._queue.put(None)
            self._thread.join()

    def submit(self, chunk: _Chunk, bytes_read: int) -> bool:
        """Hand a chunk over (waiting while another is queued); False once writing stopped."""
        self._raise()
        if self.stopped:
            return False
        if self._thread is None:
            self._write(chunk, bytes_read)
        else:
            self._queue.put((chunk, bytes_read))
        self._raise()
        return not self.stopped

    def finish(self) -> tuple[int, int]:
        """Wait until every chunk handed over is written; the batch's counts then."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()
        return self.done

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.stopped or self._failure is not None:
                continue  # drain without writing, so that the caller never blocks
            try:
                self._write(*item)
            except BaseException as error:  # re-raised in the caller's thread
                self._failure = error

    def _write(self, chunk: _Chunk, bytes_read: int) -> None:
        self.done = _commit_chunk(self.uow, self.actor, self.batch.id, self.done[0], chunk)
        _emit(self.progress, _staging(self.batch, *self.done, bytes_read))
        if self.should_stop is not None and self.should_stop():
            self.stopped = True

    def _raise(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure


def _stage_chunk(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, expected: int, staged: StagedChunk
) -> tuple[int, int] | None:
    """Postgres: a chunk's rows in one INSERT … SELECT, its fields as column texts (the
    dates as binary arrays), with the batch's counts; None if the batch is not as expected.

    COPY is not allowed into a table under row-level security; one statement per chunk,
    with a handful of parameters whatever its size, comes close. The rows are checked by
    import_row's policy, constraints and triggers like any other. Few round trips matter:
    the writer thread waits for the interpreter at each one while the next chunk is read.
    """
    driver = uow.session.connection().connection.driver_connection
    if driver is None:
        raise RuntimeError("no database connection")  # pragma: no cover
    fast = {
        name: (_DateArray if BINARY_FIELDS.get(name) == DATE_OID else _InstantArray)(value)
        if isinstance(value, bytes)
        else value
        for name, value in (staged.fast or {}).items()
    }
    for kind, dumper in ((_DateArray, _DateArrayDumper), (_InstantArray, _InstantArrayDumper)):
        driver.adapters.register_dumper(kind, dumper)
    params: dict[str, Any] = {
        "batch": batch_id,
        "casino": actor.casino_id,
        "count": staged.count,
        "errors": staged.errors,
        "expected": expected,
        "now": uow.now(),
        "staging": ImportBatchStatus.STAGING.value,
        "first_row": staged.first_row,
        "first_line": staged.first_line,
        "lines": staged.lines,
        "fast_rows": staged.count if staged.fast is not None else 0,
        "skip": staged.skip,
        **{f"fast_{name}": fast.get(name) for name in FIELD_NAMES},
        **{f"slow_{name}": values for name, values in zip(SLOW_COLUMNS, staged.slow, strict=True)},
    }
    with driver.cursor() as cursor:
        cursor.execute(_STAGE_CHUNK, params)
        counts = cursor.fetchone()
    return None if counts is None else (counts[0], counts[1])


class _DateArray(bytes):
    """A date[] in Postgres's binary array format (ChunkStager builds it)."""


class _InstantArray(bytes):
    """A timestamptz[] in Postgres's binary array format."""


class _DateArrayDumper(Dumper):
    format = Format.BINARY
    oid = 1182  # date[]

    def dump(self, obj: Any) -> Buffer:
        return cast(bytes, obj)


class _InstantArrayDumper(Dumper):
    format = Format.BINARY
    oid = 1185  # timestamptz[]

    def dump(self, obj: Any) -> Buffer:
        return cast(bytes, obj)


def _fail(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, reason: str) -> None:
    with uow:
        batch = _lock(uow, actor, batch_id)
        uow.session.execute(delete(ImportRow).where(ImportRow.batch_id == batch_id))
        before = {"status": batch.status.value, "row_count": batch.row_count}
        batch.status = ImportBatchStatus.FAILED
        batch.failure_reason = reason
        batch.row_count = batch.error_count = 0
        batch.updated_at = uow.now()
        audit.record(
            uow,
            casino_id=actor.casino_id,
            staff_id=actor.staff_id,
            action="import.staging_failed",
            entity_type="import_batch",
            entity_id=batch_id,
            before=before,
            after={"status": batch.status.value, "failure_reason": reason},
        )
        uow.commit()


def _in_progress(name: str) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_IN_PROGRESS,
        f"{name} is being imported by another terminal right now; try again when it is done.",
    )


# --- execution ----------------------------------------------------------------------------


def execute_batch(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    *,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    chunk_rows: int = EXECUTE_CHUNK,
) -> ExecuteResult:
    """Create or link a player for every staged row; skip error rows, with the reason.

    Identity is exact: the loyalty card number, else the e-mail with the date of birth.
    A card match links; one e-mail + birth-date match links unless that player holds a
    different card (skipped: a conflict for a person to settle); several matches are
    skipped as ambiguous; no match creates the player with a loyalty account (no points:
    imported balances stay on the staged row). Resumable and idempotent: an executed batch
    is returned unchanged with ``is_existing``.
    """
    require(actor, Capability.IMPORT_RECONCILE)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    with uow:
        batch = _lock(uow, actor, batch_id)
        if batch.status is ImportBatchStatus.EXECUTED:
            return ExecuteResult(batch=_info(batch), is_existing=True, completed=True)
        if batch.status is ImportBatchStatus.STAGING:
            raise DomainError(
                ErrorCode.IMPORT_BATCH_NOT_STAGED,
                f"Batch {batch.id} is still staging ({batch.row_count:,} rows so far); finish"
                " the import (import the same file again) before executing it.",
                batch_id=str(batch.id),
            )
        if batch.status is ImportBatchStatus.FAILED:
            raise DomainError(
                ErrorCode.IMPORT_BATCH_FAILED,
                f"Batch {batch.id} failed ({batch.failure_reason}); it cannot be executed.",
                batch_id=str(batch.id),
            )
        if batch.status is ImportBatchStatus.STAGED:
            batch.status = ImportBatchStatus.EXECUTING
            batch.executed_by = actor.staff_id
            batch.updated_at = uow.now()
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="import.execution_started",
                entity_type="import_batch",
                entity_id=batch.id,
                before={"status": ImportBatchStatus.STAGED.value},
                after={"status": ImportBatchStatus.EXECUTING.value, "rows": batch.row_count},
            )
        cursor = (
            uow.session.scalar(
                select(func.max(ImportRow.row_number)).where(
                    ImportRow.batch_id == batch_id, ImportRow.outcome.is_not(None)
                )
            )
            or 0
        )
        total = batch.row_count
        uow.commit()
    while True:
        processed, cursor, done = _execute_chunk(uow, actor, batch_id, cursor, chunk_rows)
        if processed == 0:
            break
        _emit(
            progress,
            ImportProgress(
                phase=ImportPhase.EXECUTING, batch_id=batch_id, rows_done=done, rows_total=total
            ),
        )
        if should_stop is not None and should_stop():
            return ExecuteResult(
                batch=get_batch(uow, actor, batch_id), is_existing=False, completed=False
            )
    with uow:
        batch = _lock(uow, actor, batch_id)
        is_existing = batch.status is ImportBatchStatus.EXECUTED
        if batch.status is ImportBatchStatus.EXECUTING:
            batch.status = ImportBatchStatus.EXECUTED
            batch.executed_at = batch.updated_at = uow.now()
            # Tier reconciliation's queue opens with the execution, atomically (DESIGN §9).
            opened = reconciliation.open_records(uow, actor, batch.id)
            audit.record(
                uow,
                casino_id=actor.casino_id,
                staff_id=actor.staff_id,
                action="import.executed",
                entity_type="import_batch",
                entity_id=batch.id,
                before={"status": ImportBatchStatus.EXECUTING.value},
                after={
                    "status": ImportBatchStatus.EXECUTED.value,
                    "created": batch.created_count,
                    "linked": batch.linked_count,
                    "skipped": batch.skipped_count,
                    "reconciliation_records": opened,
                },
            )
        info = _info(batch)
        uow.commit()
    return ExecuteResult(batch=info, is_existing=is_existing, completed=True)


_MAX_RETRIES = 3


def _execute_chunk(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, cursor: int, limit: int
) -> tuple[int, int, int]:
    """Resolve the next ``limit`` rows after ``cursor``: (rows done, new cursor, total done).

    A player enrolled elsewhere with the same card between look-up and insert makes the
    insert fail on the card's unique index; the chunk is then rolled back and redone, and
    the look-up now finds that player.
    """
    for attempt in range(_MAX_RETRIES):
        try:
            with uow:
                batch = _lock(uow, actor, batch_id)
                if batch.status is not ImportBatchStatus.EXECUTING:
                    return 0, cursor, _outcomes(batch)
                rows = list(
                    uow.session.scalars(
                        select(ImportRow)
                        .where(
                            ImportRow.batch_id == batch_id,
                            ImportRow.row_number > cursor,
                            ImportRow.outcome.is_(None),
                        )
                        .order_by(ImportRow.row_number)
                        .limit(limit)
                    )
                )
                if not rows:
                    return 0, cursor, _outcomes(batch)
                _resolve(uow, actor, batch, rows)
                batch.updated_at = uow.now()
                done = _outcomes(batch)
                uow.commit()
                return len(rows), rows[-1].row_number, done
        except exc.IntegrityError:
            if attempt == _MAX_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _outcomes(batch: ImportBatch) -> int:
    return batch.created_count + batch.linked_count + batch.skipped_count


_ROWS = cast(Table, ImportRow.__table__)
_SET_OUTCOME = (
    update(_ROWS)
    .where(_ROWS.c.batch_id == bindparam("b_batch"), _ROWS.c.row_number == bindparam("b_row"))
    .values(
        outcome=bindparam("b_outcome"),
        outcome_reason=bindparam("b_reason"),
        player_id=bindparam("b_player"),
    )
)

_Person = tuple[str, date | None]
"""(e-mail, date of birth): the second way to know a player exactly."""
_Known = dict[_Person, list[tuple[uuid.UUID, str | None]]]


def _resolve(uow: UnitOfWork, actor: Actor, batch: ImportBatch, rows: list[ImportRow]) -> None:
    """Decide every row's outcome, create the new players, and record it all in bulk."""
    casino_id = actor.casino_id
    by_card, by_person = _known_players(uow, casino_id, rows)
    now = uow.now()
    new_players: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    for row in rows:
        outcome, reason, player_id = _identify(row, by_card, by_person)
        if outcome is ImportOutcome.CREATED:
            player_id = uuid.uuid4()
            new_players.append(_new_player(player_id, casino_id, row, now))
            if row.loyalty_card_number:
                by_card[row.loyalty_card_number] = player_id
            if row.email:
                person = (row.email, row.date_of_birth)
                by_person.setdefault(person, []).append((player_id, row.loyalty_card_number))
            batch.created_count += 1
        elif outcome is ImportOutcome.LINKED:
            batch.linked_count += 1
        else:
            batch.skipped_count += 1
        outcomes.append(
            {
                "b_batch": row.batch_id,
                "b_row": row.row_number,
                "b_outcome": outcome.value,
                "b_reason": reason[:200] if reason else None,
                "b_player": player_id,
            }
        )
    connection = uow.session.connection()
    if new_players:
        connection.execute(insert(Player), new_players)
        connection.execute(
            insert(PlayerLoyalty),
            [
                {
                    "player_id": p["id"],
                    "casino_id": casino_id,
                    "current_balance": 0,
                    "tier": Tier.BRONZE,
                    "updated_at": now,
                }
                for p in new_players
            ],
        )
    connection.execute(_SET_OUTCOME, outcomes)


def _known_players(
    uow: UnitOfWork, casino_id: uuid.UUID, rows: list[ImportRow]
) -> tuple[dict[str, uuid.UUID], _Known]:
    """The casino's players these rows could be, by card and by (e-mail, date of birth)."""
    staged = [r for r in rows if r.status is ImportRowStatus.STAGED]
    cards = {r.loyalty_card_number for r in staged if r.loyalty_card_number}
    emails = {r.email for r in staged if r.email}
    by_card: dict[str, uuid.UUID] = {}
    if cards:
        for card, pid in uow.session.execute(
            select(Player.loyalty_card_number, Player.id).where(
                Player.casino_id == casino_id, Player.loyalty_card_number.in_(cards)
            )
        ):
            if card is not None:
                by_card[card] = pid
    by_person: _Known = {}
    if emails:
        for pid, email, born, card in uow.session.execute(
            select(Player.id, Player.email, Player.date_of_birth, Player.loyalty_card_number)
            .where(Player.casino_id == casino_id, Player.email.in_(emails))
            .order_by(Player.created_at, Player.id)
        ):
            if email is not None:
                by_person.setdefault((email, born), []).append((pid, card))
    return by_card, by_person


def _identify(
    row: ImportRow, by_card: dict[str, uuid.UUID], by_person: _Known
) -> tuple[ImportOutcome, str | None, uuid.UUID | None]:
    """One row's outcome by exact identity; CREATED means no player is this row's person."""
    if row.status is ImportRowStatus.ERROR:
        first = row.errors[0]["reason"] if row.errors else "the row has errors"
        more = f" (and {len(row.errors) - 1} more)" if len(row.errors) > 1 else ""
        return ImportOutcome.SKIPPED, f"not staged: {first}{more}", None
    card = row.loyalty_card_number
    if card and card in by_card:
        return ImportOutcome.LINKED, "matched by loyalty card number", by_card[card]
    if row.email:
        matches = by_person.get((row.email, row.date_of_birth), [])
        if len(matches) > 1:
            reason = f"ambiguous: {len(matches)} players have this e-mail and date of birth"
            return ImportOutcome.SKIPPED, reason, None
        if matches:
            pid, their_card = matches[0]
            if card and their_card and their_card != card:
                reason = (
                    "conflict: the player with this e-mail and date of birth holds card"
                    f" {their_card}, not {card}"
                )
                return ImportOutcome.SKIPPED, reason, None
            return ImportOutcome.LINKED, "matched by e-mail and date of birth", pid
    return ImportOutcome.CREATED, None, None


def _new_player(
    player_id: uuid.UUID, casino_id: uuid.UUID, row: ImportRow, now: datetime
) -> dict[str, Any]:
    """A player from a staged row: every field was checked by enrolment's rules at staging."""
    return {
        "id": player_id,
        "casino_id": casino_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "date_of_birth": row.date_of_birth,
        "email": row.email,
        "phone": row.phone,
        "loyalty_card_number": row.loyalty_card_number,
        "created_at": now,
    }


# --- reading batches ----------------------------------------------------------------------


def get_batch(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> BatchInfo:
    """One batch of the actor's casino (IMPORT_BATCH_NOT_FOUND for any other)."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        batch = uow.session.scalar(
            select(ImportBatch).where(
                ImportBatch.id == batch_id, ImportBatch.casino_id == actor.casino_id
            )
        )
        if batch is None:
            raise _not_found(str(batch_id))
        return _info(batch)


def find_batch(uow: UnitOfWork, actor: Actor, reference: str) -> BatchInfo:
    """A batch by its id or an unambiguous start of it (as the CLI prints them)."""
    require(actor, Capability.IMPORT_RECONCILE)
    wanted = reference.strip().lower()
    try:
        return get_batch(uow, actor, uuid.UUID(wanted))
    except ValueError:
        pass
    if len(wanted.replace("-", "")) < 4:
        raise _not_found(reference)
    with uow:
        ids = uow.session.scalars(
            select(ImportBatch.id).where(ImportBatch.casino_id == actor.casino_id)
        ).all()
    matches = [i for i in ids if str(i).startswith(wanted) or i.hex.startswith(wanted)]
    if len(matches) != 1:
        if matches:
            raise DomainError(
                ErrorCode.IMPORT_BATCH_NOT_FOUND,
                f"{reference!r} starts {len(matches)} batch ids; give more of it.",
            )
        raise _not_found(reference)
    return get_batch(uow, actor, matches[0])


def list_batches(uow: UnitOfWork, actor: Actor, *, limit: int = 50) -> list[BatchInfo]:
    """The casino's batches, newest first."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        batches = uow.session.scalars(
            select(ImportBatch)
            .where(ImportBatch.casino_id == actor.casino_id)
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id)
            .limit(min(limit, PAGE_LIMIT))
        ).all()
        return [_info(b) for b in batches]


def list_rows(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    *,
    after_row: int = 0,
    limit: int = 200,
    status: ImportRowStatus | None = None,
    outcome: ImportOutcome | None = None,
) -> RowPage:
    """A page of a batch's rows in file order (keyset: pass ``next_after`` back)."""
    require(actor, Capability.IMPORT_RECONCILE)
    limit = max(1, min(limit, PAGE_LIMIT))
    with uow:
        _known(uow, actor, batch_id)
        query = (
            select(ImportRow)
            .where(ImportRow.batch_id == batch_id, ImportRow.row_number > after_row)
            .order_by(ImportRow.row_number)
            .limit(limit + 1)
        )
        if status is not None:
            query = query.where(ImportRow.status == status)
        if outcome is not None:
            query = query.where(ImportRow.outcome == outcome)
        found = uow.session.scalars(query).all()
        views = [_view(r) for r in found[:limit]]
    more = len(found) > limit
    return RowPage(rows=views, next_after=views[-1].row_number if more and views else None)


def list_problems(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    *,
    after_row: int = 0,
    limit: int = 500,
) -> ProblemPage:
    """Rows that did not stage, or that execution skipped, one line per reason."""
    require(actor, Capability.IMPORT_RECONCILE)
    limit = max(1, min(limit, PAGE_LIMIT))
    with uow:
        stored = uow.session.scalar(
            select(ImportBatch.mapping).where(
                ImportBatch.id == batch_id, ImportBatch.casino_id == actor.casino_id
            )
        )
        if stored is None:
            raise _not_found(str(batch_id))
        mapping = ImportMapping.model_validate(stored)
        found = uow.session.scalars(
            select(ImportRow)
            .where(
                ImportRow.batch_id == batch_id,
                ImportRow.row_number > after_row,
                (ImportRow.status == ImportRowStatus.ERROR)
                | (ImportRow.outcome == ImportOutcome.SKIPPED),
            )
            .order_by(ImportRow.row_number)
            .limit(limit + 1)
        ).all()
        lines = [line for row in found[:limit] for line in _problem_lines(row, mapping)]
        last = found[min(limit, len(found)) - 1].row_number if found else None
    return ProblemPage(problems=lines, next_after=last if len(found) > limit else None)


def iter_problems(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> Iterator[ProblemLine]:
    """Every problem line of a batch, a page at a time (constant memory)."""
    after = 0
    while True:
        page = list_problems(uow, actor, batch_id, after_row=after, limit=PAGE_LIMIT)
        yield from page.problems
        if page.next_after is None:
            return
        after = page.next_after


def write_problem_report(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, out: TextIO) -> int:
    """The error report as CSV (formula-injection safe); returns the number of lines."""
    get_batch(uow, actor, batch_id)
    out.write(write_rows(REPORT_HEADER, []))
    count = 0
    page: list[tuple[object, ...]] = []
    for line in iter_problems(uow, actor, batch_id):
        page.append((line.row_number, line.line_number, line.column, line.reason, line.value))
        count += 1
        if len(page) >= PAGE_LIMIT:
            out.write(write_rows(None, page))
            page = []
    if page:
        out.write(write_rows(None, page))
    return count


def _problem_lines(row: ImportRow, mapping: ImportMapping) -> list[ProblemLine]:
    if row.status is ImportRowStatus.ERROR:
        return [
            ProblemLine(
                row_number=row.row_number,
                line_number=row.line_number,
                column=e.get("column"),
                reason=str(e.get("reason", "")),
                value=row.raw_values.get(e["column"]) if e.get("column") else None,
            )
            for e in row.errors
        ]
    # Skipped by execution: a card conflict or an ambiguous e-mail + date of birth.
    by_card = bool(row.outcome_reason and "card" in row.outcome_reason)
    target = ImportField.LOYALTY_CARD_NUMBER if by_card else ImportField.EMAIL
    return [
        ProblemLine(
            row_number=row.row_number,
            line_number=row.line_number,
            column=mapping.column_for(target),
            reason=row.outcome_reason or "skipped",
            value=row.loyalty_card_number if by_card else row.email,
        )
    ]


def _view(row: ImportRow) -> RowView:
    return RowView(
        row_number=row.row_number,
        line_number=row.line_number,
        status=row.status,
        problems=[RowProblem.model_validate(e) for e in row.errors],
        raw_values=row.raw_values,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        email=row.email,
        phone=row.phone,
        loyalty_card_number=row.loyalty_card_number,
        imported_tier=row.imported_tier,
        imported_points_balance=row.imported_points_balance,
        imported_last_activity_at=row.imported_last_activity_at,
        outcome=row.outcome,
        outcome_reason=row.outcome_reason,
        player_id=row.player_id,
    )


def _known(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> None:
    found = uow.session.scalar(
        select(ImportBatch.id).where(
            ImportBatch.id == batch_id, ImportBatch.casino_id == actor.casino_id
        )
    )
    if found is None:
        raise _not_found(str(batch_id))


def _lock(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> ImportBatch:
    batch = uow.session.scalar(
        select(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.casino_id == actor.casino_id)
        .with_for_update()
    )
    if batch is None:
        raise _not_found(str(batch_id))
    return batch


def _not_found(reference: str) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_BATCH_NOT_FOUND, f"No import batch {reference} at this casino."
    )


def _info(batch: ImportBatch) -> BatchInfo:
    return BatchInfo(
        id=batch.id,
        file_name=batch.file_name,
        file_size=batch.file_size,
        content_sha256=batch.content_sha256,
        encoding=batch.encoding,
        encoding_note=batch.encoding_note,
        delimiter=batch.delimiter,
        header=batch.header,
        mapping=ImportMapping.model_validate(batch.mapping),
        status=batch.status,
        row_count=batch.row_count,
        error_count=batch.error_count,
        created_count=batch.created_count,
        linked_count=batch.linked_count,
        skipped_count=batch.skipped_count,
        failure_reason=batch.failure_reason,
        created_by=batch.created_by,
        created_at=batch.created_at,
        updated_at=batch.updated_at,
        staged_at=batch.staged_at,
        executed_by=batch.executed_by,
        executed_at=batch.executed_at,
    )


def _emit(progress: ProgressCallback | None, report: ImportProgress) -> None:
    if progress is not None:
        progress(report)
