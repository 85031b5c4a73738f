"""The App: sign-in, the modes of the shell, bindings, the idle lock, and worker failures.

Screens do the work of each mode; the App owns what spans them: who is signed in, which
modes that role may open (DESIGN §3, §11), the keys and command palette entries for them,
and the one place a failed worker becomes an error notification.
"""

from __future__ import annotations

import gc
import time
from asyncio import AbstractEventLoop
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from importlib import import_module
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import App, AutopilotCallbackType, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from pitterm.cli import STARTED_AT
from pitterm.domain import auth
from pitterm.domain.actor import Actor
from pitterm.domain.auth import TerminalStatus
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.runtime import Runtime
from pitterm.screens.base import DemoLoginRow, ModeScreen, TerminalSession, show_clock_offset
from pitterm.screens.help import HelpScreen, screen_actions
from pitterm.screens.lock import LockScreen
from pitterm.screens.sign_in import SignInScreen
from pitterm.screens.trainer_clock import AdvanceClockModal
from pitterm.widgets.training_banner import describe_offset

SIGN_IN = "sign_in"
"""The mode of the sign-in screen: the only one open to nobody in particular."""


@dataclass(frozen=True)
class ModeSpec:
    """A top-level area of the shell, its key, and who may open it."""

    name: str
    title: str
    key: str
    purpose: str
    screen: Callable[[], Screen[None]]
    needs_any: frozenset[Capability] = frozenset()
    """The role must hold one of these; empty means every signed-in role (the floor)."""

    def allowed(self, role: StaffRole) -> bool:
        return not self.needs_any or any(can(role, capability) for capability in self.needs_any)


def _opened_later(module: str, name: str) -> Callable[[], Screen[None]]:
    """A mode's screen class, imported when the mode first opens.

    The first frame is the sign-in screen, which needs none of them: importing every mode
    (and the domain services behind it) up front would add a third to the cold start.
    """

    def screen() -> Screen[None]:
        made: Screen[None] = getattr(import_module(f"pitterm.screens.{module}"), name)()
        return made

    screen.__qualname__ = name
    return screen


_PLAYER = "search, player card, balance, comps, manual credits and ledger history"
_PROMO = "promo programs and coupons: issue, void and replace; the shift's promo lens"
_IMPORT = "CSV player imports: column mapping, validation and staged rows"
_RECONCILE = "the tier reconciliation queue, its diff view, apply and revert"
_AUDIT = "the ledger drift audit: summary, drill-down and likely causes"

MODE_SPECS: tuple[ModeSpec, ...] = (
    ModeSpec(
        "floor", "Floor", "f2", "tables, visits and slips", _opened_later("floor", "FloorScreen")
    ),
    ModeSpec(
        "player",
        "Player",
        "f3",
        _PLAYER,
        _opened_later("player", "PlayerScreen"),
        frozenset({Capability.VIEW_FLOOR}),
    ),
    ModeSpec(
        "promo",
        "Promo",
        "f4",
        _PROMO,
        _opened_later("promo", "PromoScreen"),
        frozenset({Capability.ISSUE_COUPON, Capability.MANAGE_PROMO}),
    ),
    ModeSpec(
        "import",
        "Import",
        "f5",
        _IMPORT,
        _opened_later("import_screen", "ImportScreen"),
        frozenset({Capability.IMPORT_RECONCILE}),
    ),
    ModeSpec(
        "reconcile",
        "Reconcile",
        "f6",
        _RECONCILE,
        _opened_later("reconcile", "ReconcileScreen"),
        frozenset({Capability.IMPORT_RECONCILE}),
    ),
    ModeSpec(
        "audit",
        "Audit",
        "f7",
        _AUDIT,
        _opened_later("audit", "AuditScreen"),
        frozenset({Capability.RUN_DRIFT_AUDIT}),
    ),
    ModeSpec(
        "admin",
        "Admin",
        "f8",
        "staff accounts and lockouts",
        _opened_later("admin", "AdminScreen"),
        frozenset({Capability.MANAGE_STAFF_SETTINGS}),
    ),
)
MODES_BY_NAME = {spec.name: spec for spec in MODE_SPECS}


def _mode_bindings() -> list[BindingType]:
    return [
        Binding(
            spec.key,
            f"open_mode('{spec.name}')",
            spec.title,
            id=f"mode.{spec.name}",
            tooltip=f"{spec.title} mode: {spec.purpose}.",
            show=False,  # the mode bar above the footer shows the modes
        )
        for spec in MODE_SPECS
    ]


