"""The `pitterm` command: the terminal app, and the few maintenance jobs beside it."""

from __future__ import annotations

import time

STARTED_AT = time.perf_counter()
"""When the `pitterm` command began, as early as it can tell: --startup-probe counts from here."""

import argparse  # noqa: E402
import functools  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from pitterm import __version__  # noqa: E402
from pitterm.config import Settings  # noqa: E402

if TYPE_CHECKING:
    from datetime import date

    from pitterm.domain.actor import Actor
    from pitterm.domain.database import Database
    from pitterm.domain.import_rows import ImportMapping
    from pitterm.domain.imports import BatchInfo, ImportProgress


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitterm",
        description=(
            "The casino pit terminal. With no database configured it runs in demo "
            "(training) mode on a SQLite file in your data directory."
        ),
    )
    parser.add_argument("--version", action="version", version=f"pitterm {__version__}")
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: $PITTERM_DATABASE_URL, else demo)"
    )
    parser.add_argument(
        "--casino", metavar="CODE", help="this terminal's casino code (default: $PITTERM_CASINO)"
    )
    parser.add_argument(
        "--startup-probe",
        action="store_true",
        help="print the time to the first frame of the sign-in screen, then exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="start the terminal (the default)")

    demo = commands.add_parser("demo", help="manage the demo (training) database")
    demo.add_argument(
        "--reset", action="store_true", help="delete the demo database and build it afresh"
    )

    database = commands.add_parser("db", help="database maintenance")
    db_commands = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser(
        "upgrade", help="apply pending migrations to the database (a no-op when current)"
    )
    db_commands.add_parser("current", help="print the database's and the code's schema revision")

    casino = commands.add_parser("casino", help="casinos (an owner's job, before any sign-in)")
    casino_commands = casino.add_subparsers(dest="casino_command", metavar="ACTION", required=True)
    add = casino_commands.add_parser(
        "add",
        help="create a casino and its first admin",
        epilog="The admin's PIN is read from $PITTERM_PIN, else asked for. Run it as the"
        " database owner (not the terminals' application role).",
    )
    add.add_argument("code", help="short casino code, e.g. BELLA (what PITTERM_CASINO names)")
    add.add_argument("name", help="the casino's name")
    add.add_argument("--time-zone", default="America/Los_Angeles", help="IANA time zone")
    add.add_argument("--admin-code", required=True, help="the first admin's staff code")
    add.add_argument("--admin-name", required=True, help="the first admin's name")
    casino_commands.add_parser("list", help="list the casinos in the database")

    drift = commands.add_parser("drift", help="ledger drift checks")
    drift_commands = drift.add_subparsers(dest="drift_command", metavar="ACTION", required=True)
    check = drift_commands.add_parser(
        "check",
        help="compare a ledger file with a balances file (seed 001 sandbox formats)",
        epilog="exit status: 0 all in balance, 1 minor drift, 2 material mismatch, 3 bad input",
    )
    check.add_argument("--ledger", required=True, type=Path, help="events JSON array")
    check.add_argument("--balances", required=True, type=Path, help="snapshots JSON array")
    check.add_argument("--tolerance", type=int, default=0, help="points of drift to tolerate")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    _add_import_parser(commands)
    _add_recon_parser(commands)
    _add_audit_parser(commands)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, str] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.casino:
        overrides["casino"] = args.casino
    return Settings(**overrides)  # type: ignore[arg-type]


