"""The `pitterm` command: the terminal app, and the few maintenance jobs beside it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pitterm import __version__
from pitterm.config import Settings


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
