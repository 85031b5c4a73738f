"""End to end: the real `pitterm` process in a pseudo-terminal, driven by keys, on a fresh demo.

Each test starts the installed console script in a 120×40 pty on its own copy of a demo
database (seeded once per module by `pitterm demo --reset`), types what a person would type,
waits for what the screen should show next (tests.pty_support), then closes the terminal and
reads the SQLite file to check that what the screen said is what the database holds.

The clock is the real one (plus the demo's offset, zero here): play accrues by the second, so
the tests read the figures off the screen and check them against the database rather than
expecting fixed numbers.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pitterm import demo
from pitterm.domain.database import Database, Scope
from pitterm.domain.enums import LedgerReason, SlipStatus, Tier, VisitKind, VisitStatus
from pitterm.domain.recon_rules import Freshness, LabelState, ReconOutcome, ReconStatus
from pitterm.domain.tables import (
    AuditLog,
    ImportBatch,
    LoyaltyLedger,
    LoyaltyReconciliation,
    LoyaltyTierMapping,
    Player,
    PlayerLoyalty,
    RatingSlip,
    RatingSlipPause,
    Staff,
    Visit,
)
from tests.pty_support import Terminal, copy_demo, demo_environment, phrase, seed_demo

pytestmark = pytest.mark.xdist_group("e2e_pty")
"""One worker runs the module: the demo is seeded once for all its tests."""

CASINO = "BELLA"
SLIP_TABLE = "HBA-01"
"""The high-limit midi baccarat table: empty in the demo, and a $10,000 bet is within limits
($100–$50,000), so a few seconds of play earn points (1.06% × 72/h × $10,000 ≈ 21 pts/s)."""
SLIP_SEAT = 1
SLIP_BET = "10000"
COMP = "Show tickets (pair)"
COMP_COST = 4_000
"""The demo catalog's first item (pitterm.demo.COMP_CATALOG, listed by category)."""
OVERDRAW_CAP = 5_000
"""The casinos' overdraw cap (the casino_settings default)."""


@pytest.fixture(scope="module")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database, built by the real `pitterm demo --reset`, for the module."""
    return seed_demo(tmp_path_factory.mktemp("demo-seed"))


@pytest.fixture
def data_dir(seeded_demo: Path, tmp_path: Path) -> Path:
    """This test's own demo data directory: a copy of the seeded demo."""
    directory = tmp_path / "data"
    copy_demo(seeded_demo, directory)
    return directory


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Terminals a test started; each is ended when the test ends, passed or failed."""
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


def start_pitterm(data_dir: Path, terminals: list[Terminal]) -> Terminal:
    terminal = Terminal.start(env=demo_environment(data_dir, {"PITTERM_CASINO": CASINO}))
    terminals.append(terminal)
    return terminal


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain SQLite connection to a test's demo file: committed on success, then closed."""
    connection = sqlite3.connect(path)
    try:
        with connection:
            yield connection
    finally:
        connection.close()


def database_file(data_dir: Path) -> Path:
    return data_dir / "demo.sqlite3"


def open_database(data_dir: Path) -> Database:
    return Database.from_url(f"sqlite:///{database_file(data_dir)}")


def demo_login_row(code: str, name: str, role: str, pin: str) -> str:
    """The sign-in screen's demo logins row for one staff member, as a pattern."""
    return rf"{CASINO}\s+{code}\s+{name}\s+{role}\s+{pin}\b"


def sign_in(terminal: Terminal, code: str, pin: str, name: str, role: str) -> None:
    """At the sign-in screen: check the demo login is listed with its PIN, then type it."""
    terminal.wait_for(f"Bella Vista Casino ({CASINO})", timeout=30)
    terminal.wait_match(demo_login_row(code, name, role, pin))
    terminal.type(code)  # the staff code field has focus from the start
    terminal.send("enter")
    terminal.wait_focus("PIN")
    terminal.type(pin)
    terminal.send("enter")
    terminal.wait_for(f"{name} ({role})", timeout=30)


def clock_seconds(text: str) -> int:
    """'1:02:03' → 3723."""
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def points_value(text: str) -> int:
    """'1,618' or '-1,000' → int."""
    return int(text.replace(",", ""))


# -- 1. a pit boss's day ---------------------------------------------------------------------


@dataclass(frozen=True)
class Patron:
    player_id: uuid.UUID
    name: str
    card: str
    balance: int


def quiet_patron(path: Path, casino_id: uuid.UUID) -> Patron:
    """A BELLA player with some play history, in balance, and no open visit.

    At most 2,500 points: with what the slip earns, the 4,000-point show tickets overdraw.
    """
    with connect(path) as connection:
        row = connection.execute(
            """
            SELECT p.id, p.first_name || ' ' || p.last_name, p.loyalty_card_number,
                   a.current_balance
            FROM player p
            JOIN player_loyalty a ON a.player_id = p.id AND a.casino_id = p.casino_id
            WHERE p.casino_id = :casino
              AND a.current_balance BETWEEN 1 AND 2500
              AND a.current_balance =
                  (SELECT SUM(l.points_delta) FROM loyalty_ledger l WHERE l.player_id = p.id)
              AND NOT EXISTS (
                  SELECT 1 FROM visit v WHERE v.player_id = p.id AND v.status = 'open')
            ORDER BY p.loyalty_card_number
            LIMIT 1
            """,
            {"casino": casino_id.hex},
        ).fetchone()
    assert row is not None, "the demo has no quiet BELLA player with history"
    return Patron(uuid.UUID(row[0]), row[1], row[2], row[3])


def require_four_eyes(path: Path, casino_id: uuid.UUID) -> None:
    """This casino insists on a second person for every overdraw (the casino setting)."""
    with connect(path) as connection:
        changed = connection.execute(
            "UPDATE casino_settings SET four_eyes_overdraw = 1 WHERE casino_id = ?",
            (casino_id.hex,),
        ).rowcount
    assert changed == 1


