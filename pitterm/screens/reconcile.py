"""Reconcile mode (DESIGN §9): an import batch's tier queue, its tier mapping, the diff, apply.

Three panes in one mode screen. *Batches*: the casino's reviewable import batches. *Queue*:
one batch's counts at the top, its reconciliation records a page at a time (keyset, in file
order) under the status / outcome / freshness filters, and the diff of the highlighted row
below — staged against canonical tier, the proposal, conflicts, freshness and what an apply
still needs. *Tier labels*: the batch's vendor labels and where each maps.

Every decision is the service's (upgrade-only, confirmation of stale rows, the admin's
downgrade override); this screen asks the questions it will ask before sending, and shows a
refusal as a notification with its error code. Apply keeps one idempotency key per row until
it succeeds, so a retry after a lost answer repeats the same request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, TypeVar
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, DataTable, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import get_current_worker

from pitterm.domain import reconciliation as recon
from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can
from pitterm.domain.database import Database
from pitterm.domain.enums import Tier
from pitterm.domain.recon_rules import (
    TIER_CHANGES,
    Freshness,
    LabelState,
    ReconOutcome,
    ReconStatus,
)
from pitterm.domain.reconciliation import (
    Applied,
    ApplyReconciliation,
    ApplyRowResult,
    MappingChanged,
    QueueCounts,
    QueueFilter,
    QueuePage,
    ReconBatch,
    ReconDiff,
    ReconRow,
    Reverted,
    SetTierMapping,
    TierLabel,
)
from pitterm.screens.base import ModeScreen
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.csv_export import Exported, ask_to_export
from pitterm.screens.reconcile_modals import (
    CLEAR,
    IGNORE,
    MappingModal,
    OverrideModal,
    RevertModal,
    row_title,
    tier_name,
)
from pitterm.widgets.literal import literal

PAGE_SIZE = 100
"""Records per page of the queue."""

BATCHES, QUEUE, LABELS = "recon-batches-pane", "recon-queue-pane", "recon-labels-pane"
_PANE_ACTIONS = {
    QUEUE: {
        "apply",
        "apply_selected",
        "toggle_select",
        "confirm_stale",
        "override",
        "revert",
        "cycle_status",
        "cycle_outcome",
        "cycle_freshness",
        "clear_filters",
        "next_page",
        "previous_page",
        "labels",
    },
    LABELS: {"map_label"},
}
"""Actions that belong to one pane (the others work wherever a batch is open, or anywhere)."""

E = TypeVar("E")


def _next(cycle: Sequence[E | None], current: E | None) -> E | None:
    return cycle[(cycle.index(current) + 1) % len(cycle)]


STATUS_CYCLE: tuple[ReconStatus | None, ...] = (None, *ReconStatus)
OUTCOME_CYCLE: tuple[ReconOutcome | None, ...] = (None, *ReconOutcome)
FRESHNESS_CYCLE: tuple[Freshness | None, ...] = (None, *Freshness)

QUEUE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("", "mark", 2),
    ("Row", "row", 4),
    ("Player", "player", 20),
    ("Card", "card", 10),
    ("Vendor tier", "vendor", 14),
    ("Maps to", "mapped", 9),
    ("Tier now", "now", 9),
    ("Outcome", "outcome", 10),
    ("Fresh", "fresh", 8),
    ("Status", "status", 9),
)
"""(label, key, width): fixed widths, so a page never reflows as it refills."""

STATUS_LABELS = {status: status.value.replace("_", " ") for status in ReconStatus}
SHORT_OUTCOMES = {
    ReconOutcome.UPGRADE: "upgrade",
    ReconOutcome.NO_CHANGE: "no change",
    ReconOutcome.DOWNGRADE: "downgrade",
    ReconOutcome.SEED: "seed",
    ReconOutcome.IGNORE: "ignore",
    ReconOutcome.UNMAPPED: "unmapped",
}


def _bind(key: str, action: str, description: str, tooltip: str, *, show: bool = True) -> Binding:
    return Binding(key, action, description, id=f"recon.{action}", tooltip=tooltip, show=show)


class ReconcileScreen(ModeScreen):
    """Tier reconciliation: batches, the queue with its counts and diff, the tier mapping."""

    HELP = """
    Review the vendor tiers of an executed import batch against pitterm's tiers. Pick a batch
    (Enter); the queue shows its records with counts at the top, filtered by status (s),
    outcome (t) and freshness (f). The pane below the queue is the highlighted row's diff:
    vendor tier, what it maps to, the tier now, the proposal, conflicts, freshness and what
    an apply still needs. Imported points are shown for reference and never reach the
    ledger.

    a applies the highlighted row: upgrades and first tiers apply, an equal tier is recorded
    as no change, an ignored label as ignored. A row whose last activity is stale or unknown
    asks for your explicit confirmation first (or mark it with c beforehand). A downgrade
    needs an admin override with a reason (o, admins only). Space selects rows and A applies
    the selection, each row on its own. r reverts an applied change unless the tier changed
    since. l lists the batch's vendor tier labels to map one to a tier or to ignore. e writes
    the batch's report to a CSV file.
    """

    MODE_NAME = "reconcile"
    MODE_TITLE = "Reconcile"

    BINDINGS: ClassVar[list[BindingType]] = [
        _bind("a", "apply", "Apply", "Apply the highlighted row (asks first when it is stale)."),
        _bind(
            "A",
            "apply_selected",
            "Apply selected",
            "Apply every selected row, each on its own; refusals are listed with their codes.",
            show=False,  # the filter line says so once rows are selected
        ),
        _bind(
            "space",
            "toggle_select",
            "Select",
            "Select or unselect the highlighted pending row for Apply selected.",
            show=False,
        ),
        _bind(
            "c",
            "confirm_stale",
            "Confirm stale",
            "Give (or take back) your explicit confirmation of the highlighted row's stale or"
            " unknown freshness; applying it then asks nothing more.",
        ),
        _bind(
            "o",
            "override",
            "Override",
            "Admins: apply the highlighted downgrade with an override reason.",
        ),
        _bind("r", "revert", "Revert", "Undo the highlighted row's applied tier change."),
        _bind("s", "cycle_status", "Status", "Filter the queue by status (cycles).", show=False),
        _bind(
            "t",
            "cycle_outcome",
            "Outcome",
            "Filter the queue by outcome: proposed, or decided (cycles).",
            show=False,
        ),
        _bind(
            "f",
            "cycle_freshness",
            "Freshness",
            "Filter the queue by freshness: fresh, stale, unknown (cycles).",
            show=False,
        ),
        _bind("x", "clear_filters", "All rows", "Clear the queue's filters.", show=False),
        _bind("n", "next_page", "Next page", "The next page of the queue.", show=False),
        _bind("p", "previous_page", "Prev page", "The previous page of the queue.", show=False),
        _bind("l", "labels", "Tier labels", "The batch's vendor tier labels and their mapping."),
        _bind(
            "m",
            "map_label",
            "Map label",
            "Map the highlighted vendor tier label to a tier, to ignore, or clear it.",
        ),
        _bind("e", "export", "Report", "Write the batch's reconciliation report to a CSV file."),
        _bind(
            "b",
            "batches",
            "Batches",
            "The casino's import batches; Enter opens one.",
            show=False,  # Escape from the queue goes there too
        ),
        _bind("escape", "back", "Back", "Back: from the labels to the queue, then the batches."),
    ]

    switcher = getters.query_one("#recon-panes", ContentSwitcher)
    batches_note = getters.query_one("#recon-batches-note", Static)
    batches_grid = getters.query_one("#recon-batch-list", DataTable)
    counts_box = getters.query_one("#recon-counts", Static)
    filter_line = getters.query_one("#recon-filter", Static)
    queue_grid = getters.query_one("#recon-queue", DataTable)
    diff_box = getters.query_one("#recon-diff", Static)
    labels_note = getters.query_one("#recon-labels-note", Static)
    labels_grid = getters.query_one("#recon-labels", DataTable)

    def __init__(self) -> None:
        super().__init__()
        self.current_batch: ReconBatch | None = None
        """The batch the queue and labels panes show."""
        self._batches: dict[str, ReconBatch] = {}
        """The batches list on screen, by row key."""
        self.where = QueueFilter()
        """The queue's filters."""
        self.rows: dict[int, ReconRow] = {}
        """The page on screen, by row number."""
        self.labels: list[TierLabel] = []
        self.counts: QueueCounts | None = None
        self.diff: ReconDiff | None = None
        """The highlighted row's diff, once read."""
        self.selected: set[int] = set()
        """Row numbers selected for Apply selected (across pages)."""
        self.confirmed: set[int] = set()
        """Row numbers whose stale or unknown freshness the reviewer confirmed (c)."""
        self._page_starts: list[int] = [0]
        """after_row of each page visited, for the previous-page key."""
        self._next_after: int | None = None
        self._keys: dict[tuple[str, int], uuid.UUID] = {}
        """One idempotency key per (operation, row), kept until that request succeeds."""

    # -- layout -------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with ContentSwitcher(initial=BATCHES, id="recon-panes"):
            with Vertical(id=BATCHES):
                yield Static("Reading the import batches…", id="recon-batches-note")
                yield DataTable(id="recon-batch-list", cursor_type="row", zebra_stripes=True)
            with Vertical(id=QUEUE):
                yield Static("", id="recon-counts")
                yield Static("", id="recon-filter")
                yield DataTable(id="recon-queue", cursor_type="row", zebra_stripes=True)
                yield Static("", id="recon-diff")
            with Vertical(id=LABELS):
                yield Static("", id="recon-labels-note")
                yield DataTable(id="recon-labels", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for label, key, width in (
            ("Created", "created", 16),
            ("File", "file", 32),
            ("Status", "status", 9),
            ("Records", "records", 7),
            ("Pending", "pending", 7),
            ("Unmapped labels", "unmapped", 15),
        ):
            self.batches_grid.add_column(label, key=key, width=width)
        for label, key, width in QUEUE_COLUMNS:
            self.queue_grid.add_column(label, key=key, width=width)
        for label, key, width in (
            ("Vendor tier", "label", 20),
            ("Rows", "rows", 6),
            ("Pending", "pending", 7),
            ("Maps to", "target", 9),
            ("Mapped by", "by", 9),
            ("Mapped at", "at", 16),
        ):
            self.labels_grid.add_column(label, key=key, width=width)
        self.batches_grid.focus()
        self.load_batches(self.session.database, self.session.signed_in())

    def on_screen_resume(self) -> None:
        # (Textual runs the base classes' handlers too: the header and banner refresh.)
        if self.is_mounted and self.session.actor is not None:
            self._reload()

    # -- keys per pane ------------------------------------------------------------------

    @property
    def pane(self) -> str:
        return self.switcher.current or BATCHES

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.session.actor
        if action == "override" and (
            actor is None or not can(actor.role, Capability.OVERRIDE_DOWNGRADE)
        ):
            return False
        if action == "back":
            return self.pane != BATCHES
        if action == "export":
            return self.pane != BATCHES and self.current_batch is not None
        owners = [pane for pane, actions in _PANE_ACTIONS.items() if action in actions]
        if not owners:
            return True
        if self.pane not in owners:
            return False
        if action == "next_page":
            return self._next_after is not None or None
        if action == "previous_page":
            return len(self._page_starts) > 1 or None
        if action == "apply_selected":
            return bool(self.selected) or None
        if action in {"apply", "toggle_select", "confirm_stale", "override", "revert"}:
            return self._current_row() is not None or None
        if action == "map_label":
            return self._current_label() is not None or None
        return True

    def _show_pane(self, pane: str) -> None:
        self.switcher.current = pane
        grids = {BATCHES: self.batches_grid, QUEUE: self.queue_grid, LABELS: self.labels_grid}
        grids[pane].focus()
        if pane == QUEUE:
            self._load_diff()
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.pane == LABELS:
            self._show_pane(QUEUE)
        elif self.pane == QUEUE:
            self.action_batches()

    def action_batches(self) -> None:
        self._show_pane(BATCHES)
        self.load_batches(self.session.database, self.session.signed_in())

    def action_labels(self) -> None:
        if self.current_batch is not None:
            self._show_pane(LABELS)
            self._reload()

    def _reload(self) -> None:
        """Read again what the pane on screen shows (after a change, or on return)."""
        if self.pane == BATCHES or self.current_batch is None:
            self.load_batches(self.session.database, self.session.signed_in())
        else:
            self._load_queue(self._page_starts[-1])

    # -- batches ------------------------------------------------------------------------

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="recon-batches",
        description="List the batches to reconcile",
    )
    def load_batches(self, database: Database, actor: Actor) -> None:
        batches = recon.list_batches(database.reader(actor), actor)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_batches, batches)

    def _show_batches(self, batches: list[ReconBatch]) -> None:
        grid = self.batches_grid
        keep = self._key_at(grid)
        grid.clear()
        self._batches = {str(b.batch_id): b for b in batches}
        for b in batches:
            grid.add_row(
                f"{self._local(b.created_at):%Y-%m-%d %H:%M}",
                literal(b.file_name),
                b.status.value,
                f"{b.records:,}",
                f"{b.pending:,}",
                f"{b.unmapped_labels:,}",
                key=str(b.batch_id),
            )
        self._restore_cursor(grid, keep)
        self.batches_note.update(
            "Import batches of this casino, newest first. Enter opens a batch's"
            " reconciliation queue."
            if batches
            else "No import batch to reconcile yet: stage and execute one in Import mode (F5)."
        )

    @on(DataTable.RowSelected, "#recon-batch-list")
    def _batch_chosen(self, event: DataTable.RowSelected) -> None:
        batch = self._batches.get(event.row_key.value or "")
        if batch is not None:
            self.open_batch(batch)

    def open_batch(self, batch: ReconBatch) -> None:
        """Show a batch's queue from its first page (unfiltered, if it is another batch)."""
        if self.current_batch is None or self.current_batch.batch_id != batch.batch_id:
            self.selected.clear()
            self.confirmed.clear()
            self.where = QueueFilter()
        self.current_batch = batch
        self._page_starts, self._next_after = [0], None
        self.queue_grid.clear()
        self.diff_box.update("")
        self._show_pane(QUEUE)
        self._load_queue(0)

    # -- the queue ----------------------------------------------------------------------

    def _load_queue(self, after_row: int) -> None:
        if self.current_batch is not None:
            self.load_queue(
                self.session.database,
                self.session.signed_in(),
                self.current_batch.batch_id,
                self.where,
                after_row,
            )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="recon-queue",
        description="Read the reconciliation queue",
    )
    def load_queue(
        self,
        database: Database,
        actor: Actor,
        batch_id: uuid.UUID,
        where: QueueFilter,
        after_row: int,
    ) -> None:
        counts = recon.queue_counts(database.reader(actor), actor, batch_id)
        page = recon.list_queue(
            database.reader(actor), actor, batch_id, where, after_row=after_row, limit=PAGE_SIZE
        )
        labels = recon.tier_labels(database.reader(actor), actor, batch_id)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_queue, batch_id, counts, page, labels, after_row)

    def _show_queue(
        self,
        batch_id: uuid.UUID,
        counts: QueueCounts,
        page: QueuePage,
        labels: list[TierLabel],
        after_row: int,
    ) -> None:
        if self.current_batch is None or self.current_batch.batch_id != batch_id:
            return  # another batch was opened meanwhile
        self.counts, self.labels = counts, labels
        if after_row == 0:
            self._page_starts = [0]
        elif after_row not in self._page_starts:
            self._page_starts.append(after_row)
        self._next_after = page.next_after
        self.rows = {row.row_number: row for row in page.rows}
        grid = self.queue_grid
        keep = self._key_at(grid)
        grid.clear()
        for row in page.rows:
            grid.add_row(*self._cells(row), key=str(row.row_number))
        self._restore_cursor(grid, keep)
        self._show_counts()
        self._show_filter()
        self._show_labels()
        self._load_diff()
        self.refresh_bindings()

    def _cells(self, row: ReconRow) -> tuple[str | Text, ...]:
        fresh = row.freshness.value
        if row.row_number in self.confirmed and row.needs_confirmation:
            fresh += " ✓"
        return (
            self._mark(row),
            str(row.row_number),
            literal(row.player_name),
            literal(row.loyalty_card_number or "—"),
            literal(row.vendor_label or "—"),
            _mapped(row),
            tier_name(row.canonical_tier) if row.has_loyalty_record else "no record",
            SHORT_OUTCOMES[row.outcome],
            fresh,
            STATUS_LABELS[row.status],
        )

    def _mark(self, row: ReconRow) -> str:
        return "●" if row.row_number in self.selected else ""

    def _show_counts(self) -> None:
        batch, counts = self.current_batch, self.counts
        if batch is None or counts is None:
            return
        unmapped = sum(1 for label in self.labels if not label.is_mapped)
        when = (
            f" {self._local(batch.executed_at):%Y-%m-%d}" if batch.executed_at is not None else ""
        )
        head = f"{batch.file_name} · {batch.status.value}{when} · {counts.total:,} records · " + (
            f"{unmapped} unmapped vendor tier label{'s' if unmapped != 1 else ''} (l: tier labels)"
            if unmapped
            else "every vendor tier label mapped"
        )
        statuses = " · ".join(f"{STATUS_LABELS[s]} {n:,}" for s, n in counts.by_status.items())
        outcomes = " · ".join(f"{SHORT_OUTCOMES[o]} {n:,}" for o, n in counts.by_outcome.items())
        fresh = " · ".join(f"{f.value} {n:,}" for f, n in counts.by_freshness.items())
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text("Batch"), Text(head))
        table.add_row(Text("Status"), Text(statuses))
        table.add_row(Text("Pending"), Text(f"{outcomes}  │  {fresh}"))
        self.counts_box.update(table)

    def _show_filter(self) -> None:
        where = self.where
        status = STATUS_LABELS[where.status] if where.status else "all"
        outcome = SHORT_OUTCOMES[where.outcome] if where.outcome else "all"
        fresh = where.freshness.value if where.freshness else "all"
        page_no = len(self._page_starts)
        pages = []
        if self._next_after is not None:
            pages.append("n: next")
        if page_no > 1:
            pages.append("p: previous")
        paging = f" ({', '.join(pages)})" if pages else ""
        picked = f" · {len(self.selected)} selected (A applies)" if self.selected else ""
        shown = f"{len(self.rows):,} row{'s' if len(self.rows) != 1 else ''}"
        self.filter_line.update(
            Text(
                f"Status {status} (s) · outcome {outcome} (t) · freshness {fresh} (f) · x: all"
                f"  │  page {page_no}, {shown}{paging}{picked}"
            )
        )

    def action_cycle_status(self) -> None:
        self._filter(
            self.where.model_copy(update={"status": _next(STATUS_CYCLE, self.where.status)})
        )

    def action_cycle_outcome(self) -> None:
        outcome = _next(OUTCOME_CYCLE, self.where.outcome)
        self._filter(self.where.model_copy(update={"outcome": outcome}))

    def action_cycle_freshness(self) -> None:
        fresh = _next(FRESHNESS_CYCLE, self.where.freshness)
        self._filter(self.where.model_copy(update={"freshness": fresh}))

    def action_clear_filters(self) -> None:
        self._filter(QueueFilter())

    def _filter(self, where: QueueFilter) -> None:
        self.where = where
        self._page_starts, self._next_after = [0], None
        self._load_queue(0)

    def action_next_page(self) -> None:
        if self._next_after is not None:
            self._load_queue(self._next_after)

    def action_previous_page(self) -> None:
        if len(self._page_starts) > 1:
            self._page_starts.pop()
            self._load_queue(self._page_starts[-1])

    # -- the diff pane ------------------------------------------------------------------

    def _current_row(self) -> ReconRow | None:
        if self.pane != QUEUE:
            return None
        key = self._key_at(self.queue_grid)
        return self.rows.get(int(key)) if key is not None else None

    @on(DataTable.RowHighlighted, "#recon-queue")
    def _row_highlighted(self) -> None:
        self._load_diff()
        self.refresh_bindings()

    def _load_diff(self) -> None:
        if self.pane != QUEUE:
            return  # read when the queue shows again
        row = self._current_row()
        if row is None or self.current_batch is None:
            self.diff = None
            if self.counts is not None and self.counts.total == 0:
                note = (
                    "No reconciliation records: they are made when the batch is executed"
                    " (Import mode, F5). Its vendor tier labels can be mapped already (l)."
                )
            else:
                note = "No row matches the filters (x shows every row)." if not self.rows else ""
            self.diff_box.update(note)
            return
        self.load_diff(
            self.session.database, self.session.signed_in(), row.batch_id, row.row_number
        )

    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="recon-diff",
        description="Read the row's diff",
    )
    def load_diff(
        self, database: Database, actor: Actor, batch_id: uuid.UUID, row_number: int
    ) -> None:
        found = recon.diff(database.reader(actor), actor, batch_id, row_number)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_diff, found)

    def _show_diff(self, found: ReconDiff) -> None:
        current = self._current_row()
        if current is None or current.key != found.row.key:
            return  # the cursor moved on meanwhile
        self.diff = found
        self.diff_box.update(diff_table(found, self._now(), confirmed=self._confirmed(found.row)))

    def _now(self) -> datetime:
        # The terminal's clock (a trainer's simulated time ages rows too), in the casino's zone.
        return self._local(self.session.database.clock.now())

    def _local(self, moment: datetime) -> datetime:
        status = self.session.status
        return moment.astimezone(ZoneInfo(status.time_zone) if status is not None else UTC)

    def _confirmed(self, row: ReconRow) -> bool:
        return row.row_number in self.confirmed and row.needs_confirmation

    # -- apply, confirm, override, revert -----------------------------------------------

    def _key(self, operation: str, row_number: int) -> uuid.UUID:
        return self._keys.setdefault((operation, row_number), uuid.uuid4())

    def action_toggle_select(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.row_number in self.selected:
            self.selected.discard(row.row_number)
        elif not row.is_pending:
            self.notify(
                f"Row {row.row_number} is {STATUS_LABELS[row.status]}: nothing to apply.",
                markup=False,
            )
            return
        elif row.blocked:
            self.notify(
                f"Row {row.row_number}: map the vendor tier {row.vendor_label!r} first (l).",
                severity="warning",
                markup=False,
            )
            return
        elif row.needs_override:
            self.notify(
                f"Row {row.row_number} is a downgrade: it takes an override, one row at a time.",
                severity="warning",
                markup=False,
            )
            return
        else:
            self.selected.add(row.row_number)
        self._redraw(row)
        self._show_filter()
        self.refresh_bindings()

    def action_confirm_stale(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if not row.needs_confirmation:
            why = "is not pending" if not row.is_pending else f"is {row.freshness.value}"
            self.notify(f"Row {row.row_number} {why}: nothing to confirm.", markup=False)
            return
        if row.row_number in self.confirmed:
            self.confirmed.discard(row.row_number)
            self.notify(f"Row {row.row_number}: freshness confirmation taken back.", markup=False)
        else:
            self.confirmed.add(row.row_number)
            self.notify(
                f"Row {row.row_number}: {row.freshness.value} freshness confirmed;"
                " applying it will not ask again.",
                markup=False,
            )
        self._redraw(row)
        if self.diff is not None and self.diff.row.key == row.key:
            self.diff_box.update(diff_table(self.diff, self._now(), confirmed=self._confirmed(row)))

    def _redraw(self, row: ReconRow) -> None:
        key = str(row.row_number)
        cells = self._cells(row)
        self.queue_grid.update_cell(key, "mark", cells[0])
        self.queue_grid.update_cell(key, "fresh", cells[8])

    def action_apply(self) -> None:
        row = self._current_row()
        if row is None:
            return
        actor = self.session.signed_in()
        if row.needs_override and can(actor.role, Capability.OVERRIDE_DOWNGRADE):
            self.action_override()
            return
        if row.needs_confirmation and not row.needs_override and not self._confirmed(row):
            self._ask_confirmation(row, lambda: self._send_apply(row, confirm=True))
            return
        # Everything else goes to the service as it is: a non-admin's downgrade or an unmapped
        # label comes back refused, with its code.
        self._send_apply(row, confirm=self._confirmed(row))

    def action_override(self) -> None:
        row = self._current_row()
        actor = self.session.actor
        if row is None or actor is None or not can(actor.role, Capability.OVERRIDE_DOWNGRADE):
            return
        if not row.needs_override:
            self.notify(
                f"Row {row.row_number} is not a pending downgrade: there is nothing to override.",
                severity="warning",
                markup=False,
            )
            return
        if row.needs_confirmation and not self._confirmed(row):
            self._ask_confirmation(row, lambda: self._ask_override(row, confirm=True))
        else:
            self._ask_override(row, confirm=self._confirmed(row))

    def _ask_confirmation(self, row: ReconRow, then: Callable[[], None]) -> None:
        if row.freshness is Freshness.UNKNOWN:
            why = "the vendor file gives no last-activity date"
        else:
            seen = row.imported_last_activity_at
            now = self._now()
            age = f", {days_before(seen, now):,} days ago" if seen is not None else ""
            when = f"{seen.astimezone(now.tzinfo):%Y-%m-%d}" if seen is not None else "?"
            why = (
                f"the last activity is {when}{age} — older than the casino's"
                f" {row.freshness_threshold_days}-day freshness threshold"
            )
        change = _change(row)

        def answered(yes: bool | None) -> None:
            if yes:
                self.confirmed.add(row.row_number)
                self._redraw(row)
                then()

        self.app.push_screen(
            ConfirmScreen(
                f"Confirm a {row.freshness.value} row",
                f"{row_title(row)}: {why}. {change} Apply it with your explicit confirmation?",
                confirm_label="Confirm and apply",
            ),
            answered,
        )

    def _ask_override(self, row: ReconRow, *, confirm: bool) -> None:
        def done(outcome: Applied | None) -> None:
            if outcome is not None:
                self._applied(outcome)

        self.app.push_screen(OverrideModal(row, confirm_freshness=confirm), done)

    def _send_apply(self, row: ReconRow, *, confirm: bool) -> None:
        command = ApplyReconciliation(
            batch_id=row.batch_id,
            row_number=row.row_number,
            idempotency_key=self._key("apply", row.row_number),
            confirm_freshness=confirm,
        )
        self.run_apply(self.session.database, self.session.signed_in(), command)

    @work(thread=True, exit_on_error=False, group="recon-write", description="Apply the row")
    def run_apply(self, database: Database, actor: Actor, command: ApplyReconciliation) -> None:
        with self._reload_on_failure():
            outcome = recon.apply(database.uow(actor), actor, command)
        self.app.call_from_thread(self._applied, outcome)

    def _applied(self, outcome: Applied) -> None:
        row = outcome.record
        self._keys.pop(("apply", row.row_number), None)
        self.selected.discard(row.row_number)
        self.confirmed.discard(row.row_number)
        self.notify(_applied_message(outcome), title="Reconciliation", markup=False)
        self._reload()

    def action_apply_selected(self) -> None:
        if not self.selected or self.current_batch is None:
            return
        batch_id = self.current_batch.batch_id
        chosen = sorted(self.selected)
        confirmed = [n for n in chosen if n in self.confirmed]
        commands = [
            ApplyReconciliation(
                batch_id=batch_id,
                row_number=n,
                idempotency_key=self._key("apply", n),
                confirm_freshness=n in self.confirmed,
            )
            for n in chosen
        ]
        note = (
            f" {len(confirmed)} of them with your freshness confirmation (c)." if confirmed else ""
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_apply_many(self.session.database, self.session.signed_in(), commands)

        self.app.push_screen(
            ConfirmScreen(
                "Apply the selected rows",
                f"Apply {len(chosen)} selected row{'s' if len(chosen) != 1 else ''} of"
                f" {self.current_batch.file_name}, each on its own?{note}"
                " A row that needs a confirmation or an override is refused and stays pending.",
                confirm_label="Apply",
            ),
            answered,
        )

    @work(
        thread=True, exit_on_error=False, group="recon-write", description="Apply the selected rows"
    )
    def run_apply_many(
        self, database: Database, actor: Actor, commands: list[ApplyReconciliation]
    ) -> None:
        with self._reload_on_failure():
            results = recon.apply_many(database.uow(actor), actor, commands)
        self.app.call_from_thread(self._applied_many, results)

    def _applied_many(self, results: list[ApplyRowResult]) -> None:
        done = [r for r in results if r.ok]
        refused = [r for r in results if not r.ok]
        for result in done:
            self._keys.pop(("apply", result.row_number), None)
            self.selected.discard(result.row_number)
            self.confirmed.discard(result.row_number)
        self.notify(
            f"{len(done)} of {len(results)} selected rows applied.",
            title="Reconciliation",
            markup=False,
        )
        for result in refused:
            code = result.error_code.value if result.error_code else "REFUSED"
            self.notify(
                f"Row {result.row_number}: {code}: {result.message}",
                severity="error",
                timeout=10,
                markup=False,
            )
        self._reload()

    def action_revert(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.status is not ReconStatus.APPLIED:
            # Not a tier change (or reverted already): the service says so, with its code.
            self.run_revert(self.session.database, self.session.signed_in(), row)
            return

        def done(outcome: Reverted | None) -> None:
            if outcome is not None:
                self._reverted(outcome)

        self.app.push_screen(RevertModal(row), done)

    @work(thread=True, exit_on_error=False, group="recon-write", description="Revert the row")
    def run_revert(self, database: Database, actor: Actor, row: ReconRow) -> None:
        command = recon.RevertReconciliation(
            batch_id=row.batch_id, row_number=row.row_number, idempotency_key=uuid.uuid4()
        )
        with self._reload_on_failure():
            outcome = recon.revert(database.uow(actor), actor, command)
        self.app.call_from_thread(self._reverted, outcome)

    def _reverted(self, outcome: Reverted) -> None:
        row = outcome.record
        if outcome.is_existing:
            message = f"Row {row.row_number} was already reverted; nothing changed."
        else:
            message = (
                f"Row {row.row_number} reverted: {row.player_name} is back to"
                f" {tier_name(row.tier_before)} (was {tier_name(row.tier_after)})."
            )
        self.notify(message, title="Reconciliation", markup=False)
        self._reload()

    # -- the tier labels ----------------------------------------------------------------

    def _show_labels(self) -> None:
        batch = self.current_batch
        if batch is None:
            return
        grid = self.labels_grid
        keep = self._key_at(grid)
        grid.clear()
        for label in self.labels:
            target = literal(label.target, style="bold" if not label.is_mapped else "")
            grid.add_row(
                literal(label.vendor_label),
                f"{label.rows:,}",
                f"{label.pending:,}",
                target,
                label.mapped_by_code or "",
                f"{self._local(label.mapped_at):%Y-%m-%d %H:%M}" if label.mapped_at else "",
                key=label.vendor_label,
            )
        self._restore_cursor(grid, keep)
        self.labels_note.update(
            Text(
                f"Vendor tier labels of {batch.file_name}, matched exactly. Enter or m maps the"
                " highlighted label to a tier, to ignore, or clears it; only pending rows follow."
                " Escape: back to the queue."
            )
        )

    def _current_label(self) -> TierLabel | None:
        if self.pane != LABELS:
            return None
        key = self._key_at(self.labels_grid)
        return next((label for label in self.labels if label.vendor_label == key), None)

    @on(DataTable.RowHighlighted, "#recon-labels")
    def _label_highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#recon-labels")
    def _label_selected(self) -> None:
        self.action_map_label()

    def action_map_label(self) -> None:
        label, batch = self._current_label(), self.current_batch
        if label is None or batch is None:
            return

        def chosen(target: str | None) -> None:
            if target is not None:
                self.run_mapping(
                    self.session.database,
                    self.session.signed_in(),
                    batch.batch_id,
                    label.vendor_label,
                    target,
                )

        self.app.push_screen(MappingModal(label), chosen)

    @work(
        thread=True, exit_on_error=False, group="recon-write", description="Change the tier mapping"
    )
    def run_mapping(
        self, database: Database, actor: Actor, batch_id: uuid.UUID, label: str, target: str
    ) -> None:
        with self._reload_on_failure():
            if target == CLEAR:
                result = recon.clear_tier_mapping(database.uow(actor), actor, batch_id, label)
            else:
                command = SetTierMapping(
                    batch_id=batch_id,
                    vendor_label=label,
                    tier=None if target == IGNORE else Tier(target),
                    ignore=target == IGNORE,
                )
                result = recon.set_tier_mapping(database.uow(actor), actor, command)
        self.app.call_from_thread(self._mapped, result)

    def _mapped(self, result: MappingChanged) -> None:
        label = result.label
        if not result.changed:
            message = f"{label.vendor_label!r} already maps to {label.target}; nothing changed."
        else:
            rows = result.pending_updated
            message = (
                f"{label.vendor_label!r} now maps to {label.target};"
                f" {rows:,} pending row{'s follow' if rows != 1 else ' follows'}."
            )
        self.notify(message, title="Tier mapping", markup=False)
        self._reload()

    # -- the report ---------------------------------------------------------------------

    def action_export(self) -> None:
        batch = self.current_batch
        if batch is None:
            return
        database, actor, batch_id = self.session.database, self.session.signed_in(), batch.batch_id

        def exported(result: Exported) -> None:
            self.notify(
                f"{result.rows:,} reconciliation records written to {result.path}",
                title="Report written",
                markup=False,
            )

        ask_to_export(
            self,
            "Write the reconciliation report",
            f"Every record of {batch.file_name}, in file order: vendor tier, mapping, canonical"
            " tier, status, outcome, freshness, who applied or reverted it and when.",
            f"{Path(batch.file_name).stem}-reconciliation",
            lambda out: recon.write_report(database.reader(actor), actor, batch_id, out),
            exported,
        )

    # -- helpers ------------------------------------------------------------------------

    @contextmanager
    def _reload_on_failure(self) -> Iterator[None]:
        """In a write worker: on a refusal, read the pane again (the row may have moved on),
        then let the failure through to the App's notification."""
        try:
            yield
        except BaseException:
            self.app.call_from_thread(self._reload)
            raise

    @staticmethod
    def _key_at(grid: DataTable[object]) -> str | None:
        if grid.row_count == 0:
            return None
        index = min(max(grid.cursor_row, 0), grid.row_count - 1)
        return grid.ordered_rows[index].key.value

    @staticmethod
    def _restore_cursor(grid: DataTable[object], key: str | None) -> None:
        if key is None or grid.row_count == 0:
            return
        try:
            index = grid.get_row_index(key)
        except RowDoesNotExist:  # the row left the page (filtered out, or another page)
            return
        grid.move_cursor(row=index, animate=False)


# -- text of the diff pane -------------------------------------------------------------


def _mapped(row: ReconRow) -> str:
    match row.label_state:
        case LabelState.MAPPED:
            return tier_name(row.mapped_tier)
        case LabelState.IGNORED:
            return "ignore"
        case LabelState.UNMAPPED:
            return "unmapped"
        case _:
            return "—"


def _change(row: ReconRow) -> str:
    """'Upgrade bronze → silver.' for a confirmation question."""
    now = tier_name(row.canonical_tier) if row.has_loyalty_record else "no loyalty record"
    if row.outcome in TIER_CHANGES:
        return f"{row.outcome.label.capitalize()}: {now} → {tier_name(row.mapped_tier)}."
    return f"Outcome: {row.outcome.label}."


def _freshness_text(row: ReconRow, now: datetime, *, confirmed: bool) -> str:
    seen = row.imported_last_activity_at
    threshold = f"threshold {row.freshness_threshold_days} days"
    if seen is None:
        text = f"{row.freshness.value}: no last-activity date in the file ({threshold})"
    else:
        days = days_before(seen, now)
        text = (
            f"{row.freshness.value}: last activity {seen.astimezone(now.tzinfo):%Y-%m-%d},"
            f" {days:,} day{'s' if days != 1 else ''} ago ({threshold})"
        )
    if row.is_pending and confirmed:
        text += " · confirmed by you (c)"
    elif not row.is_pending and row.freshness_confirmed:
        text += " · confirmed at apply"
    return text


def days_before(moment: datetime, now: datetime) -> int:
    """Calendar days from ``moment`` to ``now``, both on the casino's calendar (``now``'s zone).

    Counted by dates, not by 24-hour spans, so a row does not read a day younger before
    the hour of day it was stamped at.
    """
    return (now.date() - moment.astimezone(now.tzinfo).date()).days


def diff_table(found: ReconDiff, now: datetime, *, confirmed: bool) -> Table:
    """The diff pane: one labelled line per fact, as a grid (vendor text is never markup).

    ``now`` is in the casino's zone; every date and time shown is in that zone too.
    """
    row = found.row
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=11)
    table.add_column(ratio=1)

    def line(name: str, value: str | Text) -> None:
        table.add_row(Text(name), value if isinstance(value, Text) else Text(value))

    card = f" · card {row.loyalty_card_number}" if row.loyalty_card_number else ""
    where = f"line {row.line_number} of {found.file_name}"
    line(f"Row {row.row_number}", Text(f"{row.player_name}{card} · {where}", style="bold"))
    line("Summary", found.summary)
    staged = repr(row.vendor_label) if row.vendor_label is not None else "no tier label"
    mapping = {
        LabelState.MAPPED: f"maps to {tier_name(row.mapped_tier)}",
        LabelState.IGNORED: "mapped to ignore",
        LabelState.UNMAPPED: "unmapped: waiting for a mapping (l)",
        LabelState.NO_LABEL: "nothing to map",
    }[row.label_state]
    line("Vendor tier", f"{staged} · {mapping}")
    if row.has_loyalty_record:
        canonical = f"{tier_name(row.canonical_tier)} now"
    else:
        canonical = "no loyalty record now (an apply creates one)"
    canonical += f" · {tier_name(row.canonical_tier_at_staging)} when the batch was executed"
    line("Canonical", canonical)
    outcome = row.outcome.label
    if row.outcome in TIER_CHANGES and found.proposed_tier is not None:
        outcome += f" → {tier_name(found.proposed_tier)}"
    line("Proposed" if row.is_pending else "Decided", Text(outcome, style="bold"))
    line("Freshness", _freshness_text(row, now, confirmed=confirmed))
    if row.is_pending:
        line("Conflicts", "; ".join(found.conflict_labels) or "none")
    imported = (
        f"{row.imported_points_balance:,}" if row.imported_points_balance is not None else "none"
    )
    balance = f"{row.balance:,}" if row.balance is not None else "no account"
    line("Points", f"imported {imported} · balance {balance} — for reference only, never applied")
    if row.is_pending:
        needs = "; ".join(found.requirements) or "nothing more: a applies it"
        if confirmed:
            needs += " — confirmation given (c)"
        line("Needs", Text(needs, style="bold" if found.requirements else ""))
    line("Status", _status_text(row, now))
    if row.override_reason:
        line("Override", row.override_reason)
    return table


def _status_text(row: ReconRow, now: datetime) -> str:
    text = STATUS_LABELS[row.status]
    if row.applied_at is not None:
        text += (
            f" · decided by {row.applied_by_code or '?'}"
            f" {row.applied_at.astimezone(now.tzinfo):%Y-%m-%d %H:%M}"
        )
        if row.status in (ReconStatus.APPLIED, ReconStatus.REVERTED):
            text += f" ({tier_name(row.tier_before)} → {tier_name(row.tier_after)})"
    if row.reverted_at is not None:
        text += (
            f" · reverted by {row.reverted_by_code or '?'}"
            f" {row.reverted_at.astimezone(now.tzinfo):%Y-%m-%d %H:%M}"
        )
    if row.status is ReconStatus.APPLIED and not row.revertible:
        text += " · the tier has changed since: no revert"
    return text


def _applied_message(outcome: Applied) -> str:
    row = outcome.record
    if outcome.is_existing:
        return f"Row {row.row_number} was already {STATUS_LABELS[row.status]}; nothing changed."
    match row.status:
        case ReconStatus.APPLIED:
            created = " (a new loyalty record)" if row.loyalty_created else ""
            return (
                f"Row {row.row_number} applied: {row.player_name}"
                f" {tier_name(row.tier_before)} → {tier_name(row.tier_after)}{created}."
            )
        case ReconStatus.NO_CHANGE:
            return f"Row {row.row_number}: no change recorded ({tier_name(row.tier_after)})."
        case _:
            return f"Row {row.row_number} recorded as ignored; the tier stays as it was."
