"""The `pitterm` command: the terminal app, and the few maintenance jobs beside it."""

from __future__ import annotations

import time

STARTED_AT = time.perf_counter()
"""When the `pitterm` command began, as early as it can tell: --startup-probe counts from here."""

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from pitterm import __version__  # noqa: E402
from pitterm.config import Settings  # noqa: E402


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
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, str] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.casino:
        overrides["casino"] = args.casino
    return Settings(**overrides)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    if args.command == "demo":
        return _demo(settings, reset=args.reset)
    if args.command == "db":
        return _db(settings, args.db_command)
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
    from pitterm.domain.drift_file import check_files
    from pitterm.domain.drift_rules import DriftClass
    from pitterm.domain.errors import DomainError

    try:
        result = check_files(ledger, balances, tolerance)
    except DomainError as error:
        print(str(error), file=sys.stderr)
        return 3
    summary = result.summary
    if as_json:
        print(result.model_dump_json(indent=2))
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
        width = max((len(a.account_id) for a in result.accounts), default=7)
        print(f"{'account':<{width}}  {'snapshot':>12}  {'computed':>12}  {'drift':>10}  class")
        for account in result.accounts:
            print(
                f"{account.account_id:<{width}}  {account.snapshot:>12,}  {account.computed:>12,}"
                f"  {account.drift:>+10,}  {account.drift_class.value}"
            )
            if account.explanation:
                print(f"{'':<{width}}  {account.explanation}")
    worst = summary.worst
    return {DriftClass.IN_BALANCE: 0, DriftClass.MINOR: 1, DriftClass.MATERIAL: 2}[worst]


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


if __name__ == "__main__":
    sys.exit(main())
