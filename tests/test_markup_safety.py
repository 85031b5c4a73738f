"""Text that staff typed or files held is shown exactly as written, never read as markup.

Textual reads ``[...]`` as markup in the strings it is given: ``[/]`` with nothing to close
raises MarkupError (the screen crashes), ``[bold]`` and ``[link=x]`` vanish into styles, and
``[@click=app.quit]`` becomes a clickable action. Every name, note, label and file name below
is made through the services (or written to a CSV file) holding such brackets, then the
screens that show it are driven by keys: each must show the text literally, nothing may
crash, and no ``@click`` action may reach the screen.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.content import Content
from textual.visual import visualize
from textual.widget import Widget
from textual.widgets import Button, DataTable, Label, OptionList, Select, Static
from textual.widgets._data_table import default_cell_formatter
from textual.widgets._toast import Toast

from pitterm.app import PitApp
from pitterm.domain import casinos, loyalty
from pitterm.domain.casinos import NewGame, NewStaff, NewTable
from pitterm.domain.database import Database
from pitterm.domain.enums import GameType, StaffRole, Tier, VisitKind
from pitterm.screens.admin import AdminScreen
from pitterm.screens.comp_modal import CompModal
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.floor import FloorScreen
from pitterm.screens.import_screen import ImportScreen
from pitterm.screens.ledger import LedgerScreen
from pitterm.screens.player import PlayerScreen
from pitterm.screens.player_picker import PlayerPicker
from pitterm.screens.promo import PromoScreen
from pitterm.screens.promo_coupons import CouponModal, IssueCouponForm
from pitterm.screens.promo_programs import ProgramActionForm
from pitterm.screens.reconcile import ReconcileScreen
from pitterm.widgets.status_header import StatusHeader
from tests import recon_support
from tests.factories import CasinoWorld, build_casino
from tests.floor_support import enrol, open_visit, start
from tests.import_support import write_csv
from tests.player_support import credit, typed
from tests.promo_support import issue, new_program
from tests.test_app_shell import drive, make_app, settle, sign_in_as

SIZE = (120, 40)

CASINO = "[/]Alpha [bold]Casino"
GAME = "[/]Baccarat [link=x]mini"
TABLE = "B[/]1"
PIT = "[@click=app.quit]Pit 2[/]"
"""Well-formed markup: read as markup it would not crash, it would become a click action."""
FIRST, LAST = "[bold]Ann", "[link=x]Lee[/link] [@click=app.quit]Quit[/]"
PLAYER = f"{FIRST} {LAST}"
"""Well-formed markup too: the player's name would turn into a link and a quit button."""
CARD = "MK-0001"
GHOST = "[/]grey suit [@click=app.quit]red tie"
NOTE = "[/]service [bold]recovery [@click=app.quit]dinner"
COMP, CATEGORY = "[/]Steak [@click=app.quit]dinner", "[link=x]Food"
PROGRAM = "[/]Promo [@click=app.quit]Night [link=x]x"
STAFF_CODE, STAFF = "ST1", "[/]Sam [@click=app.quit]Staff"
TYPED = "[/]nobody"
"""Typed into the player search: the 'no player matches' line quotes it."""


# -- what the screen shows ---------------------------------------------------------------


def shown(widget: Widget) -> str:
    """The text a Static, Label, Button or notification shows, before any wrapping."""
    if isinstance(widget, Button):
        return str(widget.label)
    visual = widget.render()
    if isinstance(visual, Content | Text):
        return visual.plain
    raise AssertionError(f"{widget!r} does not show plain text ({type(visual).__name__})")


def cells(table: DataTable[Any], row: int) -> list[str]:
    """A table row's cells as the DataTable renders them (it parses ``str`` cells as markup)."""
    out = []
    for value in table.get_row_at(row):
        rendered = default_cell_formatter(value, wrap=False, height=1)
        assert isinstance(rendered, Text)
        out.append(rendered.plain)
    return out


def column(table: DataTable[Any], index: int) -> list[str]:
    return [cells(table, row)[index] for row in range(table.row_count)]


