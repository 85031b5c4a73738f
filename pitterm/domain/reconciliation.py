"""Tier reconciliation (seed 000, DESIGN §9): the queue, the per-batch tier mapping, the diff,
apply, revert and the report.

When an import batch is executed, every row that resolved to a player and carries loyalty
fields gets a ``loyalty_reconciliation`` record (``open_records``, called by
``imports.execute_batch`` in the transaction that marks the batch executed). A record is
identified by its import row: ``(batch_id, row_number)``.

Each batch has an explicit mapping from vendor tier label to canonical tier, or ``ignore``;
a row whose label is unmapped waits. Mapping changes rewrite only pending records (decided
records keep the mapping they were decided under) and are audited.

While a record is pending its proposed outcome and freshness are computed live, against the
player's canonical tier and the casino's freshness threshold now; the queue filters and
counts on the same expressions, in SQL. Apply locks the record and the player's loyalty row,
decides with ``recon_rules.decide`` (upgrade-only; equal tier recorded as a no-op; downgrade
only with an admin override and a reason; stale or unknown rows only with a per-row
confirmation), writes the tier, the record and one audit row in one transaction, under an
idempotency key. Revert restores the tier the apply found, unless the tier has changed since.
Imported points are shown for reference and never reach the ledger.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased

from pitterm.domain import audit, ledger
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can, require
from pitterm.domain.casinos import load_settings
from pitterm.domain.csv_safe import write_rows
from pitterm.domain.database import UnitOfWork
from pitterm.domain.enums import Tier
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.idempotency import Outcome, run_idempotent
from pitterm.domain.import_status import ImportBatchStatus, ImportOutcome, ImportRowStatus
from pitterm.domain.recon_rules import (
    OVERRIDE_REASON_MAX,
    Conflict,
    Freshness,
    LabelState,
    ReconOutcome,
    ReconStatus,
    conflicts,
    decide,
    freshness,
    needs_confirmation,
    propose,
    stale_cutoff,
)
from pitterm.domain.sqltypes import UtcDateTime
from pitterm.domain.tables import (
    ImportBatch,
    ImportRow,
    LoyaltyReconciliation,
    LoyaltyTierMapping,
    Player,
    PlayerLoyalty,
    Staff,
)
from pitterm.domain.validation import parse, storable_text

__all__ = [
    "Applied",
    "ApplyReconciliation",
    "ApplyRowResult",
    "MappingChanged",
    "QueueCounts",
    "QueueFilter",
    "QueuePage",
    "ReconBatch",
    "ReconDiff",
    "ReconRow",
    "RevertReconciliation",
    "Reverted",
    "SetTierMapping",
    "TierLabel",
    "apply",
    "apply_many",
    "clear_tier_mapping",
    "diff",
    "iter_records",
    "list_batches",
    "list_queue",
    "open_records",
    "queue_counts",
    "revert",
    "set_tier_mapping",
    "tier_labels",
    "write_report",
]

PAGE_LIMIT = 1_000
MAX_ROW_NUMBER = 2**31 - 1
"""import_row.row_number is a 32-bit integer: a larger number names no row (and would
overflow the driver instead of being refused)."""
QUEUE_PAGE = 200
REPORT_HEADER = (
    "row",
    "line",
    "player_id",
    "player",
    "card",
    "vendor_tier",
    "label_state",
    "mapped_tier",
    "canonical_tier_at_staging",
    "canonical_tier_now",
    "status",
    "outcome",
    "tier_before",
    "tier_after",
    "freshness",
    "imported_last_activity_at",
    "freshness_threshold_days",
    "freshness_confirmed",
    "imported_points_balance",
    "override_reason",
    "applied_by",
    "applied_at",
    "reverted_by",
    "reverted_at",
)
_REVIEWABLE = (ImportBatchStatus.STAGED, ImportBatchStatus.EXECUTING, ImportBatchStatus.EXECUTED)


# --- models -------------------------------------------------------------------------------


class ReconBatch(BaseModel):
    """An import batch as the Reconcile screen lists it."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    file_name: str
    status: ImportBatchStatus
    created_at: datetime
    executed_at: datetime | None
    records: int
    pending: int
    unmapped_labels: int
    """Distinct vendor labels of the batch's staged rows that have no mapping yet."""


class TierLabel(BaseModel):
    """One vendor tier label of a batch and where it maps."""

    model_config = ConfigDict(frozen=True)

    vendor_label: str
    rows: int
    """Staged rows of the batch carrying the label."""
    pending: int
    """Pending reconciliation records carrying it (what a mapping change would rewrite)."""
    tier: Tier | None
    ignored: bool
    mapped_by_code: str | None
    mapped_at: datetime | None

    @property
    def is_mapped(self) -> bool:
        """Mapped to a tier or to ignore (an unmapped label blocks its rows)."""
        return self.tier is not None or self.ignored

    @property
    def target(self) -> str:
        """'gold', 'ignore' or 'unmapped'."""
        return self.tier.value if self.tier else ("ignore" if self.ignored else "unmapped")