def casino_id_of(path: Path, code: str) -> uuid.UUID:
    with connect(path) as connection:
        row = connection.execute("SELECT id FROM casino WHERE code = ?", (code,)).fetchone()
    assert row is not None
    return uuid.UUID(row[0])


def approve(terminal: Terminal, code: str, pin: str) -> None:
    """In the approval prompt: the approver's code, Enter, PIN, Enter."""
    terminal.wait_for("e.g. PB1")  # a prompt's empty code field, focused as it opens
    terminal.type(code)
    terminal.send("enter")
    terminal.wait_focus("PIN")
    terminal.type(pin)
    terminal.send("enter")


def slip_row_pattern(patron: Patron, status: str) -> str:
    """The live-slips row of the patron's slip at SLIP_TABLE: (played, points now) captured."""
    return (
        rf"{SLIP_TABLE}\s+{SLIP_SEAT}\s+{re.escape(patron.name)}\s+rated\s+{status}\s+"
        r"\$10,000\s+(\d+:\d\d:\d\d)\s+\$[\d,.]+\s+([\d,]+)"
    )


def test_a_pit_boss_day(data_dir: Path, terminals: list[Terminal]) -> None:
    """PB1 opens a rated visit, runs a slip through pause and resume, closes it and sees the
    points; then issues a comp that overdraws, which this four-eyes casino lets only a second
    pit boss approve: PB1's own PIN is refused, PB2's code and PIN approve it."""
    path = database_file(data_dir)
    casino_id = casino_id_of(path, CASINO)
    require_four_eyes(path, casino_id)
    patron = quiet_patron(path, casino_id)
    terminal = start_pitterm(data_dir, terminals)

    sign_in(terminal, "PB1", "2001", "Frank DeLuca", "Pit Boss")
    terminal.wait_for("Live slips")
    terminal.wait_match(rf"{SLIP_TABLE}\s+High Limit\s+Midi baccarat\s+·+\s+0/9")

    # Open a rated visit: find the patron by card number.
    visits_before = int(terminal.wait_match(r"(\d+) open visits").group(1))
    slips_before = int(terminal.wait_match(r"(\d+) live slips").group(1))
    terminal.send("o")
    terminal.wait_for("Open a rated gaming visit: find the player")
    terminal.type(patron.card)
    terminal.wait_for("1 player.")
    terminal.send("enter")
    terminal.wait_match(phrase(f"{patron.name}: rated visit opened."))
    terminal.wait_for(f"{visits_before + 1} open visits")
    terminal.wait_match(rf"│ {re.escape(patron.name)}\s+rated\b")

    # Start a slip for the highlighted visit, the new one, at the highlighted table (HBA-01),
    # seat 1, $10,000.
    terminal.send("s")
    terminal.wait_for("Start a rating slip")
    terminal.wait_for(f"Patron: {patron.name} (rated)")
    terminal.wait_for(f"{SLIP_TABLE} (Midi baccarat, $100–$50,000)")
    terminal.type(str(SLIP_SEAT))
    terminal.send("enter")
    terminal.wait_focus("Average bet")
    terminal.type(SLIP_BET)
    terminal.send("enter")
    terminal.wait_gone("Start a rating slip")
    terminal.wait_for(f"{slips_before + 1} live slips")
    terminal.wait_match(slip_row_pattern(patron, "in play"))

    # Pause, then resume the highlighted slip, the new one: the row says so each time.
    terminal.send("space")
    terminal.wait_match(slip_row_pattern(patron, "paused"))
    terminal.send("space")
    terminal.wait_match(slip_row_pattern(patron, "in play"))
    # Let the slip earn something visible: its points tick on screen every second.
    terminal.wait_until(
        lambda text: (
            (m := re.search(slip_row_pattern(patron, "in play"), text))
            and points_value(m.group(2)) > 0
        ),
        "the slip's points to tick above zero",
    )

    # Close it: the preview, then the close with its points and ledger entry.
    terminal.send("c")
    terminal.wait_for("Close rating slip")
    terminal.wait_for(f"Patron: {patron.name} (rated) · {SLIP_TABLE} seat {SLIP_SEAT}")
    terminal.wait_match(r"Points\s+[\d,]+ pts")
    terminal.send("y")
    terminal.wait_for("Rating slip closed")
    terminal.wait_for("New balance")
    minted = points_value(terminal.wait_match(r"Minted\s+([\d,]+) pts").group(1))
    accrual_id = uuid.UUID(terminal.wait_match(r"Ledger entry\s+([0-9a-f-]{36})").group(1))
    balance_after_close = points_value(
        terminal.wait_match(r"New balance\s+(-?[\d,]+) pts").group(1)
    )
    played = clock_seconds(terminal.wait_match(r"Played\s+(\d+:\d\d:\d\d) \(").group(1))
    paused = clock_seconds(
        terminal.wait_match(r"Paused\s+(\d+:\d\d:\d\d) \(not counted\)").group(1)
    )
    assert minted > 0
    assert balance_after_close == patron.balance + minted
    terminal.send("enter")
    terminal.wait_gone("Rating slip closed")
    terminal.wait_for(f"{slips_before} live slips")

    # Player mode: the card, then show tickets the balance cannot cover.
    terminal.send("f3")
    terminal.wait_for("Find player")
    terminal.send("s")
    terminal.wait_for("Name, card number or date of birth")
    terminal.type(patron.card)
    terminal.wait_for("1 player.")
    terminal.send("enter")
    terminal.wait_match(rf"{re.escape(patron.name)}\s+{balance_after_close:,} pts")
    terminal.wait_for("Recent ledger │")
    after = balance_after_close - COMP_COST
    assert -OVERDRAW_CAP <= after < 0, "the comp must overdraw, within the cap"
    terminal.send("c")
    terminal.wait_for("Issue a comp")
    # The catalog loads highlighting its first item, the show tickets; the cost field shows
    # the highlighted item's cost, and the line below what the balance would become.
    terminal.wait_match(rf"Cost \(pts\)\s+▊\s+{COMP_COST:,}\b")
    terminal.wait_match(
        phrase(
            f"Balance {balance_after_close:,} pts → after {after:,} pts (overdraw {-after:,} pts"
            f" of the {OVERDRAW_CAP:,} pts cap: needs approval)"
        )
    )
    terminal.send("enter")  # pick it: on to the note
    terminal.wait_focus("Note")
    terminal.type("Anniversary show")
    terminal.send("enter")

    terminal.wait_for("Overdraw approval")
    terminal.wait_match(phrase("This casino requires a second person to approve overdraw."))
    terminal.wait_match(phrase(f"Overdraw {-after:,} pts of the {OVERDRAW_CAP:,} pts cap"))
    # PB1 tries to approve their own comp: refused, the prompt asks again.
    approve(terminal, "PB1", "2001")
    terminal.wait_match(phrase("the approver cannot be the staff member issuing the comp"))
    terminal.wait_for("Overdraw approval")
    approve(terminal, "PB2", "2002")
    terminal.wait_for(f"Comp issued: {COMP}, {COMP_COST:,} pts")
    terminal.wait_for(f"Balance {balance_after_close:,} pts → {after:,} pts")
    terminal.wait_for("Overdraw applied: yes, approved by PB2")
    terminal.send("enter")
    terminal.wait_gone("Issue a comp")
    terminal.wait_match(rf"{re.escape(patron.name)}\s+{after:,} pts")
    terminal.close()

    database = open_database(data_dir)
    try:
        with database.reader(Scope(casino_id)) as uow:
            session = uow.session
            staff: dict[str, uuid.UUID] = {
                row.code: row.id
                for row in session.execute(
                    select(Staff.code, Staff.id).where(Staff.code.in_(["PB1", "PB2"]))
                )
            }
            [visit] = session.scalars(
                select(Visit).where(
                    Visit.player_id == patron.player_id, Visit.status == VisitStatus.OPEN
                )
            ).all()
            assert visit.visit_kind is VisitKind.GAMING_IDENTIFIED_RATED
            assert visit.opened_by == staff["PB1"]
            [slip] = session.scalars(select(RatingSlip).where(RatingSlip.visit_id == visit.id))
            assert slip.status is SlipStatus.CLOSED
            assert (slip.seat, slip.average_bet_cents, slip.points) == (
                SLIP_SEAT,
                1_000_000,
                minted,
            )
            assert slip.played_seconds == played
            assert slip.closed_at is not None and slip.closed_by == staff["PB1"]
            assert int((slip.closed_at - slip.started_at).total_seconds()) - played == paused
            [pause] = session.scalars(
                select(RatingSlipPause).where(RatingSlipPause.slip_id == slip.id)
            )
            assert pause.resumed_at is not None
            assert slip.started_at <= pause.paused_at <= pause.resumed_at <= slip.closed_at

            entries = session.scalars(
                select(LoyaltyLedger)
                .where(LoyaltyLedger.player_id == patron.player_id)
                .order_by(LoyaltyLedger.created_at, LoyaltyLedger.id)
            ).all()
            accruals = [e for e in entries if e.rating_slip_id == slip.id]
            assert [(e.id, e.reason, e.points_delta) for e in accruals] == [
                (accrual_id, LedgerReason.BASE_ACCRUAL, minted)
            ]
            comp = entries[-1]
            assert (comp.reason, comp.points_delta, comp.staff_id) == (
                LedgerReason.REDEEM,
                -COMP_COST,
                staff["PB1"],
            )
            assert comp.visit_id == visit.id
            assert comp.note == "Anniversary show"
            assert comp.metadata_["redemption"]["comp_type"] == COMP
            overdraw = comp.metadata_["overdraw"]
            assert overdraw["approved_by_code"] == "PB2"
            assert overdraw["approved_by_staff_id"] == str(staff["PB2"])
            assert overdraw["self_approved"] is False
            assert comp.metadata_["balance_before"] == balance_after_close
            assert comp.metadata_["balance_after"] == after

            balance = session.scalar(
                select(PlayerLoyalty.current_balance).where(
                    PlayerLoyalty.player_id == patron.player_id
                )
            )
            ledger_sum = session.scalar(
                select(func.sum(LoyaltyLedger.points_delta)).where(
                    LoyaltyLedger.player_id == patron.player_id
                )
            )
            assert balance == ledger_sum == patron.balance + minted - COMP_COST == after
            # The audit trail names the comp's issuer and its approver.
            [audited] = session.scalars(
                select(AuditLog).where(
                    AuditLog.action == "loyalty.redeem", AuditLog.entity_id == str(comp.id)
                )
            )
            assert audited.staff_id == staff["PB1"]
            assert audited.after is not None
            assert audited.after["approved_by"] == str(staff["PB2"])
    finally:
        database.dispose()


