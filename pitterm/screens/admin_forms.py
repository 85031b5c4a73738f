"""Admin mode's dialogs: add a staff member, reset a PIN, add a game or a table, casino settings.

Each is a ``FormModal``: its idempotency key is made when it opens, the service call runs in
a worker, and a refusal is shown under the fields it names. The game and settings forms have
too many fields for one column on an 80×24 terminal, so they lay theirs out two to a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from pitterm.domain import auth, casinos
from pitterm.domain.auth import PinReset, ResetPin, StaffInfo
from pitterm.domain.casinos import (
    GameView,
    NewGame,
    NewStaff,
    NewTable,
    SettingsChange,
    SettingsSaved,
    SettingsView,
)
from pitterm.domain.enums import GameType, Rounding, StaffRole
from pitterm.domain.validation import parse
from pitterm.screens.forms import FormModal, selected_uuid, table_options
from pitterm.widgets.formatting import dollars
from pitterm.widgets.literal import literal
from pitterm.widgets.money_input import MoneyInput, parse_dollars

__all__ = ["NewGameForm", "NewStaffForm", "NewTableForm", "ResetPinForm", "SettingsForm"]

YES_NO: list[tuple[str, str]] = [("yes", "yes"), ("no", "no")]


def _row(label: str, widget: Widget) -> ComposeResult:
    with Horizontal(classes="form-row"):
        yield Label(label, classes="form-label")
        yield widget


def _grid(fields: Iterable[tuple[str, Input | Select[str]]]) -> ComposeResult:
    """Label and field, two pairs to a row, the fields compact (one line each)."""
    with Grid(classes="admin-grid"):
        for label, widget in fields:
            yield Label(label, classes="admin-grid-label")
            widget.compact = True
            yield widget


def _pin(text: str, field: str) -> str:
    text = text.strip()
    if not (4 <= len(text) <= 8 and text.isascii() and text.isdigit()):
        raise ValueError(f"{field}: a PIN is 4 to 8 digits")
    return text


def _pins(first: str, again: str) -> str:
    pin = _pin(first, "pin")
    if again.strip() != pin:
        raise ValueError("pin_again: the two PINs differ; type the same PIN twice")
    return pin


class NewStaffForm(FormModal[str]):
    """Code, name, role, table (a dealer's), the first PIN twice. Dismisses with a summary."""

    HELP = """
    Add a staff member: their staff code (unique at this casino), name and role, and the PIN
    they sign in with, typed twice. A dealer must be assigned to the table it deals; other
    roles may leave the table empty. The new member can sign in at once; the addition is
    written to the audit log (never the PIN).
    """

    TITLE = "Add a staff member"
    DESCRIPTION = "Add the staff member"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "code": "staff-code",
        "name": "staff-name",
        "role": "staff-role",
        "assigned_table_id": "staff-table",
        "table": "staff-table",
        "pin": "staff-pin",
        "pin_again": "staff-pin-again",
    }

    def __init__(self, tables: Sequence[tuple[str, uuid.UUID]]) -> None:
        super().__init__()
        self.tables = list(tables)

    def compose_fields(self) -> ComposeResult:
        yield from _row(
            "Staff code",
            Input(
                placeholder="e.g. PB2 (letters, digits, - and _)",
                max_length=16,
                restrict=r"[A-Za-z0-9_-]*",
                id="staff-code",
            ),
        )
        yield from _row("Name", Input(placeholder="full name", max_length=120, id="staff-name"))
        yield from _row(
            "Role",
            Select[str](
                [(role.label, role.value) for role in StaffRole],
                prompt="choose a role",
                id="staff-role",
            ),
        )
        yield from _row(
            "Table",
            Select[str](
                table_options(self.tables), prompt="none (a dealer needs one)", id="staff-table"
            ),
        )
        yield from _row(
            "PIN",
            Input(
                placeholder="4 to 8 digits",
                password=True,
                max_length=8,
                restrict=r"[0-9]*",
                id="staff-pin",
            ),
        )
        yield from _row(
            "PIN again",
            Input(password=True, max_length=8, restrict=r"[0-9]*", id="staff-pin-again"),
        )

    def submit(self) -> None:
        code = self.query_one("#staff-code", Input).value.strip().upper()
        name = self.query_one("#staff-name", Input).value.strip()
        role_value = self.query_one("#staff-role", Select).value
        table_id = selected_uuid(self.query_one("#staff-table", Select))
        if not code:
            raise ValueError("code: type the staff code")
        if not name:
            raise ValueError("name: type the staff member's name")
        if not isinstance(role_value, str):
            raise ValueError("role: choose a role")
        role = StaffRole(role_value)
        if role is StaffRole.DEALER and table_id is None:
            raise ValueError("assigned_table_id: a dealer must be assigned to a table")
        pin = _pins(
            self.query_one("#staff-pin", Input).value,
            self.query_one("#staff-pin-again", Input).value,
        )
        new = parse(
            NewStaff,
            {
                "code": code,
                "name": name,
                "role": role,
                "pin": pin,
                "assigned_table_id": table_id,
                "idempotency_key": self.idempotency_key,
            },
        )
        database, actor = self.session.database, self.session.signed_in()
        summary = f"{code} ({name}) is a {role.label.lower()}" + (
            f" at {self._table_label(table_id)}" if table_id else ""
        )
        self.call_service(
            lambda: casinos.add_staff(database.uow(actor), actor, new),
            lambda _id: self.dismiss(summary),
        )

    def _table_label(self, table_id: uuid.UUID) -> str:
        return next((label for label, tid in self.tables if tid == table_id), "its table")


