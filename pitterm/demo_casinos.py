"""The demo casinos as data: games, tables and staff with the PINs trainers type.

Apart from ``pitterm.demo`` (which seeds them) so that the sign-in screen can list the demo
logins without importing every domain service the seeding uses: the terminal's first frame
waits for nothing it does not show.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitterm.domain.enums import GameType, Rounding, StaffRole

__all__ = [
    "DEMO_CASINOS",
    "DEMO_LOGINS",
    "DemoCasino",
    "DemoGame",
    "DemoLogin",
    "DemoStaff",
    "DemoTable",
]


@dataclass(frozen=True)
class DemoLogin:
    """A staff member the sign-in screen lists in demo mode, with the PIN to type."""

    casino_code: str
    staff_code: str
    name: str
    role: StaffRole
    pin: str


@dataclass(frozen=True)
class DemoGame:
    """Game settings: what a slip at this game freezes as its accrual policy."""

    name: str
    game_type: GameType
    house_edge: str
    """Percent, as a string so it reaches the database as an exact Decimal."""
    decisions_per_hour: int
    min_bet_dollars: int
    max_bet_dollars: int
    rounding: Rounding = Rounding.HALF_UP


@dataclass(frozen=True)
class DemoTable:
    """A gaming table in a pit, playing one of the casino's games."""

    label: str
    pit: str
    game: str
    """Name of one of the casino's ``DemoGame``s."""
    seats: int


@dataclass(frozen=True)
class DemoStaff:
    """A staff member with the demo PIN they sign in with."""

    code: str
    name: str
    role: StaffRole
    pin: str
    table: str | None = None
    """Label of the table a dealer works."""


@dataclass(frozen=True)
class DemoCasino:
    """Everything fixed about one demo casino; players are generated from its seed."""

    code: str
    name: str
    time_zone: str
    card_prefix: str
    """Loyalty card numbers are this prefix and seven digits: unique across both casinos."""
    area_codes: tuple[str, ...]
    games: tuple[DemoGame, ...]
    tables: tuple[DemoTable, ...]
    staff: tuple[DemoStaff, ...]
    """The first member is the casino's admin, created by the owner before anyone else."""


def _staff(names: dict[str, str], dealer_tables: tuple[str, ...]) -> tuple[DemoStaff, ...]:
    """A casino's staff: every role, PINs by role (1xxx admin … 6xxx dealer) for the trainer."""
    roles = {
        "ADM": StaffRole.ADMIN,
        "PB": StaffRole.PIT_BOSS,
        "FS": StaffRole.FLOOR_SUPERVISOR,
        "CA": StaffRole.CASHIER,
        "LM": StaffRole.LOYALTY_MANAGER,
        "DL": StaffRole.DEALER,
    }
    role_digit = {role: str(i) for i, role in enumerate(roles.values(), start=1)}
    staff: list[DemoStaff] = []
    for code, name in names.items():
        prefix = code.rstrip("0123456789")
        number = int(code[len(prefix) :])
        role = roles[prefix]
        table = dealer_tables[number - 1] if role is StaffRole.DEALER else None
        staff.append(DemoStaff(code, name, role, f"{role_digit[role]}00{number}", table))
    return tuple(staff)