def headers(table: DataTable[Any]) -> list[str]:
    return [c.label.plain for c in table.ordered_columns]


def prompts(options: OptionList) -> list[str]:
    """The option prompts as the list renders them (a ``str`` prompt is read as markup)."""
    out = []
    for index in range(options.option_count):
        visual = visualize(options, options.get_option_at_index(index).prompt)
        assert isinstance(visual, Content)
        out.append(visual.plain)
    return out


def select_prompts(select: Select[Any]) -> list[str]:
    return prompts(select.query_one(OptionList))


def toasts(app: PitApp) -> list[str]:
    """Each notification on screen as it reads: its title, a line break, its message."""
    return [shown(toast) for toast in app.screen.query(Toast)]


def assert_no_actions(app: PitApp) -> None:
    """Nothing on screen carries a click action (``[@click=…]`` read as markup makes one)."""
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            meta = segment.style.meta if segment.style is not None else {}
            assert "@click" not in meta, f"line {y}: {segment.text!r} runs {meta['@click']!r}"


def current(app: PitApp) -> object:
    """The active screen, untyped: a dialog's answer lands back on the screen beneath."""
    return app.screen


def header_text(app: PitApp) -> str:
    return shown(app.screen.query_one(StatusHeader).query_one("#status-where", Label))


# -- set-up through the services ---------------------------------------------------------


def hostile_casino(database: Database) -> CasinoWorld:
    """ALPHA, named with markup, plus a game, a table in a pit and a staff member likewise."""
    world = build_casino(database, "ALPHA", name=CASINO)
    admin = world.admin
    game = casinos.add_game(
        database.uow(admin),
        admin,
        NewGame(
            name=GAME,
            game_type=GameType.BACCARAT,
            house_edge=Decimal("1.2"),
            decisions_per_hour=60,
            points_conversion_rate=Decimal(10),
            min_bet_cents=2_500,
            max_bet_cents=500_000,
        ),
    )
    world.table_ids.append(
        casinos.add_table(
            database.uow(admin),
            admin,
            NewTable(label=TABLE, pit=PIT, game_settings_id=game, seats=7),
        )
    )
    casinos.add_staff(
        database.uow(admin),
        admin,
        NewStaff(code=STAFF_CODE, name=STAFF, role=StaffRole.CASHIER, pin="7777"),
    )
    return world


def hostile_player(database: Database, world: CasinoWorld) -> uuid.UUID:
    """The player, with 2,000 points credited under a note holding markup."""
    boss = world.actor(StaffRole.PIT_BOSS)
    player = enrol(database, boss, FIRST, LAST, card=CARD)
    credit(database, world, player, 2_000)
    loyalty.manual_credit(
        database.uow(boss),
        boss,
        loyalty.ManualCredit(player_id=player, points=10, note=NOTE, idempotency_key=uuid.uuid4()),
    )
    return player


# -- the tests ----------------------------------------------------------------------------


