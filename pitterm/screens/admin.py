"""Admin mode: the casino's staff, with lockouts and failed PINs, and unlocking an account."""

from __future__ import annotations

import uuid

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import auth
from pitterm.domain.actor import Actor
from pitterm.domain.auth import StaffInfo
from pitterm.domain.database import Database
from pitterm.screens.base import ModeScreen
from pitterm.screens.confirm import ConfirmScreen


class AdminScreen(ModeScreen):
    """Staff accounts: code, name, role, lock state, failed PINs, assigned table."""

    MODE_NAME = "admin"
    MODE_TITLE = "Admin"

    BINDINGS = [
        Binding(
            "u",
            "unlock",
            "Unlock staff",
            id="admin.unlock_staff",
            tooltip="Clear the lockout and failed PINs of the selected staff member.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="admin.refresh",
            tooltip="Read the staff list again from the database.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._staff: dict[str, StaffInfo] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("Staff", id="admin-title")
        table: DataTable[str] = DataTable(id="admin-staff", cursor_type="row", zebra_stripes=True)
        table.add_column("Code", key="code")
        table.add_column("Name", key="name")
        table.add_column("Role", key="role")
        table.add_column("Locked", key="locked")
        table.add_column("Failed PINs", key="failed")
        table.add_column("Table", key="table")
        yield table

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def reload(self) -> None:
        if self.session.actor is not None:
            self.load_staff(self.session.database, self.session.actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="admin-staff",
        description="Read the staff list",
    )
    def load_staff(self, database: Database, actor: Actor) -> None:
        staff = auth.list_staff(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_staff, staff)

    def _show_staff(self, staff: list[StaffInfo]) -> None:
        grid = self.query_one("#admin-staff", DataTable)
        selected = self.selected_staff()
        self._staff = {str(member.id): member for member in staff}
        grid.clear()
        for member in staff:
            grid.add_row(*_cells(member), key=str(member.id))
        if selected is not None and str(selected.id) in self._staff:
            grid.move_cursor(row=grid.get_row_index(str(selected.id)))
        locked = sum(member.locked for member in staff)
        self.query_one("#admin-title", Static).update(
            f"Staff │ {len(staff)} accounts │ {locked} locked"
        )

    def selected_staff(self) -> StaffInfo | None:
        grid = self.query_one("#admin-staff", DataTable)
        if grid.row_count == 0:
            return None
        key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
        return self._staff.get(key) if key is not None else None

    def action_unlock(self) -> None:
        member = self.selected_staff()
        if member is None:
            return
        if not member.locked and member.failed_attempts == 0:
            self.notify(f"{member.code} ({member.name}) is not locked.")
            return
        question = (
            f"Unlock {member.code} ({member.name}, {member.role.label})?"
            f" This clears {member.failed_attempts} failed PIN"
            f"{'s' if member.failed_attempts != 1 else ''}"
            f"{' and the lockout' if member.locked else ''}."
        )

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.unlock(self.session.database, self.session.signed_in(), member.id)

        self.app.push_screen(
            ConfirmScreen("Unlock staff member", question, confirm_label="Unlock"), answered
        )

    @work(
        thread=True,
        exit_on_error=False,
        group="admin-unlock",
        description="Unlock a staff member",
    )
    def unlock(self, database: Database, actor: Actor, staff_id: uuid.UUID) -> None:
        member = auth.unlock_staff(database.uow(actor), actor, staff_id)
        self.app.call_from_thread(self._unlocked, member)

    def _unlocked(self, member: StaffInfo) -> None:
        self.notify(f"{member.code} ({member.name}) is unlocked.", title="Staff unlocked")
        self.reload()


def _cells(member: StaffInfo) -> tuple[str, ...]:
    return (
        member.code,
        member.name,
        member.role.label,
        "LOCKED" if member.locked else "no",
        str(member.failed_attempts),
        member.assigned_table or "—",
    )