class PitApp(App[None]):
    """The pit terminal. Built from a Runtime (settings, database, clock) by the CLI or a test."""

    TITLE = "pitterm"
    CSS_PATH = "app.tcss"
    DEFAULT_MODE = SIGN_IN
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        SIGN_IN: SignInScreen,
        **{spec.name: spec.screen for spec in MODE_SPECS},
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *_mode_bindings(),
        Binding(
            "ctrl+l",
            "lock",
            "Lock terminal",
            id="session.lock",
            tooltip="Lock the terminal now; your PIN unlocks it.",
        ),
        Binding(
            "ctrl+o",
            "sign_out",
            "Sign out",
            id="session.sign_out",
            tooltip="Sign out and return to the sign-in screen.",
        ),
    ]

    IDLE_CHECK_SECONDS: ClassVar[float] = 5.0
    STATUS_REFRESH_SECONDS: ClassVar[float] = 60.0

    def __init__(self, runtime: Runtime, *, startup_probe: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.startup_probe = startup_probe
        self.session = TerminalSession(
            database=runtime.database,
            demo=runtime.demo,
            casino_code=runtime.settings.casino,
            demo_logins=_demo_logins() if runtime.demo else (),
            trainer_clock=runtime.trainer_clock,
        )
        self.idle_check_seconds: float = self.IDLE_CHECK_SECONDS
        """How often the idle lock looks at the time of the last input."""
        self.idle_timeout_override: float | None = None
        """Seconds without input before the lock; None uses the casino's idle_lock_minutes."""
        self._last_input = time.monotonic()
        self._locked = False
        self.startup_seconds: float | None = None
        """With --startup-probe: seconds from process start to the sign-in screen's first frame."""

    # -- session -------------------------------------------------------------------------

    @property
    def actor(self) -> Actor | None:
        """The signed-in staff member, or None."""
        return self.session.actor

    @property
    def locked(self) -> bool:
        """Whether the idle lock is showing."""
        return self._locked

    @property
    def idle_timeout(self) -> float | None:
        if self.idle_timeout_override is not None:
            return self.idle_timeout_override
        status = self.session.status
        return None if status is None else status.idle_lock_minutes * 60.0

    def on_unmount(self) -> None:
        gc.unfreeze()

    def on_mount(self) -> None:
        self.set_interval(self.idle_check_seconds, self._check_idle, name="idle-lock")
        self.set_interval(self.STATUS_REFRESH_SECONDS, self._refresh_status, name="status")
        if self.startup_probe:
            self.call_after_refresh(self._report_startup)

    @on(SignInScreen.SignedIn)
    def _signed_in(self, message: SignInScreen.SignedIn) -> None:
        self.session.actor = message.actor
        self.session.status = message.status
        self._last_input = time.monotonic()
        if isinstance(self.screen, SignInScreen):
            self.screen.reset()
        self.switch_mode("floor")
        self.refresh_bindings()
        self.call_after_refresh(_freeze_heap)

    def sign_out(self, message: str = "Signed out.") -> None:
        """Forget the staff member, drop every mode's screens, show the sign-in screen."""
        self.session.actor = None
        self.session.status = None
        self._locked = False
        gc.unfreeze()  # the signed-out staff member's screens may be collected again
        self.switch_mode(SIGN_IN)
        for spec in MODE_SPECS:
            self._discard_mode(spec.name)
        if isinstance(self.screen, SignInScreen):
            self.screen.reset(message)
        self.refresh_bindings()

    def _discard_mode(self, name: str) -> None:
        try:
            self.get_screen_stack(name)
        except KeyError:
            return  # never opened
        self.remove_mode(name)
        self.add_mode(name, MODES_BY_NAME[name].screen)

    # -- modes and actions ---------------------------------------------------------------

    def may_open(self, mode: str) -> bool:
        """Whether the signed-in role may open a mode (never before sign-in)."""
        actor = self.actor
        spec = MODES_BY_NAME.get(mode)
        return actor is not None and spec is not None and spec.allowed(actor.role)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_mode":
            return bool(parameters) and self.may_open(str(parameters[0])) and not self._locked
        if action in {"lock", "sign_out"}:
            return self.actor is not None and not self._locked
        if action == "command_palette":
            return not self._locked
        if action == "advance_clock":
            # Demo mode only: production records take real time, always.
            trainer = self.session.trainer_clock is not None
            return trainer and self.actor is not None and not self._locked
        return True

    def action_open_mode(self, mode: str) -> None:
        if self.may_open(mode) and not self._locked:
            self.switch_mode(mode)

    def action_sign_out(self) -> None:
        if self.actor is not None:
            self.sign_out()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette offers what the keys offer the signed-in role here, and nothing else.

        Each action once, from the same reading of the screen's bindings as F1 help (so a
        key ``check_action`` hides from the role is not offered), plus quitting. Textual's
        theme, key panel and screenshot commands are not pit work and are left out.
        """
        for entry in screen_actions(screen):
            if entry.enabled:
                yield SystemCommand(
                    entry.title,
                    entry.tooltip,
                    partial(self.run_action, entry.action, entry.namespace),
                )
        yield SystemCommand("app: Quit", "Quit pitterm (Ctrl+Q).", self.action_quit)

    def action_help(self) -> None:
        """F1 or ?: help for the screen on top; pressed on the help itself, close it."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(HelpScreen(self.screen))

    # -- the trainer's clock (demo mode) -------------------------------------------------

    def action_advance_clock(self) -> None:
        if self.check_action("advance_clock", ()):
            self.push_screen(AdvanceClockModal(), self._advance_clock)

    def _advance_clock(self, step: timedelta | None) -> None:
        if step is None or self.session.trainer_clock is None:
            return
        offset = self.runtime.advance_clock(step)
        self.notify(
            f"Moved {describe_offset(step)}; the demo clock now runs {describe_offset(offset)}"
            " ahead of real time. Open slips accrue for the time skipped.",
            title="Clock advanced",
        )
        for screen in self.screen_stack:
            show_clock_offset(screen)  # its own resume may have run before the clock moved
        self._refresh_status()  # the gaming day may have turned

    # -- idle lock -----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _check_idle(self) -> None:
        timeout = self.idle_timeout
        if self.actor is None or self._locked or timeout is None:
            return
        if time.monotonic() - self._last_input >= timeout:
            self.action_lock()

    def action_lock(self) -> None:
        actor = self.actor
        if actor is None or self._locked:
            return
        self._locked = True
        self.refresh_bindings()
        self.push_screen(LockScreen(self.session.database, actor), self._lock_closed)

    def _lock_closed(self, actor: Actor | None) -> None:
        self._locked = False
        self._last_input = time.monotonic()
        if actor is None:
            self.sign_out("Signed out at the lock screen.")
        else:
            self.refresh_bindings()

    # -- header status -------------------------------------------------------------------

    def _refresh_status(self) -> None:
        if self.actor is not None:
            self.load_status(self.session.database, self.actor)

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="status",
        description="Read the header's casino, staff and gaming day",
    )
    def load_status(self, database: Database, actor: Actor) -> None:
        status = auth.terminal_status(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_status, actor, status)

    def _show_status(self, actor: Actor, status: TerminalStatus) -> None:
        if self.actor != actor:
            return  # signed out (or someone else signed in) meanwhile
        self.session.status = status
        for screen in self.screen_stack:
            if isinstance(screen, ModeScreen):
                screen.refresh_header()

    # -- notifications -------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification whose message is never read as markup.

        Messages quote names, notes, labels, file names and errors that staff typed or files
        held, and pitterm writes no markup of its own (pitterm.widgets.literal). ``markup`` is
        kept for Textual's signature (``Widget.notify`` passes True) and ignored.
        """
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- failures ------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: its error code and message, no trace."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, DomainError):
            if self._ends_session(error):
                # Deactivated, locked or given another role at another terminal: whatever
                # this terminal was doing was refused, and nothing more may be done here.
                self.sign_out(error.message)
            self.notify(str(error), severity="error", timeout=8)
            return
        self.log.error(f"worker {event.worker.description!r} failed", error)
        self.notify(
            f"Unexpected error while trying to {event.worker.description.lower()}:"
            f" {type(error).__name__}: {error}",
            title="Something went wrong",
            severity="error",
            timeout=12,
        )

    def _ends_session(self, error: DomainError) -> bool:
        """Whether a refusal means the signed-in staff member may act no more (an approver's
        lockout, which names another staff code, does not)."""
        actor = self.actor
        if actor is None:
            return False
        if error.code is ErrorCode.AUTH_SESSION_ENDED:
            return True
        return (
            error.code is ErrorCode.AUTH_STAFF_LOCKED
            and error.details.get("staff_code") == actor.staff_code
            and not self._locked  # the lock screen signs out itself, with its own message
        )

    # -- startup probe -------------------------------------------------------------------

    def _report_startup(self) -> None:
        self.startup_seconds = time.perf_counter() - STARTED_AT
        self.exit(return_code=0)

    def run(
        self,
        *,
        headless: bool = False,
        inline: bool = False,
        inline_no_clear: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
        auto_pilot: AutopilotCallbackType | None = None,
        loop: AbstractEventLoop | None = None,
    ) -> None:
        """Run the terminal; with --startup-probe, print the time to the first frame after."""
        result = super().run(
            headless=headless,
            inline=inline,
            inline_no_clear=inline_no_clear,
            mouse=mouse,
            size=size,
            auto_pilot=auto_pilot,
            loop=loop,
        )
        if self.startup_seconds is not None:
            print(f"startup: {self.startup_seconds:.3f} s")
        return result


def _demo_logins() -> tuple[DemoLoginRow, ...]:
    from pitterm.demo_casinos import DEMO_LOGINS

    return tuple(DEMO_LOGINS)


def _freeze_heap() -> None:
    """Keep what sign-in built out of the cyclic collector's full passes.

    The shell, the first mode and the domain's caches are live until sign-out; a full
    collection scanning them each time paused the floor's clock tick for 150-390 ms.
    Sign-out (and exit) unfreezes, so nothing frozen outlives the staff member's session.
    """
    gc.collect()
    gc.freeze()
