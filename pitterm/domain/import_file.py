"""Reading a player CSV file: streamed, never loaded whole (DESIGN §8, seed 000's blocker).

Two passes over the bytes. ``scan_file`` hashes the file (sha256, the batch's identity) and
decides its encoding: UTF-8 (with or without a byte-order mark) when every byte decodes,
else Latin-1, reported. ``CsvStream`` then parses it with the stdlib csv reader, one record
at a time, re-hashing what it reads so a file that changes mid-import is noticed. Memory is
bounded by the csv field limit, whatever the file's size.

Staging reads the same stream in chunks (``CsvStream.chunks``): a run of lines that holds
nothing for the csv reader to interpret — no quote, no blank row, exactly one cell per header
column on every line — is split at the delimiter as a whole and handed over column by column
(a ``Block``); any other run goes through the csv reader as records. Both read the same
cells: tests/test_import_file.py checks chunks against records on generated files.

File-level problems (unreadable, empty, UTF-16, no header) raise ``DomainError``; a record
the csv module cannot parse (bad quoting, an oversized cell) becomes a row-level problem and
reading goes on with the next line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, Self

from pydantic import BaseModel, ConfigDict

from pitterm.domain.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

FIELD_SIZE_LIMIT = 128 * 1024
"""Longest cell the csv reader accepts (set process-wide; it is csv's own default, made
explicit). Far beyond any pitterm field, and it bounds how much an unterminated quote can
swallow before the reader gives up on that record and resynchronises on the next line."""
DELIMITERS = ",;\t|"
SNIFF_BYTES = 8 * 1024
"""How much of the file's start csv.Sniffer sees (its heuristics are slow on large samples)."""
SNIFF_LINES = 40
READ_BLOCK = 1 << 20
PREVIEW_BYTES = 64 * 1024
UTF8_BOM = codecs.BOM_UTF8
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252")

_OTHER_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


class FileFacts(BaseModel):
    """What the first pass learnt about a file."""

    model_config = ConfigDict(frozen=True)

    name: str
    size: int
    sha256: str
    encoding: str
    """A Python codec name: utf-8, utf-8-sig (UTF-8 with a byte-order mark) or latin-1."""
    encoding_note: str | None = None
    """Set when the file is not clean UTF-8: what was found and how it is read instead."""


class Record(NamedTuple):
    """One data record: its fields, or why the csv reader could not read it."""

    row_number: int
    line_number: int
    fields: list[str] | None
    problem: str | None = None


_record = partial(tuple.__new__, Record)
"""``Record(...)`` without the Python-level ``__new__`` of a named tuple (a million calls)."""


class Block(NamedTuple):
    """Consecutive data rows, one per file line, read column by column.

    Every row has exactly one cell per header column and is not blank; the block's rows are
    numbered from ``first_row`` and its lines from ``first_line``, one each.
    """

    first_row: int
    first_line: int
    columns: list[list[str]]
    """Per header column, each row's cell as split at the delimiter. The csv reader would
    also drop spaces at a cell's start (``fields`` gives exactly what it reads)."""

    @property
    def row_count(self) -> int:
        return len(self.columns[0])

    def fields(self, index: int) -> list[str]:
        """The cells of the block's ``index``-th row exactly as the csv reader reads them."""
        return [column[index].lstrip(" ") for column in self.columns]

    def record(self, index: int) -> Record:
        return Record(self.first_row + index, self.first_line + index, self.fields(index))

    def records(self) -> Iterator[Record]:
        return map(self.record, range(self.row_count))

    def after(self, skip: int) -> Block:
        """The block without its first ``skip`` rows."""
        return Block(
            self.first_row + skip, self.first_line + skip, [c[skip:] for c in self.columns]
        )


Chunk = Block | list[Record]
"""A chunk of data rows: a plain block, or records the csv reader read."""


def open_binary(path: Path) -> io.BufferedReader:
    try:
        return path.open("rb")
    except FileNotFoundError as error:
        raise DomainError(
            ErrorCode.IMPORT_FILE_UNREADABLE, f"No file at {path}.", path=str(path)
        ) from error
    except IsADirectoryError as error:
        raise DomainError(
            ErrorCode.IMPORT_FILE_UNREADABLE, f"{path} is a folder, not a file.", path=str(path)
        ) from error
    except OSError as error:
        raise DomainError(
            ErrorCode.IMPORT_FILE_UNREADABLE,
            f"{path} cannot be read: {error.strerror or error}.",
            path=str(path),
        ) from error


