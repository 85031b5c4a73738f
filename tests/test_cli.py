"""The `pitterm` command: help, the demo database, migrations, and a wheel that can migrate."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

import db
from pitterm.cli import main
from pitterm.domain import auth, casinos
from pitterm.domain.database import Database, Scope, make_engine
from pitterm.domain.enums import StaffRole
from pitterm.domain.tables import Casino, Player
from tests.conftest import PostgresCluster

ROOT = Path(__file__).parents[1]
HEAD = db.head_revision()


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Demo mode with its data directory under tmp_path, whatever the caller's environment."""
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("PITTERM_CASINO", raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PITTERM_DATA_DIR", str(data_dir))
    return data_dir


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for word in ("run", "demo", "db", "--db", "--casino"):
        assert word in out

    with pytest.raises(SystemExit) as done:
        main(["db", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "upgrade" in out and "current" in out


def test_installed_console_script_answers_help() -> None:
    script = Path(sys.executable).with_name("pitterm")
    if not script.exists():
        pytest.skip("the pitterm console script is not installed beside this interpreter")
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=True, timeout=120
    )
    assert "demo" in done.stdout and "db" in done.stdout


def _casino_codes_and_players(path: Path) -> tuple[set[str], int]:
    database = Database.from_url(f"sqlite:///{path}")
    try:
        with database.reader() as uow:
            codes = set(uow.session.scalars(select(Casino.code)))
            players = uow.session.scalar(select(func.count()).select_from(Player)) or 0
        return codes, players
    finally:
        database.dispose()


def test_demo_reset_builds_then_rebuilds_the_demo_database(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "demo", "--reset")
    assert code == 0
    path = demo_dir / "demo.sqlite3"
    assert str(path) in out
    assert path.exists()
    codes, players = _casino_codes_and_players(path)
    assert codes == {"BELLA", "CREST"}
    assert players >= 300
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert db.current_revision(engine) == HEAD
    finally:
        engine.dispose()

    # Something a trainee did: it survives a plain `pitterm demo`, not a reset.
    database = Database.from_url(f"sqlite:///{path}")
    try:
        casinos.create_casino(database.uow(), casinos.NewCasino(code="EXTRA", name="Extra"))
    finally:
        database.dispose()
    code, out = _run(capsys, "demo")
    assert code == 0 and "ready" in out
    assert "EXTRA" in _casino_codes_and_players(path)[0]

    code, out = _run(capsys, "demo", "--reset")
    assert code == 0 and "rebuilt" in out
    assert _casino_codes_and_players(path) == ({"BELLA", "CREST"}, players)


def test_demo_refuses_when_a_database_is_configured(
    demo_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "production.sqlite3"
    url = f"sqlite:///{other}"

    code, out = _run(capsys, "--db", url, "demo", "--reset")
    assert code == 2 and "demo database only" in out

    monkeypatch.setenv("PITTERM_DATABASE_URL", url)
    code, out = _run(capsys, "demo", "--reset")
    assert code == 2 and "demo database only" in out

    assert not other.exists()
    assert not (demo_dir / "demo.sqlite3").exists()


def _schema(url: str) -> tuple[str | None, dict[str, list[str]]]:
    """The revision and every table with its index names: what an upgrade could change."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        tables = {
            name: sorted(str(index["name"]) for index in inspector.get_indexes(name))
            for name in inspector.get_table_names()
        }
        return db.current_revision(engine), tables
    finally:
        engine.dispose()


def _upgrade_twice(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "--db", url, "db", "current")
    assert code == 0
    assert "database: empty" in out and f"code:     {HEAD}" in out

    code, out = _run(capsys, "--db", url, "db", "upgrade")
    assert code == 0
    assert f"migrated from empty to {HEAD}" in out
    migrated = _schema(url)
    assert migrated[0] == HEAD
    assert {"casino", "staff", "player", "player_loyalty", "loyalty_ledger", "audit_log"} <= set(
        migrated[1]
    )

    code, out = _run(capsys, "--db", url, "db", "upgrade")
    assert code == 0
    assert f"already at {HEAD}; nothing to do" in out
    assert _schema(url) == migrated

    code, out = _run(capsys, "--db", url, "db", "current")
    assert code == 0
    assert f"database: {HEAD}" in out and f"code:     {HEAD}" in out


@pytest.mark.postgres
def test_db_upgrade_on_an_empty_postgres_database_then_nothing_to_do(
    pg_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    name = f"pitterm_cli_{uuid.uuid4().hex[:10]}"
    pg_cluster.execute(f"CREATE DATABASE {name}")
    try:
        _upgrade_twice(pg_cluster.url_for(name), capsys)
    finally:
        pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_db_upgrade_on_an_empty_sqlite_file_then_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PITTERM_DATABASE_URL", raising=False)
    path = tmp_path / "empty.sqlite3"
    path.touch()
    _upgrade_twice(f"sqlite:///{path}", capsys)


def test_installed_wheel_carries_the_migrations(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _pip("wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("pitterm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "db/script.py.mako" in names
    assert "db/env.py" in names
    shipped = {n for n in names if n.startswith("db/versions/") and n.endswith(".py")}
    in_source = {f"db/versions/{p.name}" for p in (ROOT / "db" / "versions").glob("*.py")}
    assert shipped == in_source

    site = tmp_path / "site"
    _pip("install", "--no-deps", "--quiet", "--target", str(site), str(wheel))
    target = tmp_path / "w.sqlite3"
    script = f"""
import pathlib
import db, pitterm
site = pathlib.Path({str(site)!r}).resolve()
for module in (db, pitterm):
    assert pathlib.Path(module.__file__).resolve().is_relative_to(site), module.__file__
db.upgrade({f"sqlite:///{target}"!r})
print(db.head_revision())
"""
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("PITTERM_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == HEAD
    revision, tables = _schema(f"sqlite:///{target}")
    assert revision == HEAD
    assert {"casino", "staff", "player", "loyalty_ledger", "audit_log"} <= set(tables)


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_casino_add_creates_a_casino_and_its_first_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    monkeypatch.setenv("PITTERM_PIN", "12")  # too short: refused, nothing written
    assert (
        main(
            [
                "--db",
                url,
                "casino",
                "add",
                "LAKE",
                "Lakeside",
                "--admin-code",
                "A1",
                "--admin-name",
                "Ann Admin",
            ]
        )
        == 1
    )
    assert "pin" in capsys.readouterr().err
    monkeypatch.setenv("PITTERM_PIN", "4321")
    assert (
        main(
            [
                "--db",
                url,
                "casino",
                "add",
                "LAKE",
                "Lakeside",
                "--time-zone",
                "America/Chicago",
                "--admin-code",
                "A1",
                "--admin-name",
                "Ann Admin",
            ]
        )
        == 0
    )
    assert main(["--db", url, "casino", "list"]) == 0
    out = capsys.readouterr().out
    assert "Casino LAKE created, with admin A1." in out and "LAKE" in out.splitlines()[-1]
    database = Database.from_url(url)
    try:
        [casino] = auth.list_casinos(database.uow())
        actor = auth.sign_in(database.uow(Scope(casino.id)), auth.parse_credentials("A1", "4321"))
        assert actor.role is StaffRole.ADMIN
    finally:
        database.dispose()