class ResetPinForm(FormModal[PinReset]):
    """A new PIN for the highlighted staff member, typed twice."""

    HELP = """
    Give a staff member a new PIN (they forgot theirs, or were locked out): type it twice.
    It replaces the old PIN at once and also clears failed PINs and any lockout. The reset
    is written to the audit log; the PIN itself never is. Tell the staff member their new
    PIN in person.
    """

    DESCRIPTION = "Reset the PIN"
    FIELD_IDS: ClassVar[dict[str, str]] = {"pin": "reset-pin", "pin_again": "reset-pin-again"}

    def __init__(self, member: StaffInfo) -> None:
        super().__init__()
        self.member = member

    def form_title(self) -> str:
        return f"New PIN for {self.member.code}"

    def compose_fields(self) -> ComposeResult:
        member = self.member
        state = (
            f" Locked after {member.failed_attempts} wrong PINs: the reset unlocks it."
            if member.locked
            else ""
        )
        yield Static(
            f"{member.code} · {member.name} · {member.role.label}.{state}",
            classes="form-facts",
            markup=False,
        )
        yield from _row(
            "New PIN",
            Input(
                placeholder="4 to 8 digits",
                password=True,
                max_length=8,
                restrict=r"[0-9]*",
                id="reset-pin",
            ),
        )
        yield from _row(
            "PIN again",
            Input(password=True, max_length=8, restrict=r"[0-9]*", id="reset-pin-again"),
        )

    def submit(self) -> None:
        pin = _pins(
            self.query_one("#reset-pin", Input).value,
            self.query_one("#reset-pin-again", Input).value,
        )
        command = ResetPin(staff_id=self.member.id, pin=pin, idempotency_key=self.idempotency_key)
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(lambda: auth.reset_pin(database.uow(actor), actor, command), self.dismiss)


