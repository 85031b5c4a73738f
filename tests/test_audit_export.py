"""The audit log export (service on both backends, `pitterm audit export`), and the CLI's one
line for a database that refuses a command (Postgres as the application role)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from pitterm.cli import main
from pitterm.domain import audit_export, auth, casinos
from pitterm.domain.audit_export import HEADER, AuditExportWindow, export_csv
from pitterm.domain.casinos import NewStaff, SettingsChange
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import AuditLog, Casino
from tests.factories import PINS, CasinoWorld, build_casino, signed_in
from tests.floor_support import key

ADMIN_PIN = PINS[StaffRole.ADMIN]


def exported(
    database: Database, world: CasinoWorld, window: AuditExportWindow
) -> list[dict[str, str]]:
    out = io.StringIO()
    result = export_csv(database.reader(world.admin), world.admin, window, out)
    out.seek(0)
    rows = list(csv.DictReader(out))
    assert result.rows == len(rows)
    return rows


def audit_ids(database: Database, world: CasinoWorld) -> list[str]:
    """The casino's audit rows in the export's order, straight from the database."""
    with database.reader(world.scope) as uow:
        return [
            str(i)
            for i in uow.session.scalars(
                select(AuditLog.id).order_by(AuditLog.created_at, AuditLog.id)
            )
        ]


def test_every_row_once_in_time_order_across_pages(
    backend: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 5 over rows that mostly share one timestamp (a frozen clock): the keyset's
    tie-break on id loses and repeats nothing."""
    world = build_casino(backend)
    other = build_casino(backend, "BETA")
    clock = backend.clock
    assert isinstance(clock, FixedClock)
    for minutes in (5, 10):
        clock.advance(timedelta(minutes=minutes))
        signed_in(backend, world.casino, "PB1", PINS[StaffRole.PIT_BOSS])
    monkeypatch.setattr(audit_export, "EXPORT_PAGE", 5)
    rows = exported(backend, world, AuditExportWindow())
    expected = audit_ids(backend, world)
    assert len(expected) > 3 * 5
    assert [r["audit_id"] for r in rows] == expected
    assert not {r["audit_id"] for r in rows} & set(audit_ids(backend, other))
    assert list(rows[0]) == list(HEADER)
    last = rows[-1]
    assert (last["action"], last["staff_code"], last["staff_role"]) == (
        "auth.sign_in",
        "PB1",
        "pit_boss",
    )
    assert last["created_at"] == (clock.now()).isoformat()


def test_before_and_after_are_json_and_the_window_is_in_local_days(backend: Database) -> None:
    world = build_casino(backend)  # Saturday 21 Nov 2026, noon in Los Angeles
    clock = backend.clock
    assert isinstance(clock, FixedClock)
    admin = world.admin
    clock.advance(timedelta(days=1))  # Sunday 22nd
    casinos.update_settings(
        backend.uow(admin), admin, SettingsChange(idle_lock_minutes=9, idempotency_key=key())
    )
    clock.advance(timedelta(days=1))  # Monday 23rd
    casinos.update_settings(
        backend.uow(admin), admin, SettingsChange(idle_lock_minutes=11, idempotency_key=key())
    )
    sunday = exported(
        backend, world, AuditExportWindow(since=date(2026, 11, 22), until=date(2026, 11, 22))
    )
    assert [r["action"] for r in sunday] == ["casino_settings.updated"]
    [row] = sunday
    assert json.loads(row["before"]) == {"idle_lock_minutes": 5}
    assert json.loads(row["after"]) == {"idle_lock_minutes": 9}
    assert (row["entity_type"], row["entity_id"]) == ("casino_settings", str(world.casino.id))
    assert row["staff_code"] == "ADM1" and row["staff_name"] == "Ada Admin"

    from_sunday = exported(backend, world, AuditExportWindow(since=date(2026, 11, 22)))
    assert len(from_sunday) == 2
    to_saturday = exported(backend, world, AuditExportWindow(until=date(2026, 11, 21)))
    assert to_saturday and all(r["action"] != "casino_settings.updated" for r in to_saturday)
    [created] = [r for r in to_saturday if r["action"] == "casino.created"]
    assert (created["action"], created["staff_code"]) == ("casino.created", "")
    assert json.loads(created["after"])["code"] == "ALPHA"

    with pytest.raises(DomainError) as backwards:
        exported(
            backend, world, AuditExportWindow(since=date(2026, 11, 23), until=date(2026, 11, 22))
        )
    assert backwards.value.code is ErrorCode.VALIDATION_FAILED
    assert backwards.value.message.startswith("until:")


def test_cells_a_spreadsheet_would_run_are_written_as_text(backend: Database) -> None:
    world = build_casino(backend)
    admin = world.admin
    casinos.add_staff(
        backend.uow(admin),
        admin,
        NewStaff(code="EVIL", name='=HYPERLINK("http://x")', role=StaffRole.CASHIER, pin="2580"),
    )
    signed_in(backend, world.casino, "EVIL", "2580")
    rows = exported(backend, world, AuditExportWindow())
    [signed] = [r for r in rows if r["staff_code"] == "EVIL"]
    assert signed["staff_name"] == '\'=HYPERLINK("http://x")'
    [created] = [r for r in rows if r["action"] == "staff.created" and "EVIL" in r["after"]]
    assert created["after"].startswith("{")  # JSON: never read as a formula


