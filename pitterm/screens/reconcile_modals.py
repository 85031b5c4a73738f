"""Reconcile mode's dialogs: map a vendor tier label, override a downgrade, revert a change.

The mapping dialog only chooses (the screen calls the service). The override and revert
forms call the service themselves: their idempotency key is made when the form opens, so a
retry after a refusal or a lost connection repeats the same request and never applies twice.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pitterm.domain import reconciliation as recon
from pitterm.domain.enums import Tier
from pitterm.domain.recon_rules import OVERRIDE_REASON_MAX
from pitterm.domain.reconciliation import (
    Applied,
    ApplyReconciliation,
    ReconRow,
    Reverted,
    RevertReconciliation,
    TierLabel,
)
from pitterm.screens.base import PitModal
from pitterm.screens.forms import FormModal

__all__ = ["CLEAR", "IGNORE", "MappingModal", "OverrideModal", "RevertModal", "tier_name"]

IGNORE = "ignore"
"""The mapping dialog's answer for 'map to ignore'."""
CLEAR = "clear"
"""The mapping dialog's answer for 'clear the mapping' (the label's rows wait again)."""


def tier_name(tier: Tier | None) -> str:
    return tier.value if tier is not None else "no tier"


def row_title(row: ReconRow) -> str:
    """'Row 4 · Anthony Nguyen · card BV1825607'."""
    card = f" · card {row.loyalty_card_number}" if row.loyalty_card_number else ""
    return f"Row {row.row_number} · {row.player_name}{card}"


class MappingModal(PitModal[str | None]):
    """Choose where a vendor label maps: a tier value, ``IGNORE`` or ``CLEAR`` (None: Escape)."""

    HELP = """
    Map one vendor tier label of the batch to a pitterm tier, or to ignore (its rows are
    recorded as ignored and change nothing), or clear the mapping so its rows wait again.
    Labels match exactly; nothing is guessed. Only pending rows follow a new mapping: rows
    already applied keep the mapping they were decided under. Every change is audited.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="mapping.cancel",
            tooltip="Close without changing the mapping.",
        ),
    ]

    AUTO_FOCUS = "#recon-mapping-targets"

    def __init__(self, label: TierLabel) -> None:
        super().__init__()
        self.label = label

    def compose(self) -> ComposeResult:
        label = self.label
        rows = f"{label.rows:,} staged row{'s' if label.rows != 1 else ''}"
        with Vertical(id="recon-mapping-dialog", classes="dialog"):
            yield Label(
                f"Map the vendor tier {label.vendor_label!r}", classes="dialog-title", markup=False
            )
            yield Static(
                f"{rows}, {label.pending:,} pending. Now: {label.target}."
                " Pending rows follow the new mapping; decided rows keep theirs.",
                classes="dialog-body",
                markup=False,
            )
            options = [Option(f"{tier.value}", id=tier.value) for tier in Tier]
            options.append(Option("ignore — record its rows as ignored", id=IGNORE))
            options.append(Option("clear — unmapped: its rows wait", id=CLEAR))
            yield OptionList(*options, id="recon-mapping-targets")
            yield Static("↑↓ Enter: map · Escape: cancel", classes="form-hint")

    def on_mount(self) -> None:
        targets = self.query_one("#recon-mapping-targets", OptionList)
        # Start on the current target; an unmapped label starts at the lowest tier.
        ids = [tier.value for tier in Tier] + [IGNORE, CLEAR]
        targets.highlighted = ids.index(self.label.target) if self.label.is_mapped else 0

    @on(OptionList.OptionSelected, "#recon-mapping-targets")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OverrideModal(FormModal[Applied]):
    """An admin's downgrade override: the reason, then the apply. Dismisses with Applied."""

    HELP = """
    Admin only. The vendor's tier for this player is below pitterm's: the policy never
    lowers a tier by itself. Type why the downgrade is right and save to apply it; the reason
    is kept on the record, in the report and in the audit log. Escape leaves the tier as it
    is.
    """

    TITLE = "Override a tier downgrade"
    DESCRIPTION = "Apply the downgrade override"
    FIELD_IDS: ClassVar[dict[str, str]] = {"override_reason": "recon-override-reason"}

    def __init__(self, row: ReconRow, *, confirm_freshness: bool) -> None:
        super().__init__()
        self.row = row
        self.confirm_freshness = confirm_freshness
        """The reviewer already confirmed the row's stale or unknown freshness."""

    def compose_fields(self) -> ComposeResult:
        row = self.row
        facts = [
            row_title(row),
            f"Downgrade {tier_name(row.canonical_tier)} → {tier_name(row.mapped_tier)}"
            f" (vendor tier {row.vendor_label!r}).",
        ]
        if self.confirm_freshness:
            facts.append(f"Freshness {row.freshness.value}: confirmed.")
        yield Static("\n".join(facts), classes="dialog-body", markup=False)
        with Horizontal(classes="form-row"):
            yield Label("Reason", classes="form-label")
            yield Input(
                placeholder="required: why the lower tier is right",
                max_length=OVERRIDE_REASON_MAX,
                id="recon-override-reason",
            )

    def hint(self) -> str:
        return "Enter: apply the override · Escape: cancel"

    def submit(self) -> None:
        reason = self.query_one("#recon-override-reason", Input).value.strip()
        if not reason:
            raise ValueError("override_reason: say why the downgrade is right (required)")
        row, session = self.row, self.session
        database, actor = session.database, session.signed_in()
        command = ApplyReconciliation(
            batch_id=row.batch_id,
            row_number=row.row_number,
            idempotency_key=self.idempotency_key,
            confirm_freshness=self.confirm_freshness,
            override_reason=reason,
        )
        self.call_service(lambda: recon.apply(database.uow(actor), actor, command), self.dismiss)


class RevertModal(FormModal[Reverted]):
    """Undo an applied tier change, with an optional reason. Dismisses with Reverted."""

    HELP = """
    Undo this row's tier change: the tier goes back to what it was before the apply (a
    player the apply gave a first tier goes back to none). Refused if the tier has changed
    since the apply. The reason is optional and goes to the audit log.
    """

    TITLE = "Revert a tier change"
    DESCRIPTION = "Revert the tier change"
    FIELD_IDS: ClassVar[dict[str, str]] = {"reason": "recon-revert-reason"}

    def __init__(self, row: ReconRow) -> None:
        super().__init__()
        self.row = row

    def compose_fields(self) -> ComposeResult:
        row = self.row
        who = f", applied by {row.applied_by_code}" if row.applied_by_code else ""
        yield Static(
            f"{row_title(row)}\nTier now {tier_name(row.canonical_tier)}; back to"
            f" {tier_name(row.tier_before)} (was {tier_name(row.tier_before)} →"
            f" {tier_name(row.tier_after)}{who}).",
            classes="dialog-body",
            markup=False,
        )
        with Horizontal(classes="form-row"):
            yield Label("Reason", classes="form-label")
            yield Input(
                placeholder="optional", max_length=OVERRIDE_REASON_MAX, id="recon-revert-reason"
            )

    def hint(self) -> str:
        return "Enter: revert · Escape: cancel"

    def submit(self) -> None:
        reason = self.query_one("#recon-revert-reason", Input).value.strip() or None
        row, session = self.row, self.session
        database, actor = session.database, session.signed_in()
        command = RevertReconciliation(
            batch_id=row.batch_id,
            row_number=row.row_number,
            idempotency_key=self.idempotency_key,
            reason=reason,
        )
        self.call_service(lambda: recon.revert(database.uow(actor), actor, command), self.dismiss)
