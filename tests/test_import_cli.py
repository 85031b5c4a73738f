"""`pitterm import`: stage, status, errors, execute — and a process killed mid-import resumes.

The kill tests run the real command in a subprocess, SIGKILL it at a random moment (mostly
once it has committed rows), run it again, and check every row is staged exactly once.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pitterm.cli import main
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.import_status import ImportBatchStatus, ImportRowStatus
from pitterm.domain.tables import AuditLog, ImportBatch, ImportRow, Player
from tests.factories import PINS, build_casino
from tests.import_support import MAPPING_TOML, RITA, generate, write_csv

ROOT = Path(__file__).parents[1]
LM_PIN = PINS[StaffRole.LOYALTY_MANAGER]


@dataclass
class Cli:
    database: Database
    folder: Path

    @property
    def url(self) -> str:
        return self.database.url

    def mapping(self) -> Path:
        path = self.folder / "mapping.toml"
        path.write_text(MAPPING_TOML, encoding="utf-8")
        return path

    def argv(self, *args: str, staff: str = "LM1") -> list[str]:
        return ["--db", self.url, "import", *args, "--casino", "ALPHA", "--staff", staff]


@pytest.fixture
def cli(sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    build_casino(sqlite_database)
    monkeypatch.setenv("PITTERM_PIN", LM_PIN)
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("PITTERM_CASINO", raising=False)
    return Cli(sqlite_database, tmp_path)


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stage_status_errors_and_execute(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(
        cli.folder / "players.csv",
        [RITA, [*RITA[:5], "=HYPERLINK(1)", *RITA[6:]], [*RITA[:7], "-5", RITA[8]]],
    )
    code, out, err = run(capsys, cli.argv(str(path), "--mapping", str(cli.mapping())))
    assert code == 0, err
    assert "rows       3: 1 staged, 2 with errors" in out
    assert "staging" in err and "scanning" in err
    with cli.database.raw() as conn:
        batch_id = conn.scalar(select(ImportBatch.id))
    short = str(batch_id)[:8]

    code, out, _ = run(capsys, cli.argv("status"))
    assert code == 0 and f"{batch_id}  staged" in out
    code, out, _ = run(capsys, cli.argv("status", short))
    assert code == 0 and "(staged)" in out

    report = cli.folder / "errors.csv"
    code, _, err = run(capsys, cli.argv("errors", short, "--out", str(report)))
    assert code == 0 and "2 problem line(s)" in err
    lines = list(csv.reader(report.open(encoding="utf-8")))
    assert lines[0] == ["row", "line", "column", "reason", "value"]
    assert lines[1][2] == "Card" and lines[1][4] == "'=HYPERLINK(1)"
    assert lines[2][2:] == ["Points", "a points balance cannot be negative", "'-5"]

    code, out, err = run(capsys, cli.argv("execute", short))
    assert code == 0, err
    assert "outcomes   1 created, 0 linked, 2 skipped" in out
    code, out, _ = run(capsys, cli.argv("execute", short))
    assert code == 0 and "already executed; nothing was changed" in out

    code, _, err = run(capsys, cli.argv(str(path), "--mapping", str(cli.mapping())))
    assert code == 1 and err.splitlines()[-1].startswith("IMPORT_ALREADY_IMPORTED:")


def test_refusals_and_usage_errors(
    cli: Cli, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(cli.folder / "players.csv", [RITA])
    code, _, err = run(capsys, cli.argv(str(path)))
    assert code == 2 and "--mapping" in err
    code, _, err = run(capsys, cli.argv("execute"))
    assert code == 2 and "execute BATCH" in err
    code, _, err = run(capsys, cli.argv("status", "ffffffff"))
    assert code == 1 and err.startswith("IMPORT_BATCH_NOT_FOUND")
    header_only = cli.folder / "header.csv"
    header_only.write_text("First Name,Last Name\n", encoding="utf-8")
    code, _, err = run(capsys, cli.argv(str(header_only), "--mapping", str(cli.mapping())))
    assert code == 1 and err.splitlines()[-1].startswith("IMPORT_MAPPING_INVALID")
    code, _, err = run(capsys, cli.argv("status", staff="PB1"))
    assert code == 1 and err.startswith("AUTH_INVALID_CREDENTIALS")  # LM1's PIN
    monkeypatch.setenv("PITTERM_PIN", PINS[StaffRole.PIT_BOSS])
    code, _, err = run(capsys, cli.argv("status", staff="PB1"))
    assert code == 1 and err.startswith("AUTH_FORBIDDEN")


# --- killed mid-import ------------------------------------------------------------------------

KILL_ROWS = 24_000
BAD_EVERY = 97


def _batch_state(database: Database) -> tuple[ImportBatchStatus | None, int]:
    try:
        with database.raw() as conn:
            found = conn.execute(select(ImportBatch.status, ImportBatch.row_count)).first()
    except Exception:  # the database may be mid-write by the process under test
        return None, 0
    return (None, 0) if found is None else (ImportBatchStatus(found[0]), found[1])


@dataclass
class KillTarget:
    url: str
    """What the command connects with (on Postgres: the application role, under RLS)."""
    observer: Database
    """How the test watches and checks (the owner: it sees every casino's rows)."""


def kill_and_resume(target: KillTarget, folder: Path, seed: int) -> str:
    """Import, SIGKILL at a random moment, import again; check every row is there once.

    Most kills wait for the first committed chunk and land somewhere in staging; some land
    early (start-up, the hashing pass, creating the batch).

    Returns where the kill landed (for failure messages).
    """
    database = target.observer
    rng = random.Random(seed)
    path = generate(folder / f"kill-{seed}.csv", KILL_ROWS, bad_every=BAD_EVERY)
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING_TOML, encoding="utf-8")
    env = {
        **os.environ,
        "PITTERM_PIN": LM_PIN,
        "PYTHONPATH": str(ROOT),
        "PITTERM_DATA_DIR": str(folder / "data"),
    }
    env.pop("PITTERM_DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "pitterm",
        "--db",
        target.url,
        "import",
        str(path),
        "--casino",
        "ALPHA",
        "--mapping",
        str(mapping),
        "--staff",
        "LM1",
    ]
    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    deadline = time.monotonic() + 60
    try:
        if rng.random() < 0.3:
            # Early: start-up, sign-in, the hashing pass, creating the batch, first chunk.
            time.sleep(rng.uniform(0.2, 2.0))
        else:
            while time.monotonic() < deadline and victim.poll() is None:
                status, rows = _batch_state(database)
                if rows > 0:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.8))
    finally:
        victim.kill()  # SIGKILL: no cleanup, no rollback but the database's own
        victim.wait(timeout=30)
    status, rows = _batch_state(database)
    landed = f"seed {seed}: killed with {rows:,} rows committed, batch {status}"

    done = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    if status is ImportBatchStatus.STAGED:  # the kill came after the end
        assert done.returncode == 1 and "IMPORT_ALREADY_IMPORTED" in done.stderr, landed
    else:
        assert done.returncode == 0, f"{landed}\n{done.stderr}"

    with database.raw() as conn:
        batch = conn.execute(
            select(
                ImportBatch.id, ImportBatch.status, ImportBatch.row_count, ImportBatch.error_count
            )
        ).one()
        numbers = list(
            conn.execute(
                select(ImportRow.row_number, ImportRow.status, ImportRow.loyalty_card_number)
                .where(ImportRow.batch_id == batch.id)
                .order_by(ImportRow.row_number)
            )
        )
        started = conn.scalar(
            select(func.count()).where(AuditLog.action == "import.staging_started")
        )
        staged_audits = conn.scalar(select(func.count()).where(AuditLog.action == "import.staged"))
    assert ImportBatchStatus(batch.status) is ImportBatchStatus.STAGED, landed
    assert (batch.row_count, batch.error_count) == (KILL_ROWS, KILL_ROWS // BAD_EVERY), landed
    assert [n for n, _s, _c in numbers] == list(range(1, KILL_ROWS + 1)), landed
    for number, row_status, card in numbers:
        bad = number % BAD_EVERY == 0
        assert ImportRowStatus(row_status) is (
            ImportRowStatus.ERROR if bad else ImportRowStatus.STAGED
        )
        assert card == (None if bad else f"C-{number:07d}"), landed
    assert (started, staged_audits) == (1, 1), landed
    return landed


@pytest.fixture
def kill_target(request: pytest.FixtureRequest) -> KillTarget:
    """A database with the casino built, and how the command under test connects to it."""
    if request.param == "sqlite":
        database: Database = request.getfixturevalue("sqlite_database")
        build_casino(database)
        return KillTarget(database.url, database)
    owner: Database = request.getfixturevalue("pg_database")
    build_casino(owner)
    app: Database = request.getfixturevalue("app_database")
    return KillTarget(app.url, owner)


@pytest.mark.parametrize(
    ("kill_target", "seed"),
    [("sqlite", 1), ("sqlite", 2), pytest.param("postgres", 5, marks=pytest.mark.postgres)],
    indirect=["kill_target"],
)
def test_a_killed_import_resumes_with_every_row_exactly_once(
    kill_target: KillTarget, tmp_path: Path, seed: int
) -> None:
    print(kill_and_resume(kill_target, tmp_path, seed))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_target", "seed"),
    [
        *(("sqlite", 100 + n) for n in range(10)),
        *(pytest.param("postgres", 200 + n, marks=pytest.mark.postgres) for n in range(10)),
    ],
    indirect=["kill_target"],
)
def test_twenty_killed_imports_all_resume_exactly_once(
    kill_target: KillTarget, tmp_path: Path, seed: int
) -> None:
    print(kill_and_resume(kill_target, tmp_path, seed))


def test_no_players_are_created_by_staging(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(cli.folder / "players.csv", [RITA])
    assert run(capsys, cli.argv(str(path), "--mapping", str(cli.mapping())))[0] == 0
    with cli.database.raw() as conn:
        assert conn.scalar(select(func.count()).select_from(Player)) == 0