def scan_file(
    path: Path,
    *,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileFacts:
    """Hash the file and settle its encoding, reading it once in blocks.

    ``encoding`` forces a codec (the mapping's override); otherwise UTF-8 is chosen when the
    whole file decodes, with a byte-order mark when it has one, else Latin-1. UTF-16 and
    UTF-32 files (a BOM, or the NUL bytes every other byte that betray one without) are
    refused: nothing in them would read correctly as either.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad_offset: int | None = None
    size = 0
    try:
        total = path.stat().st_size
    except OSError:
        total = 0
    with open_binary(path) as handle:
        while block := _read(handle, path):
            if size == 0:
                _refuse_wide_encodings(block, path)
            digest.update(block)
            if bad_offset is None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as error:
                    bad_offset = size + error.start
            size += len(block)
            if progress is not None:
                progress(size, max(total, size))
        if bad_offset is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                bad_offset = size - 1
        with_bom = _starts_with_bom(handle)
    if size == 0:
        raise DomainError(ErrorCode.IMPORT_FILE_EMPTY, f"{path.name} is empty (0 bytes).")
    chosen, note = _choose_encoding(encoding, with_bom, bad_offset)
    return FileFacts(
        name=path.name, size=size, sha256=digest.hexdigest(), encoding=chosen, encoding_note=note
    )


def sample_facts(path: Path, *, encoding: str | None = None) -> FileFacts:
    """``scan_file``'s verdict from the first 64 KiB only, for a preview (no hash).

    Staging reads the whole file and may still fall back to Latin-1 for a late bad byte.
    """
    with open_binary(path) as handle:
        sample = _read(handle, path)[:PREVIEW_BYTES]
        size = handle.seek(0, io.SEEK_END)
    if not sample:
        raise DomainError(ErrorCode.IMPORT_FILE_EMPTY, f"{path.name} is empty (0 bytes).")
    _refuse_wide_encodings(sample, path)
    bad_offset: int | None = None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut off by the sample's end is not an encoding error.
        if not (size > len(sample) and error.start >= len(sample) - 3):
            bad_offset = error.start
    chosen, note = _choose_encoding(encoding, sample.startswith(UTF8_BOM), bad_offset)
    if note is None and size > len(sample):
        note = f"Judged from the first {PREVIEW_BYTES // 1024} KiB; the import reads it all."
    return FileFacts(name=path.name, size=size, sha256="", encoding=chosen, encoding_note=note)


def _read(handle: BinaryIO, path: Path) -> bytes:
    try:
        return handle.read(READ_BLOCK)
    except OSError as error:
        raise DomainError(
            ErrorCode.IMPORT_FILE_UNREADABLE,
            f"{path.name} could not be read to the end: {error.strerror or error}.",
        ) from error


def _starts_with_bom(handle: BinaryIO) -> bool:
    handle.seek(0)
    return handle.read(len(UTF8_BOM)) == UTF8_BOM


def _refuse_wide_encodings(block: bytes, path: Path) -> None:
    for bom, name in _OTHER_BOMS.items():
        if block.startswith(bom):
            raise _wide(path, name, "its byte-order mark")
    head = block[:4096]
    if len(head) >= 16 and head.count(0) * 4 >= len(head):
        raise _wide(path, "UTF-16", "NUL bytes between its characters")


def _wide(path: Path, name: str, evidence: str) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_ENCODING_UNSUPPORTED,
        f"{path.name} looks like {name} ({evidence}); save it as UTF-8 and import it again.",
        encoding=name,
    )


def _choose_encoding(
    forced: str | None, with_bom: bool, bad_offset: int | None
) -> tuple[str, str | None]:
    if forced is not None:
        if forced not in ENCODINGS:
            raise DomainError(
                ErrorCode.IMPORT_MAPPING_INVALID,
                f"encoding: {forced!r} is not one of {', '.join(ENCODINGS)}.",
            )
        if forced.startswith("utf-8"):
            forced = "utf-8-sig" if with_bom else "utf-8"
            if bad_offset is not None:
                return forced, _replaced(bad_offset)
        return forced, None
    if with_bom:
        # A BOM says "UTF-8" outright: keep it, and let rows with broken bytes fail alone.
        return "utf-8-sig", None if bad_offset is None else _replaced(bad_offset)
    if bad_offset is None:
        return "utf-8", None
    return "latin-1", (
        f"Not valid UTF-8 (first bad byte at offset {bad_offset:,}); read as Latin-1."
    )


def _replaced(offset: int) -> str:
    return (
        f"Not valid UTF-8 (first bad byte at offset {offset:,}); rows with undecodable"
        " characters are rejected."
    )


def detect_delimiter(path: Path, encoding: str) -> str:
    """The delimiter, from csv.Sniffer on the first lines, checked against the header.

    Only , ; tab and | are considered. When the sniffer gives up, or its choice leaves the
    header as a single column, the candidate that splits the header into the most columns
    wins (a comma when none splits it: a one-column file).
    """
    with open_binary(path) as handle:
        raw = handle.read(SNIFF_BYTES)
    text = raw.decode(encoding, errors="replace")
    if len(raw) == SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    lines = text.splitlines(keepends=True)
    sample = "".join(lines[:SNIFF_LINES])
    header = next((line for line in lines if line.strip()), "")
    sniffed: str | None = None
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and sniffed in DELIMITERS and _width(header, sniffed) > 1:
        return sniffed
    best = max(DELIMITERS, key=lambda d: (_width(header, d), d == ","))
    return best if _width(header, best) > 1 else ","


def _width(line: str, delimiter: str | None) -> int:
    if not delimiter or not line:
        return 0
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


class _HashingReader(io.RawIOBase):
    """Counts and hashes the bytes the text layer reads, so progress and the hash are free."""

    def __init__(self, raw: io.BufferedReader) -> None:
        super().__init__()
        self._raw = raw
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._raw.readinto(buffer) or 0
        if count:
            self.digest.update(buffer[:count])
            self.bytes_read += count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


class CsvStream:
    """The records of a CSV file, one at a time, after its header.

    Blank lines (and rows whose cells are all blank) are not rows: row numbers count data
    rows from 1, line numbers count the file's lines (a quoted cell may span several).
    """

    def __init__(self, path: Path, encoding: str, delimiter: str) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self._hashing: _HashingReader | None = None
        self._text: io.TextIOWrapper | None = None
        self._reader: CsvReader | None = None
        self._line_num: Callable[[], int] = lambda: 0
        self._handed_back: deque[str] = deque()
        """Lines ``chunks`` read but left to the csv reader (read before the file's next)."""
        self._block_lines = 0
        """Lines ``chunks`` consumed as blocks, past the csv reader."""
        self.header: list[str] = []
        self.header_line = 0

    def __enter__(self) -> Self:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
        hashing = _HashingReader(open_binary(self.path))
        self._hashing = hashing
        # errors="replace": scan_file already decided this codec reads the file; a BOM'd
        # file with broken bytes keeps them as U+FFFD, which row validation rejects.
        self._text = io.TextIOWrapper(
            io.BufferedReader(hashing, buffer_size=READ_BLOCK),
            encoding=self.encoding,
            errors="replace",
            newline="",
        )
        reader = csv.reader(
            self._lines(self._text),
            delimiter=self.delimiter,
            quotechar='"',
            doublequote=True,
            skipinitialspace=True,
            strict=True,
        )
        self._reader = reader
        self._line_num = lambda: self._block_lines + reader.line_num
        self._read_header()
        return self

    def _lines(self, text: io.TextIOWrapper) -> Iterator[str]:
        """The csv reader's lines: any handed back by ``chunks``, then the file's own."""
        handed_back = self._handed_back
        while True:
            if handed_back:
                yield handed_back.popleft()
                continue
            line = text.readline()
            if not line:
                return
            yield line

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._text is not None:
            self._text.close()
        self._text = None
        self._reader = None

    @property
    def bytes_read(self) -> int:
        return self._hashing.bytes_read if self._hashing else 0

    def sha256(self) -> str:
        """The hash of everything read so far (the whole file once records are exhausted)."""
        if self._hashing is None:
            raise RuntimeError("CsvStream used outside its `with` block")
        return self._hashing.digest.hexdigest()

    def _read_header(self) -> None:
        assert self._reader is not None
        while True:
            start = self._line_num() + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                raise DomainError(
                    ErrorCode.IMPORT_FILE_EMPTY,
                    f"{self.path.name} has no header row: every line is blank.",
                ) from None
            except csv.Error as error:
                raise DomainError(
                    ErrorCode.IMPORT_FILE_MALFORMED,
                    f"line {start}: the header row cannot be read ({error}).",
                    line=start,
                ) from error
            except OSError as error:
                raise _unreadable(self.path, error) from error
            if cells and "".join(cells).strip():
                break
        self.header = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
        self.header_line = start
        for index, name in enumerate(self.header, start=1):
            if any(ord(ch) < 32 or ch == "\ufffd" for ch in name):
                raise DomainError(
                    ErrorCode.IMPORT_FILE_MALFORMED,
                    f"line {start}, column {index}: the header holds control or undecodable"
                    " characters; is this a CSV text file?",
                    line=start,
                    column=index,
                )

    def records(self) -> Iterator[Record]:
        """Data records in file order; a record csv cannot parse comes back as a problem."""
        reader = self._reader
        if reader is None:
            raise RuntimeError("CsvStream used outside its `with` block")
        row_number = 0
        line = self._line_num()
        line_num = self._line_num
        # One C-level iteration per record, the csv error (rare) handled by resuming the
        # loop, a blank row told by its first cell mostly.
        while True:
            try:
                for fields in reader:
                    start, line = line + 1, line_num()
                    if fields and (fields[0].strip() or "".join(fields).strip()):
                        row_number += 1
                        yield _record((row_number, start, fields, None))
                return
            except csv.Error as error:
                start, line = line + 1, line_num()
                row_number += 1
                yield Record(row_number, start, None, _describe_csv_error(error, start, line))
            except OSError as error:
                raise _unreadable(self.path, error) from error

    def chunks(self, size: int) -> Iterator[Chunk]:
        """The data rows in file order, ``size`` rows a chunk (the last may have fewer).

        The same rows as ``records`` (use one or the other on a stream): ``size`` lines that
        form a plain block come as a ``Block``; otherwise the csv reader reads them (and as
        many more lines as a chunk of ``size`` records needs) into a list of records.
        """
        reader, text = self._reader, self._text
        if reader is None or text is None:
            raise RuntimeError("CsvStream used outside its `with` block")
        width = len(self.header)
        row_number = 0
        line = self._line_num()
        while True:
            try:
                lines = list(islice(text, size))
            except OSError as error:
                raise _unreadable(self.path, error) from error
            if not lines:
                return
            columns = _plain_block(lines, width, self.delimiter)
            if columns is not None:
                yield Block(row_number + 1, line + 1, columns)
                row_number += len(lines)
                line += len(lines)
                self._block_lines += len(lines)
                continue
            self._handed_back.extend(lines)
            records: list[Record] = []
            while len(records) < size:
                if not self._handed_back:
                    try:
                        more = list(islice(text, size - len(records)))
                    except OSError as error:
                        raise _unreadable(self.path, error) from error
                    if not more:
                        break
                    self._handed_back.extend(more)
                try:
                    fields = next(reader)
                except StopIteration:  # pragma: no cover - a handed-back line is always there
                    break
                except csv.Error as error:
                    start, line = line + 1, self._line_num()
                    row_number += 1
                    problem = _describe_csv_error(error, start, line)
                    records.append(Record(row_number, start, None, problem))
                    continue
                except OSError as error:
                    raise _unreadable(self.path, error) from error
                start, line = line + 1, self._line_num()
                if fields and (fields[0].strip() or "".join(fields).strip()):
                    row_number += 1
                    records.append(_record((row_number, start, fields, None)))
            if records:
                yield records


def _plain_block(lines: list[str], width: int, delimiter: str) -> list[list[str]] | None:
    """``lines`` as columns of cells, if the csv reader would read them as exactly that.

    They must hold no quote character (nor NUL, nor a lone carriage return), have ``width``
    cells each and no cell near the csv field limit, and none may be
    blank (every cell blank: not a row). All checks are scans of the joined text or of a
    column, never a loop over rows.
    """
    text = "".join(lines)
    count = len(lines)
    if '"' in text or "\x00" in text:
        return None
    if not text.endswith("\n"):
        if text.endswith("\r"):
            return None
        text += "\n"  # the file's last line, unterminated: csv reads it as if it were
    if "\r" in text:
        if text.count("\r\n") != count or text.count("\r") != count:
            return None  # a carriage return that is not part of every line's ending
        text = text.replace("\r\n", "\n")
    if max(map(len, lines)) >= FIELD_SIZE_LIMIT:
        return None
    # Each line's first cell is marked by a leading newline: a row with a wrong number of
    # cells puts some line's first cell in another column, or leaves the count uneven.
    cells = ("\n" + text.replace("\n", delimiter + "\n")).split(delimiter)
    if cells.pop() != "\n" or len(cells) != count * width:
        return None
    firsts = "".join(cells[::width])
    if firsts.count("\n") != count:
        return None
    columns = [firsts[1:].split("\n")]
    columns.extend(cells[k::width] for k in range(1, width))
    if "" in map(str.strip, columns[0]):
        blank = [i for i, cell in enumerate(columns[0]) if not cell.strip()]
        if any(all(not column[i].strip() for column in columns) for i in blank):
            return None
    return columns


def _describe_csv_error(error: csv.Error, start: int, end: int) -> str:
    message = str(error)
    span = f"line {start}" if end <= start else f"lines {start}–{end}"
    if "field larger than field limit" in message:
        return f"a cell is longer than {FIELD_SIZE_LIMIT:,} characters ({span})"
    if "unexpected end of data" in message:
        return f"a quoted cell is never closed: it runs to the end of the file ({span})"
    if "expected after" in message:
        return f"a closing quote is followed by other text ({span}): {message}"
    return f"the row cannot be read ({span}): {message}"


def _unreadable(path: Path, error: OSError) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_FILE_UNREADABLE,
        f"{path.name} could not be read to the end: {error.strerror or error}.",
    )
