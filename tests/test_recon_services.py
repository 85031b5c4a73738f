"""Tier reconciliation services (DESIGN §9) on both backends.

One executed batch trains every case (``tests.recon_support.CASES``): upgrade, equal tier,
downgrade, stale, unknown freshness, seed of a missing loyalty record, an unmapped label, an
ignored label, and a player the import created.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Uuid, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError

from pitterm.domain import imports
from pitterm.domain import reconciliation as recon
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import StaffRole, Tier
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.recon_rules import (
    Conflict,
    Freshness,
    LabelState,
    ReconOutcome,
    ReconStatus,
)
from pitterm.domain.tables import (
    AuditLog,
    CasinoSettings,
    LoyaltyLedger,
    LoyaltyReconciliation,
    PlayerLoyalty,
)
from tests.conftest import BACKENDS, seeded_database
from tests.conftest import FROZEN_NOW as FROZEN
from tests.factories import build_casino
from tests.import_support import HEADER, MAPPING, write_csv
from tests.recon_support import (
    CASES,
    FRESH,
    ROW,
    Case,
    ReconWorld,
    apply,
    build,
    csv_row,
    enrol,
    map_label,
    revert,
    row,
    set_tier,
    stage_and_execute,
    tier_of,
)

BUILT = pytest.StashKey[ReconWorld]()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Database]:
    """conftest's ``backend``; for a test that asks for ``rw`` too, a copy of a database that
    ``build`` filled once per session (the same rows, the clock where the build left it)."""
    if "rw" not in request.fixturenames:
        name = "sqlite_database" if request.param == "sqlite" else "pg_database"
        yield request.getfixturevalue(name)
        return
    with seeded_database(request, request.param, build) as (database, world):
        request.node.stash[BUILT] = world
        yield database


@pytest.fixture
def rw(request: pytest.FixtureRequest, backend: Database) -> ReconWorld:
    """The executed batch of every case (``recon_support.build``) in ``backend``."""
    return request.node.stash[BUILT]


def refused(code: ErrorCode) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(DomainError, match=f"^{code.value}:")


def audit_actions(database: Database, prefix: str = "recon.") -> list[str]:
    with database.raw() as conn:
        return list(
            conn.scalars(
                select(AuditLog.action)
                .where(AuditLog.action.startswith(prefix))
                .order_by(AuditLog.created_at, AuditLog.action)
            )
        )


def ledger_entries(database: Database) -> int:
    with database.raw() as conn:
        return conn.scalar(select(func.count()).select_from(LoyaltyLedger)) or 0


# --- records ------------------------------------------------------------------------------


class TestRecords:
    def test_execution_opens_one_pending_record_per_row_with_loyalty_fields(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        page = recon.list_queue(backend.uow(rw.lm), rw.lm, rw.batch_id)
        assert [r.row_number for r in page.rows] == list(range(1, len(CASES) + 1))
        assert page.next_after is None
        by_row = {r.row_number: r for r in page.rows}
        for case in CASES:
            r = by_row[ROW[case.name]]
            assert r.status is ReconStatus.PENDING
            assert r.player_id == rw.players[case.name]
            assert r.vendor_label == case.label
            assert r.imported_points_balance == 500
            assert r.line_number == ROW[case.name] + 1
        assert by_row[ROW["Newcomer"]].canonical_tier_at_staging is Tier.BRONZE  # created
        assert by_row[ROW["Seed"]].canonical_tier_at_staging is None
        assert not by_row[ROW["Seed"]].has_loyalty_record
        assert by_row[ROW["Upgrade"]].canonical_tier_at_staging is Tier.SILVER
        # The batch's audit row counts the records it opened; points never reach the ledger.
        with backend.raw() as conn:
            executed = conn.scalar(
                select(AuditLog.after).where(
                    AuditLog.action == "import.executed", AuditLog.entity_id == str(rw.batch_id)
                )
            )
        assert executed is not None and executed["reconciliation_records"] == len(CASES)
        assert ledger_entries(backend) == 0

    def test_rows_without_a_player_or_loyalty_fields_get_no_record(self, backend: Database) -> None:
        rw = build(backend, cases=CASES[:1])
        lm = rw.lm
        bare = Case("Bare", "C-0100", Tier.GOLD, "", "", points="")
        enrol(backend, rw.admin, "Bare", "C-0100")
        error_row = csv_row(Case("Broken", "C-0101", None, "Gold+", "not a date", exists=False))
        batch = stage_and_execute(backend, lm, [csv_row(bare), error_row, csv_row(CASES[0])])
        rows = recon.list_queue(backend.uow(lm), lm, batch).rows
        assert [r.row_number for r in rows] == [3]
        assert Conflict.OTHER_OPEN_RECONCILIATION in rows[0].conflicts  # batch 1's row 1

    def test_a_mapping_made_before_execution_is_used(
        self, backend: Database, tmp_path: Path
    ) -> None:
        rw = build(backend, cases=CASES[:1], map_labels=False)
        lm = rw.lm
        again = csv_row(Case("Upgrade", "C-0001", Tier.SILVER, "Gold+", FRESH, points="0"))
        path = write_csv(tmp_path / "early.csv", [again], HEADER)
        staged = imports.stage_file(backend.uow(lm), lm, path, MAPPING)
        recon.set_tier_mapping(
            backend.uow(lm),
            lm,
            recon.SetTierMapping(batch_id=staged.batch.id, vendor_label="Gold+", tier=Tier.GOLD),
        )
        labels = recon.tier_labels(backend.uow(lm), lm, staged.batch.id)
        assert [(lb.vendor_label, lb.target, lb.pending) for lb in labels] == [("Gold+", "gold", 0)]
        imports.execute_batch(backend.uow(lm), lm, staged.batch.id)
        [r] = recon.list_queue(backend.uow(lm), lm, staged.batch.id).rows
        assert (r.label_state, r.mapped_tier, r.outcome) == (
            LabelState.MAPPED,
            Tier.GOLD,
            ReconOutcome.UPGRADE,
        )
        assert Conflict.POINTS_MISMATCH not in r.conflicts  # 0 imported, 0 held
        assert Conflict.OTHER_OPEN_RECONCILIATION in r.conflicts  # the first batch's row

    def test_listing_batches_with_counts(self, backend: Database, rw: ReconWorld) -> None:
        [batch] = recon.list_batches(backend.uow(rw.lm), rw.lm)
        assert batch.batch_id == rw.batch_id
        assert (batch.records, batch.pending, batch.unmapped_labels) == (len(CASES), len(CASES), 1)
        apply(backend, rw, ROW["Upgrade"])
        [batch] = recon.list_batches(backend.uow(rw.lm), rw.lm)
        assert (batch.records, batch.pending) == (len(CASES), len(CASES) - 1)


# --- the queue and the diff ---------------------------------------------------------------


class TestQueue:
    def test_proposals_and_freshness(self, backend: Database, rw: ReconWorld) -> None:
        rows = {
            r.row_number: r for r in recon.list_queue(backend.uow(rw.lm), rw.lm, rw.batch_id).rows
        }
        expected = {
            "Upgrade": (ReconOutcome.UPGRADE, Freshness.FRESH),
            "Equal": (ReconOutcome.NO_CHANGE, Freshness.FRESH),
            "Downgrade": (ReconOutcome.DOWNGRADE, Freshness.FRESH),
            "Stale": (ReconOutcome.UPGRADE, Freshness.STALE),
            "Unknown": (ReconOutcome.UPGRADE, Freshness.UNKNOWN),
            "Seed": (ReconOutcome.SEED, Freshness.FRESH),
            "Unmapped": (ReconOutcome.UNMAPPED, Freshness.FRESH),
            "Ignored": (ReconOutcome.IGNORE, Freshness.FRESH),
            "Newcomer": (ReconOutcome.UPGRADE, Freshness.FRESH),
        }
        for name, (outcome, fresh) in expected.items():
            assert (rows[ROW[name]].outcome, rows[ROW[name]].freshness) == (outcome, fresh), name
        assert rows[ROW["Stale"]].needs_confirmation and rows[ROW["Unknown"]].needs_confirmation
        assert not rows[ROW["Upgrade"]].needs_confirmation
        assert rows[ROW["Downgrade"]].needs_override
        assert rows[ROW["Unmapped"]].blocked and not rows[ROW["Unmapped"]].needs_confirmation

    def test_filters_counts_and_paging(self, backend: Database, rw: ReconWorld) -> None:
        lm = rw.lm

        def rows(**where: object) -> list[int]:
            page = recon.list_queue(
                backend.uow(lm), lm, rw.batch_id, recon.QueueFilter.model_validate(where)
            )
            return [r.row_number for r in page.rows]

        assert rows(outcome=ReconOutcome.UPGRADE) == [
            ROW[n] for n in ("Upgrade", "Stale", "Unknown", "Newcomer")
        ]
        assert rows(freshness=Freshness.STALE) == [ROW["Stale"]]
        assert rows(freshness=Freshness.UNKNOWN) == [ROW["Unknown"]]
        assert rows(outcome=ReconOutcome.UNMAPPED) == [ROW["Unmapped"]]
        assert rows(vendor_label="Silver") == [ROW["Downgrade"], ROW["Newcomer"]]
        assert rows(status=ReconStatus.APPLIED) == []
        counts = recon.queue_counts(backend.uow(lm), lm, rw.batch_id)
        assert counts.total == len(CASES) and counts.by_status[ReconStatus.PENDING] == len(CASES)
        assert counts.by_outcome[ReconOutcome.UPGRADE] == 4
        assert counts.by_outcome[ReconOutcome.SEED] == counts.by_outcome[ReconOutcome.IGNORE] == 1
        assert counts.by_freshness == {
            Freshness.FRESH: len(CASES) - 2,
            Freshness.STALE: 1,
            Freshness.UNKNOWN: 1,
        }
        apply(backend, rw, ROW["Upgrade"])
        assert rows(status=ReconStatus.APPLIED) == [ROW["Upgrade"]]
        assert rows(outcome=ReconOutcome.UPGRADE, status=ReconStatus.PENDING) == [
            ROW[n] for n in ("Stale", "Unknown", "Newcomer")
        ]
        counts = recon.queue_counts(backend.uow(lm), lm, rw.batch_id)
        assert counts.by_status[ReconStatus.APPLIED] == 1
        assert counts.by_outcome[ReconOutcome.UPGRADE] == 3  # pending only
        # Keyset pages in file order.
        seen: list[int] = []
        after = 0
        while True:
            page = recon.list_queue(backend.uow(lm), lm, rw.batch_id, after_row=after, limit=4)
            seen += [r.row_number for r in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == list(range(1, len(CASES) + 1))

    def test_the_exact_freshness_boundary(self, backend: Database, rw: ReconWorld) -> None:
        lm = rw.lm
        clock = backend.clock
        assert isinstance(clock, FixedClock)
        activity = row(backend, rw, ROW["Upgrade"]).imported_last_activity_at
        assert activity is not None
        clock.advance(activity + timedelta(days=90) - clock.now())  # exactly 90 days
        assert row(backend, rw, ROW["Upgrade"]).freshness is Freshness.FRESH
        fresh = recon.QueueFilter(freshness=Freshness.FRESH)
        assert ROW["Upgrade"] in [
            r.row_number for r in recon.list_queue(backend.uow(lm), lm, rw.batch_id, fresh).rows
        ]
        clock.advance(timedelta(microseconds=1))
        assert row(backend, rw, ROW["Upgrade"]).freshness is Freshness.STALE
        stale = recon.QueueFilter(freshness=Freshness.STALE)
        assert ROW["Upgrade"] in [
            r.row_number for r in recon.list_queue(backend.uow(lm), lm, rw.batch_id, stale).rows
        ]
        with refused(ErrorCode.RECON_CONFIRMATION_REQUIRED):
            apply(backend, rw, ROW["Upgrade"])
        done = apply(backend, rw, ROW["Upgrade"], confirm=True).record
        assert (done.freshness, done.freshness_confirmed) == (Freshness.STALE, True)

    def test_the_casino_threshold_is_used(self, backend: Database, rw: ReconWorld) -> None:
        with backend.raw() as conn:
            conn.execute(update(CasinoSettings).values(freshness_threshold_days=365))
            conn.commit()
        r = row(backend, rw, ROW["Stale"])
        assert (r.freshness, r.freshness_threshold_days) == (Freshness.FRESH, 365)

    def test_diff_shows_conflicts_and_requirements(self, backend: Database, rw: ReconWorld) -> None:
        lm = rw.lm
        d = recon.diff(backend.uow(lm), lm, rw.batch_id, ROW["Upgrade"])
        assert d.summary == "Upgrade silver → gold." and d.proposed_tier is Tier.GOLD
        assert d.requirements == [] and d.file_name == "vendor.csv"
        assert d.row.conflicts == [Conflict.POINTS_MISMATCH]  # 500 imported, 0 held
        # The tier changed since staging; the player appears in a second open batch.
        set_tier(backend, rw.players["Upgrade"], Tier.PLATINUM)
        stage_and_execute(
            backend, lm, [csv_row(Case("Upgrade", "C-0001", None, "Gold+", FRESH, points="0"))]
        )
        d = recon.diff(backend.uow(lm), lm, rw.batch_id, ROW["Upgrade"])
        assert set(d.row.conflicts) == {
            Conflict.TIER_CHANGED_SINCE_STAGING,
            Conflict.OTHER_OPEN_RECONCILIATION,
            Conflict.POINTS_MISMATCH,
        }
        assert d.row.outcome is ReconOutcome.DOWNGRADE  # against the tier now
        assert "canonical tier changed since staging" in d.conflict_labels
        assert d.requirements == ["an admin override with a reason (admins only)"]
        stale = recon.diff(backend.uow(rw.admin), rw.admin, rw.batch_id, ROW["Stale"])
        assert stale.requirements == ["explicit confirmation: freshness is stale"]
        unmapped = recon.diff(backend.uow(lm), lm, rw.batch_id, ROW["Unmapped"])
        assert unmapped.requirements == [
            "map the vendor tier 'Legacy VIP' to a tier (or ignore it)"
        ]
        seed = recon.diff(backend.uow(lm), lm, rw.batch_id, ROW["Seed"])
        assert seed.summary == "Seed the loyalty tier diamond (the player has no loyalty record)."

    def test_unknown_record(self, backend: Database, rw: ReconWorld) -> None:
        with refused(ErrorCode.RECON_NOT_FOUND):
            recon.diff(backend.uow(rw.lm), rw.lm, rw.batch_id, 999)
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.list_queue(backend.uow(rw.lm), rw.lm, uuid.uuid4())


# --- mapping ------------------------------------------------------------------------------


class TestMapping:
    def test_labels_and_gaps(self, backend: Database, rw: ReconWorld) -> None:
        labels = {
            lb.vendor_label: lb for lb in recon.tier_labels(backend.uow(rw.lm), rw.lm, rw.batch_id)
        }
        assert {k: v.target for k, v in labels.items()} == {
            "Diamond": "diamond",
            "Gold+": "gold",
            "Legacy VIP": "unmapped",
            "Silver": "silver",
            "Staff": "ignore",
        }
        assert (labels["Gold+"].rows, labels["Gold+"].pending) == (4, 4)
        assert labels["Gold+"].mapped_by_code == "LM1" and not labels["Legacy VIP"].is_mapped
        with refused(ErrorCode.RECON_LABEL_UNMAPPED):
            apply(backend, rw, ROW["Unmapped"])
        assert row(backend, rw, ROW["Unmapped"]).status is ReconStatus.PENDING

    def test_unknown_labels_and_bad_input_are_refused(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        with refused(ErrorCode.RECON_LABEL_UNKNOWN):
            map_label(backend, rw, "gold+", Tier.GOLD)  # labels match exactly
        with refused(ErrorCode.VALIDATION_FAILED):
            recon.set_tier_mapping(
                backend.uow(rw.lm),
                rw.lm,
                recon.SetTierMapping.model_construct(
                    batch_id=rw.batch_id, vendor_label="Gold+", tier=Tier.GOLD, ignore=True
                ),
            )
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.set_tier_mapping(
                backend.uow(rw.lm),
                rw.lm,
                recon.SetTierMapping(batch_id=uuid.uuid4(), vendor_label="Gold+", tier=Tier.GOLD),
            )

    def test_mapping_changes_rewrite_only_pending_rows(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        apply(backend, rw, ROW["Upgrade"])  # decided under Gold+ → gold
        changed = map_label(backend, rw, "Gold+", Tier.PLATINUM)
        assert changed.changed and changed.pending_updated == 3
        assert changed.label.tier is Tier.PLATINUM and changed.label.pending == 3
        decided = row(backend, rw, ROW["Upgrade"])
        assert (decided.mapped_tier, decided.tier_after) == (Tier.GOLD, Tier.GOLD)
        for name in ("Equal", "Stale", "Unknown"):
            assert row(backend, rw, ROW[name]).mapped_tier is Tier.PLATINUM
        assert row(backend, rw, ROW["Equal"]).outcome is ReconOutcome.UPGRADE

        again = map_label(backend, rw, "Gold+", Tier.PLATINUM)
        assert not again.changed and again.pending_updated == 0

        ignored = map_label(backend, rw, "Gold+", None)
        assert (
            ignored.label.ignored and row(backend, rw, ROW["Equal"]).outcome is ReconOutcome.IGNORE
        )

        cleared = recon.clear_tier_mapping(backend.uow(rw.lm), rw.lm, rw.batch_id, "Gold+")
        assert cleared.changed and cleared.pending_updated == 3 and not cleared.label.is_mapped
        assert row(backend, rw, ROW["Equal"]).outcome is ReconOutcome.UNMAPPED
        assert row(backend, rw, ROW["Upgrade"]).label_state is LabelState.MAPPED
        nothing = recon.clear_tier_mapping(backend.uow(rw.lm), rw.lm, rw.batch_id, "Gold+")
        assert not nothing.changed
        actions = audit_actions(backend, "recon.mapping")
        assert actions.count("recon.mapping_set") == 6  # 4 at build, platinum, ignore
        assert actions.count("recon.mapping_cleared") == 1
        with backend.raw() as conn:
            last = conn.execute(
                select(AuditLog.before, AuditLog.after).where(
                    AuditLog.action == "recon.mapping_cleared"
                )
            ).one()
        assert last.before == {"vendor_label": "Gold+", "target": "ignore"}
        assert last.after == {"vendor_label": "Gold+", "target": "unmapped", "pending_updated": 3}

    def test_an_ignored_label_is_recorded_and_changes_nothing(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        done = apply(backend, rw, ROW["Ignored"]).record
        assert (done.status, done.outcome) == (ReconStatus.IGNORED, ReconOutcome.IGNORE)
        assert done.tier_before is done.tier_after is Tier.BRONZE
        assert tier_of(backend, rw.players["Ignored"]) is Tier.BRONZE
        with refused(ErrorCode.RECON_NOT_REVERTIBLE):
            revert(backend, rw, ROW["Ignored"])


# --- apply and revert ---------------------------------------------------------------------


class TestApply:
    def test_upgrade_writes_tier_record_and_audit_together(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        done = apply(backend, rw, ROW["Upgrade"])
        r = done.record
        assert not done.is_existing
        assert (r.status, r.outcome, r.tier_before, r.tier_after) == (
            ReconStatus.APPLIED,
            ReconOutcome.UPGRADE,
            Tier.SILVER,
            Tier.GOLD,
        )
        assert r.applied_by == rw.lm.staff_id and r.applied_by_code == "LM1"
        assert r.applied_at == backend.clock.now() and r.canonical_tier is Tier.GOLD
        assert tier_of(backend, rw.players["Upgrade"]) is Tier.GOLD
        with backend.raw() as conn:
            entry = conn.execute(
                select(
                    AuditLog.entity_id, AuditLog.before, AuditLog.after, AuditLog.staff_id
                ).where(AuditLog.action == "recon.applied")
            ).one()
        assert entry.entity_id == f"{rw.batch_id}:{ROW['Upgrade']}"
        assert entry.before == {"status": "pending", "tier": "silver"}
        assert entry.after["tier"] == "gold" and entry.after["outcome"] == "upgrade"
        assert entry.after["imported_points_balance"] == 500
        assert entry.staff_id == rw.lm.staff_id
        assert ledger_entries(backend) == 0  # imported points are never applied

    def test_equal_tier_is_a_recorded_no_op(self, backend: Database, rw: ReconWorld) -> None:
        r = apply(backend, rw, ROW["Equal"]).record
        assert (r.status, r.outcome, r.tier_before, r.tier_after) == (
            ReconStatus.NO_CHANGE,
            ReconOutcome.NO_CHANGE,
            Tier.GOLD,
            Tier.GOLD,
        )
        assert audit_actions(backend, "recon.applied") == ["recon.applied"]
        with refused(ErrorCode.RECON_NOT_REVERTIBLE):
            revert(backend, rw, ROW["Equal"])

    def test_double_apply_returns_the_existing_state(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        key = uuid.uuid4()
        first = apply(backend, rw, ROW["Upgrade"], key=key)
        replay = apply(backend, rw, ROW["Upgrade"], key=key)
        assert replay.is_existing and replay.record == first.record
        # Another request (new key) for the decided row: its current state, nothing written.
        set_tier(backend, rw.players["Upgrade"], Tier.GOLD)
        again = apply(backend, rw, ROW["Upgrade"])
        assert again.is_existing and again.record.status is ReconStatus.APPLIED
        assert again.record.tier_after is Tier.GOLD
        assert audit_actions(backend, "recon.applied") == ["recon.applied"]

    def test_a_key_reused_for_another_request_is_refused(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        key = uuid.uuid4()
        apply(backend, rw, ROW["Upgrade"], key=key)
        with refused(ErrorCode.IDEMPOTENCY_CONFLICT):
            apply(backend, rw, ROW["Newcomer"], key=key)
        with refused(ErrorCode.IDEMPOTENCY_CONFLICT):
            apply(backend, rw, ROW["Upgrade"], key=key, confirm=True)
        with refused(ErrorCode.IDEMPOTENCY_CONFLICT):
            revert(backend, rw, ROW["Upgrade"], key=key)
        assert row(backend, rw, ROW["Newcomer"]).status is ReconStatus.PENDING

    def test_downgrade_needs_an_admin_override_with_a_reason(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        n = ROW["Downgrade"]
        with refused(ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE):
            apply(backend, rw, n)
        with refused(ErrorCode.AUTH_FORBIDDEN):
            apply(backend, rw, n, override="vendor audited")  # a loyalty manager
        with refused(ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE):
            apply(backend, rw, n, rw.admin, override="  ")
        assert tier_of(backend, rw.players["Downgrade"]) is Tier.PLATINUM
        r = apply(backend, rw, n, rw.admin, override="vendor tier audited by marketing").record
        assert (r.status, r.outcome, r.tier_before, r.tier_after) == (
            ReconStatus.APPLIED,
            ReconOutcome.DOWNGRADE,
            Tier.PLATINUM,
            Tier.SILVER,
        )
        assert r.override_reason == "vendor tier audited by marketing"
        assert tier_of(backend, rw.players["Downgrade"]) is Tier.SILVER
        back = revert(backend, rw, n).record
        assert back.status is ReconStatus.REVERTED
        assert tier_of(backend, rw.players["Downgrade"]) is Tier.PLATINUM

    def test_an_override_reason_is_not_kept_for_an_upgrade(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        r = apply(backend, rw, ROW["Upgrade"], rw.admin, override="habit").record
        assert r.override_reason is None and r.outcome is ReconOutcome.UPGRADE

    @pytest.mark.parametrize("name", ["Stale", "Unknown"])
    def test_stale_and_unknown_need_a_per_row_confirmation(
        self, backend: Database, rw: ReconWorld, name: str
    ) -> None:
        with refused(ErrorCode.RECON_CONFIRMATION_REQUIRED):
            apply(backend, rw, ROW[name])
        assert tier_of(backend, rw.players[name]) is Tier.BRONZE
        r = apply(backend, rw, ROW[name], confirm=True).record
        assert r.freshness_confirmed and r.status is ReconStatus.APPLIED
        assert r.freshness is (Freshness.STALE if name == "Stale" else Freshness.UNKNOWN)
        assert tier_of(backend, rw.players[name]) is Tier.GOLD

    def test_a_fresh_row_does_not_record_a_confirmation(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        r = apply(backend, rw, ROW["Upgrade"], confirm=True).record
        assert not r.freshness_confirmed and r.freshness is Freshness.FRESH

    def test_seed_creates_the_loyalty_record_and_revert_keeps_it_without_a_tier(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        player = rw.players["Seed"]
        r = apply(backend, rw, ROW["Seed"]).record
        assert (r.outcome, r.tier_before, r.tier_after, r.loyalty_created) == (
            ReconOutcome.SEED,
            None,
            Tier.DIAMOND,
            True,
        )
        with backend.raw() as conn:
            account = conn.execute(
                select(PlayerLoyalty.tier, PlayerLoyalty.current_balance).where(
                    PlayerLoyalty.player_id == player
                )
            ).one()
        assert tuple(account) == (Tier.DIAMOND, 0)  # imported points stay on the record
        revert(backend, rw, ROW["Seed"])
        assert tier_of(backend, player) is None
        with backend.raw() as conn:
            assert (
                conn.scalar(
                    select(func.count())
                    .select_from(PlayerLoyalty)
                    .where(PlayerLoyalty.player_id == player)
                )
                == 1
            )

    def test_revert_restores_and_is_idempotent(self, backend: Database, rw: ReconWorld) -> None:
        key = uuid.uuid4()
        apply(backend, rw, ROW["Newcomer"])
        assert tier_of(backend, rw.players["Newcomer"]) is Tier.SILVER
        first = revert(backend, rw, ROW["Newcomer"], rw.admin, key=key)
        r = first.record
        assert (r.status, r.reverted_by_code, r.canonical_tier) == (
            ReconStatus.REVERTED,
            "ADM1",
            Tier.BRONZE,
        )
        assert tier_of(backend, rw.players["Newcomer"]) is Tier.BRONZE
        replay = revert(backend, rw, ROW["Newcomer"], rw.admin, key=key)
        assert replay.is_existing and replay.record == r
        again = revert(backend, rw, ROW["Newcomer"])
        assert again.is_existing and again.record.status is ReconStatus.REVERTED
        reapply = apply(backend, rw, ROW["Newcomer"])
        assert reapply.is_existing and reapply.record.status is ReconStatus.REVERTED
        assert audit_actions(backend, "recon.reverted") == ["recon.reverted"]
        assert tier_of(backend, rw.players["Newcomer"]) is Tier.BRONZE
        with refused(ErrorCode.RECON_NOT_REVERTIBLE):
            revert(backend, rw, ROW["Upgrade"])  # still pending

    def test_revert_after_a_later_tier_change_is_refused(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        lm = rw.lm
        apply(backend, rw, ROW["Upgrade"])  # silver → gold
        later = stage_and_execute(
            backend, lm, [csv_row(Case("Upgrade", "C-0001", None, "Top", FRESH, points="0"))]
        )
        recon.set_tier_mapping(
            backend.uow(lm),
            lm,
            recon.SetTierMapping(batch_id=later, vendor_label="Top", tier=Tier.DIAMOND),
        )
        recon.apply(
            backend.uow(lm),
            lm,
            recon.ApplyReconciliation(batch_id=later, row_number=1, idempotency_key=uuid.uuid4()),
        )
        assert tier_of(backend, rw.players["Upgrade"]) is Tier.DIAMOND
        assert not row(backend, rw, ROW["Upgrade"]).revertible
        with refused(ErrorCode.RECON_TIER_CHANGED):
            revert(backend, rw, ROW["Upgrade"])
        assert tier_of(backend, rw.players["Upgrade"]) is Tier.DIAMOND
        assert row(backend, rw, ROW["Upgrade"]).status is ReconStatus.APPLIED
        # Undo the later one first, and the earlier one reverts cleanly to silver.
        recon.revert(
            backend.uow(lm),
            lm,
            recon.RevertReconciliation(batch_id=later, row_number=1, idempotency_key=uuid.uuid4()),
        )
        assert row(backend, rw, ROW["Upgrade"]).revertible
        revert(backend, rw, ROW["Upgrade"])
        assert tier_of(backend, rw.players["Upgrade"]) is Tier.SILVER

    def test_apply_many_reports_each_row(self, backend: Database, rw: ReconWorld) -> None:
        commands = [
            recon.ApplyReconciliation(
                batch_id=rw.batch_id, row_number=ROW[name], idempotency_key=uuid.uuid4()
            )
            for name in ("Upgrade", "Stale", "Unmapped", "Downgrade", "Equal")
        ]
        results = recon.apply_many(backend.uow(rw.lm), rw.lm, commands)
        assert [(r.row_number, r.ok, r.error_code) for r in results] == [
            (ROW["Upgrade"], True, None),
            (ROW["Stale"], False, ErrorCode.RECON_CONFIRMATION_REQUIRED),
            (ROW["Unmapped"], False, ErrorCode.RECON_LABEL_UNMAPPED),
            (ROW["Downgrade"], False, ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE),
            (ROW["Equal"], True, None),
        ]
        assert results[0].record is not None and results[0].record.tier_after is Tier.GOLD
        assert results[1].message and "confirm" in results[1].message
        assert tier_of(backend, rw.players["Stale"]) is Tier.BRONZE
        again = recon.apply_many(backend.uow(rw.lm), rw.lm, commands[:1])
        assert again[0].ok and again[0].is_existing


# --- roles and tenancy --------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize(
        "role",
        [StaffRole.DEALER, StaffRole.FLOOR_SUPERVISOR, StaffRole.PIT_BOSS, StaffRole.CASHIER],
    )
    def test_only_loyalty_managers_and_admins_reconcile(
        self, backend: Database, rw: ReconWorld, role: StaffRole
    ) -> None:
        actor = rw.world.actor(role)
        calls: list[Callable[[], object]] = [
            lambda: recon.list_batches(backend.uow(actor), actor),
            lambda: recon.list_queue(backend.uow(actor), actor, rw.batch_id),
            lambda: recon.queue_counts(backend.uow(actor), actor, rw.batch_id),
            lambda: recon.diff(backend.uow(actor), actor, rw.batch_id, 1),
            lambda: recon.tier_labels(backend.uow(actor), actor, rw.batch_id),
            lambda: recon.set_tier_mapping(
                backend.uow(actor),
                actor,
                recon.SetTierMapping(batch_id=rw.batch_id, vendor_label="Gold+", tier=Tier.GOLD),
            ),
            lambda: recon.clear_tier_mapping(backend.uow(actor), actor, rw.batch_id, "Gold+"),
            lambda: apply(backend, rw, ROW["Upgrade"], actor),
            lambda: revert(backend, rw, ROW["Upgrade"], actor),
            lambda: recon.write_report(backend.uow(actor), actor, rw.batch_id, io.StringIO()),
        ]
        for call in calls:
            with refused(ErrorCode.AUTH_FORBIDDEN):
                call()
        assert row(backend, rw, ROW["Upgrade"]).status is ReconStatus.PENDING

    def test_another_casino_cannot_see_or_touch_the_records(self, backend: Database) -> None:
        a = build(backend, "ALPHA", cases=CASES[:2])
        b = build(backend, "BRAVO", cases=CASES[:2])
        intruder = b.admin
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.list_queue(backend.uow(intruder), intruder, a.batch_id)
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.diff(backend.uow(intruder), intruder, a.batch_id, 1)
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.tier_labels(backend.uow(intruder), intruder, a.batch_id)
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.set_tier_mapping(
                backend.uow(intruder),
                intruder,
                recon.SetTierMapping(batch_id=a.batch_id, vendor_label="Gold+", tier=Tier.DIAMOND),
            )
        with refused(ErrorCode.RECON_NOT_FOUND):
            apply(backend, a, 1, intruder)
        apply(backend, a, 1)
        with refused(ErrorCode.RECON_NOT_FOUND):
            revert(backend, a, 1, intruder)
        with refused(ErrorCode.IMPORT_BATCH_NOT_FOUND):
            recon.write_report(backend.uow(intruder), intruder, a.batch_id, io.StringIO())
        assert [x.batch_id for x in recon.list_batches(backend.uow(intruder), intruder)] == [
            b.batch_id
        ]
        assert tier_of(backend, a.players["Upgrade"]) is Tier.GOLD
        assert row(backend, b, 1).status is ReconStatus.PENDING

    @pytest.mark.postgres
    def test_row_level_security_hides_another_casinos_records(
        self, pg_database: Database, app_database: Database
    ) -> None:
        a = build(pg_database, "ALPHA", cases=CASES[:2])
        b = build(pg_database, "BRAVO", cases=CASES[:2])
        # Through the services, as the app role: B's records do not exist for A.
        with refused(ErrorCode.RECON_NOT_FOUND):
            apply(app_database, b, 1, a.admin)
        # Raw SQL as the app role, past the services' own checks: RLS still confines A.
        with app_database.uow(a.admin) as uow:
            conn = uow.session.connection()
            seen = conn.execute(text("SELECT DISTINCT casino_id FROM loyalty_reconciliation")).all()
            mappings = conn.execute(
                text("SELECT DISTINCT casino_id FROM loyalty_tier_mapping")
            ).all()
            theirs = bindparam("b", b.batch_id, type_=Uuid())
            touched = conn.execute(
                text(
                    "UPDATE loyalty_reconciliation SET vendor_label = vendor_label"
                    " WHERE batch_id = :b"
                ).bindparams(theirs)
            ).rowcount
            cleared = conn.execute(
                text("DELETE FROM loyalty_tier_mapping WHERE batch_id = :b").bindparams(theirs)
            ).rowcount
            uow.commit()
        assert [uuid.UUID(str(c)) for (c,) in seen] == [a.world.casino.id]
        assert [uuid.UUID(str(c)) for (c,) in mappings] == [a.world.casino.id]
        assert touched == 0 and cleared == 0
        assert row(pg_database, b, 1).status is ReconStatus.PENDING
        labels = recon.tier_labels(pg_database.uow(b.lm), b.lm, b.batch_id)
        assert [(lb.vendor_label, lb.target) for lb in labels] == [("Gold+", "gold")]


# --- report -------------------------------------------------------------------------------


class TestReport:
    def test_every_record_with_outcome_actor_and_time(
        self, backend: Database, rw: ReconWorld
    ) -> None:
        apply(backend, rw, ROW["Upgrade"])
        apply(backend, rw, ROW["Downgrade"], rw.admin, override="=HYPERLINK(evil)")
        revert(backend, rw, ROW["Upgrade"], rw.admin)
        out = io.StringIO()
        count = recon.write_report(backend.uow(rw.lm), rw.lm, rw.batch_id, out)
        lines = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert count == len(lines) == len(CASES)
        assert list(lines[0]) == list(recon.REPORT_HEADER)
        upgrade = lines[ROW["Upgrade"] - 1]
        assert (upgrade["status"], upgrade["outcome"], upgrade["tier_before"]) == (
            "reverted",
            "upgrade",
            "silver",
        )
        assert upgrade["applied_by"] == "LM1" and upgrade["reverted_by"] == "ADM1"
        assert upgrade["applied_at"] == backend.clock.now().isoformat()
        down = lines[ROW["Downgrade"] - 1]
        assert down["override_reason"] == "'=HYPERLINK(evil)"  # neutralised formula
        assert down["canonical_tier_now"] == "silver" and down["applied_by"] == "ADM1"
        stale = lines[ROW["Stale"] - 1]
        assert (stale["status"], stale["outcome"], stale["freshness"]) == (
            "pending",
            "upgrade",
            "stale",
        )
        assert stale["freshness_threshold_days"] == "90"
        assert lines[ROW["Unmapped"] - 1]["outcome"] == "unmapped"


# --- property -----------------------------------------------------------------------------

TIERS = st.one_of(st.none(), st.sampled_from(Tier))
PLAN = st.lists(
    st.tuples(TIERS, st.sampled_from(Tier), st.booleans(), st.booleans()), min_size=1, max_size=4
)
"""Per player: canonical tier before (None: no loyalty record), vendor tier, override, stale."""


@pytest.fixture
def prop_world(backend: Database) -> ReconWorld:
    """One casino for all of a run's examples (they share the test function's database)."""
    return ReconWorld(build_casino(backend, "PROP"), uuid.uuid4())


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=PLAN)
def test_apply_then_revert_restores_every_tier_and_never_lowers_without_override(
    backend: Database, prop_world: ReconWorld, plan: list[tuple[Tier | None, Tier, bool, bool]]
) -> None:
    world = prop_world
    lm, admin = world.lm, world.admin
    cases = []
    for n, (before, vendor, _override, stale) in enumerate(plan):
        card = f"P-{uuid.uuid4().hex[:10].upper()}"
        player = enrol(backend, admin, f"Prop{chr(97 + n)}", card)
        set_tier(backend, player, before)
        world.players[card] = player
        last_visit = "2025-01-01" if stale else FRESH
        cases.append(Case(f"Prop{chr(97 + n)}", card, before, f"V-{vendor.value}", last_visit))
    batch = stage_and_execute(backend, lm, [csv_row(c) for c in cases])
    for vendor in {v for _, v, _, _ in plan}:
        recon.set_tier_mapping(
            backend.uow(lm),
            lm,
            recon.SetTierMapping(batch_id=batch, vendor_label=f"V-{vendor.value}", tier=vendor),
        )
    before_tiers = {c.card: tier_of(backend, world.players[c.card]) for c in cases}
    applied: list[int] = []
    for n, (before, vendor, override, stale) in enumerate(plan, start=1):
        actor = admin if override else lm
        command = recon.ApplyReconciliation(
            batch_id=batch,
            row_number=n,
            idempotency_key=uuid.uuid4(),
            confirm_freshness=stale,
            override_reason="audited" if override else None,
        )
        card = cases[n - 1].card
        try:
            result = recon.apply(backend.uow(actor), actor, command).record
        except DomainError as error:
            assert error.code is ErrorCode.RECON_DOWNGRADE_NEEDS_OVERRIDE
            assert not override and before is not None and vendor.rank < before.rank
            assert tier_of(backend, world.players[card]) == before
            continue
        now = tier_of(backend, world.players[card])
        if before is not None and not override:
            assert now is not None and now.rank >= before.rank  # never lowered
        if result.status is ReconStatus.APPLIED:
            assert now is vendor
            applied.append(n)
        else:
            assert result.status is ReconStatus.NO_CHANGE and now == before
    for n in reversed(applied):
        recon.revert(
            backend.uow(lm),
            lm,
            recon.RevertReconciliation(batch_id=batch, row_number=n, idempotency_key=uuid.uuid4()),
        )
    assert {c.card: tier_of(backend, world.players[c.card]) for c in cases} == before_tiers
    assert ledger_entries(backend) == 0


DECIDED: dict[str, object] = {
    "status": "applied",
    "outcome": "upgrade",
    "freshness": "fresh",
    "freshness_threshold_days": 90,
    "tier_before": Tier.SILVER,
    "tier_after": Tier.GOLD,
}
"""A coherent applied upgrade (with the applier added per test)."""


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"status": "pending", "outcome": "unmapped"}, "pending_iff_undecided"),
        ({"applied_by": None}, "decision_recorded_whole"),
        ({"freshness_threshold_days": None}, "decision_recorded_whole"),
        ({"outcome": "no_change"}, "status_matches_outcome"),
        ({"tier_after": None}, "applied_has_tier"),
        ({"override_reason": "why"}, "override_iff_downgrade"),
        ({"label_state": "ignored"}, "mapped_iff_tier"),
        ({"reverted_at": FROZEN}, "revert_recorded_whole"),
        ({"freshness_threshold_days": 0}, "threshold_positive"),
        ({"imported_points_balance": -1}, "points_nonneg"),
    ],
)
def test_the_table_refuses_an_incoherent_record(
    backend: Database, change: dict[str, object], constraint: str
) -> None:
    rw = build(backend, cases=CASES[:1])
    pending = change.get("status") == "pending"
    coherent = {} if pending else {**DECIDED, "applied_by": rw.lm.staff_id, "applied_at": FROZEN}
    with backend.raw() as conn:
        if coherent:
            conn.execute(update(LoyaltyReconciliation).values(coherent))  # accepted as is
        with pytest.raises(IntegrityError) as raised:
            conn.execute(update(LoyaltyReconciliation).values({**coherent, **change}))
    assert constraint in str(raised.value)


def test_a_stale_change_without_confirmation_cannot_be_stored(backend: Database) -> None:
    rw = build(backend, cases=(CASES[ROW["Stale"] - 1],))
    decided = {**DECIDED, "freshness": "stale", "applied_by": rw.lm.staff_id, "applied_at": FROZEN}
    with backend.raw() as conn, pytest.raises(IntegrityError, match="stale_needs_confirmation"):
        conn.execute(update(LoyaltyReconciliation).values(**decided))
    with backend.raw() as conn:
        conn.execute(update(LoyaltyReconciliation).values({**decided, "freshness_confirmed": True}))
        conn.rollback()


def test_records_keep_their_provenance(backend: Database, rw: ReconWorld) -> None:
    with backend.raw() as conn:
        keys = conn.execute(
            select(LoyaltyReconciliation.batch_id, LoyaltyReconciliation.row_number).order_by(
                LoyaltyReconciliation.row_number
            )
        ).all()
    assert [(b, n) for b, n in keys] == [(rw.batch_id, n) for n in range(1, len(CASES) + 1)]