def _one_line_database_refusals(run: Callable[[Sequence[str] | None], int]) -> Callable[..., int]:
    """Every command, centrally: a refusal that escapes it is one line on stderr, exit 1.

    A database that refuses the command (a privilege the connected role lacks, a login it
    rejects) gets a line naming the cause instead of a traceback; so does a domain refusal no
    command caught. Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(run)
    def guarded(argv: Sequence[str] | None = None) -> int:
        try:
            return run(argv)
        except Exception as error:
            message = refusal_message(error)
            if message is None:
                raise
            print(f"pitterm: {message}", file=sys.stderr)
            return 1

    return guarded


@_one_line_database_refusals
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    if args.command == "demo":
        return _demo(settings, reset=args.reset)
    if args.command == "db":
        return _db(settings, args.db_command)
    if args.command == "import":
        return _import(settings, args)
    if args.command == "recon":
        return _recon(settings, args)
    if args.command == "audit":
        return _audit(settings, args)
    if args.command == "casino":
        return _casino(settings, args)
    if args.command == "drift":
        return _drift_check(args.ledger, args.balances, args.tolerance, as_json=args.json)
    return _run(settings, startup_probe=args.startup_probe)


def _demo(settings: Settings, *, reset: bool) -> int:
    from pitterm.domain.clock import OffsetClock
    from pitterm.runtime import ensure_demo_database

    if not settings.demo:
        print("pitterm demo works on the demo database only; unset PITTERM_DATABASE_URL / --db.")
        return 2
    ensure_demo_database(settings, OffsetClock(), reset=reset)
    action = "rebuilt" if reset else "ready"
    print(f"Demo database {action}: {settings.demo_database_path}")
    return 0


def _db(settings: Settings, action: str) -> int:
    import db
    from pitterm.domain.database import make_engine

    engine = make_engine(settings.effective_url)
    try:
        if action == "upgrade":
            before = db.current_revision(engine)
            db.upgrade(engine)
            after = db.current_revision(engine)
            if before == after:
                print(f"Database already at {after}; nothing to do.")
            else:
                print(f"Database migrated from {before or 'empty'} to {after}.")
        else:
            print(f"database: {db.current_revision(engine) or 'empty'}")
            print(f"code:     {db.head_revision()}")
    finally:
        engine.dispose()
    return 0


def _drift_check(ledger: Path, balances: Path, tolerance: int, *, as_json: bool) -> int:
    """Exit status: 0 all in balance, 1 minor drift only, 2 a material mismatch, 3 bad input."""
    from pitterm.domain.drift_file import scan_files
    from pitterm.domain.drift_rules import DriftClass
    from pitterm.domain.errors import DomainError

    try:
        scan = scan_files(ledger, balances, tolerance)
    except DomainError as error:
        print(str(error), file=sys.stderr)
        return 3
    summary = scan.summary
    out = sys.stdout
    # Streamed, one account at a time: a report of 200,000 accounts is never held whole.
    if as_json:
        out.write('{\n  "summary": ' + summary.model_dump_json() + ',\n  "accounts": [')
        for n, account in enumerate(scan.accounts()):
            out.write(("\n    " if n == 0 else ",\n    ") + account.model_dump_json())
        out.write("\n  ]\n}\n")
    else:
        print(
            f"accounts checked {summary.accounts_checked}: in balance {summary.in_balance},"
            f" minor drift {summary.minor}, material mismatch {summary.material}"
            f" (tolerance {tolerance})"
        )
        if summary.largest_positive is not None:
            print(
                f"largest positive drift {summary.largest_positive:+,}"
                f" ({summary.largest_positive_account})"
            )
        if summary.largest_negative is not None:
            print(
                f"largest negative drift {summary.largest_negative:+,}"
                f" ({summary.largest_negative_account})"
            )
        width = max(scan.widest_id, 7)
        print(f"{'account':<{width}}  {'snapshot':>12}  {'computed':>12}  {'drift':>10}  class")
        for account in scan.accounts():
            out.write(
                f"{account.account_id:<{width}}  {account.snapshot:>12,}  {account.computed:>12,}"
                f"  {account.drift:>+10,}  {account.drift_class.value}\n"
            )
            if account.explanation:
                out.write(f"{'':<{width}}  {account.explanation}\n")
    worst = summary.worst
    return {DriftClass.IN_BALANCE: 0, DriftClass.MINOR: 1, DriftClass.MATERIAL: 2}[worst]


def _casino(settings: Settings, args: argparse.Namespace) -> int:
    import getpass
    import os

    from pitterm.domain import auth, casinos
    from pitterm.domain.database import Database
    from pitterm.domain.errors import DomainError
    from pitterm.domain.validation import parse

    database = Database.from_url(settings.effective_url)
    try:
        if args.casino_command == "list":
            for info in auth.list_casinos(database.uow()):
                print(f"{info.code:<16} {info.name}")
            return 0
        pin = os.environ.get("PITTERM_PIN") or getpass.getpass(f"PIN for {args.admin_code}: ")
        try:
            # Everything is checked before anything is written: no casino without its admin.
            admin = parse(
                casinos.NewStaff,
                {"code": args.admin_code, "name": args.admin_name, "role": "admin", "pin": pin},
            )
            new = parse(
                casinos.NewCasino,
                {"code": args.code, "name": args.name, "time_zone": args.time_zone},
            )
            info = casinos.create_casino(database.uow(), new)
            casinos.bootstrap_admin(database.uow(), info.id, admin)
        except DomainError as error:
            print(str(error), file=sys.stderr)
            return 1
        print(f"Casino {info.code} created, with admin {args.admin_code.upper()}.")
        return 0
    finally:
        database.dispose()


def _run(settings: Settings, *, startup_probe: bool) -> int:
    from pitterm.app import PitApp
    from pitterm.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        app = PitApp(runtime, startup_probe=startup_probe)
        app.run()
        return app.return_code or 0
    finally:
        runtime.database.dispose()


# --- pitterm import: the player CSV import (DESIGN §8) ----------------------------------------

IMPORT_ACTIONS = ("status", "errors", "execute")


def _add_import_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`pitterm import FILE …` stages a file; `status`, `errors` and `execute` act on a batch."""
    parser = commands.add_parser(
        "import",
        help="import a player CSV file (stage, status, errors, execute)",
        description=(
            "pitterm import FILE --mapping mapping.toml --staff CODE stages FILE into the "
            "casino (running it again resumes an interrupted import). Then: "
            "pitterm import status [BATCH], pitterm import errors BATCH --out errors.csv, "
            "pitterm import execute BATCH. The PIN is read from $PITTERM_PIN, else asked for."
        ),
        epilog="exit status: 0 done, 1 refused (the message says why), 2 usage, 130 interrupted",
    )
    parser.add_argument(
        "target", metavar="FILE|ACTION", help="the CSV file to stage, or status/errors/execute"
    )
    parser.add_argument(
        "batch", metavar="BATCH", nargs="?", help="batch id (or its first characters)"
    )
    parser.add_argument(
        "--casino",
        dest="import_casino",
        metavar="CODE",
        help="the casino to import into (default: $PITTERM_CASINO)",
    )
    parser.add_argument("--staff", required=True, metavar="CODE", help="your staff code")
    parser.add_argument(
        "--mapping", type=Path, metavar="TOML", help="column mapping ([columns], date_formats)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="CSV", help="where `errors` writes its report (default: stdout)"
    )