# -- 2. a floor supervisor's drift audit -----------------------------------------------------

AUDIT_TOLERANCE = 10
"""Audit mode's default tolerance: in balance ≤ 10 points of drift, minor ≤ 100, material above."""

DRIFT_SQL = """
WITH sums AS (
    SELECT player_id, SUM(points_delta) AS total, COUNT(*) AS entries
    FROM loyalty_ledger WHERE casino_id = :casino GROUP BY player_id
), accounts AS (
    SELECT a.player_id, p.first_name || ' ' || p.last_name AS name,
           a.current_balance AS cached, COALESCE(s.total, 0) AS computed,
           a.current_balance - COALESCE(s.total, 0) AS drift, COALESCE(s.entries, 0) AS entries
    FROM player_loyalty a
    JOIN player p ON p.id = a.player_id
    LEFT JOIN sums s ON s.player_id = a.player_id
    WHERE a.casino_id = :casino
)
SELECT name, cached, computed, drift, entries FROM accounts
"""
"""Every account of the casino: cached balance against the sum of its ledger, straight SQL."""


@dataclass(frozen=True)
class DriftFacts:
    entries: int
    checked: int
    in_balance: int
    minor: int
    material: int
    drifted: dict[str, tuple[int, int, int]]
    """Drifted accounts by player name: (cached, ledger, drift)."""


