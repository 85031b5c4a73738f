"""Snapshots of Reconcile mode on the demo's executed batch: the queue and the diff pane.

Fixed size, frozen clock, the deterministic demo (seeded once per session, copied per
test). Update with ``--snapshot-update`` and look at every changed SVG before keeping it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from pitterm import demo
from pitterm.app import PitApp
from pitterm.domain.database import Database
from tests.test_app_shell import make_app
from tests.test_app_snapshots import before, keys
from tests.test_reconcile_ui import (
    ADMIN,
    DOWNGRADE,
    MANAGER,
    STALE,
    UI_SIZE,
    demo_database,
    open_queue,
    to_row,
)

__all__ = ["demo_database"]  # the fixture, shared with the Pilot tests

SnapCompare = Callable[..., bool]
Step = Callable[[Pilot[None]], Awaitable[None]]


def queue_as(login: tuple[str, str]) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await open_queue(pilot, login)

    return step


def row(row_number: int) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await to_row(pilot, row_number)

    return step


def text(typed: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press(*["space" if ch == " " else ch for ch in typed])

    return step


async def no_toasts(pilot: Pilot[None]) -> None:
    """Drop the notifications: how long a toast stays up depends on the machine's speed."""
    pilot.app.clear_notifications()
    await pilot.pause()


def app_on(database: Database) -> PitApp:
    return make_app(database, casino=demo.IMPORT_CASINO)


class TestReconcileMode:
    """The demo batch legacy-club-tiers-q3.csv: twelve records, every case once."""

    def test_queue(self, snap_compare: SnapCompare, demo_database: Database) -> None:
        """Counts at the top (by status; pending by outcome and freshness), the filters, the
        twelve records in file order, and the first row's diff: an upgrade with conflicts."""
        assert snap_compare(
            app_on(demo_database), terminal_size=UI_SIZE, run_before=before(queue_as(MANAGER))
        )

    def test_diff_of_a_confirmed_stale_row(
        self, snap_compare: SnapCompare, demo_database: Database
    ) -> None:
        """The stale row after c: the ✓ in the queue, the last activity against the 90-day
        threshold, and the confirmation the apply still needs, given."""
        assert snap_compare(
            app_on(demo_database),
            terminal_size=UI_SIZE,
            run_before=before(queue_as(MANAGER), row(STALE), keys("c"), no_toasts),
        )

    def test_diff_after_an_admin_override(
        self, snap_compare: SnapCompare, demo_database: Database
    ) -> None:
        """The downgrade the admin applied with a reason: decided, who and when, the tiers
        before and after, and the override reason."""
        assert snap_compare(
            app_on(demo_database),
            terminal_size=UI_SIZE,
            run_before=before(
                queue_as(ADMIN),
                row(DOWNGRADE),
                keys("o"),
                text("vendor audit confirmed silver"),
                keys("enter"),
                no_toasts,
            ),
        )