def _import(settings: Settings, args: argparse.Namespace) -> int:
    """Run one `pitterm import` action: 0 done, 1 refused, 2 usage, 130 interrupted."""
    from pitterm.domain.errors import DomainError

    action = args.target if args.target in IMPORT_ACTIONS else "stage"
    if action == "stage" and (args.batch is not None or args.mapping is None):
        print(
            "usage: pitterm import FILE --mapping mapping.toml --staff CODE"
            if args.mapping is None
            else f"pitterm import: unexpected {args.batch!r} after the file name",
            file=sys.stderr,
        )
        return 2
    if action in ("errors", "execute") and args.batch is None:
        print(f"usage: pitterm import {action} BATCH --staff CODE", file=sys.stderr)
        return 2
    casino_code = args.import_casino or settings.casino
    if not casino_code:
        print(
            "pitterm import: name the casino with --casino CODE (or $PITTERM_CASINO)",
            file=sys.stderr,
        )
        return 2
    try:
        return _import_action(settings, args, action, casino_code)
    except DomainError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted: committed rows are kept; run the same command again to resume.",
            file=sys.stderr,
        )
        return 130


def _import_action(settings: Settings, args: argparse.Namespace, action: str, code: str) -> int:
    import getpass
    import os

    from pitterm.domain.auth import find_casino, parse_credentials, sign_in
    from pitterm.domain.database import Scope
    from pitterm.domain.import_rows import mapping_from_toml
    from pitterm.runtime import build_runtime

    mapping: ImportMapping | None = None
    if action == "stage":
        try:
            mapping = mapping_from_toml(args.mapping.read_text(encoding="utf-8"))
        except OSError as error:
            print(f"pitterm import: cannot read {args.mapping}: {error.strerror}", file=sys.stderr)
            return 2
    pin = os.environ.get("PITTERM_PIN") or getpass.getpass(f"PIN for {args.staff}: ")
    runtime = build_runtime(settings)
    database = runtime.database
    try:
        casino = find_casino(database.uow(), code)
        actor = sign_in(database.uow(Scope(casino.id)), parse_credentials(args.staff, pin))
        if mapping is not None:
            hint = f"--staff {args.staff} --casino {casino.code}"
            return _import_stage(database, actor, Path(args.target), mapping, hint)
        if action == "status":
            return _import_status(database, actor, args.batch)
        if action == "errors":
            return _import_errors(database, actor, args.batch, args.out)
        return _import_execute(database, actor, args.batch)
    finally:
        database.dispose()