class SetTierMapping(BaseModel):
    """Map one vendor label of a batch to a canonical tier, or to ignore (exactly one)."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    vendor_label: str = Field(min_length=1, max_length=64)
    tier: Tier | None = None
    ignore: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> SetTierMapping:
        if (self.tier is None) == (not self.ignore):
            raise ValueError("map the label to a tier or to ignore, not both or neither")
        return self


class MappingChanged(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: TierLabel
    pending_updated: int
    """Pending records whose mapping changed (decided records never change)."""
    changed: bool
    """False when the mapping already was what was asked (nothing written)."""


class QueueFilter(BaseModel):
    """Which records of a batch to list. Status, outcome and freshness are what the row shows:
    live for pending records, as decided for the others."""

    model_config = ConfigDict(frozen=True)

    status: ReconStatus | None = None
    outcome: ReconOutcome | None = None
    freshness: Freshness | None = None
    vendor_label: str | None = None


class ReconRow(BaseModel):
    """One reconciliation record with the facts to review it, as of the read."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    row_number: int
    line_number: int
    player_id: uuid.UUID
    player_name: str
    loyalty_card_number: str | None
    vendor_label: str | None
    label_state: LabelState
    mapped_tier: Tier | None
    canonical_tier_at_staging: Tier | None
    canonical_tier: Tier | None
    """The player's canonical tier now (None: no loyalty record, or one without a tier)."""
    has_loyalty_record: bool
    balance: int | None
    """The player's points balance now (None: no loyalty record)."""
    imported_points_balance: int | None
    """For reference only: never written to the ledger."""
    imported_last_activity_at: datetime | None
    status: ReconStatus
    outcome: ReconOutcome
    """Proposed (pending) or decided."""
    freshness: Freshness
    """Live (pending, against the casino's threshold now) or as the apply saw it."""
    freshness_threshold_days: int
    freshness_confirmed: bool
    conflicts: list[Conflict]
    """Pending records only (a decided record's flags would describe its own change)."""
    tier_before: Tier | None
    tier_after: Tier | None
    loyalty_created: bool
    override_reason: str | None
    applied_by: uuid.UUID | None
    applied_by_code: str | None
    applied_at: datetime | None
    reverted_by: uuid.UUID | None
    reverted_by_code: str | None
    reverted_at: datetime | None
    created_at: datetime

    @property
    def key(self) -> str:
        """A stable text key for a table row: '<batch_id>:<row_number>'."""
        return f"{self.batch_id}:{self.row_number}"

    @property
    def is_pending(self) -> bool:
        return self.status is ReconStatus.PENDING

    @property
    def blocked(self) -> bool:
        """Pending and unmapped: nothing can be applied until the label is mapped."""
        return self.is_pending and self.outcome is ReconOutcome.UNMAPPED

    @property
    def needs_confirmation(self) -> bool:
        """Pending, and applying it needs the per-row freshness confirmation."""
        return (
            self.is_pending
            and not self.blocked
            and needs_confirmation(self.outcome, self.freshness)
        )

    @property
    def needs_override(self) -> bool:
        """Pending and a downgrade: only an admin override with a reason applies it."""
        return self.is_pending and self.outcome is ReconOutcome.DOWNGRADE

    @property
    def revertible(self) -> bool:
        """Applied, and the canonical tier is still the one the apply set."""
        return self.status is ReconStatus.APPLIED and self.canonical_tier == self.tier_after


class ReconDiff(BaseModel):
    """The diff pane: staged vs canonical, the policy's proposal, flags and requirements."""

    model_config = ConfigDict(frozen=True)

    row: ReconRow
    file_name: str
    proposed_tier: Tier | None
    """The canonical tier an apply would leave (pending), or the one it set (decided)."""
    summary: str
    """One plain sentence: what apply would do, or what was done."""
    requirements: list[str]
    """What an apply of this pending row still needs (mapping, confirmation, override)."""
    conflict_labels: list[str]


class QueueCounts(BaseModel):
    """Counts for the top of the queue: every record of the batch, by what its row shows."""

    model_config = ConfigDict(frozen=True)

    total: int
    by_status: dict[ReconStatus, int]
    by_outcome: dict[ReconOutcome, int]
    """Pending records by proposed outcome."""
    by_freshness: dict[Freshness, int]
    """Pending records by freshness now."""