@drive
async def test_floor_shows_names_labels_and_dialogs_as_typed(sqlite_database: Database) -> None:
    """Sign-in, header, the three floor lists, the pit filter, the picker, a confirmation and
    the notification after it: the casino, game, table, pit, player and ghost as typed."""
    world = hostile_casino(sqlite_database)
    boss = world.actor(StaffRole.PIT_BOSS)
    player = hostile_player(sqlite_database, world)
    visit = open_visit(sqlite_database, boss, VisitKind.GAMING_IDENTIFIED_RATED, player)
    start(sqlite_database, boss, visit, world.table_ids[-1], bet_cents=10_000)
    open_visit(sqlite_database, boss, VisitKind.GAMING_GHOST_UNRATED, description=GHOST)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert shown(app.screen.query_one("#casino-name", Label)) == f"{CASINO} (ALPHA)"
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        floor = app.screen
        assert isinstance(floor, FloorScreen)
        assert header_text(app).startswith(f"{CASINO} │ ")

        tables = floor.tables_grid
        row = column(tables, 0).index(TABLE)
        assert cells(tables, row)[:3] == [TABLE, PIT, GAME]
        assert cells(floor.slips_grid, 0)[:3] == [TABLE, "1", PLAYER]
        patrons = column(floor.visits_grid, 0)
        assert sorted(patrons) == sorted([PLAYER, f"ghost: {GHOST}"])
        assert cells(floor.visits_grid, patrons.index(PLAYER))[3] == f"{TABLE} seat 1"
        assert_no_actions(app)

        while floor.pit != PIT:  # the pit filter names the pit shown
            await pilot.press("p")
            await settle(pilot)
        assert shown(floor.query_one("#floor-filters", Static)).startswith(f"Showing {PIT} │ ")
        assert_no_actions(app)
        await pilot.press("x")
        await settle(pilot)

        await pilot.press("o")  # the picker quotes what was typed
        await settle(pilot)
        assert isinstance(app.screen, PlayerPicker)
        await pilot.press(*TYPED)
        await settle(pilot)
        assert shown(app.screen.query_one("#picker-status", Static)).startswith(
            f"No player matches {TYPED!r}."
        )
        await pilot.press("ctrl+u", *CARD.lower())
        await settle(pilot)
        assert cells(app.screen.query_one("#picker-results", DataTable), 0)[0] == PLAYER
        await pilot.press("escape")
        await settle(pilot)

        floor.visits_grid.focus()
        floor.visits_grid.move_cursor(row=column(floor.visits_grid, 0).index(PLAYER))
        await pilot.press("v")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert shown(dialog.query_one(".dialog-body", Static)).startswith(
            f"Close the rated visit of {PLAYER}?"
        )
        assert_no_actions(app)
        await pilot.press("y")
        await settle(pilot)
        assert current(app) is floor
        assert any(f"\n{PLAYER}: visit closed." in text for text in toasts(app))
        assert_no_actions(app)


@drive
async def test_player_card_ledger_and_comp_show_names_and_notes_as_typed(
    sqlite_database: Database,
) -> None:
    """The card, its recent ledger, the full ledger with its staff filter, the comp catalog
    and the comp's receipt: the player, the note, the staff member and the comp as typed."""
    world = hostile_casino(sqlite_database)
    loyalty.add_comp(
        sqlite_database.uow(world.admin),
        world.admin,
        loyalty.NewComp(name=COMP, category=CATEGORY, points_cost=250),
    )
    hostile_player(sqlite_database, world)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*CARD.lower())
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlayerScreen) and screen.card is not None
        assert shown(screen.query_one("#card-name", Static)) == PLAYER
        recent = screen.query_one("#player-recent", DataTable)
        assert cells(recent, 0)[-1] == NOTE
        assert_no_actions(app)

        await pilot.press("l")
        await settle(pilot)
        ledger = app.screen
        assert isinstance(ledger, LedgerScreen)
        assert cells(ledger.query_one("#ledger-rows", DataTable), 0)[-1] == NOTE
        assert f"{NOTE}" in shown(ledger.query_one("#ledger-detail", Static))
        assert f"{STAFF_CODE} {STAFF}" in select_prompts(ledger.query_one("#ledger-staff", Select))
        assert_no_actions(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("c")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CompModal)
        catalog = modal.query_one("#comp-catalog", OptionList)
        listed = prompts(catalog)
        assert f"{COMP} · {CATEGORY} · 250 pts" in listed
        assert shown(modal.query_one("#comp-player", Static)).startswith(PLAYER)
        catalog.highlighted = listed.index(f"{COMP} · {CATEGORY} · 250 pts")
        await pilot.press("enter")
        await typed(pilot, "birthday")
        await pilot.press("enter")
        await settle(pilot)
        assert modal.outcome is not None
        assert shown(modal.query_one(".form-receipt", Static)).startswith(
            f"Comp issued: {COMP}, 250 pts"
        )
        assert_no_actions(app)