def _import_stage(
    database: Database, actor: Actor, path: Path, mapping: ImportMapping, hint: str
) -> int:
    from pitterm.domain import imports

    show = _ImportProgressPrinter()
    staged = imports.stage_file(database.uow(actor), actor, path, mapping, progress=show)
    show.finish()
    batch = staged.batch
    resumed = staged.resumed_from_row
    again = f" (resumed after row {resumed:,})" if resumed else ""
    print(f"Batch {batch.id} staged from {batch.file_name}{again}.")
    _print_batch(batch)
    if batch.error_count:
        print(f"Errors:  pitterm import errors {batch.id} {hint} --out errors.csv")
    print(f"Execute: pitterm import execute {batch.id} {hint}")
    return 0


def _import_status(database: Database, actor: Actor, reference: str | None) -> int:
    from pitterm.domain import imports

    if reference is not None:
        _print_batch(imports.find_batch(database.reader(actor), actor, reference))
        return 0
    for batch in imports.list_batches(database.reader(actor), actor):
        print(
            f"{batch.id}  {batch.status.value:<9}  {batch.row_count:>9,} rows"
            f"  {batch.error_count:>7,} errors  {batch.created_at:%Y-%m-%d %H:%M}"
            f"  {batch.file_name}"
        )
    return 0


def _import_errors(database: Database, actor: Actor, reference: str, out: Path | None) -> int:
    from pitterm.domain import imports

    batch = imports.find_batch(database.reader(actor), actor, reference)
    if out is None:
        imports.write_problem_report(database.reader(actor), actor, batch.id, sys.stdout)
        return 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        lines = imports.write_problem_report(database.reader(actor), actor, batch.id, handle)
    print(f"{lines:,} problem line(s) written to {out}.", file=sys.stderr)
    return 0


def _import_execute(database: Database, actor: Actor, reference: str) -> int:
    from pitterm.domain import imports

    batch = imports.find_batch(database.reader(actor), actor, reference)
    show = _ImportProgressPrinter()
    done = imports.execute_batch(database.uow(actor), actor, batch.id, progress=show)
    show.finish()
    if done.is_existing:
        print(f"Batch {batch.id} was already executed; nothing was changed.")
    else:
        print(f"Batch {batch.id} executed.")
    _print_batch(done.batch)
    return 0


def _print_batch(batch: BatchInfo) -> None:
    delimiter = {"\t": "tab"}.get(batch.delimiter, batch.delimiter)
    print(f"  batch      {batch.id}  ({batch.status.value})")
    print(f"  file       {batch.file_name}, {batch.file_size:,} bytes")
    print(f"  sha256     {batch.content_sha256}")
    print(f"  read as    {batch.encoding}, delimiter {delimiter!r}")
    if batch.encoding_note:
        print(f"  note       {batch.encoding_note}")
    print(
        f"  rows       {batch.row_count:,}: {batch.staged_count:,} staged,"
        f" {batch.error_count:,} with errors"
    )
    if batch.created_count or batch.linked_count or batch.skipped_count:
        print(
            f"  outcomes   {batch.created_count:,} created, {batch.linked_count:,} linked,"
            f" {batch.skipped_count:,} skipped"
        )
    if batch.failure_reason:
        print(f"  failed     {batch.failure_reason}")


class _ImportProgressPrinter:
    """Progress lines on stderr, at most one a second, so a log stays readable."""

    INTERVAL = 1.0

    def __init__(self) -> None:
        self._last = 0.0
        self._started = time.monotonic()
        self._pending: str | None = None

    def __call__(self, report: ImportProgress) -> None:
        from pitterm.domain.imports import ImportPhase

        elapsed = max(time.monotonic() - self._started, 1e-6)
        percent = f"{report.fraction:5.0%}" if report.fraction is not None else "     "
        if report.phase is ImportPhase.SCANNING:
            done, total = report.bytes_done / 1e6, report.bytes_total / 1e6
            line = f"scanning  {percent}  {done:,.1f} of {total:,.1f} MB"
        elif report.phase is ImportPhase.STAGING:
            line = (
                f"staging   {percent}  {report.rows_done:,} rows ({report.rows_error:,} with"
                f" errors)  {report.rows_done / elapsed:,.0f} rows/s"
            )
        else:
            line = f"executing {percent}  {report.rows_done:,} of {report.rows_total or 0:,} rows"
        now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self._last = now
            self._pending = None
            print(line, file=sys.stderr, flush=True)
        else:
            self._pending = line

    def finish(self) -> None:
        if self._pending is not None:
            print(self._pending, file=sys.stderr, flush=True)
            self._pending = None