def drift_facts(path: Path, casino_id: uuid.UUID, tolerance: int) -> DriftFacts:
    """The audit's figures, computed here in SQL and Python from the raw tables."""
    with connect(path) as connection:
        rows = connection.execute(DRIFT_SQL, {"casino": casino_id.hex}).fetchall()
    sizes = [abs(drift) for _, _, _, drift, _ in rows]
    return DriftFacts(
        entries=sum(entries for *_, entries in rows),
        checked=len(rows),
        in_balance=sum(size <= tolerance for size in sizes),
        minor=sum(tolerance < size <= 10 * tolerance for size in sizes),
        material=sum(size > 10 * tolerance for size in sizes),
        drifted={
            name: (cached, computed, drift)
            for name, cached, computed, drift, _ in rows
            if abs(drift) > tolerance
        },
    )


def balances(path: Path, casino_id: uuid.UUID) -> dict[str, int]:
    with connect(path) as connection:
        return dict(
            connection.execute(
                "SELECT player_id, current_balance FROM player_loyalty WHERE casino_id = ?",
                (casino_id.hex,),
            ).fetchall()
        )


SUMMARY = re.compile(
    r"full audit read ([\d,]+) entries\s+│\s+([\d,]+) accounts checked\s+│\s+([\d,]+) in"
    r"\s+balance\s+│\s+([\d,]+) minor drift\s+│\s+([\d,]+) material\s+│\s+tolerance (\d+)"
)
CAUSES = ("Double-posted:", "Missing correction:", "Stale snapshot:")
"""The three faults the demo plants (pitterm.demo.seed_drifted_accounts)."""


def test_a_floor_supervisor_drift_audit(data_dir: Path, terminals: list[Terminal]) -> None:
    """FS1 runs the full audit in Audit mode over the demo's planted drift: the summary counts
    on screen are the ones SQL computes from the tables; the drifted accounts listed are the
    drifted ones; the drill-down of the largest shows its figures and a planted cause. The
    audit reports only: no balance changes."""
    path = database_file(data_dir)
    casino_id = casino_id_of(path, CASINO)
    expected = drift_facts(path, casino_id, AUDIT_TOLERANCE)
    assert expected.drifted, "the demo plants drifted accounts for Audit training"
    before = balances(path, casino_id)
    terminal = start_pitterm(data_dir, terminals)

    sign_in(terminal, "FS1", "3001", "Marcus Bell", "Floor Supervisor")
    terminal.wait_for("Live slips")
    terminal.send("f7")
    terminal.wait_for("Press a for a full audit")
    terminal.wait_match(r"Tolerance \(points\)\s+▊\s+10\b")
    terminal.send("a")
    summary = terminal.wait_match(SUMMARY, timeout=30)
    shown = [points_value(group) for group in summary.groups()]
    assert shown == [
        expected.entries,
        expected.checked,
        expected.in_balance,
        expected.minor,
        expected.material,
        AUDIT_TOLERANCE,
    ]
    worst = "MATERIAL MISMATCH" if expected.material else "MINOR DRIFT"
    terminal.wait_for(worst)

    # The accounts list: every drifted account, largest drift first, with its figures.
    screen = terminal.text()
    listed = {}
    for name, (cached, computed, drift) in expected.drifted.items():
        row = re.search(
            rf"{re.escape(name)}\s+{cached:,}\s+{computed:,}\s+{re.escape(f'{drift:+,}')}\s+(minor|material)",
            screen,
        )
        assert row is not None, f"{name} is not listed as drifted:\n{terminal.framed()}"
        listed[name] = screen.index(row.group(0))
    order = sorted(listed, key=listed.__getitem__)
    largest = max(expected.drifted, key=lambda name: abs(expected.drifted[name][2]))
    assert order[0] == largest

    # Drill into the first (largest) account: its figures and the likely cause.
    terminal.send("enter")
    cached, computed, drift = expected.drifted[largest]
    terminal.wait_for(f"{largest}: cached")
    terminal.wait_match(r"▶\s+\d{4}-\d\d-\d\d \d\d:\d\d")  # the timeline marks the entry
    detail = " ".join(terminal.panel(f"{largest}: cached").split())
    size = "material" if abs(drift) > 10 * AUDIT_TOLERANCE else "minor"
    assert detail.startswith(
        f"{largest}: cached {cached:,}, ledger {computed:,}, drift {drift:+,} ({size})."
    ), detail
    cause = next((c for c in CAUSES if c in detail), None)
    assert cause is not None, detail
    terminal.close()

    assert cause in CAUSES
    assert balances(path, casino_id) == before
    assert drift_facts(path, casino_id, AUDIT_TOLERANCE) == expected
    with connect(path) as connection:
        checkpoints = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(verified_entries), 0) FROM drift_checkpoint"
            " WHERE casino_id = ?",
            (casino_id.hex,),
        ).fetchone()
    # The full audit records what it verified, for later re-audits from the checkpoints.
    assert checkpoints[0] > 0 and checkpoints[1] <= expected.entries


# -- 3. a loyalty manager's reconciliation of the demo batch ---------------------------------


def case_row(case: str, tier: Tier | None) -> int:
    """The row number (file order) of the demo batch's row for a case of
    pitterm.demo.RECON_CASES: the first with that case for a player at that tier."""
    for index, (what, now, _label, _days) in enumerate(demo.RECON_CASES):
        if (what, now) == (case, tier):
            return index + 1
    raise AssertionError(f"the demo batch has no {case!r} row for a player at {tier}")


