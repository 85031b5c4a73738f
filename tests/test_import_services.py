"""Player CSV import services on both backends: preview, staging, resume, execution, report."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pitterm.domain import imports, players
from pitterm.domain.actor import Actor
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole, Tier
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.import_rows import ImportField
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome, ImportRowStatus
from pitterm.domain.tables import (
    AuditLog,
    ImportBatch,
    ImportRow,
    LoyaltyLedger,
    Player,
    PlayerLoyalty,
)
from tests.factories import CasinoWorld, build_casino
from tests.import_support import (
    HEADER,
    MAPPING,
    RITA,
    csv_text,
    generate,
    row_count,
    row_numbers,
    write_csv,
)


@pytest.fixture
def world(backend: Database) -> CasinoWorld:
    return build_casino(backend)


def manager(world: CasinoWorld) -> Actor:
    return world.actor(StaffRole.LOYALTY_MANAGER)


def stage(
    database: Database, actor: Actor, path: Path, mapping: dict[str, Any] = MAPPING, **kw: Any
) -> imports.StageResult:
    return imports.stage_file(database.uow(actor), actor, path, mapping, **kw)


def expect(code: ErrorCode, call: Callable[..., Any], *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code is code, raised.value
    return raised.value


def rows_of(database: Database, batch_id: uuid.UUID) -> list[ImportRow]:
    with database.raw() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            found = session.scalars(
                select(ImportRow)
                .where(ImportRow.batch_id == batch_id)
                .order_by(ImportRow.row_number)
            ).all()
            session.expunge_all()
            return list(found)


def audit_actions(database: Database, batch_id: uuid.UUID) -> list[str]:
    """The batch's audit actions, sorted (the tests' frozen clock gives them one timestamp)."""
    with database.raw() as conn:
        return sorted(
            conn.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(batch_id)))
        )


def batches(database: Database) -> int:
    with database.raw() as conn:
        return conn.scalar(select(func.count()).select_from(ImportBatch)) or 0


def cells(**changes: str) -> list[str]:
    values = dict(zip(HEADER, RITA, strict=True))
    values.update({k.replace("_", " "): v for k, v in changes.items()})
    return [values[h] for h in HEADER]


class StopAfter:
    """A progress callback that fails once ``rows`` rows are committed: a crash mid-import."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __call__(self, report: imports.ImportProgress) -> None:
        if report.phase is imports.ImportPhase.STAGING and report.rows_done >= self.rows:
            raise RuntimeError("terminal unplugged")