# --- pitterm recon ------------------------------------------------------------------------


def _add_recon_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`pitterm recon report BATCH` writes a batch's tier-reconciliation report."""
    parser = commands.add_parser(
        "recon",
        help="tier reconciliation of an executed import (report)",
        description=(
            "pitterm recon report BATCH --staff CODE [--out report.csv] writes every"
            " reconciliation record of the batch (staged and canonical tier, outcome,"
            " freshness, who applied or reverted it and when) as CSV. BATCH is the batch id"
            " or its first characters, as `pitterm import status` prints them. The PIN is"
            " read from $PITTERM_PIN, else asked for."
        ),
        epilog="exit status: 0 done, 1 refused (the message says why), 2 usage",
    )
    actions = parser.add_subparsers(dest="recon_command", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="the batch's reconciliation report as CSV")
    report.add_argument("batch", metavar="BATCH", help="batch id (or its first characters)")
    report.add_argument(
        "--casino",
        dest="recon_casino",
        metavar="CODE",
        help="the batch's casino (default: $PITTERM_CASINO)",
    )
    report.add_argument("--staff", required=True, metavar="CODE", help="your staff code")
    report.add_argument(
        "--out", type=Path, metavar="CSV", help="where to write the report (default: stdout)"
    )


def _recon(settings: Settings, args: argparse.Namespace) -> int:
    """Run one `pitterm recon` action: 0 done, 1 refused, 2 usage."""
    import getpass
    import os

    from pitterm.domain import imports, reconciliation
    from pitterm.domain.auth import find_casino, parse_credentials, sign_in
    from pitterm.domain.database import Scope
    from pitterm.domain.errors import DomainError
    from pitterm.runtime import build_runtime

    code = args.recon_casino or settings.casino
    if not code:
        print(
            "pitterm recon: name the casino with --casino CODE (or $PITTERM_CASINO)",
            file=sys.stderr,
        )
        return 2
    pin = os.environ.get("PITTERM_PIN") or getpass.getpass(f"PIN for {args.staff}: ")
    database = build_runtime(settings).database
    try:
        casino = find_casino(database.uow(), code)
        actor = sign_in(database.uow(Scope(casino.id)), parse_credentials(args.staff, pin))
        batch = imports.find_batch(database.reader(actor), actor, args.batch)
        if args.out is None:
            reconciliation.write_report(database.reader(actor), actor, batch.id, sys.stdout)
            return 0
        try:
            with args.out.open("w", encoding="utf-8", newline="") as handle:
                count = reconciliation.write_report(database.reader(actor), actor, batch.id, handle)
        except OSError as error:
            print(f"pitterm recon: cannot write {args.out}: {error.strerror}", file=sys.stderr)
            return 2
        print(f"{count:,} reconciliation record(s) written to {args.out}.", file=sys.stderr)
        return 0
    except DomainError as error:
        print(str(error), file=sys.stderr)
        return 1
    finally:
        database.dispose()


# --- pitterm audit: the audit log as CSV ----------------------------------------------------


def _add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`pitterm audit export` writes a casino's audit log as CSV (admins only)."""
    parser = commands.add_parser(
        "audit",
        help="the audit log (export as CSV; admins only)",
        description="pitterm audit export writes a casino's audit log as CSV.",
    )
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write the casino's audit log as CSV, oldest first",
        description=(
            "pitterm audit export --casino CODE --staff CODE [--since DATE] [--until DATE]"
            " [--out FILE] writes every audit row of the casino in the window, oldest first:"
            " created_at (UTC), audit_id, action, entity_type, entity_id, staff code, name and"
            " role, before and after (JSON), correlation_id. Days are calendar days in the"
            " casino's time zone, both included. Cells a spreadsheet would run as a formula"
            " are written as text. Only an admin may export; the PIN is read from"
            " $PITTERM_PIN, else asked for."
        ),
        epilog="exit status: 0 done, 1 refused (the message says why), 2 usage",
    )
    export.add_argument(
        "--casino",
        dest="audit_casino",
        metavar="CODE",
        help="the casino whose log to export (default: $PITTERM_CASINO)",
    )
    export.add_argument("--staff", required=True, metavar="CODE", help="your staff code (admin)")
    export.add_argument(
        "--since", type=_calendar_day, metavar="DATE", help="first day, YYYY-MM-DD (included)"
    )
    export.add_argument(
        "--until", type=_calendar_day, metavar="DATE", help="last day, YYYY-MM-DD (included)"
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="the CSV file to create; an existing file is never overwritten (default: stdout)",
    )


