"""Admin mode: staff accounts, games and tables, the comp catalog, the casino's settings.

Staff: add a member, reset a PIN, deactivate or reactivate, unlock after wrong PINs. Games
and tables: add a game with its accrual policy, add a table for a game. Settings: one form
over the casino's settings row. Every change is a service call in a worker, audited.
"""

from __future__ import annotations

import uuid

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from pitterm.domain import auth, casinos, loyalty
from pitterm.domain.actor import Actor
from pitterm.domain.auth import PinReset, StaffInfo
from pitterm.domain.casinos import GameView, SettingsSaved, SettingsView
from pitterm.domain.database import Database
from pitterm.domain.loyalty import CompView
from pitterm.screens.admin_forms import (
    NewGameForm,
    NewStaffForm,
    NewTableForm,
    ResetPinForm,
    SettingsForm,
)
from pitterm.screens.base import ModeScreen
from pitterm.screens.comp_catalog import NewCompForm
from pitterm.screens.confirm import ConfirmScreen
from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.formatting import dollars, percent
from pitterm.widgets.literal import literal


class AdminScreen(ModeScreen):
    """Staff accounts, games and their tables, the comp catalog; the casino settings form."""

    HELP = """
    Staff accounts, games and tables, the comp catalog and the casino's settings. The staff
    list shows each member's role, whether the account is active, whether it is locked after
    too many wrong PINs, the failed attempts and the assigned table. Add a staff member (a
    dealer needs a table), give the highlighted member a new PIN (it also unlocks them),
    deactivate them (no sign-in, no approvals; their records stay) or reactivate them, or
    unlock them (you confirm first). The games list shows each game's accrual policy, limits
    and tables: add a game, or a table for the highlighted game. The comp catalog lists the
    comps staff can issue and their points cost: add an item, or take one off the catalog and
    put it back. Settings opens the casino's settings (time zone, gaming day, idle lock,
    overdraw, CTR and MTL, freshness, promo alerts). Every change is audited.
    """

    MODE_NAME = "admin"
    MODE_TITLE = "Admin"

    BINDINGS = [
        Binding(
            "a",
            "add_staff",
            "Add staff",
            id="admin.add_staff",
            tooltip="Add a staff member: code, name, role, table (a dealer's) and first PIN.",
        ),
        Binding(
            "p",
            "reset_pin",
            "Reset PIN",
            id="admin.reset_pin",
            tooltip="Give the selected staff member a new PIN (it also clears a lockout).",
        ),
        Binding(
            "d",
            "toggle_staff",
            "Staff on/off",
            id="admin.toggle_staff",
            tooltip="Deactivate the selected staff member (no sign-in), or reactivate them.",
        ),
        Binding(
            "u",
            "unlock",
            "Unlock staff",
            id="admin.unlock_staff",
            tooltip="Clear the lockout and failed PINs of the selected staff member.",
        ),
        Binding(
            "g",
            "new_game",
            "New game",
            id="admin.new_game",
            tooltip="Add a game: type, house edge, decisions per hour, points policy, limits.",
        ),
        Binding(
            "l",
            "new_table",
            "New table",
            id="admin.new_table",
            tooltip="Add a table (label, pit, seats) for the selected game.",
        ),
        Binding(
            "s",
            "settings",
            "Settings",
            id="admin.settings",
            tooltip="The casino's settings: time zone, idle lock, overdraw, CTR/MTL, promo.",
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
            tooltip="Read the staff, the games and the comp catalog again from the database.",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._staff: dict[str, StaffInfo] = {}
        self._comps: dict[str, CompView] = {}
        self._games: dict[str, GameView] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("Staff", id="admin-title")
        table: DataTable[str] = DataTable(id="admin-staff", cursor_type="row", zebra_stripes=True)
        fixed_columns(
            table,
            Col("Code", "code", 8),
            Col("Name", "name", 26),
            Col("Role", "role", 16),
            Col("Locked", "locked", 6),
            Col("Failed PINs", "failed", 11),
            Col("Table", "table", 8),
            Col("Active", "active", 8),
        )
        yield table
        yield Static("Games", id="admin-games-title")
        games: DataTable[str] = DataTable(id="admin-games", cursor_type="row", zebra_stripes=True)
        fixed_columns(
            games,
            # 81 columns of text + 16 of cell padding: no horizontal scrollbar at 100 wide.
            Col("Game", "name", 20),
            Col("Type", "type", 9),
            Col("Edge", "edge", 6),
            Col("Dec/h", "decisions", 5),
            Col("Pts/$1", "rate", 6),
            Col("Rounding", "rounding", 8),
            Col("Limits", "limits", 13),
            Col("Tables", "tables", 14),
        )
        yield games
        yield Static("Comp catalog", id="admin-comps-title")
        comps: DataTable[str] = DataTable(id="admin-comps", cursor_type="row", zebra_stripes=True)
        fixed_columns(
            comps,
            Col("Comp", "name", 30),
            Col("Category", "category", 16),
            Col("Points", "cost", 8),
            Col("On catalog", "active", 10),
        )
        yield comps

    def on_screen_resume(self) -> None:
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def reload(self) -> None:
        if self.session.actor is not None:
            self.load_staff(self.session.database, self.session.actor)
            self.load_games(self.session.database, self.session.actor)
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
                literal(comp.name),
                literal(comp.category),
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
        inactive = sum(not member.active for member in staff)
        self.query_one("#admin-title", Static).update(
            f"Staff │ {len(staff)} accounts │ {locked} locked"
            + (f" │ {inactive} inactive" if inactive else "")
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

    # -- staff: add, PIN reset, deactivate / reactivate ------------------------------------

    def action_add_staff(self) -> None:
        tables = [(t.label, t.id) for game in self._games.values() for t in game.tables]

        def added(summary: str | None) -> None:
            if summary is not None:
                self.notify(f"{summary}.", title="Staff member added")
                self.reload()

        self.app.push_screen(NewStaffForm(sorted(tables)), added)

    def action_reset_pin(self) -> None:
        member = self.selected_staff()
        if member is None:
            self.notify("Select a staff member first.")
            return

        def reset(done: PinReset | None) -> None:
            if done is not None:
                self.notify(
                    f"{done.staff.code} ({done.staff.name}) has a new PIN.", title="PIN reset"
                )
                self.reload()

        self.app.push_screen(ResetPinForm(member), reset)

    def action_toggle_staff(self) -> None:
        member = self.selected_staff()
        if member is None:
            self.notify("Select a staff member first.")
            return
        actor = self.session.signed_in()
        if member.active and member.id == actor.staff_id:
            self.notify("You cannot deactivate your own account; another admin must.")
            return
        who = f"{member.code} ({member.name}, {member.role.label})"
        if member.active:
            title, label = "Deactivate staff member", "Deactivate"
            question = (
                f"Deactivate {who}? They can no longer sign in or approve; what they did"
                " stays on record. You can reactivate them later."
            )
        else:
            title, label = "Reactivate staff member", "Reactivate"
            question = f"Reactivate {who}? They can sign in again with their PIN."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.set_active(self.session.database, actor, member.id, not member.active)

        self.app.push_screen(ConfirmScreen(title, question, confirm_label=label), answered)

    @work(
        thread=True,
        exit_on_error=False,
        group="admin-staff-active",
        description="Deactivate or reactivate a staff member",
    )
    def set_active(
        self, database: Database, actor: Actor, staff_id: uuid.UUID, active: bool
    ) -> None:
        member = auth.set_staff_active(database.uow(actor), actor, staff_id, active)
        self.app.call_from_thread(self._activity_changed, member)

    def _activity_changed(self, member: StaffInfo) -> None:
        state = "active again" if member.active else "deactivated"
        self.notify(f"{member.code} ({member.name}) is {state}.", title="Staff changed")
        self.reload()

    # -- games and tables ------------------------------------------------------------------

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="admin-games",
        description="Read the games and tables",
    )
    def load_games(self, database: Database, actor: Actor) -> None:
        games = casinos.list_games(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_games, games)

    def _show_games(self, games: list[GameView]) -> None:
        grid = self.query_one("#admin-games", DataTable)
        selected = self.selected_game()
        self._games = {str(game.id): game for game in games}
        grid.clear()
        for game in games:
            grid.add_row(
                literal(game.name),
                game.game_type.value,
                percent(game.house_edge),
                str(game.decisions_per_hour),
                format(game.points_conversion_rate.normalize(), "f"),
                game.rounding.value.replace("_", " "),
                f"{dollars(game.min_bet_cents)}–{dollars(game.max_bet_cents)}",
                literal(" ".join(t.label for t in game.tables) or "—"),
                key=str(game.id),
            )
        if selected is not None and str(selected.id) in self._games:
            grid.move_cursor(row=grid.get_row_index(str(selected.id)))
        tables = sum(len(game.tables) for game in games)
        self.query_one("#admin-games-title", Static).update(
            f"Games │ {_count(len(games), 'game')} │ {_count(tables, 'table')}"
        )

    def selected_game(self) -> GameView | None:
        grid = self.query_one("#admin-games", DataTable)
        if grid.row_count == 0:
            return None
        key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
        return self._games.get(key) if key is not None else None

    def action_new_game(self) -> None:
        def added(summary: str | None) -> None:
            if summary is not None:
                self.notify(f"{summary} added; add its tables with l.", title="Game added")
                self.reload()

        self.app.push_screen(NewGameForm(), added)

    def action_new_table(self) -> None:
        if not self._games:
            self.notify("Add a game first (g): a table deals one of the casino's games.")
            return
        selected = self.selected_game()

        def added(summary: str | None) -> None:
            if summary is not None:
                self.notify(f"Table {summary} is on the floor.", title="Table added")
                self.reload()

        games = list(self._games.values())
        self.app.push_screen(NewTableForm(games, selected.id if selected else None), added)

    # -- casino settings --------------------------------------------------------------------

    def action_settings(self) -> None:
        self.load_settings(self.session.database, self.session.signed_in())

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="admin-settings",
        description="Read the casino settings",
    )
    def load_settings(self, database: Database, actor: Actor) -> None:
        current = casinos.read_settings(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._open_settings, current)

    def _open_settings(self, current: SettingsView) -> None:
        status = self.session.status
        name = status.casino.name if status is not None else "this casino"

        def saved(result: SettingsSaved | None) -> None:
            if result is not None and result.changed:
                fields = ", ".join(field.replace("_", " ") for field in result.changed)
                self.notify(f"Saved: {fields}.", title="Casino settings")

        self.app.push_screen(SettingsForm(name, current), saved)


def _cells(member: StaffInfo) -> tuple[str | Text, ...]:
    return (
        member.code,
        literal(member.name),
        member.role.label,
        "LOCKED" if member.locked else "no",
        str(member.failed_attempts),
        member.assigned_table or "—",
        "yes" if member.active else "INACTIVE",
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