@pytest.mark.parametrize("role", [r for r in StaffRole if r is not StaffRole.ADMIN])
def test_only_an_admin_may_export(sqlite_database: Database, role: StaffRole) -> None:
    world = build_casino(sqlite_database)
    actor = world.actor(role)
    out = io.StringIO()
    with pytest.raises(DomainError) as refused:
        export_csv(sqlite_database.reader(actor), actor, AuditExportWindow(), out)
    assert refused.value.code is ErrorCode.AUTH_FORBIDDEN
    assert out.getvalue() == ""


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("PITTERM_CASINO", raising=False)
    monkeypatch.setenv("PITTERM_PIN", ADMIN_PIN)
    return monkeypatch


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def export_argv(url: str, *extra: str, staff: str = "ADM1") -> list[str]:
    return ["--db", url, "audit", "export", "--casino", "alpha", "--staff", staff, *extra]


def test_the_command_writes_a_new_file_and_refuses_to_overwrite(
    sqlite_database: Database,
    tmp_path: Path,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = build_casino(sqlite_database)
    target = tmp_path / "audit.csv"
    code, out, err = run(capsys, *export_argv(sqlite_database.url, "--out", str(target)))
    assert code == 0, err
    rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    assert [r["audit_id"] for r in rows] == audit_ids(sqlite_database, world)
    assert rows[-1]["action"] == "auth.sign_in" and rows[-1]["staff_code"] == "ADM1"
    assert err.strip() == f"{len(rows)} audit row(s) of ALPHA written to {target}."
    assert out == ""

    before = target.read_bytes()
    code, _, err = run(capsys, *export_argv(sqlite_database.url, "--out", str(target)))
    assert code == 2 and "already exists" in err
    assert target.read_bytes() == before

    code, out, _ = run(capsys, *export_argv(sqlite_database.url, "--since", "2026-11-21"))
    assert code == 0 and out.splitlines()[0] == ",".join(HEADER)


def test_the_command_refuses_non_admins_bad_pins_and_bad_dates(
    sqlite_database: Database,
    tmp_path: Path,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_casino(sqlite_database)
    target = tmp_path / "audit.csv"
    cli_env.setenv("PITTERM_PIN", PINS[StaffRole.LOYALTY_MANAGER])
    code, _, err = run(capsys, *export_argv(sqlite_database.url, "--out", str(target), staff="LM1"))
    assert code == 1 and err.startswith("AUTH_FORBIDDEN: A loyalty manager may not")
    assert not target.exists()  # refused before the file was made, or removed

    cli_env.setenv("PITTERM_PIN", "9999")
    code, _, err = run(capsys, *export_argv(sqlite_database.url, "--out", str(target)))
    assert code == 1 and err.startswith("AUTH_INVALID_CREDENTIALS")
    assert not target.exists()

    with pytest.raises(SystemExit) as usage:
        main(export_argv(sqlite_database.url, "--since", "21/11/2026"))
    assert usage.value.code == 2
    assert "is not a date (YYYY-MM-DD)" in capsys.readouterr().err


@pytest.mark.postgres
def test_the_command_works_as_the_application_role(
    pg_database: Database,
    app_database: Database,
    tmp_path: Path,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Row-level security: the export sees its own casino's rows, none of BETA's."""
    world = build_casino(pg_database)
    other = build_casino(pg_database, "BETA")
    target = tmp_path / "audit.csv"
    code, _, err = run(capsys, *export_argv(app_database.url, "--out", str(target)))
    assert code == 0, err
    ids = [r["audit_id"] for r in csv.DictReader(target.open(encoding="utf-8", newline=""))]
    assert ids == audit_ids(pg_database, world)
    assert not set(ids) & set(audit_ids(pg_database, other))


# -- a database that refuses: one line, not a traceback ---------------------------------------


@pytest.mark.postgres
def test_casino_add_as_the_application_role_is_one_clear_line(
    pg_database: Database,
    app_database: Database,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--db", app_database.url, "casino", "add", "GAMMA", "Gamma", "--admin-code", "ADM1"]
    code, out, err = run(capsys, *argv, "--admin-name", "Ada Admin")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pitterm: permission denied by the database")
    assert "permission denied for table casino" in lines[0]
    assert "database owner" in lines[0]
    assert "Traceback" not in err
    with pg_database.reader() as uow:
        assert uow.session.scalar(select(Casino).where(Casino.code == "GAMMA")) is None


def test_an_unreachable_database_is_one_line_too(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refusal no command catches (here DATABASE_UNAVAILABLE from `casino list`)."""
    url = "postgresql://nobody@127.0.0.1:1/pitterm?connect_timeout=2"
    code, out, err = run(capsys, "--db", url, "casino", "list")
    assert code == 1 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("pitterm: DATABASE_UNAVAILABLE: ")


def test_a_bug_keeps_its_traceback(
    cli_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only refusals are turned into one line; anything else still raises."""

    def broken(uow: object) -> list[auth.CasinoInfo]:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(auth, "list_casinos", broken)
    with pytest.raises(ZeroDivisionError):
        main(["--db", "sqlite://", "casino", "list"])
