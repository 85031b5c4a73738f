"""Demo mode's "Advance clock": the trainer moves simulated time forward so slips accrue.

The dialog only chooses how far; the App moves the runtime's clock (the one every service
call reads), so open slips earn theo and points for the skipped time and every time stamp
written afterwards is simulated. Time only moves forward: a slip can never close before it
started.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pitterm.screens.base import PitModal, session_of
from pitterm.widgets.training_banner import describe_offset

STEPS: tuple[tuple[str, timedelta], ...] = (
    ("+15 min", timedelta(minutes=15)),
    ("+1 h", timedelta(hours=1)),
    ("+4 h", timedelta(hours=4)),
)
"""The ready-made steps, in the order the list shows them."""
MAX_MINUTES = 7 * 24 * 60
"""A custom step is at most a week: enough to cross gaming days, not to lose the demo."""


def parse_minutes(text: str) -> timedelta:
    """A typed custom step; ValueError naming the field unless 1 to MAX_MINUTES minutes."""
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_MINUTES:
        raise ValueError(f"minutes: a whole number from 1 to {MAX_MINUTES:,}")
    return timedelta(minutes=int(text))


class AdvanceClockModal(PitModal[timedelta | None]):
    """Dismisses with how far to move the clock, or None (Escape)."""

    HELP = """
    Training only. Moves the demo's clock forward as if the time had passed: open slips
    accrue theo and points for it, visits age, and everything done afterwards is stamped
    with the simulated time. Pick +15 min, +1 h or +4 h and press Enter, or Tab to the
    minutes box, type a number and press Enter. The clock never goes back; the banner shows
    how far ahead it runs. `pitterm demo --reset` starts the demo afresh at real time.
    """

    DEFAULT_CSS = """
    AdvanceClockModal {
        align: center middle;
        #clock-dialog { width: 56; }
        #clock-steps { height: auto; margin: 1 0; }
        #clock-minutes { margin-top: 1; }
        #clock-error { height: auto; color: $text-error; }
        #clock-hint { color: $text-muted; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="clock.cancel",
            tooltip="Close without moving the clock.",
        ),
    ]

    AUTO_FOCUS = "#clock-steps"

    def compose(self) -> ComposeResult:
        offset = session_of(self).clock_offset()
        now = (
            f"The clock now runs {describe_offset(offset)} ahead of real time."
            if offset
            else "The clock runs at real time."
        )
        with Vertical(id="clock-dialog", classes="dialog"):
            yield Label("Advance clock", classes="dialog-title")
            yield Static(f"{now} Open slips accrue for the time you skip.", classes="dialog-body")
            yield OptionList(
                *(Option(label, id=str(int(step.total_seconds()))) for label, step in STEPS),
                id="clock-steps",
            )
            yield Label("Or custom minutes")
            yield Input(placeholder="e.g. 90", restrict=r"[0-9]*", max_length=5, id="clock-minutes")
            yield Static("", id="clock-error")
            yield Static("Enter: advance · Tab: minutes box · Escape: cancel", id="clock-hint")

    @on(OptionList.OptionSelected, "#clock-steps")
    def _step_chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(timedelta(seconds=int(event.option.id or 0)))

    @on(Input.Submitted, "#clock-minutes")
    def _minutes_entered(self, event: Input.Submitted) -> None:
        try:
            step = parse_minutes(event.value)
        except ValueError as error:
            self.query_one("#clock-error", Static).update(str(error))
            return
        self.dismiss(step)

    def action_cancel(self) -> None:
        self.dismiss(None)