@drive
async def test_promo_lists_and_dialogs_show_program_and_player_names_as_typed(
    sqlite_database: Database,
) -> None:
    """Programs, the coupon inventory and its program filter, the issue form's program list,
    a coupon's card and a program's pause question: the program and the player as typed."""
    world = hostile_casino(sqlite_database)
    player = hostile_player(sqlite_database, world)
    boss = world.actor(StaffRole.PIT_BOSS)
    program = new_program(sqlite_database, boss, name=PROGRAM, terms=NOTE, start=timedelta(0))
    issue(sqlite_database, boss, program.id, player_id=player)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.PIT_BOSS)
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PromoScreen)
        assert cells(screen.program_grid, 0)[0] == PROGRAM
        assert cells(screen.coupon_grid, 0)[2] == PROGRAM
        assert cells(screen.coupon_grid, 0)[5] == PLAYER
        chooser = screen.query_one("#promo-filter-program", Select)
        assert PROGRAM in select_prompts(chooser)
        assert_no_actions(app)

        screen.coupon_grid.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CouponModal)
        facts = shown(app.screen.query_one("#coupon-facts", Static))
        assert PROGRAM in facts and PLAYER in facts
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("i")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, IssueCouponForm)
        assert any(p.startswith(PROGRAM) for p in select_prompts(form.query_one(Select)))
        await pilot.press("escape")
        await settle(pilot)

        screen.program_grid.focus()
        await pilot.press("p")
        await settle(pilot)
        question = app.screen
        assert isinstance(question, ProgramActionForm)
        assert shown(question.query_one(".dialog-title", Label)) == f"Pause program {PROGRAM}?"
        assert_no_actions(app)
        await pilot.press("y")
        await settle(pilot)
        assert current(app) is screen
        assert f"Program saved\n{PROGRAM}: paused." in toasts(app)
        assert_no_actions(app)


@drive
async def test_admin_lists_and_confirmations_show_staff_and_catalog_as_typed(
    sqlite_database: Database,
) -> None:
    """The staff list, the games with their tables, the comp catalog, the deactivate question
    and its notification: the staff member, game, table and comp as typed."""
    world = hostile_casino(sqlite_database)
    loyalty.add_comp(
        sqlite_database.uow(world.admin),
        world.admin,
        loyalty.NewComp(name=COMP, category=CATEGORY, points_cost=250),
    )
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.ADMIN)
        await pilot.press("f8")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AdminScreen)
        staff = screen.query_one("#admin-staff", DataTable)
        codes = column(staff, 0)
        assert cells(staff, codes.index(STAFF_CODE))[1] == STAFF
        games = screen.query_one("#admin-games", DataTable)
        game = cells(games, column(games, 0).index(GAME))
        assert game[-1] == TABLE
        comps = screen.query_one("#admin-comps", DataTable)
        assert cells(comps, 0)[:2] == [COMP, CATEGORY]
        assert_no_actions(app)

        staff.focus()
        staff.move_cursor(row=codes.index(STAFF_CODE))
        await pilot.press("d")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert shown(dialog.query_one(".dialog-body", Static)).startswith(
            f"Deactivate {STAFF_CODE} ({STAFF}, Cashier)?"
        )
        assert_no_actions(app)
        await pilot.press("y")
        await settle(pilot)
        assert current(app) is screen
        assert f"Staff changed\n{STAFF_CODE} ({STAFF}) is deactivated." in toasts(app)
        assert_no_actions(app)


IMPORT_HEADER = ["First Name", "Last Name", "DOB", "Email", "Card", "[/]Notes [@click=app.quit]x"]
IMPORT_ROWS = [
    ["Rita", "Hayworth", "1970-05-17", "rita@example.com", "C-1001", "[link=x]vip"],
    ["[bold]Ray", "Smith", "1961-03-02", "ray@example.com", "C-2002", "[/]"],
]
"""The second row's first name is not a name: its problem quotes the cell."""
IMPORT_FILE = "[bold]vendor[@click=app.quit]x.csv"


