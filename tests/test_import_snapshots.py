"""Snapshots of Import mode: a vendor file mapped and previewed, and its staged batch.

Fixed size, frozen clock, a deterministic file in the test's own folder (named relative to
it, so the path shown never changes). Update with ``--snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pitterm.app import PitApp
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from tests.test_app_shell import make_app
from tests.test_app_snapshots import as_role, before, keys
from tests.test_import_ui import TIER_COLUMN, vendor_casino, write_vendor_file

SnapCompare = Callable[..., bool]
SNAP_SIZE = (140, 36)


class TestImportMode:
    """Import mode on the six-row vendor file (three good rows, three with errors)."""

    def test_mapping_and_preview(
        self,
        snap_compare: SnapCompare,
        sqlite_database: Database,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Detected facts, the column → field table with Member Tier mapped by keys, and
        the first rows normalised with the three rows' problems."""
        vendor_casino(sqlite_database)
        write_vendor_file(tmp_path)
        monkeypatch.chdir(tmp_path)
        app: PitApp = make_app(sqlite_database)
        assert snap_compare(
            app,
            terminal_size=SNAP_SIZE,
            run_before=before(
                as_role(StaffRole.LOYALTY_MANAGER),
                keys("f5"),
                keys("f", *"vendor.csv", "enter"),
                keys(*["down"] * TIER_COLUMN, "space", "space"),
            ),
        )

    def test_staged_batch_with_errors(
        self,
        snap_compare: SnapCompare,
        sqlite_database: Database,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The staged batch: status, counts (6 rows, 3 valid, 3 errors) and the problem list."""
        vendor_casino(sqlite_database)
        write_vendor_file(tmp_path)
        monkeypatch.chdir(tmp_path)
        app: PitApp = make_app(sqlite_database)
        assert snap_compare(
            app,
            terminal_size=SNAP_SIZE,
            run_before=before(
                as_role(StaffRole.LOYALTY_MANAGER),
                keys("f5"),
                keys("f", *"vendor.csv", "enter"),
                keys(*["down"] * TIER_COLUMN, "space", "space"),
                keys("s"),
            ),
        )
