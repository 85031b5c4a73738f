"""The shift dashboard's promo panel: promo exposure by type, issuance per hour, the alerts.

Promo figures are exposure, not cash (seed 004): the panel says so in its title, and shows
the day's cash in and out on a line of its own beside them, never added to them.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from pitterm.domain.cash import CashTotals
from pitterm.domain.promo import HourlyIssuance, PromoLens, TypeExposure
from pitterm.widgets.formatting import dollars

__all__ = ["PromoLensPanel", "alert_lines", "exposure_table", "hour_labels"]

_COLUMNS = (
    ("Type", 13, "<"),
    ("Issued", 6, ">"),
    ("Face", 8, ">"),
    ("At-risk", 8, ">"),
    ("Outst.", 6, ">"),
    ("Face", 8, ">"),
    ("At-risk", 8, ">"),
)
"""(title, width, alignment): 63 columns with the spaces between."""


def _row(cells: tuple[str, ...]) -> str:
    return " ".join(
        f"{cell:{align}{width}}"[:width]
        for cell, (_, width, align) in zip(cells, _COLUMNS, strict=True)
    )


def _cells(label: str, part: TypeExposure) -> tuple[str, ...]:
    window, outstanding = part.window, part.outstanding
    return (
        label,
        f"{window.issued_count:,}",
        dollars(window.face_value_cents),
        dollars(window.at_risk_cents),
        f"{outstanding.outstanding_count:,}",
        dollars(outstanding.face_value_cents),
        dollars(outstanding.at_risk_cents),
    )


def exposure_table(lens: PromoLens) -> Content:
    """This shift's issuance and the point-in-time outstanding figures, by type and in total."""
    header = _row(tuple(name for name, _, _ in _COLUMNS))
    lines = [
        Content.styled(f"{'':<13} {' this shift ':─^24} {' outstanding now ':─^24}", "$text-muted"),
        Content.styled(header, "bold"),
    ]
    for part in lens.shift.by_type:
        label = part.promo_type.label if part.promo_type is not None else "—"
        lines.append(Content(_row(_cells(label, part))))
    lines.append(Content.styled(_row(_cells("Total", lens.shift.total)), "bold"))
    day = lens.day.total.window
    lines.append(
        Content.styled(
            f"Day: {day.issued_count:,} issued · {dollars(day.face_value_cents)} face"
            f" · {dollars(day.at_risk_cents)} at-risk · {day.voided_count} void"
            f" · {day.replaced_count} repl.",
            "$text-muted",
        )
    )
    return Content("\n").join(lines)


def alert_lines(lens: PromoLens) -> Content:
    """Each raised alert's message, or a quiet line when none fired."""
    raised = lens.alerts.alerts
    if not raised:
        return Content.styled("No promo alerts this shift.", "$text-success")
    return Content("\n").join(
        Content.assemble(("▲ ", "bold $text-warning"), (alert.message, "$text-warning"))
        for alert in raised
    )


def hour_labels(series: HourlyIssuance) -> str:
    """'14:00 1 · 15:00 4 · …' in the casino's time: the numbers under the sparkline."""
    zone = ZoneInfo(series.time_zone)
    parts = []
    for index, count in enumerate(series.counts):
        hour = (series.start + timedelta(hours=index)).astimezone(zone)
        parts.append(f"{hour:%H}h:{count}")
    return " ".join(parts)


class PromoLensPanel(Vertical):
    """The promo lens of the current shift, apart from cash; refreshed by its screen."""

    def compose(self) -> ComposeResult:
        yield Static("", id="promo-lens-heading")
        yield Static("", id="promo-lens-figures")
        yield Static("", id="promo-lens-separation")
        with Horizontal(id="promo-spark-row"):
            yield Static("Issued per hour", id="promo-spark-title")
            yield Sparkline([], id="promo-spark")
        yield Static("", id="promo-spark-hours")
        yield Static("", id="promo-alerts")

    def on_mount(self) -> None:
        self.border_title = "PROMO EXPOSURE — not cash"

    def show(self, lens: PromoLens, series: HourlyIssuance, cash: CashTotals) -> None:
        """Fill the panel from one read of the lens, the hourly series and the day's cash."""
        self.query_one("#promo-lens-separation", Static).update(
            f"Cash, beside and never added: in {dollars(cash.cash_in_cents)} · out"
            f" {dollars(cash.cash_out_cents)} · {cash.transactions} transactions today"
        )
        shift = lens.shift
        self.border_subtitle = f"{shift.shift.value if shift.shift else 'day'} shift"
        self.query_one("#promo-lens-heading", Static).update(
            Content.assemble(
                (f"Gaming day {shift.gaming_day:%a %d %b}", "bold"),
                (f" · {shift.shift.value if shift.shift else 'whole day'} shift", "bold"),
                (" · coupons only", "$text-muted"),
            )
        )
        self.query_one("#promo-lens-figures", Static).update(exposure_table(lens))
        self.query_one("#promo-spark", Sparkline).data = [float(n) for n in series.counts]
        self.query_one("#promo-spark-hours", Static).update(hour_labels(series))
        alerts = self.query_one("#promo-alerts", Static)
        alerts.update(alert_lines(lens))
        alerts.set_class(bool(lens.alerts.alerts), "-raised")