def _decimal(text: str, field: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{field}: {what}") from None
    if not value.is_finite():
        raise ValueError(f"{field}: {what}")
    return value


def _whole(text: str, field: str, what: str = "a whole number") -> int:
    cleaned = text.strip().replace(",", "")
    if not cleaned.isascii() or not cleaned.isdigit():
        raise ValueError(f"{field}: {what}")
    return int(cleaned)


def _money(widget: MoneyInput, field: str) -> int:
    try:
        return parse_dollars(widget.value)
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


def _checked(problems: list[str]) -> None:
    """Raise every problem found at once: the error line lists them, each field is marked."""
    if problems:
        raise ValueError("; ".join(problems))


class NewGameForm(FormModal[str]):
    """A game and its accrual policy. Dismisses with a summary."""

    HELP = """
    Add a game: its name and type, the accrual policy a rating slip freezes when it starts
    (house edge in percent, decisions per hour, points per dollar of theoretical win, how
    fractional points round, the policy version) and the table limits. Later changes to a
    game never change a slip already started. Add tables for it with l.
    """

    TITLE = "New game"
    DESCRIPTION = "Add the game"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "name": "game-name",
        "game_type": "game-type",
        "house_edge": "game-edge",
        "decisions_per_hour": "game-decisions",
        "points_conversion_rate": "game-rate",
        "rounding": "game-rounding",
        "policy_version": "game-policy",
        "min_bet_cents": "game-min-bet",
        "max_bet_cents": "game-max-bet",
    }

    def compose_fields(self) -> ComposeResult:
        yield Static(
            "theo = average bet × house edge × decisions per hour × hours played;"
            " points = theo × points per $1 theo, rounded.",
            classes="form-facts",
        )
        yield from _grid(
            [
                ("Name", Input(placeholder="e.g. Mini baccarat", max_length=60, id="game-name")),
                (
                    "Type",
                    Select[str](
                        [(t.value.title(), t.value) for t in GameType],
                        value=GameType.BLACKJACK.value,
                        allow_blank=False,
                        id="game-type",
                    ),
                ),
                ("House edge %", Input(placeholder="e.g. 1.5", id="game-edge")),
                (
                    "Decisions/hour",
                    Input(placeholder="e.g. 70", restrict=r"[0-9]*", id="game-decisions"),
                ),
                ("Points per $1", Input(placeholder="e.g. 10", id="game-rate")),
                (
                    "Rounding",
                    Select[str](
                        [("half up", Rounding.HALF_UP.value), ("floor", Rounding.FLOOR.value)],
                        value=Rounding.HALF_UP.value,
                        allow_blank=False,
                        id="game-rounding",
                    ),
                ),
                ("Min bet $", MoneyInput(placeholder="e.g. 25", id="game-min-bet")),
                ("Max bet $", MoneyInput(placeholder="e.g. 5,000", id="game-max-bet")),
                (
                    "Policy version",
                    Input("loyalty_points_v1", max_length=40, id="game-policy"),
                ),
            ]
        )

    def submit(self) -> None:
        problems: list[str] = []
        values: dict[str, Any] = {"idempotency_key": self.idempotency_key}
        name = self.query_one("#game-name", Input).value.strip()
        if not name:
            problems.append("name: give the game a name")
        values["name"] = name
        values["game_type"] = str(self.query_one("#game-type", Select).value)
        values["rounding"] = str(self.query_one("#game-rounding", Select).value)
        values["policy_version"] = self.query_one("#game-policy", Input).value.strip()
        for field, widget_id, parse_it in (
            ("house_edge", "#game-edge", lambda t, f: _decimal(t, f, "a percentage, e.g. 1.5")),
            ("decisions_per_hour", "#game-decisions", _whole),
            ("points_conversion_rate", "#game-rate", lambda t, f: _decimal(t, f, "e.g. 10")),
        ):
            try:
                values[field] = parse_it(self.query_one(widget_id, Input).value, field)
            except ValueError as error:
                problems.append(str(error))
        for field, widget_id in (
            ("min_bet_cents", "#game-min-bet"),
            ("max_bet_cents", "#game-max-bet"),
        ):
            try:
                values[field] = _money(self.query_one(widget_id, MoneyInput), field)
            except ValueError as error:
                problems.append(str(error))
        _checked(problems)
        new = parse(NewGame, values)
        database, actor = self.session.database, self.session.signed_in()
        summary = f"{new.name} ({new.game_type.value}, {new.house_edge}% edge)"
        self.call_service(
            lambda: casinos.add_game(database.uow(actor), actor, new),
            lambda _id: self.dismiss(summary),
        )


