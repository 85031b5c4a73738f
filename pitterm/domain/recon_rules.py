"""Tier reconciliation policy (seed 000, DESIGN §9): pure rules, no database.

The vocabularies of a reconciliation record, the freshness rule, the policy's proposed
outcome, the conflict flags a reviewer sees, and the gate an apply must pass. Services in
``reconciliation`` feed these the stored and canonical facts and write what they decide.

Freshness (decided here, once): a row's imported last activity is

* ``unknown`` when the file gave none;
* ``stale`` when it is **strictly older** than the casino's threshold: ``now − last_activity
  > threshold_days × 24 h``. Measured instant to instant (the staged value is an aware UTC
  instant; a date without a time was read as local midnight at staging);
* ``fresh`` otherwise — so activity exactly ``threshold_days`` ago is still fresh, and one
  microsecond more is stale. (Staging refuses future dates; one would count as fresh.)

Apply gate: an unmapped label blocks its row; a label mapped to ``ignore`` (or a row with no
tier label) is recorded as ignored and touches nothing; every other decision (upgrade, equal
tier, seed, overridden downgrade) on a stale or unknown row needs the reviewer's explicit
per-row confirmation; a downgrade needs an override with a reason by a role allowed to
override.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pitterm.domain.enums import Tier
from pitterm.domain.errors import DomainError, ErrorCode

DEFAULT_FRESHNESS_DAYS = 90
"""The casino setting's default (``casino_settings.freshness_threshold_days``)."""
OVERRIDE_REASON_MAX = 500


class ReconStatus(StrEnum):
    """Where a reconciliation record stands."""

    PENDING = "pending"
    """Waiting for review (and for its label's mapping, if it has none)."""
    APPLIED = "applied"
    """The canonical tier was changed (upgrade, seed, or overridden downgrade)."""
    NO_CHANGE = "no_change"
    """Reviewed: the mapped tier equals the canonical one; recorded as a no-op."""
    IGNORED = "ignored"
    """Reviewed: the label is mapped to ``ignore`` (or the row has no tier); nothing applied."""
    REVERTED = "reverted"
    """An applied change was undone; the prior tier is back."""


class ReconOutcome(StrEnum):
    """The policy's proposal for a pending record, or what was decided for a reviewed one."""

    UPGRADE = "upgrade"
    NO_CHANGE = "no_change"
    DOWNGRADE = "downgrade"
    """Proposed: blocked unless overridden. Decided: applied under an admin override."""
    SEED = "seed"
    """The player has no canonical tier (no loyalty record): seed it with the mapped tier."""
    IGNORE = "ignore"
    UNMAPPED = "unmapped"
    """Blocked: the row's vendor label has no mapping yet. Never a decided outcome."""

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    ReconOutcome.UPGRADE: "upgrade",
    ReconOutcome.NO_CHANGE: "no change",
    ReconOutcome.DOWNGRADE: "downgrade",
    ReconOutcome.SEED: "seed new loyalty record",
    ReconOutcome.IGNORE: "ignore",
    ReconOutcome.UNMAPPED: "label unmapped",
}

TIER_CHANGES = frozenset({ReconOutcome.UPGRADE, ReconOutcome.DOWNGRADE, ReconOutcome.SEED})
"""Outcomes that write the canonical tier (status ``applied``; revertible)."""


class LabelState(StrEnum):
    """How a record's vendor label maps to a canonical tier under its batch's mapping."""

    UNMAPPED = "unmapped"
    MAPPED = "mapped"
    IGNORED = "ignored"
    NO_LABEL = "no_label"
    """The row carries loyalty fields but no tier label: nothing to map."""


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    UNKNOWN = "unknown"


class Conflict(StrEnum):
    """Facts a reviewer should see before deciding; none of them blocks an apply by itself."""

    TIER_CHANGED_SINCE_STAGING = "tier_changed_since_staging"
    """The canonical tier now differs from what it was when the batch was executed."""
    OTHER_OPEN_RECONCILIATION = "other_open_reconciliation"
    """The player has another pending reconciliation record (this or another batch)."""
    POINTS_MISMATCH = "points_mismatch"
    """The imported points differ from the current balance (reference only: never applied)."""

    @property
    def label(self) -> str:
        return _CONFLICT_LABELS[self]


_CONFLICT_LABELS = {
    Conflict.TIER_CHANGED_SINCE_STAGING: "canonical tier changed since staging",
    Conflict.OTHER_OPEN_RECONCILIATION: "player in another open reconciliation",
    Conflict.POINTS_MISMATCH: "imported points differ from the balance (reference only)",
}


def stale_cutoff(now: datetime, threshold_days: int) -> datetime:
    """The oldest last-activity instant that is still fresh at ``now``."""
    if threshold_days < 1:
        raise ValueError("threshold_days must be positive")
    return now - timedelta(days=threshold_days)