@drive
async def test_import_preview_and_batch_show_the_file_as_written(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File facts, the mapping, the raw preview (headers from the file), a row's problems,
    the staged batch, its problem rows, the execute question and the batches list."""
    build_casino(sqlite_database)
    write_csv(tmp_path / IMPORT_FILE, IMPORT_ROWS, IMPORT_HEADER)
    monkeypatch.chdir(tmp_path)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        await pilot.press("f", *IMPORT_FILE, "enter")
        await settle(pilot)
        assert shown(screen.query_one("#import-facts", Static)).startswith(f"{IMPORT_FILE} │ ")
        mapping = screen.query_one("#import-mapping", DataTable)
        assert column(mapping, 0) == IMPORT_HEADER
        assert column(mapping, 2) == IMPORT_ROWS[0]
        assert_no_actions(app)

        await pilot.press("v")  # the preview as read: the file's own headers and cells
        await settle(pilot)
        preview = screen.query_one("#import-preview", DataTable)
        assert headers(preview)[3:] == IMPORT_HEADER
        assert [cells(preview, n)[3:] for n in range(preview.row_count)] == IMPORT_ROWS
        preview.focus()
        await pilot.press("down")
        await settle(pilot)
        problems = shown(screen.query_one("#import-row-problems", Static))
        assert problems.startswith("Row 2 (line 3): First Name: ")
        assert_no_actions(app)

        await pilot.press("s")
        await settle(pilot)
        assert shown(screen.query_one("#import-summary", Static)).startswith(f"{IMPORT_FILE} │ ")
        listed = screen.query_one("#import-problems", DataTable)
        assert cells(listed, 0)[2:5:2] == ["First Name", "[bold]Ray"]
        assert_no_actions(app)

        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert f"of {IMPORT_FILE}?" in shown(dialog.query_one(".dialog-body", Static))
        await pilot.press("n")
        await settle(pilot)

        await pilot.press("b")
        await settle(pilot)
        assert cells(screen.query_one("#import-batch-list", DataTable), 0)[1] == IMPORT_FILE
        assert_no_actions(app)


@drive
async def test_reconcile_confirmation_shows_the_row_as_written(sqlite_database: Database) -> None:
    """A stale row's confirmation names the player and the vendor label as they are, with no
    escaping backslashes, and applying it reports the same."""
    label = "[link=x]Gold[/link] [@click=app.quit]+[/]"
    world = build_casino(sqlite_database)
    lm = world.actor(StaffRole.LOYALTY_MANAGER)
    player = enrol(sqlite_database, world.admin, FIRST, LAST, card="C-0101")
    recon_support.set_tier(sqlite_database, player, Tier.BRONZE)
    case = recon_support.Case("Stale", "C-0101", Tier.BRONZE, label, recon_support.STALE)
    batch = recon_support.stage_and_execute(sqlite_database, lm, [recon_support.csv_row(case)])
    recon = recon_support.ReconWorld(world, batch, {"Stale": player})
    recon_support.map_label(sqlite_database, recon, label, Tier.GOLD)
    app = make_app(sqlite_database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in_as(pilot, StaffRole.LOYALTY_MANAGER)
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReconcileScreen)
        await pilot.press("enter")
        await settle(pilot)
        queue = screen.query_one("#recon-queue", DataTable)
        assert cells(queue, 0)[2:5] == [PLAYER, "C-0101", label]
        assert_no_actions(app)
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        body = shown(dialog.query_one(".dialog-body", Static))
        assert body.startswith(f"Row 1 · {PLAYER} · card C-0101: ") and "\\" not in body
        assert_no_actions(app)
        await pilot.press("y")
        await settle(pilot)
        assert current(app) is screen
        assert recon_support.tier_of(sqlite_database, player) is Tier.GOLD
        assert_no_actions(app)


def test_the_payloads_are_markup() -> None:
    """Each payload really is markup: parsed, it crashes, loses text or makes an action."""
    for payload in (CASINO, GAME, TABLE, GHOST, NOTE, COMP, PROGRAM, STAFF, TYPED, IMPORT_FILE):
        try:
            parsed = Content.from_markup(payload)
        except Exception:  # MarkupError: the crash the screens must not have
            continue
        assert parsed.plain != payload, payload
    for payload in (PIT, PLAYER):
        parsed = Content.from_markup(payload)
        assert any("@click" in str(span.style) for span in parsed.spans), payload