DEMO_CASINOS: tuple[DemoCasino, ...] = (
    DemoCasino(
        code="BELLA",
        name="Bella Vista Casino",
        time_zone="America/Los_Angeles",
        card_prefix="BV",
        area_codes=("702", "725", "702", "310", "415", "602", "801"),
        games=(
            DemoGame("Blackjack 6-deck", GameType.BLACKJACK, "1.50", 70, 25, 5_000),
            DemoGame("Blackjack high limit", GameType.BLACKJACK, "1.60", 60, 100, 25_000),
            DemoGame("Mini baccarat", GameType.BACCARAT, "1.24", 80, 25, 5_000),
            DemoGame("Midi baccarat", GameType.BACCARAT, "1.06", 72, 100, 50_000),
            DemoGame("Roulette 00", GameType.ROULETTE, "5.26", 38, 10, 2_000),
            DemoGame("Craps", GameType.CRAPS, "1.41", 100, 15, 5_000),
            DemoGame("Three card poker", GameType.POKER, "3.37", 50, 15, 1_000),
        ),
        tables=(
            *(DemoTable(f"BJ-10{n}", "Pit 1", "Blackjack 6-deck", 7) for n in range(1, 6)),
            DemoTable("MB-201", "Pit 2", "Mini baccarat", 7),
            DemoTable("MB-202", "Pit 2", "Mini baccarat", 7),
            DemoTable("TCP-203", "Pit 2", "Three card poker", 6),
            DemoTable("BJ-204", "Pit 2", "Blackjack 6-deck", 7),
            DemoTable("RL-301", "Pit 3", "Roulette 00", 8),
            DemoTable("RL-302", "Pit 3", "Roulette 00", 8),
            DemoTable("CR-303", "Pit 3", "Craps", 14),
            DemoTable("CR-304", "Pit 3", "Craps", 14),
            DemoTable("HBJ-01", "High Limit", "Blackjack high limit", 5),
            DemoTable("HBJ-02", "High Limit", "Blackjack high limit", 5),
            DemoTable("HBA-01", "High Limit", "Midi baccarat", 9),
        ),
        staff=_staff(
            {
                "ADM1": "Alma Reyes",
                "PB1": "Frank DeLuca",
                "PB2": "Grace Okafor",
                "FS1": "Marcus Bell",
                "FS2": "Yuki Tanaka",
                "FS3": "Dolores Vega",
                "CA1": "Priya Natarajan",
                "CA2": "Tom Whitfield",
                "LM1": "Hannah Kowalski",
                "DL1": "Luis Ortega",
                "DL2": "Mei Chen",
                "DL3": "Andre Williams",
                "DL4": "Sofia Rossi",
                "DL5": "Kwame Mensah",
            },
            dealer_tables=("BJ-101", "BJ-102", "MB-201", "RL-301", "CR-303"),
        ),
    ),
    DemoCasino(
        code="CREST",
        name="Crescent Bay Casino",
        time_zone="America/New_York",
        card_prefix="CB",
        area_codes=("609", "609", "856", "215", "212", "718", "302"),
        games=(
            DemoGame("Blackjack 6-deck", GameType.BLACKJACK, "1.80", 72, 15, 2_500),
            DemoGame("Blackjack salon", GameType.BLACKJACK, "1.50", 60, 100, 20_000),
            DemoGame("Mini baccarat", GameType.BACCARAT, "1.20", 78, 25, 5_000),
            DemoGame("Big table baccarat", GameType.BACCARAT, "1.06", 70, 100, 50_000),
            DemoGame("Roulette 00", GameType.ROULETTE, "5.26", 36, 10, 1_000),
            DemoGame("Craps", GameType.CRAPS, "1.40", 96, 10, 3_000),
            DemoGame("Ultimate Texas hold'em", GameType.POKER, "2.19", 30, 15, 500),
        ),
        tables=(
            *(DemoTable(f"BJ-A{n}", "Pit A", "Blackjack 6-deck", 7) for n in range(1, 5)),
            DemoTable("BJ-B1", "Pit B", "Blackjack 6-deck", 7),
            DemoTable("BJ-B2", "Pit B", "Blackjack 6-deck", 7),
            DemoTable("MB-B3", "Pit B", "Mini baccarat", 7),
            DemoTable("MB-B4", "Pit B", "Mini baccarat", 7),
            DemoTable("RL-C1", "Pit C", "Roulette 00", 8),
            DemoTable("RL-C2", "Pit C", "Roulette 00", 8),
            DemoTable("CR-C3", "Pit C", "Craps", 14),
            DemoTable("UTH-C4", "Pit C", "Ultimate Texas hold'em", 6),
            DemoTable("BA-S1", "Salon", "Big table baccarat", 14),
            DemoTable("BJ-S2", "Salon", "Blackjack salon", 5),
        ),
        staff=_staff(
            {
                "ADM1": "Colin Brennan",
                "PB1": "Angela Russo",
                "PB2": "Samuel Adeyemi",
                "FS1": "Nora Fitzgerald",
                "FS2": "Hector Alvarez",
                "FS3": "Lena Park",
                "CA1": "Denise Carter",
                "CA2": "Raj Malhotra",
                "LM1": "Ingrid Larsen",
                "DL1": "Tony Marino",
                "DL2": "Jasmine Brooks",
                "DL3": "Wei Zhang",
                "DL4": "Carmen Ruiz",
                "DL5": "Patrick Doyle",
            },
            dealer_tables=("BJ-A1", "BJ-B1", "MB-B3", "RL-C1", "CR-C3"),
        ),
    ),
)
"""The demo casinos. Their codes, staff codes and PINs are what trainers type."""

DEMO_LOGINS: tuple[DemoLogin, ...] = tuple(
    DemoLogin(casino.code, member.code, member.name, member.role, member.pin)
    for casino in DEMO_CASINOS
    for member in casino.staff
)
"""Every demo staff member and PIN, for the sign-in screen in demo mode only."""