def freshness(last_activity: datetime | None, now: datetime, threshold_days: int) -> Freshness:
    """Fresh, stale (strictly older than the threshold) or unknown (no date)."""
    if last_activity is None:
        return Freshness.UNKNOWN
    if last_activity < stale_cutoff(now, threshold_days):
        return Freshness.STALE
    return Freshness.FRESH


def propose(label_state: LabelState, mapped: Tier | None, canonical: Tier | None) -> ReconOutcome:
    """The upgrade-only policy's proposal for a row against the canonical tier now."""
    if label_state is LabelState.UNMAPPED:
        return ReconOutcome.UNMAPPED
    if label_state is not LabelState.MAPPED:
        return ReconOutcome.IGNORE
    if mapped is None:
        raise ValueError("a mapped label needs its tier")
    if canonical is None:
        return ReconOutcome.SEED
    if mapped.rank > canonical.rank:
        return ReconOutcome.UPGRADE
    if mapped.rank == canonical.rank:
        return ReconOutcome.NO_CHANGE
    return ReconOutcome.DOWNGRADE


def conflicts(
    *,
    canonical_at_staging: Tier | None,
    canonical_now: Tier | None,
    other_open: bool,
    imported_points: int | None,
    balance: int | None,
) -> frozenset[Conflict]:
    """The conflict flags of a row (``balance`` None: the player has no loyalty record)."""
    found: set[Conflict] = set()
    if canonical_at_staging != canonical_now:
        found.add(Conflict.TIER_CHANGED_SINCE_STAGING)
    if other_open:
        found.add(Conflict.OTHER_OPEN_RECONCILIATION)
    if imported_points is not None and imported_points != (balance or 0):
        found.add(Conflict.POINTS_MISMATCH)
    return frozenset(found)


def needs_confirmation(outcome: ReconOutcome, fresh: Freshness) -> bool:
    """Whether applying ``outcome`` on a row this fresh needs the per-row confirmation."""
    return fresh is not Freshness.FRESH and outcome is not ReconOutcome.IGNORE


@dataclass(frozen=True)
class Decision:
    """What an apply records: the new status, the decided outcome and the tier afterwards."""

    status: ReconStatus
    outcome: ReconOutcome
    tier_after: Tier | None
    override_reason: str | None


def decide(
    *,
    proposed: ReconOutcome,
    mapped: Tier | None,
    canonical: Tier | None,
    fresh: Freshness,
    confirmed: bool,
    override_reason: str | None,
    may_override: bool,
) -> Decision:
    """The apply gate: the decision for one row, or the refusal that explains what it needs.

    ``override_reason`` is only used for a downgrade (it is dropped for any other outcome);
    ``may_override`` says whether the actor's role holds the downgrade override.
    """
    if proposed is ReconOutcome.UNMAPPED:
        raise DomainError(
            ErrorCode.RECON_LABEL_UNMAPPED,
            "This row's vendor tier label is not mapped yet; map it (or ignore it) first.",
        )
    if proposed is ReconOutcome.IGNORE:
        return Decision(ReconStatus.IGNORED, proposed, canonical, None)
    reason = (override_reason or "").strip() or None
    if proposed is ReconOutcome.DOWNGRADE:
        if reason is None:
            raise DomainError(
                ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE,
                f"The mapped tier ({_name(mapped)}) is below the current tier"
                f" ({_name(canonical)}); only an admin override with a reason may lower it.",
                field="override_reason",
            )
        if not may_override:
            raise DomainError(
                ErrorCode.AUTH_FORBIDDEN,
                "Only an admin may override a tier downgrade.",
                capability="override_downgrade",
            )
        if len(reason) > OVERRIDE_REASON_MAX:
            raise DomainError(
                ErrorCode.VALIDATION_FAILED,
                f"The override reason is at most {OVERRIDE_REASON_MAX} characters.",
                field="override_reason",
            )
    else:
        reason = None
    if needs_confirmation(proposed, fresh) and not confirmed:
        why = (
            "has no last-activity date"
            if fresh is Freshness.UNKNOWN
            else "has a last activity older than the casino's freshness threshold"
        )
        raise DomainError(
            ErrorCode.RECON_CONFIRMATION_REQUIRED,
            f"This row {why} ({fresh.value}); confirm it explicitly to apply it.",
            field="confirm_freshness",
            freshness=fresh.value,
        )
    if proposed is ReconOutcome.NO_CHANGE:
        return Decision(ReconStatus.NO_CHANGE, proposed, canonical, None)
    return Decision(ReconStatus.APPLIED, proposed, mapped, reason)


def _name(tier: Tier | None) -> str:
    return tier.value if tier is not None else "none"
