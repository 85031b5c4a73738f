"""The domain layer and the migrations never pull in the UI (DESIGN §1).

Checked in a fresh interpreter: the test process itself has imported Textual by now.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, json, pkgutil, sys, tempfile

imported = []
for package_name in ("pitterm.domain", "db"):
    package = importlib.import_module(package_name)
    imported.append(package_name)
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        if info.name == "db.env":
            continue  # an Alembic script: it only runs inside a migration, as below
        importlib.import_module(info.name)
        imported.append(info.name)

import db

with tempfile.TemporaryDirectory() as folder:
    db.upgrade(f"sqlite:///{folder}/probe.sqlite3")
imported.append("db.env")

print(json.dumps({"imported": imported, "loaded": sorted(sys.modules)}))
"""

UI_PACKAGES = ("textual", "rich", "pitterm.screens", "pitterm.widgets", "pitterm.app")


def probe(code: str = PROBE) -> dict[str, list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, list[str]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def ui_modules(loaded: list[str]) -> list[str]:
    return [
        name
        for name in loaded
        if any(name == ui or name.startswith(ui + ".") for ui in UI_PACKAGES)
    ]


def test_domain_and_migrations_do_not_import_the_ui() -> None:
    result = probe()
    # The walk really reached every module (or the check below would prove nothing).
    expected = {
        path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for folder in ("pitterm/domain", "db")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "__init__.py"
    }
    missing = expected - set(result["imported"])
    assert not missing, f"not imported by the walk: {sorted(missing)}"
    assert "pitterm.domain.accrual" in result["loaded"]
    assert "sqlalchemy" in result["loaded"]
    assert ui_modules(result["loaded"]) == []


def test_the_probe_would_notice_a_ui_import() -> None:
    result = probe(
        "import json, sys, rich.text; print(json.dumps({'loaded': sorted(sys.modules)}))"
    )
    assert "rich" in ui_modules(result["loaded"])
