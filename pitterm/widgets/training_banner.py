"""The demo-mode banner: "TRAINING — demo data", and how far the trainer moved the clock."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Static


def describe_offset(offset: timedelta) -> str:
    """'+15 min', '+1h', '+1h 30m', '+2d 4h': how far ahead of real time the clock runs."""
    minutes = int(offset.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if not days and not hours:
        return f"+{minutes} min"
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    return "+" + " ".join(parts)


def training_text(offset: timedelta | None = None) -> str:
    """The banner's words; the clock's offset only once the trainer has moved it."""
    text = "TRAINING — demo data"
    if offset:
        text += f" — clock {describe_offset(offset)}"
    return text


class TrainingBanner(Static):
    """One line across the screen, shown in demo (training) mode only."""

    DEFAULT_CSS = """
    TrainingBanner {
        width: 100%;
        height: 1;
        content-align: center middle;
        background: $warning-muted;
        color: $text-warning;
        text-style: bold;
        &.-over-modal { dock: top; }
    }
    """

    def __init__(self, offset: timedelta | None = None, *, id: str | None = None) -> None:
        super().__init__(training_text(offset), id=id)

    def show_offset(self, offset: timedelta | None) -> None:
        """Show the simulated clock's current offset (None or zero: no clock part)."""
        self.update(training_text(offset))
