"""The sign-in screen: staff code and PIN at this terminal's casino.

In demo (training) mode the trainer picks the casino and sees every demo login with its PIN;
in production the terminal's casino is configured (or the only one in the database).
"""

from __future__ import annotations

import uuid

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Label, Select, Static
from textual.worker import get_current_worker

from pitterm.domain import auth
from pitterm.domain.actor import Actor
from pitterm.domain.auth import CasinoInfo, TerminalStatus
from pitterm.domain.database import Database, Scope
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.screens.base import DemoLoginRow, PitScreen
from pitterm.widgets.columns import Col, fixed_columns
from pitterm.widgets.literal import literal
from pitterm.widgets.training_banner import TrainingBanner


class SignInScreen(PitScreen):
    """Staff code + PIN; Enter moves to the PIN, Enter again signs in."""

    HELP = """
    Sign in with your staff code and PIN: Enter moves to the PIN, Enter again signs in.
    Five wrong PINs in a row lock the account until an admin unlocks it. In training (demo)
    mode, pick the casino and fill the form from a demo login in the list.
    """

    AUTO_FOCUS = "#staff-code"

    class SignedIn(Message):
        """A staff member proved who they are; the App opens the shell for them."""

        def __init__(self, actor: Actor, status: TerminalStatus) -> None:
            super().__init__()
            self.actor = actor
            self.status = status

    def __init__(self) -> None:
        super().__init__()
        self._casinos: dict[uuid.UUID, CasinoInfo] = {}
        self._casino_id: uuid.UUID | None = None
        self._checking = False
        """A sign-in is being checked: a second Enter must not send the PIN again."""

    def compose(self) -> ComposeResult:
        demo = self.session.demo
        with Horizontal(id="sign-in-title"):
            yield Label("pitterm", id="sign-in-app")
            yield Label("casino pit terminal — sign in", id="sign-in-caption")
        if demo:
            yield TrainingBanner(self.session.clock_offset(), id="training-banner")
        with Center(), Vertical(id="sign-in-form"):
            with Horizontal(classes="sign-in-row"):
                yield Label("Casino", classes="sign-in-label")
                if demo:
                    yield Select[uuid.UUID]([], prompt="Loading casinos…", id="casino")
                else:
                    yield Label("Finding this terminal's casino…", id="casino-name", markup=False)
            with Horizontal(classes="sign-in-row"):
                yield Label("Staff code", classes="sign-in-label")
                yield Input(placeholder="e.g. PB1", max_length=16, id="staff-code")
            with Horizontal(classes="sign-in-row"):
                yield Label("PIN", classes="sign-in-label")
                yield Input(
                    placeholder="4 to 8 digits",
                    password=True,
                    max_length=8,
                    restrict=r"[0-9]*",
                    id="pin",
                )
            yield Static("", id="sign-in-message", markup=False)  # errors quote what was typed
            yield Static("Enter moves to the PIN; Enter on the PIN signs in.", id="sign-in-hint")
        if demo:
            yield Label(
                "Demo logins — Tab here, pick one and press Enter to fill the form",
                id="demo-logins-title",
            )
            table: DataTable[str | Text] = DataTable(
                id="demo-logins", cursor_type="row", zebra_stripes=True
            )
            fixed_columns(
                table,
                Col("Casino", "casino", 8),
                Col("Staff code", "code", 10),
                Col("Name", "name", 26),
                Col("Role", "role", 16),
                Col("PIN", "pin", 8),
            )
            for index, login in enumerate(self.session.demo_logins):
                table.add_row(
                    login.casino_code,
                    login.staff_code,
                    literal(login.name),
                    login.role.label,
                    login.pin,
                    key=str(index),
                )
            yield table
        yield Footer()

    def on_mount(self) -> None:
        self.load_casinos(self.session.database, self.session.demo, self.session.casino_code)

    # -- the casino ----------------------------------------------------------------------

    @work(
        thread=True,
        exit_on_error=False,
        group="sign-in",
        description="Find this terminal's casino",
    )
    def load_casinos(self, database: Database, demo: bool, configured: str | None) -> None:
        try:
            casinos = find_terminal_casinos(database, demo=demo, configured=configured)
        except DomainError as error:
            self.app.call_from_thread(self.show_message, error.message, error=True)
            raise
        self.app.call_from_thread(self._show_casinos, casinos)

    def _show_casinos(self, casinos: list[CasinoInfo]) -> None:
        self._casinos = {casino.id: casino for casino in casinos}
        if not self.session.demo:
            casino = casinos[0]
            self._casino_id = casino.id
            self.query_one("#casino-name", Label).update(f"{casino.name} ({casino.code})")
            return
        select = self.query_one("#casino", Select)
        select.set_options((literal(f"{c.name} ({c.code})"), c.id) for c in casinos)
        select.prompt = "Pick a casino"
        preferred = next(
            (c for c in casinos if c.code == (self.session.casino_code or "").upper()),
            casinos[0] if casinos else None,
        )
        if preferred is not None:
            select.value = preferred.id
        else:
            self.show_message("The demo database has no casinos.", error=True)

    @on(Select.Changed, "#casino")
    def _casino_picked(self, event: Select.Changed) -> None:
        value = event.value
        self._casino_id = value if isinstance(value, uuid.UUID) else None

    @on(DataTable.RowSelected, "#demo-logins")
    def _use_demo_login(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        login: DemoLoginRow = self.session.demo_logins[int(event.row_key.value)]
        casino = next((c for c in self._casinos.values() if c.code == login.casino_code), None)
        if casino is not None:
            self.query_one("#casino", Select).value = casino.id
        self.query_one("#staff-code", Input).value = login.staff_code
        pin = self.query_one("#pin", Input)
        pin.value = login.pin
        pin.focus()
        self.show_message(f"Press Enter to sign in as {login.name}.")

    # -- signing in ----------------------------------------------------------------------

    @on(Input.Changed, "#staff-code")
    def _upper_case_code(self, event: Input.Changed) -> None:
        # Read the field, not the event: more keys may have arrived since it was sent.
        typed = event.input.value
        if typed != typed.upper():
            event.input.value = typed.upper()

    @on(Input.Submitted, "#staff-code")
    def _code_entered(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _pin_entered(self) -> None:
        self.submit()

    def submit(self) -> None:
        if self._checking:
            return
        if self._casino_id is None:
            self.show_message("This terminal has no casino to sign in to.", error=True)
            return
        code = self.query_one("#staff-code", Input).value
        pin = self.query_one("#pin", Input).value
        self.show_message("Checking…")
        self._checking = True
        self.sign_in(self.session.database, self._casino_id, code, pin)

    @work(
        thread=True,
        exit_on_error=False,
        group="sign-in",
        description="Check a staff code and PIN",
    )
    def sign_in(self, database: Database, casino_id: uuid.UUID, code: str, pin: str) -> None:
        try:
            credentials = auth.parse_credentials(code, pin)
            actor = auth.sign_in(database.uow(Scope(casino_id)), credentials)
            status = auth.terminal_status(database.reader(actor), actor)
        except Exception as error:
            self.app.call_from_thread(self._refused, error)
            raise
        if not get_current_worker().is_cancelled:
            self.post_message(self.SignedIn(actor, status))

    def _refused(self, error: Exception) -> None:
        self._checking = False
        if isinstance(error, DomainError):
            self.show_message(error.message, error=True)
        else:
            self.show_message("Sign-in failed unexpectedly; try again.", error=True)
        pin = self.query_one("#pin", Input)
        pin.clear()
        if isinstance(error, DomainError) and error.code is ErrorCode.AUTH_STAFF_LOCKED:
            code = self.query_one("#staff-code", Input)
            code.clear()
            code.focus()
        else:
            pin.focus()

    def show_message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#sign-in-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    def reset(self, message: str = "") -> None:
        """Clear the form for the next person (after sign-in or sign-out)."""
        self._checking = False
        self.query_one("#staff-code", Input).clear()
        self.query_one("#pin", Input).clear()
        self.show_message(message)
        self.query_one("#staff-code", Input).focus()


def find_terminal_casinos(
    database: Database, *, demo: bool, configured: str | None
) -> list[CasinoInfo]:
    """The casinos this terminal may sign in to: the configured one, or the only one.

    Demo mode offers every casino (the trainer picks one).
    """
    if configured and not demo:
        return [auth.find_casino(database.reader(), configured)]
    casinos = auth.list_casinos(database.reader())
    if demo:
        return casinos
    if len(casinos) == 1:
        return casinos
    if not casinos:
        raise DomainError(
            ErrorCode.CASINO_NOT_FOUND,
            "The database has no casino yet; create one before using this terminal.",
        )
    codes = ", ".join(c.code for c in casinos)
    raise DomainError(
        ErrorCode.CASINO_NOT_FOUND,
        f"This terminal has no casino set and the database has several ({codes});"
        " set PITTERM_CASINO or pass --casino.",
    )
