"""How play reads on the floor: durations, points, seat maps and visit kinds."""

from __future__ import annotations

from decimal import Decimal

from rich.style import Style
from rich.text import Text
from textual.app import App

from pitterm.domain.enums import SlipStatus, VisitKind

KIND_LABELS: dict[VisitKind, str] = {
    VisitKind.REWARD_IDENTIFIED: "reward only",
    VisitKind.GAMING_IDENTIFIED_RATED: "rated",
    VisitKind.GAMING_GHOST_UNRATED: "ghost",
}
"""Short names of the visit archetypes (seed 002) for tables and titles."""


def clock(seconds: int) -> str:
    """'0:06:40', '12:00:05': hours, minutes and seconds of play."""
    seconds = max(0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def spoken(seconds: int) -> str:
    """'2 h 05 min', '6 min', '45 s': a duration for sentences, to the minute once past one."""
    seconds = max(0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def points(value: int) -> str:
    """'2,100 pts'."""
    return f"{value:,} pts"


def theo(value: Decimal) -> str:
    """Theo in dollars to the cent for display ('$12.00'); the exact figure stays stored."""
    return f"${value.quantize(Decimal('0.01')):,}"


def seat_map(seats: int, taken: dict[int, SlipStatus]) -> str:
    """'··●·◐··' for seven seats: ● in play, ◐ paused, · free, in seat order."""
    marks = []
    for seat in range(1, seats + 1):
        status = taken.get(seat)
        marks.append("·" if status is None else "◐" if status is SlipStatus.PAUSED else "●")
    return "".join(marks)


def toned(app: App[object], text: str, variable: str | None, *, bold: bool = True) -> Text:
    """A table cell coloured by a theme variable ('text-error', 'text-warning', …).

    Table cells are Rich renderables, which know nothing of the theme: look the colour up.
    ``None`` gives dim text.
    """
    if variable is None:
        return Text(text, style=Style(dim=True))
    colour = app.theme_variables.get(variable)
    if colour is None or not colour.startswith("#"):
        return Text(text, style=Style(bold=bold))
    return Text(text, style=Style(color=colour, bold=bold))