UNMAPPED_ROW = case_row("unmapped label", Tier.GOLD)
"""A gold player's "Black Card" row: it waits for the label's mapping (diamond here: an
upgrade once mapped)."""
STALE_ROW = case_row("stale", Tier.BRONZE)
"""A bronze player's 'SILVER' row, last activity 400 days ago: an upgrade that applies only
with the reviewer's explicit confirmation."""
DOWNGRADE_ROW = case_row("downgrade", Tier.PLATINUM)
"""A platinum player's 'SILVER' row: a downgrade, which only an admin's override applies."""
REVERT_REASON = "Black Card is under review with the vendor"
RECON_PENDING_AT_START = {
    "upgrade": 5,
    "no change": 1,
    "downgrade": 2,
    "seed": 1,
    "ignore": 1,
    "unmapped": 1,
    "fresh": 9,
    "stale": 1,
    "unknown": 1,
}
"""The demo batch's pending rows by proposed outcome and by freshness, as the counts at the
top of the queue show them (outcomes and freshness of pending rows are computed live, so the
database has no column to count them from)."""


@dataclass(frozen=True)
class ReconRecord:
    """One record of the demo batch with its player, as the database holds them."""

    row: int
    player_id: uuid.UUID
    name: str
    card: str
    vendor_label: str
    label_state: LabelState
    mapped_tier: Tier | None
    status: ReconStatus
    outcome: ReconOutcome | None
    freshness: Freshness | None
    freshness_confirmed: bool
    tier_before: Tier | None
    tier_after: Tier | None
    override_reason: str | None
    applied_by: uuid.UUID | None
    reverted_by: uuid.UUID | None
    tier: Tier | None
    """The player's tier now (None: no loyalty record)."""


@dataclass(frozen=True)
class ReconState:
    batch_id: uuid.UUID
    records: dict[int, ReconRecord]
    staff: dict[str, uuid.UUID]
    audits: list[tuple[str, str, uuid.UUID | None, dict[str, object], dict[str, object]]]
    """The recon.* audit rows, oldest first: (action, entity_id, staff_id, before, after)."""
    mapping: tuple[Tier | None, bool, uuid.UUID] | None
    """The "Black Card" mapping: (tier, ignored, mapped_by), None while there is none."""

    def status_counts(self) -> dict[str, int]:
        """Records by status, labelled as the queue's counts label them."""
        counts = dict.fromkeys((status_label(status) for status in ReconStatus), 0)
        for record in self.records.values():
            counts[status_label(record.status)] += 1
        return counts


def status_label(status: ReconStatus) -> str:
    return status.value.replace("_", " ")


def recon_state(data_dir: Path, casino_id: uuid.UUID) -> ReconState:
    """The demo batch's records, their players' tiers, the audit trail and the Black Card
    mapping, read through the domain's own tables."""
    database = open_database(data_dir)
    try:
        with database.reader(Scope(casino_id)) as uow:
            session = uow.session
            batch_id = session.scalar(
                select(ImportBatch.id).where(ImportBatch.file_name == demo.RECON_FILE)
            )
            assert batch_id is not None, f"the demo has no batch {demo.RECON_FILE}"
            r = LoyaltyReconciliation
            rows = session.execute(
                select(
                    r.row_number,
                    r.player_id,
                    Player.first_name,
                    Player.last_name,
                    Player.loyalty_card_number,
                    r.vendor_label,
                    r.label_state,
                    r.mapped_tier,
                    r.status,
                    r.outcome,
                    r.freshness,
                    r.freshness_confirmed,
                    r.tier_before,
                    r.tier_after,
                    r.override_reason,
                    r.applied_by,
                    r.reverted_by,
                    PlayerLoyalty.tier,
                )
                .join(Player, Player.id == r.player_id)
                .outerjoin(
                    PlayerLoyalty,
                    (PlayerLoyalty.player_id == r.player_id)
                    & (PlayerLoyalty.casino_id == r.casino_id),
                )
                .where(r.batch_id == batch_id)
                .order_by(r.row_number)
            ).all()
            records = {
                row.row_number: ReconRecord(
                    row=row.row_number,
                    player_id=row.player_id,
                    name=f"{row.first_name} {row.last_name}",
                    card=row.loyalty_card_number,
                    vendor_label=row.vendor_label,
                    label_state=row.label_state,
                    mapped_tier=row.mapped_tier,
                    status=row.status,
                    outcome=row.outcome,
                    freshness=row.freshness,
                    freshness_confirmed=row.freshness_confirmed,
                    tier_before=row.tier_before,
                    tier_after=row.tier_after,
                    override_reason=row.override_reason,
                    applied_by=row.applied_by,
                    reverted_by=row.reverted_by,
                    tier=row.tier,
                )
                for row in rows
            }
            staff = {
                row.code: row.id
                for row in session.execute(select(Staff.code, Staff.id).where(Staff.code == "LM1"))
            }
            audits = [
                (row.action, row.entity_id, row.staff_id, row.before or {}, row.after or {})
                for row in session.execute(
                    select(
                        AuditLog.action,
                        AuditLog.entity_id,
                        AuditLog.staff_id,
                        AuditLog.before,
                        AuditLog.after,
                    )
                    .where(AuditLog.action.like("recon.%"))
                    .order_by(AuditLog.created_at, AuditLog.id)
                )
            ]
            mapping = session.execute(
                select(
                    LoyaltyTierMapping.tier,
                    LoyaltyTierMapping.ignored,
                    LoyaltyTierMapping.mapped_by,
                ).where(
                    LoyaltyTierMapping.batch_id == batch_id,
                    LoyaltyTierMapping.vendor_label == demo.RECON_UNMAPPED,
                )
            ).one_or_none()
    finally:
        database.dispose()
    return ReconState(
        batch_id=batch_id,
        records=records,
        staff=staff,
        audits=audits,
        mapping=(mapping.tier, mapping.ignored, mapping.mapped_by) if mapping else None,
    )


BATCH_LINE = re.compile(
    r"^\s*\d{4}-\d\d-\d\d \d\d:\d\d\s+(\S+)\s+(\w+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$", re.M
)
"""A line of Reconcile mode's batches list: file, status, records, pending, unmapped labels."""


def batches_listing(screen: str) -> list[tuple[str, ...]] | None:
    """The batches list's lines, once it lists the demo batch (the screen draws top to
    bottom: when that line shows, every line above it has too)."""
    found: list[tuple[str, ...]] = BATCH_LINE.findall(screen)
    return found if any(line[0] == demo.RECON_FILE for line in found) else None


