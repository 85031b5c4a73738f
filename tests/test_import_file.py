"""Reading player CSV files (no database): encoding, delimiter, header, unreadable records."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.import_file import (
    FIELD_SIZE_LIMIT,
    Block,
    CsvStream,
    detect_delimiter,
    sample_facts,
    scan_file,
)
from tests.import_support import HEADER, RITA, csv_text


def records(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[tuple]:
    with CsvStream(path, encoding, delimiter) as stream:
        return [(r.row_number, r.line_number, r.fields, r.problem) for r in stream.records()]


class TestEncoding:
    def test_utf8_with_and_without_bom(self, tmp_path: Path) -> None:
        plain = tmp_path / "plain.csv"
        plain.write_text(csv_text([RITA]), encoding="utf-8")
        facts = scan_file(plain)
        assert (facts.encoding, facts.encoding_note) == ("utf-8", None)
        assert facts.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
        assert facts.size == plain.stat().st_size

        bom = tmp_path / "bom.csv"
        bom.write_bytes(codecs.BOM_UTF8 + csv_text([RITA]).encode())
        assert scan_file(bom).encoding == "utf-8-sig"
        with CsvStream(bom, "utf-8-sig", ",") as stream:
            assert stream.header == HEADER

    def test_invalid_utf8_falls_back_to_latin1_and_says_so(self, tmp_path: Path) -> None:
        path = tmp_path / "latin.csv"
        path.write_bytes(csv_text([["José", *RITA[1:]]]).encode("latin-1"))
        facts = scan_file(path)
        assert facts.encoding == "latin-1"
        assert facts.encoding_note is not None and "read as Latin-1" in facts.encoding_note
        assert records(path, "latin-1")[0][2][0] == "José"

    def test_a_bad_byte_late_in_the_file_still_decides(self, tmp_path: Path) -> None:
        path = tmp_path / "late.csv"
        good = csv_text([RITA] * 50_000).encode()
        path.write_bytes(good + b"Ren\xe9,Late,1970-01-01,r@example.com,,C-9,,,\n")
        assert len(good) > 64 * 1024
        assert sample_facts(path).encoding == "utf-8"  # a preview only sees the start
        facts = scan_file(path)
        assert facts.encoding == "latin-1"
        assert f"offset {len(good) + 3:,}" in (facts.encoding_note or "")

    def test_bom_files_keep_utf8_and_mark_broken_bytes(self, tmp_path: Path) -> None:
        path = tmp_path / "bom-broken.csv"
        path.write_bytes(codecs.BOM_UTF8 + csv_text([["Ren\xe9", *RITA[1:]]]).encode("latin-1"))
        facts = scan_file(path)
        assert facts.encoding == "utf-8-sig"
        assert "rejected" in (facts.encoding_note or "")
        assert records(path, "utf-8-sig")[0][2][0] == "Ren\ufffd"

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            (codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le"), "UTF-16"),
            ("first,last\nRita,Hayworth\n".encode("utf-16-le"), "UTF-16 (NUL bytes"),
            (codecs.BOM_UTF32_LE + "a,b\n".encode("utf-32-le"), "UTF-32"),
        ],
    )
    def test_wide_encodings_are_refused(self, tmp_path: Path, data: bytes, words: str) -> None:
        path = tmp_path / "wide.csv"
        path.write_bytes(data)
        with pytest.raises(DomainError) as raised:
            scan_file(path)
        assert raised.value.code is ErrorCode.IMPORT_ENCODING_UNSUPPORTED
        assert words in raised.value.message and "save it as UTF-8" in raised.value.message

    def test_missing_empty_and_folder_paths_are_refused(self, tmp_path: Path) -> None:
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        for path, code in [
            (tmp_path / "nope.csv", ErrorCode.IMPORT_FILE_UNREADABLE),
            (tmp_path, ErrorCode.IMPORT_FILE_UNREADABLE),
            (empty, ErrorCode.IMPORT_FILE_EMPTY),
        ]:
            with pytest.raises(DomainError) as raised:
                scan_file(path)
            assert raised.value.code is code, path


class TestDelimiter:
    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_each_supported_delimiter_is_found(self, tmp_path: Path, delimiter: str) -> None:
        path = tmp_path / "d.csv"
        path.write_text(csv_text([RITA] * 5, delimiter=delimiter), encoding="utf-8")
        assert detect_delimiter(path, "utf-8") == delimiter

    def test_commas_inside_cells_do_not_fool_it(self, tmp_path: Path) -> None:
        path = tmp_path / "semi.csv"
        rows = [["Rita", '"Hayworth, Jr."', *RITA[2:]]] * 5
        path.write_text(csv_text(rows, delimiter=";"), encoding="utf-8")
        assert detect_delimiter(path, "utf-8") == ";"

    def test_a_single_column_file_reads_as_commas(self, tmp_path: Path) -> None:
        path = tmp_path / "one.csv"
        path.write_text("name\nRita\nRay\n", encoding="utf-8")
        assert detect_delimiter(path, "utf-8") == ","


class TestRecords:
    def test_blank_lines_are_not_rows_and_lines_are_counted(self, tmp_path: Path) -> None:
        path = tmp_path / "blank.csv"
        path.write_text(
            "\n" + ",".join(HEADER) + "\n\n" + ",".join(RITA) + "\n,,,,,,,,\n"
            '"Multi\nline",' + ",".join(RITA[1:]) + "\n" + ",".join(RITA) + "\n",
            encoding="utf-8",
        )
        found = records(path)
        assert [(r[0], r[1]) for r in found] == [(1, 4), (2, 6), (3, 8)]
        assert found[1][2][0] == "Multi\nline"

    def test_bad_quoting_is_a_row_problem_and_reading_goes_on(self, tmp_path: Path) -> None:
        path = tmp_path / "quotes.csv"
        path.write_text(
            ",".join(HEADER) + "\n" + ",".join(RITA) + "\n"
            'Rita,"Hay"worth,' + ",".join(RITA[2:]) + "\n" + ",".join(RITA) + "\n",
            encoding="utf-8",
        )
        found = records(path)
        assert [r[0] for r in found] == [1, 2, 3]
        assert found[1][2] is None
        assert "closing quote is followed by other text (line 3)" in found[1][3]
        assert found[2][2] == RITA

    def test_an_unterminated_quote_swallows_to_the_end_and_says_so(self, tmp_path: Path) -> None:
        path = tmp_path / "open.csv"
        path.write_text(
            ",".join(HEADER) + "\n" + ",".join(RITA) + '\nRita,"Hayworth\n' + ",".join(RITA) + "\n",
            encoding="utf-8",
        )
        found = records(path)
        assert len(found) == 2
        assert (
            found[1][3] == "a quoted cell is never closed: it runs to the end of the file"
            " (lines 3–4)"
        )

    def test_an_oversized_cell_is_a_row_problem(self, tmp_path: Path) -> None:
        path = tmp_path / "huge.csv"
        huge = "x" * (FIELD_SIZE_LIMIT + 10)
        path.write_text(
            ",".join(HEADER) + "\n" + ",".join([huge, *RITA[1:]]) + "\n" + ",".join(RITA) + "\n",
            encoding="utf-8",
        )
        found = records(path)
        assert f"longer than {FIELD_SIZE_LIMIT:,} characters" in found[0][3]
        assert found[1][2] == RITA

    def test_nul_bytes_are_read_as_characters(self, tmp_path: Path) -> None:
        path = tmp_path / "nul.csv"
        path.write_bytes(
            (",".join(HEADER) + "\n" + ",".join(["Ri\x00ta", *RITA[1:]]) + "\n").encode()
        )
        assert records(path)[0][2][0] == "Ri\x00ta"

    def test_header_problems_are_file_level(self, tmp_path: Path) -> None:
        cases = [
            ("\n\n  \n", ErrorCode.IMPORT_FILE_EMPTY),
            ('a,"b\n', ErrorCode.IMPORT_FILE_MALFORMED),
            ("a,b\x01c\n1,2\n", ErrorCode.IMPORT_FILE_MALFORMED),
        ]
        for text, code in cases:
            path = tmp_path / "h.csv"
            path.write_text(text, encoding="utf-8")
            with pytest.raises(DomainError) as raised, CsvStream(path, "utf-8", ","):
                pass
            assert raised.value.code is code, text

    def test_the_stream_hashes_what_it_reads(self, tmp_path: Path) -> None:
        path = tmp_path / "h.csv"
        path.write_text(csv_text([RITA] * 3), encoding="utf-8")
        with CsvStream(path, "utf-8", ",") as stream:
            list(stream.records())
            assert stream.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()
            assert stream.bytes_read == path.stat().st_size


def chunked(
    path: Path, size: int, delimiter: str = ","
) -> tuple[list[tuple], list[tuple[str, int]], str]:
    """Every row ``chunks`` reads, as records; each chunk's kind and size; the stream's hash."""
    rows: list[tuple] = []
    kinds: list[tuple[str, int]] = []
    with CsvStream(path, "utf-8", delimiter) as stream:
        for chunk in stream.chunks(size):
            if isinstance(chunk, Block):
                found = list(chunk.records())
                kinds.append(("block", len(found)))
                assert [r.row_number for r in found] == list(
                    range(chunk.first_row, chunk.first_row + chunk.row_count)
                )
            else:
                found = chunk
                kinds.append(("records", len(found)))
            rows.extend((r.row_number, r.line_number, r.fields, r.problem) for r in found)
        digest = stream.sha256()
    return rows, kinds, digest


# Lines a vendor file might hold: plain rows, padded cells, quotes, embedded line breaks,
# blank and all-blank rows, ragged rows, CRLF and lone CR, NUL, unterminated quotes.
LINE_PARTS = st.sampled_from(
    ["Rita", " Ray ", "", "  ", "O'Neil", "x y", '"q"', '"a,b"', '"l1\nl2"', 'a"b', "é", "\x00"]
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, str]:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 4))
    lines = [delimiter.join(f"h{i}" for i in range(width))]
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", "  ", delimiter * (width - 1)])))
            continue
        cells = draw(st.lists(LINE_PARTS, min_size=width, max_size=width))
        if kind == 1:
            cells = cells[: draw(st.integers(0, width))]
        elif kind == 2:
            cells.append("extra")
        elif kind >= 5:
            cells = [c for c in cells if '"' not in c and "\x00" not in c]
            cells += ["plain"] * (width - len(cells))
        lines.append(delimiter.join(cells))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from([ending, ""]))
    if draw(st.booleans()):
        text += '"never closed\n'
    return text, delimiter


class TestChunks:
    """Staging reads ``chunks``; they hold exactly the rows ``records`` reads."""

    @settings(max_examples=300, deadline=None)
    @given(data=csv_files(), size=st.integers(1, 7))
    def test_chunks_read_what_the_csv_reader_reads(
        self, tmp_path_factory: pytest.TempPathFactory, data: tuple[str, str], size: int
    ) -> None:
        text, delimiter = data
        path = tmp_path_factory.mktemp("chunks") / "f.csv"
        path.write_bytes(text.encode())
        rows, kinds, digest = chunked(path, size, delimiter)
        assert rows == records(path, delimiter=delimiter)
        assert all(count == size for _kind, count in kinds[:-1])  # one transaction's rows
        assert digest == hashlib.sha256(text.encode()).hexdigest()

    def test_plain_lines_come_as_blocks_of_the_chunk_size(self, tmp_path: Path) -> None:
        path = tmp_path / "plain.csv"
        path.write_text(csv_text([RITA] * 10), encoding="utf-8")
        with CsvStream(path, "utf-8", ",") as stream:
            chunks = list(stream.chunks(4))
        assert [type(c).__name__ for c in chunks] == ["Block", "Block", "Block"]
        assert [(c.first_row, c.first_line, c.row_count) for c in chunks] == [  # type: ignore[union-attr]
            (1, 2, 4),
            (5, 6, 4),
            (9, 10, 2),
        ]
        first = chunks[0]
        assert isinstance(first, Block)
        assert first.columns[HEADER.index("Email")][0] == RITA[3]
        assert first.after(3).first_row == 4 and first.after(3).row_count == 1

    def test_a_chunk_with_a_quote_is_read_as_records_and_sized_in_rows(
        self, tmp_path: Path
    ) -> None:
        quoted = ['"Hay, worth"' if c == "Hayworth" else c for c in RITA]
        path = tmp_path / "quoted.csv"
        lines = [",".join(HEADER), ",".join(RITA), "", ",".join(quoted), ",".join(RITA)]
        path.write_text("\n".join(lines * 2) + "\n", encoding="utf-8")
        rows, kinds, _digest = chunked(path, 2)
        assert kinds[0] == ("records", 2)
        assert rows == records(path)
        assert [r[2][1] for r in rows if r[2] is not None][:3] == [
            "Hayworth",
            "Hay, worth",
            "Hayworth",
        ]

    def test_cells_padded_after_the_delimiter_read_as_csv_reads_them(self, tmp_path: Path) -> None:
        path = tmp_path / "padded.csv"
        path.write_text(",".join(HEADER) + "\n" + ", ".join(RITA) + "\n", encoding="utf-8")
        with CsvStream(path, "utf-8", ",") as stream:
            (block,) = list(stream.chunks(10))
        assert isinstance(block, Block)
        assert block.columns[1][0] == " Hayworth"  # as split
        assert block.fields(0) == RITA  # as the csv reader reads it (skipinitialspace)