def _calendar_day(text: str) -> date:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    """Run `pitterm audit export`: 0 done, 1 refused, 2 usage, 130 interrupted."""
    import getpass
    import os

    from pitterm.domain.audit_export import AuditExportWindow, export_csv
    from pitterm.domain.auth import find_casino, parse_credentials, sign_in
    from pitterm.domain.database import Scope
    from pitterm.domain.errors import DomainError
    from pitterm.runtime import build_runtime

    code = args.audit_casino or settings.casino
    if not code:
        print(
            "pitterm audit: name the casino with --casino CODE (or $PITTERM_CASINO)",
            file=sys.stderr,
        )
        return 2
    out: Path | None = args.out
    if out is not None and (out.exists() or not out.parent.is_dir()):
        problem = "already exists" if out.exists() else "is in a folder that does not exist"
        print(f"pitterm audit: {out} {problem}; name a new file", file=sys.stderr)
        return 2
    window = AuditExportWindow(since=args.since, until=args.until)
    pin = os.environ.get("PITTERM_PIN") or getpass.getpass(f"PIN for {args.staff}: ")
    database = build_runtime(settings).database
    created = False
    try:
        casino = find_casino(database.uow(), code)
        actor = sign_in(database.uow(Scope(casino.id)), parse_credentials(args.staff, pin))
        if out is None:
            export_csv(database.reader(actor), actor, window, sys.stdout)
            return 0
        try:
            handle = out.open("x", encoding="utf-8", newline="")
        except OSError as error:
            print(f"pitterm audit: cannot create {out}: {error.strerror}", file=sys.stderr)
            return 2
        created = True
        with handle:
            result = export_csv(database.reader(actor), actor, window, handle)
        created = False  # complete: keep it
        print(f"{result.rows:,} audit row(s) of {casino.code} written to {out}.", file=sys.stderr)
        return 0
    except DomainError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: the partial file was removed.", file=sys.stderr)
        return 130
    finally:
        if created and out is not None:
            out.unlink(missing_ok=True)  # a half-written export must not pass for a whole one
        database.dispose()


def refusal_message(error: BaseException) -> str | None:
    """One line for a refusal worth no traceback, or None.

    Looks through the chain of causes: pitterm wraps a lost or rejected connection in
    DATABASE_UNAVAILABLE, and SQLAlchemy wraps the driver's error.
    """
    from pitterm.domain.errors import DomainError

    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        cause = _driver_refusal(link)
        if cause is not None:
            return cause
        link = getattr(link, "orig", None) or link.__cause__ or link.__context__
    if isinstance(error, DomainError):
        return str(error)
    return None


_PERMISSION_HINT = (
    "the database role in use lacks this privilege; owner jobs (db upgrade, casino add) must"
    " run as the database owner, terminals and staff commands as the application role"
)


def _driver_refusal(error: BaseException) -> str | None:
    """The database's own refusal (privilege, login), from the driver's error, if it is one."""
    sqlstate = getattr(error, "sqlstate", None)
    name = getattr(error, "sqlite_errorname", None)
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.removeprefix("FATAL:").strip()
    if sqlstate == "42501" or (sqlstate is None and "permission denied" in text):
        if getattr(error, "__module__", "").startswith("sqlalchemy"):
            return None  # the wrapper: its driver error (next in the chain) says it better
        return f"permission denied by the database ({text}): {_PERMISSION_HINT}"
    if (isinstance(sqlstate, str) and sqlstate.startswith("28")) or (
        sqlstate is None and "authentication failed" in text
    ):
        return f"the database refused the login ({text}); check the user and password in the URL"
    if name in {"SQLITE_READONLY", "SQLITE_READONLY_DIRECTORY", "SQLITE_PERM", "SQLITE_AUTH"}:
        return f"the database file cannot be written ({text}); check its permissions"
    return None


if __name__ == "__main__":
    sys.exit(main())