class NewTableForm(FormModal[str]):
    """Label, pit, game and seats of a new table. Dismisses with a summary."""

    HELP = """
    Add a gaming table: its label (unique at this casino, e.g. BJ-03), its pit, the game it
    deals (its house edge and points policy come from the game) and its seats (1 to 14). It
    appears on the floor at once.
    """

    TITLE = "New table"
    DESCRIPTION = "Add the table"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "label": "table-label",
        "pit": "table-pit",
        "game_settings_id": "table-game",
        "game": "table-game",
        "seats": "table-seats",
    }

    def __init__(self, games: Sequence[GameView], game_id: uuid.UUID | None = None) -> None:
        super().__init__()
        self.games = list(games)
        self.game_id = game_id

    def compose_fields(self) -> ComposeResult:
        yield from _row("Label", Input(placeholder="e.g. BJ-03", max_length=16, id="table-label"))
        pits = sorted({t.pit for g in self.games for t in g.tables})
        yield from _row(
            "Pit",
            Input(
                pits[0] if pits else "",
                placeholder="e.g. Pit 1",
                max_length=32,
                id="table-pit",
            ),
        )
        options = [(literal(g.name), str(g.id)) for g in self.games]
        chosen = str(self.game_id) if self.game_id else (options[0][1] if options else None)
        yield from _row(
            "Game",
            Select[str](
                options,
                prompt="no game yet: add one with g",
                value=chosen if chosen is not None else Select.NULL,
                id="table-game",
            ),
        )
        yield from _row("Seats", Input("7", restrict=r"[0-9]*", max_length=2, id="table-seats"))

    def submit(self) -> None:
        label = self.query_one("#table-label", Input).value.strip()
        pit = self.query_one("#table-pit", Input).value.strip()
        game_id = selected_uuid(self.query_one("#table-game", Select))
        problems: list[str] = []
        if not label:
            problems.append("label: type the table's label")
        if not pit:
            problems.append("pit: name the table's pit")
        if game_id is None:
            problems.append("game_settings_id: choose the game the table deals")
        seats_text = self.query_one("#table-seats", Input).value.strip()
        if not seats_text.isdigit() or not 1 <= int(seats_text) <= 14:
            problems.append("seats: a number of seats from 1 to 14")
        _checked(problems)
        new = parse(
            NewTable,
            {
                "label": label,
                "pit": pit,
                "game_settings_id": game_id,
                "seats": int(seats_text),
                "idempotency_key": self.idempotency_key,
            },
        )
        game = next((g.name for g in self.games if g.id == game_id), "its game")
        summary = f"{label} ({pit}, {game}, {new.seats} seats)"
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(
            lambda: casinos.add_table(database.uow(actor), actor, new),
            lambda _id: self.dismiss(summary),
        )


# -- casino settings ---------------------------------------------------------------------------

_SETTING_LABELS: dict[str, str] = {
    "time_zone": "Time zone",
    "gaming_day_start": "Gaming day starts",
    "idle_lock_minutes": "Idle lock, minutes",
    "four_eyes_overdraw": "Four-eyes overdraw",
    "overdraw_cap_points": "Overdraw cap, pts",
    "freshness_threshold_days": "Stale after, days",
    "ctr_threshold_cents": "CTR threshold $",
    "near_ctr_fraction": "Near-CTR fraction",
    "mtl_floor_cents": "MTL floor $",
    "promo_require_exact_match": "Exact match wager",
    "promo_allow_anonymous_issuance": "Anonymous coupons",
    "promo_void_rate_alert": "Void-rate alert",
    "promo_expiry_alert_hours": "Expiry alert, hours",
    "promo_spike_mad_k": "Spike alert k",
    "promo_spike_min_history_days": "Spike history, days",
}
"""Each setting's label, in the order the form lays them out (two to a row)."""