class QueuePage(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[ReconRow]
    next_after: int | None
    """Pass back as ``after_row`` for the next page; None on the last page."""


class ApplyReconciliation(BaseModel):
    """Apply one record's decision. ``override_reason`` only matters for a downgrade."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    batch_id: uuid.UUID
    row_number: int = Field(ge=1, le=MAX_ROW_NUMBER)
    idempotency_key: uuid.UUID
    confirm_freshness: bool = False
    """The reviewer's explicit per-row confirmation of a stale or unknown row."""
    override_reason: str | None = Field(default=None, max_length=OVERRIDE_REASON_MAX)


class Applied(Outcome):
    """The record after the apply; ``is_existing`` when it had already been decided."""

    record: ReconRow


class RevertReconciliation(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    batch_id: uuid.UUID
    row_number: int = Field(ge=1, le=MAX_ROW_NUMBER)
    idempotency_key: uuid.UUID
    reason: str | None = Field(default=None, max_length=OVERRIDE_REASON_MAX)


class Reverted(Outcome):
    record: ReconRow


class ApplyRowResult(BaseModel):
    """One row's result in ``apply_many``: the record, or why it was refused."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    row_number: int
    ok: bool
    is_existing: bool = False
    record: ReconRow | None = None
    error_code: ErrorCode | None = None
    message: str | None = None


# --- record creation (import execution) ---------------------------------------------------

_R = LoyaltyReconciliation
_HAS_LOYALTY_FIELDS = or_(
    ImportRow.imported_tier.is_not(None),
    ImportRow.imported_points_balance.is_not(None),
    ImportRow.imported_last_activity_at.is_not(None),
)
_OPEN_COLUMNS = (
    "batch_id",
    "row_number",
    "casino_id",
    "player_id",
    "vendor_label",
    "label_state",
    "mapped_tier",
    "canonical_tier_at_staging",
    "imported_points_balance",
    "imported_last_activity_at",
    "status",
    "freshness_confirmed",
    "loyalty_created",
    "created_at",
)


def open_records(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> int:
    """Create the pending records of an executed batch in one statement; returns how many it has.

    Runs inside the caller's transaction (the one that marks the batch executed, holding the
    batch's lock). Rows that resolved to a player and carry any loyalty field get a record,
    under the batch's current mapping and with the player's canonical tier now as the tier
    at staging. A second call adds nothing. The caller's audit row (``import.executed``)
    records the count.
    """
    casino_id = actor.casino_id
    mapping = aliased(LoyaltyTierMapping)
    account = aliased(PlayerLoyalty)
    label_state = case(
        (ImportRow.imported_tier.is_(None), LabelState.NO_LABEL.value),
        (mapping.vendor_label.is_(None), LabelState.UNMAPPED.value),
        (mapping.ignored, LabelState.IGNORED.value),
        else_=LabelState.MAPPED.value,
    )
    already = exists().where(
        _R.batch_id == ImportRow.batch_id, _R.row_number == ImportRow.row_number
    )
    source = (
        select(
            ImportRow.batch_id,
            ImportRow.row_number,
            ImportRow.casino_id,
            ImportRow.player_id,
            ImportRow.imported_tier,
            label_state,
            mapping.tier,
            account.tier,
            ImportRow.imported_points_balance,
            ImportRow.imported_last_activity_at,
            literal(ReconStatus.PENDING.value, String),
            false(),
            false(),
            literal(uow.now(), UtcDateTime),
        )
        .select_from(ImportRow)
        .outerjoin(
            mapping,
            and_(
                mapping.batch_id == ImportRow.batch_id,
                mapping.vendor_label == ImportRow.imported_tier,
            ),
        )
        .outerjoin(
            account,
            and_(account.player_id == ImportRow.player_id, account.casino_id == casino_id),
        )
        .where(
            ImportRow.batch_id == batch_id,
            ImportRow.casino_id == casino_id,
            ImportRow.status == ImportRowStatus.STAGED,
            ImportRow.outcome.in_([ImportOutcome.CREATED, ImportOutcome.LINKED]),
            ImportRow.player_id.is_not(None),
            _HAS_LOYALTY_FIELDS,
            ~already,
        )
    )
    uow.session.execute(insert(LoyaltyReconciliation).from_select(_OPEN_COLUMNS, source))
    # Counted, not taken from the cursor: psycopg reports no rowcount for INSERT … SELECT.
    return (
        uow.session.scalar(select(func.count()).select_from(_R).where(_R.batch_id == batch_id)) or 0
    )


# --- batches and the tier mapping ---------------------------------------------------------


def list_batches(uow: UnitOfWork, actor: Actor, *, limit: int = 50) -> list[ReconBatch]:
    """Batches that can be reconciled (staged or executed), newest first, with their counts."""
    require(actor, Capability.IMPORT_RECONCILE)
    limit = max(1, min(limit, PAGE_LIMIT))
    with uow:
        batches = uow.session.execute(
            select(
                ImportBatch.id,
                ImportBatch.file_name,
                ImportBatch.status,
                ImportBatch.created_at,
                ImportBatch.executed_at,
            )
            .where(ImportBatch.casino_id == actor.casino_id, ImportBatch.status.in_(_REVIEWABLE))
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id)
            .limit(limit)
        ).all()
        ids = [b.id for b in batches]
        counts: dict[uuid.UUID, Counter[ReconStatus]] = {i: Counter() for i in ids}
        unmapped: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
        if ids:
            for bid, status, n in uow.session.execute(
                select(_R.batch_id, _R.status, func.count())
                .where(_R.casino_id == actor.casino_id, _R.batch_id.in_(ids))
                .group_by(_R.batch_id, _R.status)
            ):
                counts[bid][status] += n
            labels = (
                select(ImportRow.batch_id, ImportRow.imported_tier)
                .where(
                    ImportRow.casino_id == actor.casino_id,
                    ImportRow.batch_id.in_(ids),
                    ImportRow.imported_tier.is_not(None),
                    ImportRow.status == ImportRowStatus.STAGED,
                )
                .distinct()
                .subquery()
            )
            for bid, n in uow.session.execute(
                select(labels.c.batch_id, func.count())
                .where(
                    ~exists().where(
                        LoyaltyTierMapping.batch_id == labels.c.batch_id,
                        LoyaltyTierMapping.vendor_label == labels.c.imported_tier,
                    )
                )
                .group_by(labels.c.batch_id)
            ):
                unmapped[bid] = n
    return [
        ReconBatch(
            batch_id=b.id,
            file_name=b.file_name,
            status=b.status,
            created_at=b.created_at,
            executed_at=b.executed_at,
            records=sum(counts[b.id].values()),
            pending=counts[b.id][ReconStatus.PENDING],
            unmapped_labels=unmapped[b.id],
        )
        for b in batches
    ]


def tier_labels(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> list[TierLabel]:
    """Every vendor tier label of a batch's staged rows, with its mapping, by label."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        _batch(uow, actor, batch_id)
        return _labels(uow, actor, batch_id, None)


def set_tier_mapping(uow: UnitOfWork, actor: Actor, command: SetTierMapping) -> MappingChanged:
    """Map a label (to a tier or to ignore); pending records carrying it follow, audited.

    Setting the mapping it already has writes nothing (``changed`` False).
    """
    require(actor, Capability.IMPORT_RECONCILE)
    command = parse(SetTierMapping, command)
    label = command.vendor_label
    with uow:
        _batch(uow, actor, command.batch_id, lock=True)
        _known_label(uow, actor, command.batch_id, label)
        current = uow.session.get(LoyaltyTierMapping, (command.batch_id, label))
        tier = None if command.ignore else command.tier
        if current is not None and current.tier == tier and current.ignored == command.ignore:
            return MappingChanged(
                label=_labels(uow, actor, command.batch_id, label)[0],
                pending_updated=0,
                changed=False,
            )
        before = _mapping_state(current)
        if current is None:
            current = LoyaltyTierMapping(
                batch_id=command.batch_id, vendor_label=label, casino_id=actor.casino_id
            )
            uow.session.add(current)
        current.tier = tier
        current.ignored = command.ignore
        current.mapped_by = actor.staff_id
        current.mapped_at = uow.now()
        state = LabelState.IGNORED if command.ignore else LabelState.MAPPED
        updated = _follow_mapping(uow, actor, command.batch_id, label, state, tier)
        audit.by(
            uow,
            actor,
            "recon.mapping_set",
            "import_batch",
            command.batch_id,
            before={"vendor_label": label, **before},
            after={"vendor_label": label, **_mapping_state(current), "pending_updated": updated},
        )
        uow.session.flush()
        result = MappingChanged(
            label=_labels(uow, actor, command.batch_id, label)[0],
            pending_updated=updated,
            changed=True,
        )
        uow.commit()
    return result


def clear_tier_mapping(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, vendor_label: str
) -> MappingChanged:
    """Unmap a label: its pending records wait again. Clearing an unmapped label writes nothing."""
    require(actor, Capability.IMPORT_RECONCILE)
    vendor_label = storable_text(vendor_label, "vendor_label")
    with uow:
        _batch(uow, actor, batch_id, lock=True)
        _known_label(uow, actor, batch_id, vendor_label)
        current = uow.session.get(LoyaltyTierMapping, (batch_id, vendor_label))
        if current is None:
            return MappingChanged(
                label=_labels(uow, actor, batch_id, vendor_label)[0],
                pending_updated=0,
                changed=False,
            )
        before = _mapping_state(current)
        uow.session.execute(
            delete(LoyaltyTierMapping).where(
                LoyaltyTierMapping.batch_id == batch_id,
                LoyaltyTierMapping.vendor_label == vendor_label,
            )
        )
        updated = _follow_mapping(uow, actor, batch_id, vendor_label, LabelState.UNMAPPED, None)
        audit.by(
            uow,
            actor,
            "recon.mapping_cleared",
            "import_batch",
            batch_id,
            before={"vendor_label": vendor_label, **before},
            after={"vendor_label": vendor_label, "target": "unmapped", "pending_updated": updated},
        )
        result = MappingChanged(
            label=_labels(uow, actor, batch_id, vendor_label)[0],
            pending_updated=updated,
            changed=True,
        )
        uow.commit()
    return result


def _follow_mapping(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    label: str,
    state: LabelState,
    tier: Tier | None,
) -> int:
    """Rewrite the pending records of one label; decided records keep theirs."""
    result = uow.session.execute(
        update(LoyaltyReconciliation)
        .where(
            LoyaltyReconciliation.casino_id == actor.casino_id,
            LoyaltyReconciliation.batch_id == batch_id,
            LoyaltyReconciliation.vendor_label == label,
            LoyaltyReconciliation.status == ReconStatus.PENDING,
        )
        .values(label_state=state, mapped_tier=tier)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: object) -> int:
    """Rows an INSERT … SELECT or UPDATE touched (the cursor result's rowcount)."""
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def _mapping_state(mapping: LoyaltyTierMapping | None) -> dict[str, Any]:
    if mapping is None:
        return {"target": "unmapped"}
    return {"target": "ignore" if mapping.ignored else (mapping.tier.value if mapping.tier else "")}


def _known_label(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, label: str) -> None:
    found = uow.session.scalar(
        select(ImportRow.row_number)
        .where(
            ImportRow.casino_id == actor.casino_id,
            ImportRow.batch_id == batch_id,
            ImportRow.imported_tier == label,
            ImportRow.status == ImportRowStatus.STAGED,
        )
        .limit(1)
    )
    if found is None:
        raise DomainError(
            ErrorCode.RECON_LABEL_UNKNOWN,
            f"No staged row of this batch has the vendor tier {label!r} (labels match exactly).",
            field="vendor_label",
        )


def _labels(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, only: str | None
) -> list[TierLabel]:
    rows_query = (
        select(ImportRow.imported_tier, func.count())
        .where(
            ImportRow.casino_id == actor.casino_id,
            ImportRow.batch_id == batch_id,
            ImportRow.imported_tier.is_not(None),
            ImportRow.status == ImportRowStatus.STAGED,
        )
        .group_by(ImportRow.imported_tier)
    )
    pending_query = (
        select(_R.vendor_label, func.count())
        .where(
            _R.casino_id == actor.casino_id,
            _R.batch_id == batch_id,
            _R.status == ReconStatus.PENDING,
            _R.vendor_label.is_not(None),
        )
        .group_by(_R.vendor_label)
    )
    mapping_query = (
        select(LoyaltyTierMapping, Staff.code)
        .outerjoin(Staff, Staff.id == LoyaltyTierMapping.mapped_by)
        .where(
            LoyaltyTierMapping.casino_id == actor.casino_id,
            LoyaltyTierMapping.batch_id == batch_id,
        )
    )
    if only is not None:
        rows_query = rows_query.where(ImportRow.imported_tier == only)
        pending_query = pending_query.where(_R.vendor_label == only)
        mapping_query = mapping_query.where(LoyaltyTierMapping.vendor_label == only)
    rows = {label: n for label, n in uow.session.execute(rows_query) if label is not None}
    pending = {label: n for label, n in uow.session.execute(pending_query) if label is not None}
    mappings = {m.vendor_label: (m, code) for m, code in uow.session.execute(mapping_query)}
    result = []
    for label in sorted(rows):
        mapping, code = mappings.get(label, (None, None))
        result.append(
            TierLabel(
                vendor_label=label,
                rows=rows[label],
                pending=pending.get(label, 0),
                tier=mapping.tier if mapping else None,
                ignored=mapping.ignored if mapping else False,
                mapped_by_code=code,
                mapped_at=mapping.mapped_at if mapping else None,
            )
        )
    return result


# --- the queue ----------------------------------------------------------------------------

_ACCOUNT = aliased(PlayerLoyalty, name="account")
_APPLIER = aliased(Staff, name="applier")
_REVERTER = aliased(Staff, name="reverter")
_OTHER = aliased(LoyaltyReconciliation, name="other")


def _rank(column: Any) -> ColumnElement[int]:
    return case({tier: tier.rank for tier in Tier}, value=column)


_PENDING = _R.status == ReconStatus.PENDING


def _shown_outcome() -> ColumnElement[str]:
    """The outcome a row shows: proposed against the canonical tier now, or decided."""
    return case(
        (~_PENDING, type_coerce(_R.outcome, String)),
        (_R.label_state == LabelState.UNMAPPED, ReconOutcome.UNMAPPED.value),
        (_R.label_state != LabelState.MAPPED, ReconOutcome.IGNORE.value),
        (_ACCOUNT.tier.is_(None), ReconOutcome.SEED.value),
        (_rank(_R.mapped_tier) > _rank(_ACCOUNT.tier), ReconOutcome.UPGRADE.value),
        (_rank(_R.mapped_tier) == _rank(_ACCOUNT.tier), ReconOutcome.NO_CHANGE.value),
        else_=ReconOutcome.DOWNGRADE.value,
    )


_OTHER_OPEN = (
    exists()
    .where(
        _OTHER.player_id == _R.player_id,
        _OTHER.status == ReconStatus.PENDING,
        or_(_OTHER.batch_id != _R.batch_id, _OTHER.row_number != _R.row_number),
    )
    .correlate(_R)
)


def _freshness(cutoff: datetime) -> ColumnElement[str]:
    """The freshness a row shows: live for pending rows (``recon_rules.freshness`` in SQL)."""
    return case(
        (~_PENDING, type_coerce(_R.freshness, String)),
        (_R.imported_last_activity_at.is_(None), Freshness.UNKNOWN.value),
        (_R.imported_last_activity_at < literal(cutoff, UtcDateTime), Freshness.STALE.value),
        else_=Freshness.FRESH.value,
    )


def _rows_query(actor: Actor, cutoff: datetime) -> Select[*tuple[Any, ...]]:
    return (
        select(
            _R,
            Player.first_name,
            Player.last_name,
            Player.loyalty_card_number,
            ImportRow.line_number,
            _ACCOUNT.tier.label("canonical_tier"),
            _ACCOUNT.current_balance.label("balance"),
            _ACCOUNT.player_id.label("account_player"),
            _APPLIER.code.label("applied_by_code"),
            _REVERTER.code.label("reverted_by_code"),
            _shown_outcome().label("shown_outcome"),
            _freshness(cutoff).label("shown_freshness"),
            _OTHER_OPEN.label("other_open"),
        )
        .join(Player, Player.id == _R.player_id)
        .join(
            ImportRow,
            and_(ImportRow.batch_id == _R.batch_id, ImportRow.row_number == _R.row_number),
        )
        .outerjoin(
            _ACCOUNT,
            and_(_ACCOUNT.player_id == _R.player_id, _ACCOUNT.casino_id == _R.casino_id),
        )
        .outerjoin(_APPLIER, _APPLIER.id == _R.applied_by)
        .outerjoin(_REVERTER, _REVERTER.id == _R.reverted_by)
        .where(_R.casino_id == actor.casino_id)
    )


def _row(found: Any, threshold: int) -> ReconRow:
    record: LoyaltyReconciliation = found[0]
    pending = record.status is ReconStatus.PENDING
    has_account = found.account_player is not None
    flags = (
        conflicts(
            canonical_at_staging=record.canonical_tier_at_staging,
            canonical_now=found.canonical_tier,
            other_open=bool(found.other_open),
            imported_points=record.imported_points_balance,
            balance=found.balance if has_account else None,
        )
        if pending
        else frozenset()
    )
    return ReconRow(
        batch_id=record.batch_id,
        row_number=record.row_number,
        line_number=found.line_number,
        player_id=record.player_id,
        player_name=f"{found.first_name} {found.last_name}",
        loyalty_card_number=found.loyalty_card_number,
        vendor_label=record.vendor_label,
        label_state=record.label_state,
        mapped_tier=record.mapped_tier,
        canonical_tier_at_staging=record.canonical_tier_at_staging,
        canonical_tier=found.canonical_tier,
        has_loyalty_record=has_account,
        balance=found.balance if has_account else None,
        imported_points_balance=record.imported_points_balance,
        imported_last_activity_at=record.imported_last_activity_at,
        status=record.status,
        outcome=ReconOutcome(found.shown_outcome),
        freshness=Freshness(found.shown_freshness),
        freshness_threshold_days=(
            threshold
            if pending or record.freshness_threshold_days is None
            else record.freshness_threshold_days
        ),
        freshness_confirmed=record.freshness_confirmed,
        conflicts=sorted(flags),
        tier_before=record.tier_before,
        tier_after=record.tier_after,
        loyalty_created=record.loyalty_created,
        override_reason=record.override_reason,
        applied_by=record.applied_by,
        applied_by_code=found.applied_by_code,
        applied_at=record.applied_at,
        reverted_by=record.reverted_by,
        reverted_by_code=found.reverted_by_code,
        reverted_at=record.reverted_at,
        created_at=record.created_at,
    )


def _threshold(uow: UnitOfWork, actor: Actor) -> tuple[int, datetime]:
    days = load_settings(uow, actor.casino_id).freshness_threshold_days
    return days, stale_cutoff(uow.now(), days)


def _page(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    where: QueueFilter,
    after_row: int,
    limit: int,
) -> QueuePage:
    days, cutoff = _threshold(uow, actor)
    query = (
        _rows_query(actor, cutoff)
        .where(_R.batch_id == batch_id, _R.row_number > after_row)
        .order_by(_R.row_number)
        .limit(limit + 1)
    )
    if where.status is not None:
        query = query.where(_R.status == where.status)
    if where.outcome is not None:
        query = query.where(_shown_outcome() == where.outcome.value)
    if where.freshness is not None:
        query = query.where(_freshness(cutoff) == where.freshness.value)
    if where.vendor_label is not None:
        query = query.where(_R.vendor_label == where.vendor_label)
    found = uow.session.execute(query).all()
    rows = [_row(f, days) for f in found[:limit]]
    more = len(found) > limit
    return QueuePage(rows=rows, next_after=rows[-1].row_number if more and rows else None)


def list_queue(
    uow: UnitOfWork,
    actor: Actor,
    batch_id: uuid.UUID,
    where: QueueFilter | None = None,
    *,
    after_row: int = 0,
    limit: int = QUEUE_PAGE,
) -> QueuePage:
    """A page of a batch's records in file order, filtered (keyset: pass ``next_after``)."""
    require(actor, Capability.IMPORT_RECONCILE)
    where = parse(QueueFilter, where or QueueFilter())
    limit = max(1, min(limit, PAGE_LIMIT))
    with uow:
        _batch(uow, actor, batch_id)
        return _page(uow, actor, batch_id, where, after_row, limit)


def queue_counts(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> QueueCounts:
    """Every record of the batch by status; pending ones by proposed outcome and freshness."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        _batch(uow, actor, batch_id)
        _, cutoff = _threshold(uow, actor)
        shown = (
            select(
                _R.status.label("status"),
                _shown_outcome().label("outcome"),
                _freshness(cutoff).label("freshness"),
            )
            .outerjoin(
                _ACCOUNT,
                and_(_ACCOUNT.player_id == _R.player_id, _ACCOUNT.casino_id == _R.casino_id),
            )
            .where(_R.casino_id == actor.casino_id, _R.batch_id == batch_id)
            .subquery()
        )
        # Grouped on the subquery's columns: the same expression twice would bind its
        # parameters twice, which Postgres does not recognise as one grouping key.
        groups = uow.session.execute(
            select(shown.c.status, shown.c.outcome, shown.c.freshness, func.count()).group_by(
                shown.c.status, shown.c.outcome, shown.c.freshness
            )
        ).all()
    by_status: Counter[ReconStatus] = Counter()
    by_outcome: Counter[ReconOutcome] = Counter()
    by_freshness: Counter[Freshness] = Counter()
    for status, outcome, fresh, n in groups:
        state = ReconStatus(status)
        by_status[state] += n
        if state is ReconStatus.PENDING:
            by_outcome[ReconOutcome(outcome)] += n
            by_freshness[Freshness(fresh)] += n
    return QueueCounts(
        total=sum(by_status.values()),
        by_status={s: by_status[s] for s in ReconStatus},
        by_outcome={o: by_outcome[o] for o in ReconOutcome},
        by_freshness={f: by_freshness[f] for f in Freshness},
    )


def diff(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, row_number: int) -> ReconDiff:
    """One record's diff: staged vs canonical, proposal, conflict flags, freshness."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        file_name = _batch(uow, actor, batch_id).file_name
        row = _read(uow, actor, batch_id, row_number)
    return _diff(row, file_name, actor)


def _diff(row: ReconRow, file_name: str, actor: Actor) -> ReconDiff:
    staged = row.vendor_label or "no tier"
    now = _tier_name(row.canonical_tier) if row.has_loyalty_record else "no loyalty record"
    needs: list[str] = []
    proposed: Tier | None
    if row.is_pending:
        proposed = _proposed_tier(row)
        summary = _proposal_sentence(row, staged, now)
        if row.blocked:
            needs.append(f"map the vendor tier {staged!r} to a tier (or ignore it)")
        if row.needs_override:
            needs.append(
                "an admin override with a reason"
                + ("" if can(actor.role, Capability.OVERRIDE_DOWNGRADE) else " (admins only)")
            )
        if row.needs_confirmation:
            needs.append(f"explicit confirmation: freshness is {row.freshness.value}")
    else:
        proposed = row.tier_after
        summary = _decided_sentence(row)
    return ReconDiff(
        row=row,
        file_name=file_name,
        proposed_tier=proposed,
        summary=summary,
        requirements=needs,
        conflict_labels=[c.label for c in row.conflicts],
    )


def _proposed_tier(row: ReconRow) -> Tier | None:
    if row.outcome in (ReconOutcome.UPGRADE, ReconOutcome.SEED, ReconOutcome.DOWNGRADE):
        return row.mapped_tier
    return row.canonical_tier


def _proposal_sentence(row: ReconRow, staged: str, now: str) -> str:
    mapped = _tier_name(row.mapped_tier)
    match row.outcome:
        case ReconOutcome.UNMAPPED:
            return f"Waiting: the vendor tier {staged!r} is not mapped yet."
        case ReconOutcome.IGNORE:
            why = "has no tier" if row.vendor_label is None else f"tier {staged!r} is ignored"
            return f"Nothing to apply: the row {why}; the canonical tier stays {now}."
        case ReconOutcome.SEED:
            return f"Seed the loyalty tier {mapped} (the player has {now})."
        case ReconOutcome.UPGRADE:
            return f"Upgrade {now} → {mapped}."
        case ReconOutcome.NO_CHANGE:
            return f"No change: {staged!r} maps to {mapped}, the current tier."
        case _:
            return f"Downgrade {now} → {mapped} is blocked unless an admin overrides it."


def _decided_sentence(row: ReconRow) -> str:
    who = row.applied_by_code or "?"
    before, after = _tier_name(row.tier_before), _tier_name(row.tier_after)
    match row.status:
        case ReconStatus.APPLIED:
            return f"Applied by {who}: {before} → {after} ({row.outcome.label})."
        case ReconStatus.REVERTED:
            return (
                f"Reverted by {row.reverted_by_code or '?'}: back to {before}"
                f" (had been {after}, applied by {who})."
            )
        case ReconStatus.NO_CHANGE:
            return f"Reviewed by {who}: no change ({after})."
        case _:
            return f"Reviewed by {who}: ignored; the tier stayed {after}."


def _tier_name(tier: Tier | None) -> str:
    return tier.value if tier is not None else "no tier"


def _read(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, row_number: int) -> ReconRow:
    days, cutoff = _threshold(uow, actor)
    found = uow.session.execute(
        _rows_query(actor, cutoff).where(_R.batch_id == batch_id, _R.row_number == row_number)
    ).first()
    if found is None:
        raise _missing(batch_id, row_number)
    return _row(found, days)


# --- apply and revert ---------------------------------------------------------------------


def apply(uow: UnitOfWork, actor: Actor, command: ApplyReconciliation) -> Applied:
    """Decide one pending record and write it: tier, record and audit row in one transaction.

    A record already decided is returned as it stands, ``is_existing`` (re-apply is a no-op);
    a repeated key replays the first result.
    """
    require(actor, Capability.IMPORT_RECONCILE)
    command = parse(ApplyReconciliation, command)

    def body() -> Applied:
        record = _lock_record(uow, actor, command.batch_id, command.row_number)
        if record.status is not ReconStatus.PENDING:
            return Applied(
                record=_read(uow, actor, record.batch_id, record.row_number), is_existing=True
            )
        days, _ = _threshold(uow, actor)
        account = uow.session.scalar(
            select(PlayerLoyalty)
            .where(
                PlayerLoyalty.player_id == record.player_id,
                PlayerLoyalty.casino_id == actor.casino_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        canonical = account.tier if account is not None else None
        fresh = freshness(record.imported_last_activity_at, uow.now(), days)
        proposed = propose(record.label_state, record.mapped_tier, canonical)
        decision = decide(
            proposed=proposed,
            mapped=record.mapped_tier,
            canonical=canonical,
            fresh=fresh,
            confirmed=command.confirm_freshness,
            override_reason=command.override_reason,
            may_override=can(actor.role, Capability.OVERRIDE_DOWNGRADE),
        )
        now = uow.now()
        created = False
        if decision.status is ReconStatus.APPLIED:
            if account is None:
                account = ledger.lock_account(uow, actor.casino_id, record.player_id)
                created = True
            account.tier = decision.tier_after
            account.updated_at = now
        record.status = decision.status
        record.outcome = decision.outcome
        record.freshness = fresh
        record.freshness_threshold_days = days
        record.freshness_confirmed = command.confirm_freshness and fresh is not Freshness.FRESH
        record.tier_before = canonical
        record.tier_after = decision.tier_after
        record.loyalty_created = created
        record.override_reason = decision.override_reason
        record.applied_by = actor.staff_id
        record.applied_at = now
        audit.by(
            uow,
            actor,
            "recon.applied",
            "loyalty_reconciliation",
            _entity(record),
            before={"status": ReconStatus.PENDING.value, "tier": _value(canonical)},
            after={
                "status": decision.status.value,
                "outcome": decision.outcome.value,
                "player_id": str(record.player_id),
                "tier": _value(decision.tier_after),
                "freshness": fresh.value,
                "freshness_threshold_days": days,
                "freshness_confirmed": record.freshness_confirmed,
                "override_reason": decision.override_reason,
                "loyalty_created": created,
                "imported_points_balance": record.imported_points_balance,
            },
        )
        uow.session.flush()
        return Applied(record=_read(uow, actor, record.batch_id, record.row_number))

    return run_idempotent(
        uow,
        actor,
        operation="recon.apply",
        key=command.idempotency_key,
        request=command,
        result_type=Applied,
        body=body,
    )


def apply_many(
    uow: UnitOfWork, actor: Actor, commands: Sequence[ApplyReconciliation]
) -> list[ApplyRowResult]:
    """Apply several records, each its own decision and transaction; one result per row.

    A refused row (unmapped, needs confirmation or override, …) does not stop the others;
    its result carries the error code and message.
    """
    require(actor, Capability.IMPORT_RECONCILE)
    results: list[ApplyRowResult] = []
    for command in commands:
        try:
            done = apply(uow, actor, command)
        except DomainError as error:
            results.append(
                ApplyRowResult(
                    batch_id=command.batch_id,
                    row_number=command.row_number,
                    ok=False,
                    error_code=error.code,
                    message=error.message,
                )
            )
        else:
            results.append(
                ApplyRowResult(
                    batch_id=command.batch_id,
                    row_number=command.row_number,
                    ok=True,
                    is_existing=done.is_existing,
                    record=done.record,
                )
            )
    return results


def revert(uow: UnitOfWork, actor: Actor, command: RevertReconciliation) -> Reverted:
    """Undo an applied tier change: restore the tier the apply found.

    Refused when the tier has changed since the apply (RECON_TIER_CHANGED), or when the
    record changed no tier (RECON_NOT_REVERTIBLE). Reverting a reverted record returns it as
    it stands, ``is_existing``.
    """
    require(actor, Capability.IMPORT_RECONCILE)
    command = parse(RevertReconciliation, command)

    def body() -> Reverted:
        record = _lock_record(uow, actor, command.batch_id, command.row_number)
        if record.status is ReconStatus.REVERTED:
            return Reverted(
                record=_read(uow, actor, record.batch_id, record.row_number), is_existing=True
            )
        if record.status is not ReconStatus.APPLIED:
            raise DomainError(
                ErrorCode.RECON_NOT_REVERTIBLE,
                f"Only an applied tier change can be reverted; this record is"
                f" {record.status.value.replace('_', ' ')}.",
                status=record.status.value,
            )
        account = uow.session.scalar(
            select(PlayerLoyalty)
            .where(
                PlayerLoyalty.player_id == record.player_id,
                PlayerLoyalty.casino_id == actor.casino_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        current = account.tier if account is not None else None
        if account is None or current != record.tier_after:
            raise DomainError(
                ErrorCode.RECON_TIER_CHANGED,
                f"The tier is {_tier_name(current)} now, not the {_tier_name(record.tier_after)}"
                " this reconciliation set; it changed since, so it cannot be reverted.",
                tier_now=_value(current),
            )
        now = uow.now()
        account.tier = record.tier_before
        account.updated_at = now
        record.status = ReconStatus.REVERTED
        record.reverted_by = actor.staff_id
        record.reverted_at = now
        audit.by(
            uow,
            actor,
            "recon.reverted",
            "loyalty_reconciliation",
            _entity(record),
            before={"status": ReconStatus.APPLIED.value, "tier": _value(current)},
            after={
                "status": ReconStatus.REVERTED.value,
                "player_id": str(record.player_id),
                "tier": _value(record.tier_before),
                "reason": command.reason or None,
            },
        )
        uow.session.flush()
        return Reverted(record=_read(uow, actor, record.batch_id, record.row_number))

    return run_idempotent(
        uow,
        actor,
        operation="recon.revert",
        key=command.idempotency_key,
        request=command,
        result_type=Reverted,
        body=body,
    )


def _lock_record(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, row_number: int
) -> LoyaltyReconciliation:
    record = uow.session.scalar(
        select(LoyaltyReconciliation)
        .where(
            LoyaltyReconciliation.casino_id == actor.casino_id,
            LoyaltyReconciliation.batch_id == batch_id,
            LoyaltyReconciliation.row_number == row_number,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if record is None:
        raise _missing(batch_id, row_number)
    return record


def _entity(record: LoyaltyReconciliation) -> str:
    return f"{record.batch_id}:{record.row_number}"


def _value(tier: Tier | None) -> str | None:
    return tier.value if tier is not None else None


def _missing(batch_id: uuid.UUID, row_number: int) -> DomainError:
    return DomainError(
        ErrorCode.RECON_NOT_FOUND,
        f"No reconciliation record for row {row_number} of batch {batch_id} at this casino.",
    )


def _batch(
    uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, *, lock: bool = False
) -> ImportBatch:
    query = select(ImportBatch).where(
        ImportBatch.id == batch_id, ImportBatch.casino_id == actor.casino_id
    )
    if lock:
        query = query.with_for_update()
    batch = uow.session.scalar(query)
    if batch is None:
        raise DomainError(
            ErrorCode.IMPORT_BATCH_NOT_FOUND, f"No import batch {batch_id} at this casino."
        )
    if batch.status is ImportBatchStatus.FAILED:
        raise DomainError(
            ErrorCode.IMPORT_BATCH_FAILED,
            f"Batch {batch_id} failed ({batch.failure_reason}); it has nothing to reconcile.",
        )
    return batch


# --- report -------------------------------------------------------------------------------


def iter_records(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID) -> Iterator[ReconRow]:
    """Every record of a batch in file order, a page at a time (constant memory)."""
    after = 0
    while True:
        page = list_queue(uow, actor, batch_id, after_row=after, limit=PAGE_LIMIT)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.next_after


def write_report(uow: UnitOfWork, actor: Actor, batch_id: uuid.UUID, out: TextIO) -> int:
    """The batch's reconciliation report as CSV (formula-injection safe), streamed page by
    page; returns the number of records written."""
    require(actor, Capability.IMPORT_RECONCILE)
    with uow:
        _batch(uow, actor, batch_id)
    out.write(write_rows(REPORT_HEADER, []))
    count = 0
    page: list[Sequence[object]] = []
    for row in iter_records(uow, actor, batch_id):
        page.append(_report_line(row))
        count += 1
        if len(page) >= PAGE_LIMIT:
            out.write(write_rows(None, page))
            page = []
    if page:
        out.write(write_rows(None, page))
    return count


def _report_line(row: ReconRow) -> Sequence[object]:
    return (
        row.row_number,
        row.line_number,
        row.player_id,
        row.player_name,
        row.loyalty_card_number,
        row.vendor_label,
        row.label_state.value,
        _value(row.mapped_tier),
        _value(row.canonical_tier_at_staging),
        _value(row.canonical_tier),
        row.status.value,
        row.outcome.value,
        _value(row.tier_before),
        _value(row.tier_after),
        row.freshness.value,
        _iso(row.imported_last_activity_at),
        row.freshness_threshold_days,
        row.freshness_confirmed,
        row.imported_points_balance,
        row.override_reason,
        row.applied_by_code,
        _iso(row.applied_at),
        row.reverted_by_code,
        _iso(row.reverted_at),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