class TestPreview:
    def test_without_a_mapping_it_shows_cells_and_suggests_one(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = write_csv(tmp_path / "p.csv", [RITA, cells(DOB="1920-06-29")])
        shown = imports.preview(backend.reader(lm), lm, path)
        assert shown.header == HEADER and shown.delimiter == "," and shown.encoding == "utf-8"
        assert shown.suggested_columns["DOB"] is ImportField.DATE_OF_BIRTH
        assert shown.suggested_columns["Points"] is ImportField.IMPORTED_POINTS_BALANCE
        assert shown.suggested_date_formats == ["%Y-%m-%d"]
        assert [r.cells for r in shown.rows] == [RITA, cells(DOB="1920-06-29")]
        assert all(r.status is None for r in shown.rows)
        assert batches(backend) == 0

    def test_with_a_mapping_it_shows_rows_as_staging_would(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = write_csv(tmp_path / "p.csv", [RITA, cells(Points="-3")] * 15)
        shown = imports.preview(backend.reader(lm), lm, path, MAPPING, rows=3)
        assert shown.mapping_problem is None
        assert [r.status for r in shown.rows] == [
            ImportRowStatus.STAGED,
            ImportRowStatus.ERROR,
            ImportRowStatus.STAGED,
        ]
        assert shown.rows[0].values["email"] == "rita@example.com"
        assert shown.rows[1].problems == [
            imports.RowProblem(column="Points", reason="a points balance cannot be negative")
        ]
        assert batches(backend) == 0 and row_count(backend) == 0

    def test_a_mapping_that_does_not_fit_is_explained(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = tmp_path / "semi.csv"
        path.write_bytes(
            csv_text([["Jos\xe9", *RITA[1:]]], ["First", *HEADER[1:]], ";").encode("latin-1")
        )
        shown = imports.preview(backend.reader(lm), lm, path, MAPPING)
        assert (shown.delimiter, shown.encoding) == (";", "latin-1")
        assert shown.mapping_problem is not None and "'First Name'" in shown.mapping_problem
        assert shown.rows[0].cells[0] == "José"


class TestStaging:
    def test_rows_are_staged_with_counts_errors_and_provenance(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = write_csv(
            tmp_path / "players.csv",
            [
                RITA,
                cells(Points="-5", DOB="1970-02-31"),
                cells(Card="C-0002", Email="b@example.com"),
            ],
        )
        result = stage(backend, lm, path)
        batch = result.batch
        assert result.completed and result.resumed_from_row == 0
        assert batch.status is ImportBatchStatus.STAGED
        assert (batch.row_count, batch.error_count, batch.staged_count) == (3, 1, 2)
        assert (batch.file_name, batch.file_size) == ("players.csv", path.stat().st_size)
        assert batch.created_by == lm.staff_id and batch.staged_at is not None
        assert batch.mapping.columns["Card"] is ImportField.LOYALTY_CARD_NUMBER

        rows = rows_of(backend, batch.id)
        assert [(r.row_number, r.line_number, r.status) for r in rows] == [
            (1, 2, ImportRowStatus.STAGED),
            (2, 3, ImportRowStatus.ERROR),
            (3, 4, ImportRowStatus.STAGED),
        ]
        good = rows[0]
        assert (good.loyalty_card_number, good.email, good.imported_points_balance) == (
            "C-1001",
            "rita@example.com",
            1200,
        )
        assert (good.imported_tier, good.errors, good.raw_values) == ("Gold", [], {})
        bad = rows[1]
        assert bad.errors == [
            {"column": "DOB", "reason": "'1970-02-31' is not a real date (no such day or month)"},
            {"column": "Points", "reason": "a points balance cannot be negative"},
        ]
        assert bad.raw_values["Points"] == "-5" and bad.first_name is None
        assert audit_actions(backend, batch.id) == ["import.staged", "import.staging_started"]

    def test_bad_input_becomes_row_errors_and_good_rows_still_stage(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = tmp_path / "messy.csv"
        good = ",".join(RITA)
        lines = [
            ",".join(HEADER),
            good,
            ",".join(RITA[:4]),  # ragged: too few cells
            good + ",surplus",  # ragged: too many
            'Rita,"Hay\nworth",' + ",".join(RITA[2:]),  # embedded line break in a name
            ",".join(["R" * 1_000_000, *RITA[1:]]),  # a 1 MB cell
            ",".join(["Ri\x00ta", *RITA[1:]]),  # NUL
            ",".join([*RITA[:2], "1980-02-31", *RITA[3:]]),  # no such date
            ",".join([*RITA[:7], "-40", RITA[8]]),  # negative points
            '"=HYPERLINK(""http://evil"",""x"")",' + ",".join(RITA[1:]),  # formula
            ",".join([RITA[0], "'; DROP TABLE player; --", *RITA[2:]]),  # SQL
            'Rita,"Hay"worth,' + ",".join(RITA[2:]),  # text after a closing quote
            good,
        ]
        path.write_bytes(("\n".join(lines) + "\n").encode())
        batch = stage(backend, lm, path).batch
        rows = rows_of(backend, batch.id)
        assert (batch.row_count, batch.error_count) == (len(lines) - 1, len(lines) - 3)
        assert [r.row_number for r in rows] == list(range(1, len(lines)))
        expected = [
            None,
            (None, "the row has 4 cells; the header has 9"),
            (None, "the row has 10 cells; the header has 9"),
            ("Last Name", "holds a line break"),
            (None, "a cell is longer than 131,072 characters (line 7)"),
            ("First Name", "holds a NUL character"),
            ("DOB", "not a real date"),
            ("Points", "cannot be negative"),
            ("First Name", "as a spreadsheet formula does"),
            ("Last Name", "a name holds letters"),
            (None, "a closing quote is followed by other text (line 13)"),
            None,
        ]
        for row, want in zip(rows, expected, strict=True):
            if want is None:
                assert row.status is ImportRowStatus.STAGED, row.errors
                continue
            assert row.status is ImportRowStatus.ERROR
            column, words = want
            assert row.errors[0]["column"] == column, row.errors
            assert words in row.errors[0]["reason"], row.errors
        assert rows[4].raw_values == {}  # csv could not split that row into cells
        assert rows[5].raw_values["First Name"] == "Ri␀ta"

    @pytest.mark.parametrize(
        ("content", "code", "words"),
        [
            (b"", ErrorCode.IMPORT_FILE_EMPTY, "empty"),
            (b"\n\n", ErrorCode.IMPORT_FILE_EMPTY, "no header"),
            ((",".join(HEADER) + "\n\n").encode(), ErrorCode.IMPORT_FILE_NO_ROWS, "no rows"),
            (
                csv_text([RITA[1:]], HEADER[1:]).encode(),
                ErrorCode.IMPORT_MAPPING_INVALID,
                "'First Name', which the file's header does not have",
            ),
            (
                csv_text([[*RITA, "x"]], [*HEADER, "Email"]).encode(),
                ErrorCode.IMPORT_HEADER_INVALID,
                "'Email' appears more than once in the header (columns 4 and 10)",
            ),
            (
                csv_text([RITA]).encode("utf-16"),
                ErrorCode.IMPORT_ENCODING_UNSUPPORTED,
                "UTF-16",
            ),
            (b'First Name,"Last\n', ErrorCode.IMPORT_FILE_MALFORMED, "line 1"),
        ],
    )
    def test_file_level_refusals_stage_nothing(
        self,
        backend: Database,
        world: CasinoWorld,
        tmp_path: Path,
        content: bytes,
        code: ErrorCode,
        words: str,
    ) -> None:
        lm = manager(world)
        path = tmp_path / "refused.csv"
        path.write_bytes(content)
        error = expect(code, stage, backend, lm, path)
        assert words in error.message
        assert (batches(backend), row_count(backend)) == (0, 0)

    def test_an_unreadable_path_or_bad_mapping_is_refused(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        expect(ErrorCode.IMPORT_FILE_UNREADABLE, stage, backend, lm, tmp_path / "missing.csv")
        path = write_csv(tmp_path / "ok.csv", [RITA])
        bad = {**MAPPING, "date_formats": ["%H:%M"]}
        expect(ErrorCode.IMPORT_MAPPING_INVALID, stage, backend, lm, path, bad)
        assert batches(backend) == 0

    def test_the_same_content_is_refused_once_staged_even_renamed(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = write_csv(tmp_path / "players.csv", [RITA])
        first = stage(backend, lm, path).batch
        renamed = tmp_path / "players-copy.csv"
        renamed.write_bytes(path.read_bytes())
        error = expect(ErrorCode.IMPORT_ALREADY_IMPORTED, stage, backend, lm, renamed)
        assert str(first.id) in error.message
        assert (batches(backend), row_count(backend)) == (1, 1)
        # Another casino is another tenant: the same file is new there.
        other = build_casino(backend, "BRAVO")
        assert stage(backend, manager(other), path).batch.row_count == 1

    def test_an_interrupted_import_resumes_with_every_row_exactly_once(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 103, bad_every=10)
        with pytest.raises(RuntimeError, match="unplugged"):
            stage(backend, lm, path, chunk_rows=7, progress=StopAfter(40))
        (stopped,) = imports.list_batches(backend.reader(lm), lm)
        assert stopped.status is ImportBatchStatus.STAGING
        assert stopped.row_count == 42  # six chunks of 7 committed before the failure
        assert row_numbers(backend, stopped.id) == list(range(1, 43))

        resumed = stage(backend, lm, path, chunk_rows=7)
        assert resumed.resumed_from_row == 42 and resumed.batch.id == stopped.id
        batch = resumed.batch
        assert batch.status is ImportBatchStatus.STAGED
        assert (batch.row_count, batch.error_count) == (103, 10)
        assert row_numbers(backend, batch.id) == list(range(1, 104))
        rows = rows_of(backend, batch.id)
        assert [r.loyalty_card_number for r in rows if r.status is ImportRowStatus.STAGED] == [
            f"C-{n:07d}" for n in range(1, 104) if n % 10
        ]
        assert audit_actions(backend, batch.id) == [
            "import.staged",
            "import.staging_resumed",
            "import.staging_started",
        ]

    def test_cancel_then_resume_the_batch(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 25)
        seen: list[imports.ImportProgress] = []
        cancelled = stage(
            backend, lm, path, chunk_rows=10, progress=seen.append, should_stop=lambda: True
        )
        assert not cancelled.completed and cancelled.batch.row_count == 10
        assert seen[0].phase is imports.ImportPhase.SCANNING
        assert seen[-1].phase is imports.ImportPhase.STAGING and seen[-1].rows_done == 10
        assert seen[-1].fraction is not None
        execute = imports.execute_batch
        expect(ErrorCode.IMPORT_BATCH_NOT_STAGED, execute, backend.uow(lm), lm, cancelled.batch.id)
        other = write_csv(tmp_path / "other.csv", [RITA])
        expect(
            ErrorCode.IMPORT_FILE_CHANGED,
            imports.resume_batch,
            backend.uow(lm),
            lm,
            cancelled.batch.id,
            other,
        )
        done = imports.resume_batch(backend.uow(lm), lm, cancelled.batch.id, path, chunk_rows=10)
        assert done.completed and done.batch.row_count == 25
        assert row_numbers(backend, done.batch.id) == list(range(1, 26))

    def test_resuming_with_another_mapping_is_refused(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 20)
        stage(backend, lm, path, chunk_rows=5, should_stop=lambda: True)
        other = {**MAPPING, "date_formats": ["%Y-%m-%d", "%d.%m.%Y"]}
        expect(ErrorCode.IMPORT_MAPPING_CONFLICT, stage, backend, lm, path, other)

    def test_a_second_terminal_on_the_same_batch_stops_the_first(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 30)
        outcome: list[imports.StageResult] = []

        def other_terminal(report: imports.ImportProgress) -> None:
            if report.phase is imports.ImportPhase.STAGING and not outcome:
                # While the first run is between chunks, a second one resumes the batch.
                outcome.append(stage(backend, lm, path, chunk_rows=5))

        expect(
            ErrorCode.IMPORT_IN_PROGRESS,
            stage,
            backend,
            lm,
            path,
            chunk_rows=5,
            progress=other_terminal,
        )
        assert outcome[0].resumed_from_row == 5 and outcome[0].batch.row_count == 30
        assert row_numbers(backend, outcome[0].batch.id) == list(range(1, 31))

    def test_a_file_changing_mid_import_fails_the_batch_cleanly(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 30)
        original = path.read_bytes()

        def tamper(report: imports.ImportProgress) -> None:
            if report.phase is imports.ImportPhase.STAGING and report.rows_done == 5:
                with path.open("ab") as more:  # someone saves a longer version meanwhile
                    more.write(",".join(RITA).encode() + b"\n")

        expect(
            ErrorCode.IMPORT_FILE_CHANGED, stage, backend, lm, path, chunk_rows=5, progress=tamper
        )
        (failed,) = imports.list_batches(backend.reader(lm), lm)
        assert failed.status is ImportBatchStatus.FAILED and failed.row_count == 0
        assert row_count(backend) == 0
        expect(ErrorCode.IMPORT_BATCH_FAILED, imports.execute_batch, backend.uow(lm), lm, failed.id)

        path.write_bytes(original)
        again = stage(backend, lm, path, chunk_rows=5)
        assert again.batch.id == failed.id and again.batch.status is ImportBatchStatus.STAGED
        assert row_numbers(backend, failed.id) == list(range(1, 31))
        assert audit_actions(backend, failed.id) == [
            "import.staged",
            "import.staging_failed",
            "import.staging_restarted",
            "import.staging_started",
        ]

    def test_only_loyalty_managers_and_admins_import(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path / "p.csv", [RITA])
        staged = stage(backend, world.admin, path).batch
        for role in (StaffRole.PIT_BOSS, StaffRole.CASHIER, StaffRole.DEALER):
            actor = world.actor(role)
            expect(ErrorCode.AUTH_FORBIDDEN, stage, backend, actor, path)
            expect(ErrorCode.AUTH_FORBIDDEN, imports.preview, backend.reader(actor), actor, path)
            expect(
                ErrorCode.AUTH_FORBIDDEN, imports.get_batch, backend.reader(actor), actor, staged.id
            )
            expect(
                ErrorCode.AUTH_FORBIDDEN,
                imports.execute_batch,
                backend.uow(actor),
                actor,
                staged.id,
            )

    def test_another_casino_never_sees_the_batch(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        staged = stage(backend, lm, write_csv(tmp_path / "p.csv", [RITA])).batch
        intruder = manager(build_casino(backend, "BRAVO"))
        for call in (imports.get_batch, imports.list_rows, imports.list_problems):
            expect(
                ErrorCode.IMPORT_BATCH_NOT_FOUND,
                call,
                backend.reader(intruder),
                intruder,
                staged.id,
            )
        expect(
            ErrorCode.IMPORT_BATCH_NOT_FOUND,
            imports.execute_batch,
            backend.uow(intruder),
            intruder,
            staged.id,
        )
        assert imports.list_batches(backend.reader(intruder), intruder) == []
        assert imports.find_batch(backend.reader(lm), lm, str(staged.id)[:8]).id == staged.id
        expect(
            ErrorCode.IMPORT_BATCH_NOT_FOUND,
            imports.find_batch,
            backend.reader(intruder),
            intruder,
            str(staged.id)[:8],
        )


def enrol(
    database: Database,
    actor: Actor,
    first: str,
    born: date,
    *,
    card: str | None = None,
    email: str | None = None,
) -> uuid.UUID:
    return players.enrol(
        database.uow(actor),
        actor,
        players.NewPlayer(
            first_name=first,
            last_name="Known",
            date_of_birth=born,
            email=email,
            loyalty_card_number=card,
            idempotency_key=uuid.uuid4(),
        ),
    ).player_id


class TestExecution:
    def test_created_linked_and_skipped_by_exact_identity(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        boss, lm = world.actor(StaffRole.PIT_BOSS), manager(world)
        rita = enrol(backend, boss, "Rita", date(1970, 5, 17), card="C-1001")
        ray = enrol(backend, boss, "Ray", date(1920, 6, 29), email="ray@example.com")
        enrol(backend, boss, "Dup", date(1980, 1, 1), email="dup@example.com")
        enrol(backend, boss, "Dup", date(1980, 1, 1), email="dup@example.com")
        enrol(backend, boss, "Carl", date(1960, 3, 3), email="carl@example.com", card="C-0004")
        path = write_csv(
            tmp_path / "players.csv",
            [
                cells(First_Name="Margarita", Email="other@example.com"),  # card C-1001
                cells(Card="", Email="RAY@example.com", DOB="1920-06-29"),
                cells(Card="C-3003", Email="new@example.com"),
                cells(Card="", Email="dup@example.com", DOB="1980-01-01"),
                cells(Card="C-0005", Email="carl@example.com", DOB="1960-03-03"),
                cells(Card="C-0006", Points="-1"),
                cells(Card="c-3003", Email="", First_Name="Again"),
                cells(Card="C-0008", Email="ray@example.com", DOB="1920-06-29"),
                cells(Card="", Email="ray@example.com", DOB="1921-06-29"),
            ],
        )
        staged = stage(backend, lm, path).batch
        with backend.raw() as conn:
            players_before = conn.scalar(select(func.count()).select_from(Player))
        progress: list[imports.ImportProgress] = []
        result = imports.execute_batch(backend.uow(lm), lm, staged.id, progress=progress.append)
        assert result.completed and not result.is_existing
        batch = result.batch
        assert batch.status is ImportBatchStatus.EXECUTED and batch.executed_by == lm.staff_id
        assert (batch.created_count, batch.linked_count, batch.skipped_count) == (2, 4, 3)
        assert progress[-1].rows_done == 9 and progress[-1].fraction == 1.0

        rows = rows_of(backend, staged.id)
        outcomes = [(r.outcome, r.outcome_reason) for r in rows]
        assert outcomes[0] == (ImportOutcome.LINKED, "matched by loyalty card number")
        assert rows[0].player_id == rita
        assert outcomes[1] == (ImportOutcome.LINKED, "matched by e-mail and date of birth")
        assert rows[1].player_id == ray
        assert outcomes[2] == (ImportOutcome.CREATED, None)
        assert outcomes[3] == (
            ImportOutcome.SKIPPED,
            "ambiguous: 2 players have this e-mail and date of birth",
        )
        assert outcomes[4] == (
            ImportOutcome.SKIPPED,
            "conflict: the player with this e-mail and date of birth holds card C-0004, not C-0005",
        )
        assert outcomes[5][0] is ImportOutcome.SKIPPED
        assert outcomes[5][1] == "not staged: a points balance cannot be negative"
        assert outcomes[6] == (ImportOutcome.LINKED, "matched by loyalty card number")
        assert rows[6].player_id == rows[2].player_id  # the player row 3 created
        assert (outcomes[7], rows[7].player_id) == (
            (ImportOutcome.LINKED, "matched by e-mail and date of birth"),
            ray,
        )
        assert outcomes[8] == (ImportOutcome.CREATED, None)  # same e-mail, another birthday

        with backend.raw() as conn:
            assert conn.scalar(select(func.count()).select_from(Player)) == players_before + 2
            created = conn.execute(
                select(
                    Player.first_name,
                    Player.email,
                    PlayerLoyalty.current_balance,
                    PlayerLoyalty.tier,
                )
                .join(PlayerLoyalty, PlayerLoyalty.player_id == Player.id)
                .where(Player.id == rows[2].player_id)
            ).one()
            assert tuple(created) == ("Rita", "new@example.com", 0, Tier.BRONZE)
            # Imported points are for reference only: the ledger is untouched.
            assert conn.scalar(select(func.count()).select_from(LoyaltyLedger)) == 0
        assert rows[2].imported_points_balance == 1200 and rows[2].imported_tier == "Gold"
        assert audit_actions(backend, staged.id) == [
            "import.executed",
            "import.execution_started",
            "import.staged",
            "import.staging_started",
        ]

        again = imports.execute_batch(backend.uow(lm), lm, staged.id)
        assert again.is_existing and again.batch == batch
        assert [(r.outcome, r.player_id) for r in rows_of(backend, staged.id)] == [
            (r.outcome, r.player_id) for r in rows
        ]
        assert len(audit_actions(backend, staged.id)) == 4

    def test_an_interrupted_execution_resumes_without_doubling_players(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        staged = stage(backend, lm, generate(tmp_path / "big.csv", 23, bad_every=5)).batch
        first = imports.execute_batch(
            backend.uow(lm), lm, staged.id, chunk_rows=4, should_stop=lambda: True
        )
        assert not first.completed
        assert first.batch.status is ImportBatchStatus.EXECUTING and first.batch.pending_count == 19
        expect(ErrorCode.IMPORT_ALREADY_IMPORTED, stage, backend, lm, tmp_path / "big.csv")
        done = imports.execute_batch(backend.uow(lm), lm, staged.id, chunk_rows=4)
        assert done.completed and not done.is_existing
        assert (done.batch.created_count, done.batch.skipped_count) == (19, 4)
        with backend.raw() as conn:
            assert conn.scalar(select(func.count()).select_from(Player)) == 19
            assert conn.scalar(select(func.count()).select_from(PlayerLoyalty)) == 19
        assert audit_actions(backend, staged.id).count("import.executed") == 1

    def test_rows_page_in_file_order(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        staged = stage(backend, lm, generate(tmp_path / "big.csv", 7, bad_every=3)).batch
        page = imports.list_rows(backend.reader(lm), lm, staged.id, limit=3)
        assert [r.row_number for r in page.rows] == [1, 2, 3] and page.next_after == 3
        rest = imports.list_rows(backend.reader(lm), lm, staged.id, after_row=3, limit=10)
        assert [r.row_number for r in rest.rows] == [4, 5, 6, 7] and rest.next_after is None
        errors = imports.list_rows(backend.reader(lm), lm, staged.id, status=ImportRowStatus.ERROR)
        assert [r.row_number for r in errors.rows] == [3, 6]
        assert errors.rows[0].problems[0].column == "Points"


class TestReport:
    def test_the_error_report_is_formula_safe_csv(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        path = tmp_path / "evil.csv"
        path.write_text(
            ",".join(HEADER)
            + "\n"
            + '"=HYPERLINK(""http://evil"",""x"")",'
            + ",".join([*RITA[1:7], "-5", RITA[8]])
            + "\n"
            + ",".join([*RITA[:5], "@SUM(1)", *RITA[6:]])
            + "\n",
            encoding="utf-8",
        )
        staged = stage(backend, lm, path).batch
        out = io.StringIO()
        lines = imports.write_problem_report(backend.reader(lm), lm, staged.id, out)
        parsed = list(csv.reader(io.StringIO(out.getvalue())))
        assert parsed[0] == ["row", "line", "column", "reason", "value"]
        assert lines == len(parsed) - 1 == 3
        assert parsed[1][:3] == ["1", "2", "First Name"]
        assert parsed[1][4] == '\'=HYPERLINK("http://evil","x")'
        assert parsed[2][2:] == ["Points", "a points balance cannot be negative", "'-5"]
        assert parsed[3][2] == "Card" and parsed[3][4] == "'@SUM(1)"
        for cell in (c for line in parsed for c in line):
            assert not cell.startswith(("=", "+", "-", "@")), cell

    def test_execution_skips_are_in_the_report_too(
        self, backend: Database, world: CasinoWorld, tmp_path: Path
    ) -> None:
        lm = manager(world)
        boss = world.actor(StaffRole.PIT_BOSS)
        enrol(backend, boss, "Carl", date(1970, 5, 17), email="rita@example.com", card="C-0009")
        staged = stage(backend, lm, write_csv(tmp_path / "p.csv", [RITA])).batch
        imports.execute_batch(backend.uow(lm), lm, staged.id)
        page = imports.list_problems(backend.reader(lm), lm, staged.id)
        assert page.problems == [
            imports.ProblemLine(
                row_number=1,
                line_number=2,
                column="Card",
                reason="conflict: the player with this e-mail and date of birth holds card C-0009,"
                " not C-1001",
                value="C-1001",
            )
        ]


@pytest.mark.postgres
class TestAsTheApplicationRole:
    """On Postgres the terminals connect as the non-owner role, under row-level security."""

    def test_stage_fail_restart_and_execute_under_rls(
        self, pg_database: Database, app_database: Database, tmp_path: Path
    ) -> None:
        world = build_casino(pg_database)
        lm = manager(world)
        path = generate(tmp_path / "big.csv", 40, bad_every=8)
        original = path.read_bytes()

        def tamper(report: imports.ImportProgress) -> None:
            if report.phase is imports.ImportPhase.STAGING and report.rows_done == 10:
                with path.open("ab") as more:
                    more.write(",".join(RITA).encode() + b"\n")

        expect(
            ErrorCode.IMPORT_FILE_CHANGED,
            stage,
            app_database,
            lm,
            path,
            chunk_rows=10,
            progress=tamper,
        )
        path.write_bytes(original)
        staged = stage(app_database, lm, path, chunk_rows=10).batch  # restart deletes rows
        assert (staged.row_count, staged.error_count) == (40, 5)
        done = imports.execute_batch(app_database.uow(lm), lm, staged.id, chunk_rows=16)
        assert (done.batch.created_count, done.batch.skipped_count) == (35, 5)

        intruder = manager(build_casino(pg_database, "BRAVO"))
        with app_database.reader(intruder) as uow:
            conn = uow.session.connection()
            assert conn.scalar(select(func.count()).select_from(ImportRow)) == 0
            assert conn.scalar(select(func.count()).select_from(ImportBatch)) == 0
        with app_database.reader(lm) as uow:
            conn = uow.session.connection()
            assert conn.scalar(select(func.count()).select_from(ImportRow)) == 40
