"""Admin mode: staff (lockouts, failed PINs, unlocking) and the comp catalog."""

from __future__ import annotations

import uuid

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import auth, loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.auth import StaffInfo
from pitterm.domain.database import Database
from pitterm.domain.loyalty import CompView
from pitterm.screens.base import ModeScreen
from pitterm.screens.comp_catalog import NewCompForm
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
            "n",
            "new_comp",
            "New comp",
            id="admin.new_comp",
            tooltip="Add an item to the comp catalog (name, category, points cost).",
        ),
        Binding(
            "t",
            "toggle_comp",
            "Comp on/off",
            id="admin.toggle_comp",
            tooltip="Take the selected comp off the catalog, or put it back.",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="admin.refresh",
            tooltip="Read the staff list and the comp catalog again from the database.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._staff: dict[str, StaffInfo] = {}
        self._comps: dict[str, CompView] = {}

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
        yield Static("Comp catalog", id="admin-comps-title")
        comps: DataTable[str] = DataTable(id="admin-comps", cursor_type="row", zebra_stripes=True)
        comps.add_column("Comp", key="name")
        comps.add_column("Category", key="category")
        comps.add_column("Points", key="cost")
        comps.add_column("On catalog", key="active")
        yield comps

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def reload(self) -> None:
        if self.session.actor is not None:
            self.load_staff(self.session.database, self.session.actor)
            self.load_comps(self.session.database, self.session.actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="admin-comps",
        description="Read the comp catalog",
    )
    def load_comps(self, database: Database, actor: Actor) -> None:
        comps = loyalty.comp_catalog(database.reader(actor), actor, include_inactive=True)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_comps, comps)

    def _show_comps(self, comps: list[CompView]) -> None:
        grid = self.query_one("#admin-comps", DataTable)
        self._comps = {str(comp.id): comp for comp in comps}
        grid.clear()
        for comp in comps:
            grid.add_row(
                comp.name,
                comp.category,
                f"{comp.points_cost:,}",
                "yes" if comp.active else "no",
                key=str(comp.id),
            )
        on = sum(comp.active for comp in comps)
        self.query_one("#admin-comps-title", Static).update(
            f"Comp catalog │ {on} on the catalog │ {len(comps) - on} off"
        )

    def selected_comp(self) -> CompView | None:
        grid = self.query_one("#admin-comps", DataTable)
        if grid.row_count == 0:
            return None
        key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
        return self._comps.get(key) if key is not None else None

    def action_new_comp(self) -> None:
        def added(comp: CompView | None) -> None:
            if comp is not None:
                self.notify(f"{comp.name} ({comp.points_cost:,} points) is on the catalog.")
                self.reload()

        self.app.push_screen(NewCompForm(), added)

    def action_toggle_comp(self) -> None:
        comp = self.selected_comp()
        if comp is None:
            self.notify("Select a comp in the catalog first (Tab moves to it).")
            return
        self.toggle_comp(self.session.database, self.session.signed_in(), comp)

    @work(
        thread=True,
        exit_on_error=False,
        group="admin-comp-toggle",
        description="Change a comp's place on the catalog",
    )
    def toggle_comp(self, database: Database, actor: Actor, comp: CompView) -> None:
        changed = loyalty.set_comp_active(database.uow(actor), actor, comp.id, not comp.active)
        state = "back on" if changed.active else "off"
        self.app.call_from_thread(self.notify, f"{changed.name} is {state} the catalog.")
        self.app.call_from_thread(self.reload)

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