STATUS_COUNTS = re.compile(r"^\s*Status\s+(pending [\d,]+ · applied [\d,]+ · .*)$", re.M)
PENDING_COUNTS = re.compile(
    r"^\s*Pending\s+(upgrade [\d,]+ · .*?)\s+│\s+(fresh [\d,]+ · .*)$", re.M
)


def tallies(text: str) -> dict[str, int]:
    """'pending 11 · applied 1 · no change 0' → {'pending': 11, 'applied': 1, 'no change': 0}."""
    counted: dict[str, int] = {}
    for part in text.split(" · "):
        name, _, number = part.strip().rpartition(" ")
        counted[name] = points_value(number)
    return counted


def queue_counts(screen: str) -> tuple[dict[str, int], dict[str, int]] | None:
    """The counts at the top of the queue: records by status, and pending rows by outcome and
    freshness (None while the queue is not on screen)."""
    statuses, pending = STATUS_COUNTS.search(screen), PENDING_COUNTS.search(screen)
    if statuses is None or pending is None:
        return None
    return tallies(statuses.group(1)), tallies(pending.group(1)) | tallies(pending.group(2))


def wait_counts(terminal: Terminal, statuses: dict[str, int], pending: dict[str, int]) -> None:
    terminal.wait_until(
        lambda screen: queue_counts(screen) == (statuses, pending),
        f"the queue's counts to read {statuses} and pending {pending}",
    )


def queue_cells(screen: str, record: ReconRecord) -> list[str] | None:
    """A record's line in the queue: its Maps to, Tier now, Outcome, Fresh and Status cells."""
    line = re.search(
        rf"^\s*{record.row}\s+{re.escape(record.name)}\s+{re.escape(record.card)}\s+"
        rf"{re.escape(record.vendor_label)}\s{{2,}}(\S.*)$",
        screen,
        re.M,
    )
    return re.split(r"\s{2,}", line.group(1)) if line else None


def wait_cells(terminal: Terminal, record: ReconRecord, *cells: str) -> None:
    terminal.wait_until(
        lambda screen: queue_cells(screen, record) == list(cells),
        f"queue row {record.row} to read {' | '.join(cells)}",
    )


def notices(screen: str) -> str:
    """The text of the notifications on screen, all whitespace taken out (a toast wraps its
    message anywhere, even inside a long path): on each line, what stands right of a toast's
    left edge (▌), up to the toast's right padding."""
    parts = [
        re.split(r"\s{3,}", line.split("▌", 1)[1].strip())[0]
        for line in screen.splitlines()
        if "▌" in line
    ]
    return "".join("".join(parts).split())


def wait_notice(terminal: Terminal, message: str) -> None:
    squashed = "".join(message.split())
    terminal.wait_until(lambda screen: squashed in notices(screen), f"the notification {message!r}")


def dialog_text(screen: str) -> str:
    """The text inside the dialog on screen, all whitespace taken out: on each line, what
    stands between the dialog's side borders (█), whatever the screen shows around it."""
    parts = [
        line[line.index("█") + 1 : line.rindex("█")]
        for line in screen.splitlines()
        if line.count("█") >= 2
    ]
    return "".join("".join(parts).split())


def wait_dialog(terminal: Terminal, text: str) -> None:
    squashed = "".join(text.split())
    terminal.wait_until(
        lambda screen: squashed in dialog_text(screen), f"the dialog to say {text!r}"
    )


def diff_header(record: ReconRecord) -> str:
    """The first line of the diff pane when the queue's cursor is on ``record``."""
    return rf"Row {record.row}\s+{re.escape(record.name)} · card {re.escape(record.card)}\b"


def cursor_to(terminal: Terminal, at: ReconRecord, to: ReconRecord) -> None:
    """Move the queue's cursor with the arrow keys and wait for the row's diff (the queue is
    unfiltered, in file order: row n is the n-th line)."""
    steps = to.row - at.row
    terminal.send(*["down" if steps > 0 else "up"] * abs(steps))
    terminal.wait_match(diff_header(to))


