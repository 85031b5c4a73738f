"""F1 / ? help: every screen and dialog has a description, and its keys come from its bindings.

The key list is read from the screen's live bindings as the signed-in role has them, so the
tests compare it with the screen classes' BINDINGS filtered the way the role sees them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from rich.console import Console
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

import pitterm.screens
from pitterm.app import PitApp
from pitterm.domain.capabilities import can
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.screens.floor import JOB_CAPABILITIES, FloorScreen
from pitterm.screens.help import HelpScreen, help_text
from pitterm.screens.lock import LockScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.screens.sign_in import SignInScreen
from tests.factories import build_casino
from tests.test_app_shell import SIZE, drive, make_app, settle, sign_in_as


def screen_classes() -> list[type[Screen[Any]]]:
    """Every Screen subclass defined in a module of pitterm.screens."""
    found: list[type[Screen[Any]]] = []
    for module_info in pkgutil.iter_modules(pitterm.screens.__path__):
        module = importlib.import_module(f"pitterm.screens.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_screen_and_dialog_has_help_text() -> None:
    """A screen others derive from is a base; every other one says what it is for itself."""
    classes = screen_classes()
    assert len(classes) > 30 and FloorScreen in classes and HelpScreen in classes
    bases = {cls for cls in classes if any(o is not cls and issubclass(o, cls) for o in classes)}
    missing = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in classes
        if cls not in bases and not (cls.__dict__.get("HELP") or "").strip()
    ]
    assert missing == [], f"screens without a HELP text: {missing}"


def test_help_text_runs_paragraphs_into_lines() -> None:
    text = help_text(FloorScreen())
    assert "\n\n" in text  # two paragraphs
    assert all("\n" not in paragraph for paragraph in text.split("\n\n"))
    assert text.startswith("The pit at a glance")


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (a rich Table rendered at a fixed width)."""
    console = Console(width=160, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def help_of(app: PitApp) -> HelpScreen:
    screen = app.screen
    assert isinstance(screen, HelpScreen), type(screen).__name__
    return screen


def floor_job_descriptions(role: StaffRole) -> set[str]:
    """The floor keys a role should see, straight from the class bindings and the matrix."""
    shown: set[str] = set()
    for binding in FloorScreen.BINDINGS:
        assert not isinstance(binding, tuple)
        action = binding.action
        needed = JOB_CAPABILITIES.get(action)
        if needed is None or can(role, needed):
            shown.add(binding.description)
    return shown


@drive
async def test_f1_on_the_floor_lists_the_pit_bosss_keys(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        await pilot.press("f1")
        await settle(pilot)
        shown = help_of(app)
        assert shown.target is floor
        assert str(shown.query_one("#help-title", Static).content) == "Help — Floor"
        assert str(shown.query_one("#help-about", Static).content) == help_text(floor)
        keys = plain(shown.query_one("#help-keys", Static))
        listed = {entry.description for entry in shown.actions if entry.category == "floor"}
        assert listed == floor_job_descriptions(StaffRole.PIT_BOSS)
        for entry in shown.actions:
            assert entry.description in keys
        assert "Start slip — Start a rating slip" in keys
        assert "F1 / ?" in keys  # both keys of one action, on one line
        assert "F3" in keys and "Player" in keys  # the modes the role may open
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is floor


@drive
async def test_help_lists_only_what_the_role_may_do(sqlite_database: Database) -> None:
    """A cashier's floor help has cash keys and no slip keys; a dealer's has no jobs at all."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.CASHIER)
        await pilot.press("f1")
        await settle(pilot)
        cashier = {e.description for e in help_of(app).actions if e.category == "floor"}
        assert cashier == floor_job_descriptions(StaffRole.CASHIER)
        assert "Buy-in" in cashier and "Start slip" not in cashier
        await pilot.press("escape")
        await pilot.press("ctrl+o")
        await settle(pilot)
        await sign_in_as(pilot, StaffRole.DEALER)
        await pilot.press("question_mark")
        await settle(pilot)
        dealer = {e.description for e in help_of(app).actions if e.category == "floor"}
        assert dealer == {"Refresh"}
        modes = {e.description for e in help_of(app).actions if e.category == "mode"}
        assert modes == {"Floor"}


@drive
async def test_f1_again_closes_help(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.FLOOR_SUPERVISOR)
        floor = app.screen
        await pilot.press("question_mark")
        await settle(pilot)
        help_of(app)
        await pilot.press("f1")
        await settle(pilot)
        assert app.screen is floor


@drive
async def test_question_mark_types_into_a_field_and_f1_still_helps(
    sqlite_database: Database,
) -> None:
    """On the sign-in form ? is a character; F1 opens the sign-in help."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        code = app.screen.query_one("#staff-code", Input)
        assert code.has_focus
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert code.value == "?"
        await pilot.press("f1")
        await settle(pilot)
        shown = help_of(app)
        assert "staff code and PIN" in str(shown.query_one("#help-about", Static).content)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and code.value == "?"


@drive
async def test_help_over_a_dialog_is_about_the_dialog(sqlite_database: Database) -> None:
    """F1 in the player picker: its own keys (enrol for a pit boss); Escape returns to it."""
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("o")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PlayerPicker)
        await pilot.press("question_mark")  # typed into the search box
        await pilot.press("f1")
        await settle(pilot)
        shown = help_of(app)
        assert shown.target is picker
        assert str(shown.query_one("#help-title", Static).content) == "Help — Player picker"
        titles = {entry.title for entry in shown.actions}
        assert {"picker: Enrol new player", "picker: Cancel", "app: Help"} <= titles
        assert not any(title.startswith(("mode:", "floor:")) for title in titles)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is picker
        assert picker.query_one("#picker-search", Input).value == "?"


@drive
async def test_help_on_the_lock_screen(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("ctrl+l")
        await settle(pilot)
        lock = app.screen
        assert isinstance(lock, LockScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert {entry.title for entry in help_of(app).actions} >= {"lock: Sign out"}
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is lock and app.locked


@drive
async def test_footer_shows_f1_help(sqlite_database: Database) -> None:
    build_casino(sqlite_database)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        footer_keys = [(key.key_display, key.description) for key in app.screen.query(FooterKey)]
        assert footer_keys[0] == ("F1", "Help")
        assert ("^t", "Advance clock") not in footer_keys  # not a training terminal