_MONEY = {"ctr_threshold_cents", "mtl_floor_cents"}
_FLAGS = {"four_eyes_overdraw", "promo_require_exact_match", "promo_allow_anonymous_issuance"}
_DECIMALS = {"near_ctr_fraction", "promo_void_rate_alert", "promo_spike_mad_k"}
_PLACEHOLDERS = {
    "time_zone": "IANA zone",
    "gaming_day_start": "HH:MM",
    "near_ctr_fraction": "e.g. 0.9",
    "promo_void_rate_alert": "e.g. 0.05",
}


def _setting_text(field: str, value: object) -> str:
    if field in _MONEY and isinstance(value, int):
        return dollars(value).removeprefix("$")
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _local_time(text: str, field: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{field}: a local time as HH:MM, e.g. 06:00") from None


class SettingsForm(FormModal[SettingsSaved]):
    """Every casino setting, filled with its current value. Saves only what was changed."""

    HELP = """
    The casino's settings, for every terminal of the casino: its time zone and when a
    gaming day starts; the idle lock; the overdraw cap (how far below zero a comp may take
    a balance) and four-eyes overdraw (a second person must approve, always); how old an
    imported last activity may be before it is stale; the CTR threshold, the near-CTR
    warning (a fraction of the threshold) and the MTL floor; and the promo controls (exact
    match wager, coupons without a player, the void-rate alert as a fraction, the expiry
    alert's hours, the issuance spike alert's k and days of history). Only the values you
    change are saved; each change is written to the audit log with its value before and
    after.
    """

    DESCRIPTION = "Save the casino settings"
    FIELD_IDS: ClassVar[dict[str, str]] = {f: f"setting-{f}" for f in _SETTING_LABELS}

    def __init__(self, casino_name: str, current: SettingsView) -> None:
        super().__init__()
        self.casino_name = casino_name
        self.current = current

    def form_title(self) -> str:
        return f"Casino settings · {self.casino_name}"

    def compose_fields(self) -> ComposeResult:
        yield Static(
            "Every terminal of the casino uses these from its next job on. Each change is"
            " audited with its value before and after.",
            classes="form-facts",
        )
        fields: list[tuple[str, Input | Select[str]]] = []
        for field, label in _SETTING_LABELS.items():
            value = getattr(self.current, field)
            widget_id = f"setting-{field}"
            widget: Input | Select[str]
            if field in _FLAGS:
                widget = Select[str](
                    YES_NO, value="yes" if value else "no", allow_blank=False, id=widget_id
                )
            elif field in _MONEY:
                widget = MoneyInput(_setting_text(field, value), id=widget_id)
            else:
                widget = Input(
                    _setting_text(field, value),
                    placeholder=_PLACEHOLDERS.get(field, "a whole number"),
                    id=widget_id,
                )
            fields.append((label, widget))
        yield from _grid(fields)

    def submit(self) -> None:
        problems: list[str] = []
        wanted: dict[str, object] = {}
        for field in _SETTING_LABELS:
            try:
                wanted[field] = self._typed(field)
            except ValueError as error:
                problems.append(str(error))
        _checked(problems)
        changes = {
            field: value for field, value in wanted.items() if value != getattr(self.current, field)
        }
        if not changes:
            raise ValueError("Nothing to save: every setting is as it was (Escape closes).")
        change = parse(SettingsChange, {**changes, "idempotency_key": self.idempotency_key})
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(
            lambda: casinos.update_settings(database.uow(actor), actor, change), self.dismiss
        )

    def _typed(self, field: str) -> object:
        """The field's value as the service takes it; ValueError naming the field if not."""
        widget_id = f"#setting-{field}"
        if field in _FLAGS:
            return self.query_one(widget_id, Select).value == "yes"
        if field in _MONEY:
            return _money(self.query_one(widget_id, MoneyInput), field)
        text = self.query_one(widget_id, Input).value.strip()
        if field == "time_zone":
            if not text:
                raise ValueError("time_zone: type an IANA time zone, e.g. America/Los_Angeles")
            return text
        if field == "gaming_day_start":
            return _local_time(text, field)
        if field in _DECIMALS:
            return _decimal(text, field, "a number, e.g. 0.9")
        return _whole(text, field)