def test_a_loyalty_manager_reconciliation(
    data_dir: Path, terminals: list[Terminal], tmp_path: Path
) -> None:
    """LM1 opens the demo's executed batch in Reconcile mode (F6): maps the unmapped "Black
    Card" label to diamond in the tier-label editor, applies that row's upgrade, applies the
    stale row with the confirmation its dialog asks for, is refused the downgrade with its
    error code, reverts the upgrade, and writes the report. The counts at the top and the
    rows' statuses follow each step; the database holds the same: the records, the players'
    tiers, the mapping, one audit row per change and none for the refusal, and the report file
    lists every record as the database has it."""
    path = database_file(data_dir)
    casino_id = casino_id_of(path, CASINO)
    start = recon_state(data_dir, casino_id)
    records = start.records
    unmapped, stale, downgrade = (records[UNMAPPED_ROW], records[STALE_ROW], records[DOWNGRADE_ROW])
    assert len(records) == 12
    assert (unmapped.vendor_label, unmapped.label_state, unmapped.tier) == (
        demo.RECON_UNMAPPED,
        LabelState.UNMAPPED,
        Tier.GOLD,
    )
    assert (stale.status, stale.tier, stale.mapped_tier) == (
        ReconStatus.PENDING,
        Tier.BRONZE,
        Tier.SILVER,
    )
    assert (downgrade.status, downgrade.tier, downgrade.mapped_tier) == (
        ReconStatus.PENDING,
        Tier.PLATINUM,
        Tier.SILVER,
    )
    assert start.mapping is None
    statuses = start.status_counts()
    assert statuses == {"pending": 11, "applied": 1, "no change": 0, "ignored": 0, "reverted": 0}
    pending = dict(RECON_PENDING_AT_START)
    manager = start.staff["LM1"]
    terminal = start_pitterm(data_dir, terminals)

    sign_in(terminal, "LM1", "5001", "Hannah Kowalski", "Loyalty Manager")
    terminal.wait_for("F6 Reconcile")
    terminal.send("f6")
    listed = terminal.wait_until(batches_listing, f"the import batches to list {demo.RECON_FILE}")
    assert isinstance(listed, list)
    files = [line[0] for line in listed]
    # Executed, 12 records, 11 pending, one unmapped label (Black Card): as the tables say.
    assert listed[files.index(demo.RECON_FILE)][1:] == ("executed", "12", "11", "1")
    terminal.send(*["down"] * files.index(demo.RECON_FILE), "enter")
    terminal.wait_match(
        rf"Batch\s+{re.escape(demo.RECON_FILE)} · executed \d{{4}}-\d\d-\d\d · 12 records ·"
        r" 1 unmapped vendor tier label \(l: tier labels\)"
    )
    wait_counts(terminal, statuses, pending)
    first = records[1]
    terminal.wait_match(diff_header(first))  # the cursor starts on the first row
    wait_cells(terminal, unmapped, "unmapped", "gold", "unmapped", "fresh", "pending")

    # The Black Card row waits for its label's mapping: the diff says so.
    cursor_to(terminal, first, unmapped)
    terminal.wait_match(r"Vendor tier\s+'Black Card' · unmapped: waiting for a mapping \(l\)")
    terminal.wait_match(r"Needs\s+map the vendor tier 'Black Card' to a tier")

    # The tier-label editor: map Black Card to diamond.
    terminal.send("l")
    terminal.wait_for(f"Vendor tier labels of {demo.RECON_FILE}")
    screen = terminal.wait_match(r"(?m)^\s*Black Card\s+1\s+1\s+unmapped$").string
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if re.match(r"\s*Vendor tier\s+Rows", line))
    label_lines = lines[header + 1 :]
    black_card = next(
        i for i, line in enumerate(label_lines) if re.match(r"\s*Black Card\s{2,}", line)
    )
    terminal.send(*["down"] * black_card, "enter")
    terminal.wait_for("Map the vendor tier 'Black Card'")
    wait_dialog(terminal, "1 staged row, 1 pending. Now: unmapped.")
    # The choices list the tiers lowest first; an unmapped label starts on the lowest.
    terminal.send(*["down"] * list(Tier).index(Tier.DIAMOND), "enter")
    wait_notice(terminal, "'Black Card' now maps to diamond; 1 pending row follows.")
    terminal.wait_match(r"(?m)^\s*Black Card\s+1\s+1\s+diamond\s+LM1\s+\d{4}-\d\d-\d\d \d\d:\d\d$")
    terminal.send("escape")
    terminal.wait_match(rf"{re.escape(demo.RECON_FILE)} · .* · every vendor tier label mapped")
    pending |= {"upgrade": 6, "unmapped": 0}
    wait_counts(terminal, statuses, pending)
    wait_cells(terminal, unmapped, "diamond", "gold", "upgrade", "fresh", "pending")
    terminal.wait_match(diff_header(unmapped))
    terminal.wait_match(r"Summary\s+Upgrade gold → diamond\.")

    # Apply it: a fresh upgrade applies at once.
    terminal.send("a")
    wait_notice(terminal, f"Row {UNMAPPED_ROW} applied: {unmapped.name} gold → diamond.")
    statuses |= {"pending": 10, "applied": 2}
    pending |= {"upgrade": 5, "fresh": 8}
    wait_counts(terminal, statuses, pending)
    wait_cells(terminal, unmapped, "diamond", "diamond", "upgrade", "fresh", "applied")
    terminal.wait_match(r"Summary\s+Applied by LM1: gold → diamond \(upgrade\)\.")

    # The stale row asks for an explicit confirmation in a dialog; Yes applies it.
    cursor_to(terminal, unmapped, stale)
    stale_seen = terminal.wait_match(
        r"Freshness\s+stale: last activity (\d{4}-\d\d-\d\d), 400 days ago"
    ).group(1)
    terminal.wait_match(r"Needs\s+explicit confirmation: freshness is stale")
    terminal.send("a")
    terminal.wait_for("Confirm a stale row")
    wait_dialog(
        terminal,
        f"Row {STALE_ROW} · {stale.name} · card {stale.card}: the last activity is"
        f" {stale_seen}, 400 days ago — older than the casino's 90-day freshness threshold."
        " Upgrade: bronze → silver. Apply it with your explicit confirmation?",
    )
    terminal.send("y")
    wait_notice(terminal, f"Row {STALE_ROW} applied: {stale.name} bronze → silver.")
    statuses |= {"pending": 9, "applied": 3}
    pending |= {"upgrade": 4, "stale": 0}
    wait_counts(terminal, statuses, pending)
    wait_cells(terminal, stale, "silver", "silver", "upgrade", "stale", "applied")

    # The downgrade: a loyalty manager is refused, with the error code; nothing changes.
    cursor_to(terminal, stale, downgrade)
    terminal.wait_match(r"Summary\s+Downgrade platinum → silver is blocked unless")
    terminal.wait_match(r"Needs\s+an admin override with a reason")
    terminal.send("a")
    wait_notice(
        terminal,
        "RECON_DOWNGRADE_NEEDS_OVERRIDE: The mapped tier (silver) is below the current tier"
        " (platinum)",
    )
    assert "Override a tier downgrade" not in terminal.text()  # no reason asked of this role
    wait_counts(terminal, statuses, pending)
    wait_cells(terminal, downgrade, "silver", "platinum", "downgrade", "fresh", "pending")

    # Revert the Black Card upgrade, with a reason.
    cursor_to(terminal, downgrade, unmapped)
    terminal.wait_match(r"Status\s+applied · decided by LM1 ")
    terminal.send("r")
    terminal.wait_for("Revert a tier change")
    wait_dialog(
        terminal,
        f"Row {UNMAPPED_ROW} · {unmapped.name} · card {unmapped.card}"
        " Tier now diamond; back to gold (was gold → diamond, applied by LM1).",
    )
    # (An empty field shows no terminal cursor: the typed text on the Reason line shows it
    # went where it should before Enter saves.)
    terminal.type(REVERT_REASON)
    terminal.wait_match(rf"Reason\s+▊\s+{re.escape(REVERT_REASON)}\s+▎")
    terminal.send("enter")
    wait_notice(
        terminal, f"Row {UNMAPPED_ROW} reverted: {unmapped.name} is back to gold (was diamond)."
    )
    statuses |= {"applied": 2, "reverted": 1}
    wait_counts(terminal, statuses, pending)
    wait_cells(terminal, unmapped, "diamond", "gold", "upgrade", "fresh", "reverted")
    terminal.wait_match(r"Summary\s+Reverted by LM1: back to gold")

    # The report, written where the form is told to.
    report = tmp_path / "legacy-club-tiers-q3-reconciliation.csv"
    terminal.send("e")
    terminal.wait_for("Write the reconciliation report")
    # The form offers a file in the home folder: clear the field, type the path, check it.
    terminal.wait_match(r"File\s+▊.*-reconciliation-\d{8}T\d{6}Z\.csv\s+▎")
    terminal.send("ctrl+u")
    terminal.wait_match(r"File\s+▊\s+▎")
    terminal.type(str(report))
    terminal.wait_match(rf"File\s+▊.*{re.escape(report.name)}\s+▎")
    terminal.send("enter")
    wait_notice(terminal, f"12 reconciliation records written to {report}")
    terminal.wait_gone("Write the reconciliation report")
    terminal.close()

    # The database: what the screen said.
    end = recon_state(data_dir, casino_id)
    assert end.status_counts() == statuses
    assert end.mapping == (Tier.DIAMOND, False, manager)
    after = end.records
    reverted, applied, refused = after[UNMAPPED_ROW], after[STALE_ROW], after[DOWNGRADE_ROW]
    assert (reverted.status, reverted.outcome, reverted.label_state, reverted.mapped_tier) == (
        ReconStatus.REVERTED,
        ReconOutcome.UPGRADE,
        LabelState.MAPPED,
        Tier.DIAMOND,
    )
    assert (reverted.tier_before, reverted.tier_after, reverted.tier) == (
        Tier.GOLD,
        Tier.DIAMOND,
        Tier.GOLD,
    )
    assert reverted.applied_by == reverted.reverted_by == manager
    assert (applied.status, applied.outcome, applied.freshness, applied.freshness_confirmed) == (
        ReconStatus.APPLIED,
        ReconOutcome.UPGRADE,
        Freshness.STALE,
        True,
    )
    assert (applied.tier_before, applied.tier_after, applied.tier) == (
        Tier.BRONZE,
        Tier.SILVER,
        Tier.SILVER,
    )
    assert applied.applied_by == manager and applied.reverted_by is None
    assert (refused.status, refused.outcome, refused.override_reason, refused.tier) == (
        ReconStatus.PENDING,
        None,
        None,
        Tier.PLATINUM,
    )
    assert refused.applied_by is None
    # Every other record, and its player's tier, is as it was.
    touched = {UNMAPPED_ROW, STALE_ROW}
    assert {n: r for n, r in after.items() if n not in touched} == {
        n: r for n, r in records.items() if n not in touched
    }

    # One audit row per change, in order, all by LM1; none for the refused downgrade.
    new = end.audits[len(start.audits) :]
    assert end.audits[: len(start.audits)] == start.audits
    batch = str(end.batch_id)
    assert [(action, entity) for action, entity, *_ in new] == [
        ("recon.mapping_set", batch),
        ("recon.applied", f"{batch}:{UNMAPPED_ROW}"),
        ("recon.applied", f"{batch}:{STALE_ROW}"),
        ("recon.reverted", f"{batch}:{UNMAPPED_ROW}"),
    ]
    assert {staff for _, _, staff, _, _ in new} == {manager}
    mapped, upgraded, confirmed, undone = ((before, after) for *_, before, after in new)
    assert mapped[0]["target"] == "unmapped"
    assert (mapped[1]["vendor_label"], mapped[1]["target"], mapped[1]["pending_updated"]) == (
        demo.RECON_UNMAPPED,
        "diamond",
        1,
    )
    assert (upgraded[0]["tier"], upgraded[1]["tier"], upgraded[1]["status"]) == (
        "gold",
        "diamond",
        "applied",
    )
    assert (confirmed[0]["tier"], confirmed[1]["tier"]) == ("bronze", "silver")
    assert (confirmed[1]["freshness"], confirmed[1]["freshness_confirmed"]) == ("stale", True)
    assert (undone[0]["tier"], undone[1]["tier"], undone[1]["reason"]) == (
        "diamond",
        "gold",
        REVERT_REASON,
    )

    # The report: every record, in file order, as the database holds it.
    with report.open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [int(line["row"]) for line in written] == sorted(after)
    for line in written:
        record = after[int(line["row"])]
        assert (
            line["player_id"],
            line["player"],
            line["card"],
            line["vendor_tier"],
            line["label_state"],
            line["mapped_tier"],
            line["status"],
            line["tier_before"],
            line["tier_after"],
            line["canonical_tier_now"],
        ) == (
            str(record.player_id),
            record.name,
            record.card,
            record.vendor_label,
            record.label_state.value,
            record.mapped_tier.value if record.mapped_tier else "",
            record.status.value,
            record.tier_before.value if record.tier_before else "",
            record.tier_after.value if record.tier_after else "",
            record.tier.value if record.tier else "",
        ), line
    by_row = {int(line["row"]): line for line in written}
    assert (by_row[UNMAPPED_ROW]["applied_by"], by_row[UNMAPPED_ROW]["reverted_by"]) == (
        "LM1",
        "LM1",
    )
    assert (by_row[STALE_ROW]["freshness"], by_row[STALE_ROW]["freshness_confirmed"]) == (
        "stale",
        "true",
    )
    assert (by_row[DOWNGRADE_ROW]["outcome"], by_row[DOWNGRADE_ROW]["applied_by"]) == (
        "downgrade",
        "",
    )
