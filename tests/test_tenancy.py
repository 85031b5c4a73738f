"""Casino A can never read or write casino B's rows (DESIGN §3).

On Postgres this is row-level security on every casino-scoped table, proven table by table
while connected as the application role, with raw SQL so that the unit of work's own ORM
scoping is not what is being tested. On SQLite (demo mode) there is no RLS: the unit of work
scopes ORM queries and refuses to flush another casino's rows, which is tested here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Uuid, bindparam, func, select, text, update
from sqlalchemy.exc import ProgrammingError

import db
from pitterm.domain import cash, drift, imports, players, promo, slips, visits
from pitterm.domain import reconciliation as recon
from pitterm.domain.actor import Actor
from pitterm.domain.clock import FixedClock
from pitterm.domain.database import Database
from pitterm.domain.enums import CashDirection, StaffRole, Tier, VisitKind
from pitterm.domain.errors import DomainError, ErrorCode
from pitterm.domain.tables import Base, CompItem, Player, Staff, casino_scoped_tables
from tests.conftest import (
    BACKENDS,
    PostgresCluster,
    PostgresTestDatabase,
    fresh_pg_database,
    seeded_database,
)
from tests.factories import CasinoWorld, build_casino
from tests.import_support import stage_sample

SCOPED = casino_scoped_tables()
TENANT_POLICY = "tenant_isolation"


def uuid_param(name: str, value: uuid.UUID) -> Any:
    return bindparam(name, value, type_=Uuid())


def columns_of(table: str) -> list[str]:
    return [column.name for column in Base.metadata.tables[table].columns]


# --- Populating two casinos ---------------------------------------------------------------------


def key() -> uuid.UUID:
    return uuid.uuid4()


def populate(database: Database, world: CasinoWorld, surname: str) -> uuid.UUID:
    """Floor activity through the real services, so every casino-scoped table has rows.

    Returns the player's id. Runs as whatever role ``database`` connects as.
    """
    pit_boss = world.actor(StaffRole.PIT_BOSS)
    clock = database.clock
    assert isinstance(clock, FixedClock)
    player_id = players.enrol(
        database.uow(pit_boss),
        pit_boss,
        players.NewPlayer(
            first_name="Rita",
            last_name=surname,
            date_of_birth=date(1970, 5, 17),
            idempotency_key=key(),
        ),
    ).player_id
    visit_id = visits.open_visit(
        database.uow(pit_boss),
        pit_boss,
        visits.OpenVisit(
            kind=VisitKind.GAMING_IDENTIFIED_RATED, player_id=player_id, idempotency_key=key()
        ),
    ).visit_id
    slip_id = slips.start_slip(
        database.uow(pit_boss),
        pit_boss,
        slips.StartSlip(
            visit_id=visit_id,
            table_id=world.table_ids[0],
            seat=1,
            average_bet_cents=10_000,
            idempotency_key=key(),
        ),
    ).slip_id
    clock.advance(timedelta(minutes=30))
    slips.pause_slip(
        database.uow(pit_boss), pit_boss, slips.SlipCommand(slip_id=slip_id, idempotency_key=key())
    )
    clock.advance(timedelta(minutes=10))
    slips.resume_slip(
        database.uow(pit_boss), pit_boss, slips.SlipCommand(slip_id=slip_id, idempotency_key=key())
    )
    clock.advance(timedelta(minutes=30))
    slips.close_slip(
        database.uow(pit_boss), pit_boss, slips.SlipCommand(slip_id=slip_id, idempotency_key=key())
    )
    cash.record_cash(
        database.uow(pit_boss),
        pit_boss,
        cash.RecordCash(
            visit_id=visit_id,
            direction=CashDirection.CASH_IN,
            amount_cents=50_000,
            idempotency_key=key(),
        ),
    )
    program = promo.create_program(
        database.uow(pit_boss),
        pit_boss,
        promo.NewProgram(
            name="Weekend match play",
            promo_type="match_play",
            start_at=clock.now() - timedelta(days=1),
            end_at=clock.now() + timedelta(days=30),
            idempotency_key=key(),
        ),
    ).program
    promo.activate_program(
        database.uow(pit_boss),
        pit_boss,
        promo.ProgramCommand(program_id=program.id, idempotency_key=key()),
    )
    promo.issue_coupon(
        database.uow(pit_boss),
        pit_boss,
        promo.IssueCoupon(
            program_id=program.id,
            face_value_cents=2500,
            required_match_wager_cents=2500,
            player_id=player_id,
            idempotency_key=key(),
        ),
    )
    admin = world.admin
    drift.audit(database.uow(admin), admin, 0, checkpoint=True)
    with database.uow(admin) as uow:
        uow.session.add(
            CompItem(
                id=uuid.uuid4(),
                casino_id=admin.casino_id,
                name="Buffet for two",
                category="food",
                points_cost=500,
                created_at=uow.now(),
            )
        )
        uow.commit()
    manager = world.actor(StaffRole.LOYALTY_MANAGER)
    batch_id = stage_sample(database, manager).batch.id
    # Executing opens tier-reconciliation records; mapping the vendor tier and applying one
    # fills the mapping table and the reconciliation columns.
    imports.execute_batch(database.uow(manager), manager, batch_id)
    recon.set_tier_mapping(
        database.uow(manager),
        manager,
        recon.SetTierMapping(batch_id=batch_id, vendor_label="Gold", tier=Tier.GOLD),
    )
    recon.apply(
        database.uow(manager),
        manager,
        recon.ApplyReconciliation(batch_id=batch_id, row_number=1, idempotency_key=key()),
    )
    return player_id


@dataclass
class Two:
    a: CasinoWorld
    b: CasinoWorld
    player_a: uuid.UUID
    player_b: uuid.UUID

    @property
    def admin_a(self) -> Actor:
        return self.a.admin


def owner_counts(conn: Connection, casino_id: uuid.UUID) -> dict[str, int]:
    return {
        table: conn.scalar(
            text(f"SELECT count(*) FROM {table} WHERE casino_id = :c").bindparams(
                uuid_param("c", casino_id)
            )
        )
        for table in SCOPED
    }


def build_two(database: PostgresTestDatabase) -> Two:
    """Casinos A and B built by the owner, their floor activity run as the app role."""
    a = build_casino(database, "ALPHA")
    b = build_casino(database, "BRAVO")
    app_role = database.as_app_role()
    try:
        two = Two(a, b, populate(app_role, a, "Alpha"), populate(app_role, b, "Bravo"))
    finally:
        app_role.dispose()
    with database.raw() as conn:
        for world in (a, b):
            empty = [t for t, n in owner_counts(conn, world.casino.id).items() if n == 0]
            assert not empty, (
                f"no rows in {empty} for {world.casino.code}: extend populate() so the "
                "isolation tests below cover every casino-scoped table"
            )
    return two


BUILT_TWO = pytest.StashKey[Two]()


@pytest.fixture
def pg_database(
    request: pytest.FixtureRequest, pg_cluster: PostgresCluster, pg_template: str
) -> Iterator[Database]:
    """conftest's ``pg_database``; for a test that asks for ``two``, a copy of a database that
    ``build_two`` filled once per session (``app_database`` connects to the copy)."""
    if "two" not in request.fixturenames:
        with fresh_pg_database(pg_cluster, pg_template) as database:
            yield database
        return
    with seeded_database(request, "postgres", build_two) as (database, built):
        request.node.stash[BUILT_TWO] = built
        yield database


@pytest.fixture
def two(request: pytest.FixtureRequest, pg_database: Database, app_database: Database) -> Two:
    """Casinos A and B with rows in every casino-scoped table (``build_two``)."""
    return request.node.stash[BUILT_TWO]


# --- Postgres: the catalog --------------------------------------------------------------------


def tenancy_problems(conn: Connection, tables: list[str]) -> list[str]:
    """What is wrong with each table's row-level security, as sentences (empty: all good)."""
    problems = []
    for table in tables:
        rls = conn.scalar(
            text("SELECT relrowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            {"t": table},
        )
        if not rls:
            problems.append(f"{table}: row-level security is not enabled")
        policies = conn.execute(
            text(
                "SELECT policyname, permissive, roles, cmd, qual, with_check"
                " FROM pg_policies WHERE schemaname = current_schema() AND tablename = :t"
            ),
            {"t": table},
        ).all()
        tenant = [p for p in policies if p.policyname == TENANT_POLICY]
        if not tenant:
            problems.append(f"{table}: no {TENANT_POLICY} policy")
            continue
        policy = tenant[0]
        if policy.permissive != "PERMISSIVE" or policy.cmd != "ALL":
            problems.append(f"{table}: {TENANT_POLICY} is {policy.permissive} {policy.cmd}")
        if list(policy.roles) != [db.APP_ROLE]:
            problems.append(f"{table}: {TENANT_POLICY} applies to {policy.roles}")
        for clause in (policy.qual, policy.with_check):
            if not clause or "app.casino_id" not in clause or "casino_id" not in clause:
                problems.append(f"{table}: {TENANT_POLICY} clause {clause!r} is not the tenant key")
        wider = [
            p.policyname
            for p in policies
            if p.policyname != TENANT_POLICY and p.permissive == "PERMISSIVE"
        ]
        if wider:
            problems.append(f"{table}: other permissive policies widen access: {wider}")
    return problems


@pytest.mark.postgres
def test_every_casino_scoped_table_has_rls_and_a_tenant_policy(pg_database: Database) -> None:
    assert len(SCOPED) >= 15
    with pg_database.raw() as conn:
        assert tenancy_problems(conn, SCOPED) == []


@pytest.mark.postgres
def test_catalog_check_catches_a_table_without_a_policy(pg_database: Database) -> None:
    with pg_database.raw() as conn:
        conn.execute(text("CREATE TABLE rogue (id uuid PRIMARY KEY, casino_id uuid NOT NULL)"))
        assert tenancy_problems(conn, ["rogue"]) == [
            "rogue: row-level security is not enabled",
            "rogue: no tenant_isolation policy",
        ]
        conn.execute(text("ALTER TABLE rogue ENABLE ROW LEVEL SECURITY"))
        conn.execute(text(f"CREATE POLICY {TENANT_POLICY} ON rogue TO {db.APP_ROLE} USING (true)"))
        conn.execute(text(f"CREATE POLICY open_door ON rogue TO {db.APP_ROLE} USING (true)"))
        problems = tenancy_problems(conn, ["rogue"])
        conn.rollback()
    assert any("clause 'true'" in p for p in problems), problems
    assert any("widen access" in p for p in problems), problems


@pytest.mark.postgres
def test_every_table_with_casino_id_is_casino_scoped(pg_database: Database) -> None:
    with pg_database.raw() as conn:
        with_column = set(
            conn.scalars(
                text(
                    "SELECT table_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND column_name = 'casino_id'"
                )
            )
        )
    assert with_column == set(SCOPED)


@pytest.mark.postgres
def test_app_role_reaches_only_tables_under_rls(pg_database: Database) -> None:
    with pg_database.raw() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity,"
                " has_table_privilege(:r, c.oid, 'SELECT') AS can_select,"
                " has_table_privilege(:r, c.oid, 'INSERT, UPDATE, DELETE') AS can_write,"
                " has_table_privilege(:r, c.oid, 'TRUNCATE') AS can_truncate,"
                " pg_get_userbyid(c.relowner) AS owner"
                " FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm')"
                " AND c.relnamespace = CAST(current_schema() AS regnamespace)"
            ),
            {"r": db.APP_ROLE},
        ).all()
        role = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": db.APP_ROLE},
        ).one()
    assert tuple(role) == (False, False)
    by_name = {row.relname: row for row in rows}
    assert set(SCOPED) <= set(by_name)
    for row in rows:
        assert row.owner != db.APP_ROLE, f"{row.relname} is owned by the app role (RLS bypassed)"
        # TRUNCATE ignores row-level security: it would empty every casino's rows at once.
        assert not row.can_truncate, row.relname
        if row.relname == "alembic_version":
            assert (row.can_select, row.can_write) == (True, False)
        elif row.can_select or row.can_write:
            assert row.relrowsecurity, f"the app role reaches {row.relname}, which has no RLS"
    assert not by_name["casino"].can_write, "casinos are created by the owner only"


# --- Postgres: reads ---------------------------------------------------------------------------


def app_counts(
    app_database: Database, actor: Actor, other: uuid.UUID
) -> dict[str, tuple[int, int]]:
    """Per table, as the app role scoped to ``actor``: (all visible rows, rows of ``other``)."""
    result = {}
    with app_database.reader(actor) as uow:
        conn = uow.session.connection()  # Core: the ORM scoping hook never sees these
        for table in SCOPED:
            visible = conn.scalar(text(f"SELECT count(*) FROM {table}"))
            foreign = conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE casino_id = :o").bindparams(
                    uuid_param("o", other)
                )
            )
            result[table] = (visible, foreign)
    return result


@pytest.mark.postgres
def test_each_casino_reads_only_its_own_rows_table_by_table(
    pg_database: Database, app_database: Database, two: Two
) -> None:
    for mine, theirs in ((two.a, two.b), (two.b, two.a)):
        with pg_database.raw() as conn:
            expected = {t: (n, 0) for t, n in owner_counts(conn, mine.casino.id).items()}
        assert app_counts(app_database, mine.admin, theirs.casino.id) == expected


@pytest.mark.postgres
def test_staff_and_players_of_b_are_invisible_to_a(app_database: Database, two: Two) -> None:
    a, b = two.a.casino.id, two.b.casino.id
    with app_database.reader(two.admin_a) as uow:
        conn = uow.session.connection()
        staff_casinos = set(conn.scalars(text("SELECT casino_id FROM staff")))
        player_casinos = set(conn.scalars(text("SELECT casino_id FROM player")))
        by_id = conn.scalar(
            text("SELECT count(*) FROM player WHERE id = :p").bindparams(
                uuid_param("p", two.player_b)
            )
        )
        staff = [s.casino_id for s in uow.session.scalars(select(Staff))]
        foreign_orm = uow.session.scalars(select(Player).where(Player.casino_id == b)).all()
    assert {uuid.UUID(str(c)) for c in staff_casinos} == {a}
    assert {uuid.UUID(str(c)) for c in player_casinos} == {a}
    assert by_id == 0
    assert len(staff) == len(StaffRole)
    assert set(staff) == {a}
    assert foreign_orm == []


# --- Postgres: writes -----------------------------------------------------------------------------


INSERT_PLAYER = (
    "INSERT INTO player (id, casino_id, first_name, last_name, created_at)"
    " VALUES (:id, :casino, 'Eve', 'Intruder', now())"
)


def insert_player(casino_id: uuid.UUID) -> Any:
    return text(INSERT_PLAYER).bindparams(
        uuid_param("id", uuid.uuid4()), uuid_param("casino", casino_id)
    )


def expect_rls_violation(app_database: Database, actor: Actor, statement: Any) -> str:
    with app_database.uow(actor) as uow, pytest.raises(ProgrammingError) as raised:
        uow.session.connection().execute(statement)
        uow.commit()
    message = str(raised.value)
    assert "row-level security" in message, message
    return message


@pytest.mark.postgres
def test_inserting_a_player_for_b_is_refused(
    pg_database: Database, app_database: Database, two: Two
) -> None:
    with pg_database.raw() as conn:
        before = owner_counts(conn, two.b.casino.id)["player"]
    expect_rls_violation(app_database, two.admin_a, insert_player(two.b.casino.id))
    with pg_database.raw() as conn:
        assert owner_counts(conn, two.b.casino.id)["player"] == before
    # The same statement for A's own casino goes through: only the casino made it fail.
    with app_database.uow(two.admin_a) as uow:
        assert uow.session.connection().execute(insert_player(two.a.casino.id)).rowcount == 1
        uow.commit()


@pytest.mark.postgres
def test_inserting_a_row_for_b_is_refused_table_by_table(
    pg_database: Database, app_database: Database, two: Two
) -> None:
    # Copy one of A's rows with B's casino_id: the policy's WITH CHECK runs before any
    # constraint, so keys and unique indexes never get a say.
    for table in SCOPED:
        columns = columns_of(table)
        names = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join(":b" if c == "casino_id" else f'"{c}"' for c in columns)
        statement = text(
            f"INSERT INTO {table} ({names}) SELECT {values} FROM {table} LIMIT 1"
        ).bindparams(uuid_param("b", two.b.casino.id))
        message = expect_rls_violation(app_database, two.admin_a, statement)
        assert f'table "{table}"' in message
    with pg_database.raw() as conn:
        assert all(owner_counts(conn, two.b.casino.id).values())


@pytest.mark.postgres
def test_updating_b_staff_affects_no_rows(
    pg_database: Database, app_database: Database, two: Two
) -> None:
    b = two.b.casino.id
    with pg_database.raw() as conn:
        names_before = set(
            conn.scalars(
                text("SELECT name FROM staff WHERE casino_id = :b").bindparams(uuid_param("b", b))
            )
        )
    with app_database.uow(two.admin_a) as uow:
        result = uow.session.connection().execute(
            text("UPDATE staff SET name = 'x' WHERE casino_id = :b").bindparams(uuid_param("b", b))
        )
        assert result.rowcount == 0
        uow.commit()
    with pg_database.raw() as conn:
        names_after = set(
            conn.scalars(
                text("SELECT name FROM staff WHERE casino_id = :b").bindparams(uuid_param("b", b))
            )
        )
    assert names_after == names_before
    assert "x" not in names_after


@pytest.mark.postgres
def test_moving_a_row_of_a_into_b_is_refused(app_database: Database, two: Two) -> None:
    statement = text("UPDATE player SET casino_id = :b WHERE id = :p").bindparams(
        uuid_param("b", two.b.casino.id), uuid_param("p", two.player_a)
    )
    expect_rls_violation(app_database, two.admin_a, statement)


def _privilege(conn: Connection, table: str, privilege: str) -> bool:
    return bool(
        conn.scalar(
            text("SELECT has_table_privilege(current_user, CAST(:t AS text), :p)"),
            {"t": table, "p": privilege},
        )
    )


@pytest.mark.postgres
def test_updates_and_deletes_of_b_rows_touch_nothing_table_by_table(
    pg_database: Database, app_database: Database, two: Two
) -> None:
    b = two.b.casino.id
    with pg_database.raw() as conn:
        before = owner_counts(conn, b)
    statements: dict[str, Callable[[str], str]] = {
        "UPDATE": lambda t: f"UPDATE {t} SET casino_id = casino_id WHERE casino_id = :b",
        "DELETE": lambda t: f"DELETE FROM {t} WHERE casino_id = :b",
    }
    for table in SCOPED:
        for privilege, sql in statements.items():
            statement = text(sql(table)).bindparams(uuid_param("b", b))
            with app_database.uow(two.admin_a) as uow:
                conn = uow.session.connection()
                granted = _privilege(conn, table, privilege)
                if granted:
                    assert conn.execute(statement).rowcount == 0, (privilege, table)
                    uow.commit()
                else:
                    with pytest.raises(ProgrammingError, match="permission denied"):
                        conn.execute(statement)
    with pg_database.raw() as conn:
        assert owner_counts(conn, b) == before


# --- Postgres: no casino set --------------------------------------------------------------------


@pytest.mark.postgres
def test_without_a_casino_setting_every_scoped_table_reads_empty(
    app_database: Database, two: Two
) -> None:
    with app_database.raw() as conn:
        counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in SCOPED}
        casinos = conn.scalar(text("SELECT count(*) FROM casino"))
    assert counts == dict.fromkeys(SCOPED, 0)
    assert casinos == 2  # casino codes are public: a terminal resolves its casino pre-sign-in
    with app_database.reader(None) as uow:
        assert uow.session.scalars(select(Player)).all() == []
        assert uow.session.scalar(select(func.count()).select_from(Staff)) == 0


@pytest.mark.postgres
def test_without_a_casino_setting_inserts_are_refused(app_database: Database, two: Two) -> None:
    with app_database.raw() as conn, pytest.raises(ProgrammingError) as raised:
        conn.execute(insert_player(two.a.casino.id))
    assert "row-level security" in str(raised.value)


@pytest.mark.postgres
def test_scope_settings_are_transaction_local(app_database: Database, two: Two) -> None:
    engine = app_database.engine
    with app_database.reader(two.admin_a) as uow:
        inside = uow.session.scalar(text("SELECT current_setting('app.casino_id', true)"))
        backend_pid = uow.session.scalar(text("SELECT pg_backend_pid()"))
    assert inside == str(two.a.casino.id)
    with engine.connect() as conn:
        # The pool hands back the very connection the unit of work used: nothing leaked.
        assert conn.scalar(text("SELECT pg_backend_pid()")) == backend_pid
        assert conn.scalar(text("SELECT current_setting('app.casino_id', true)")) in ("", None)
        assert conn.scalar(text("SELECT count(*) FROM player")) == 0


@pytest.mark.postgres
def test_unit_of_work_sets_staff_and_role_too(app_database: Database, two: Two) -> None:
    boss = two.a.actor(StaffRole.PIT_BOSS)
    with app_database.reader(boss) as uow:
        settings = uow.session.execute(
            text(
                "SELECT current_setting('app.casino_id', true), current_setting('app.staff_id',"
                " true), current_setting('app.role', true)"
            )
        ).one()
    assert tuple(settings) == (str(boss.casino_id), str(boss.staff_id), "pit_boss")


# --- Both backends: the unit of work's own scoping --------------------------------------------


def add_player(
    database: Database, actor: Actor, first_name: str, *, commit: bool = True
) -> uuid.UUID:
    with database.uow(actor) as uow:
        player = Player(
            id=uuid.uuid4(),
            casino_id=actor.casino_id,
            first_name=first_name,
            last_name="Scoped",
            created_at=uow.now(),
        )
        uow.session.add(player)
        uow.session.flush()
        if commit:
            uow.commit()
        return player.id


@dataclass
class Pair:
    a: CasinoWorld
    b: CasinoWorld
    player_a: uuid.UUID
    player_b: uuid.UUID


def build_pair(database: Database) -> Pair:
    a, b = build_casino(database, "ALPHA"), build_casino(database, "BRAVO")
    return Pair(a, b, add_player(database, a.admin, "Ann"), add_player(database, b.admin, "Bob"))


BUILT_PAIR = pytest.StashKey[Pair]()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Database]:
    """conftest's ``backend``; for a test that asks for ``pair``, a copy of a database that
    ``build_pair`` filled once per session."""
    if "pair" not in request.fixturenames:
        name = "sqlite_database" if request.param == "sqlite" else "pg_database"
        yield request.getfixturevalue(name)
        return
    with seeded_database(request, request.param, build_pair) as (database, built):
        request.node.stash[BUILT_PAIR] = built
        yield database


@pytest.fixture
def pair(request: pytest.FixtureRequest, backend: Database) -> Pair:
    """Casinos A and B with a player each (``build_pair``)."""
    return request.node.stash[BUILT_PAIR]


def test_orm_reader_scoped_to_a_never_returns_b_rows(backend: Database, pair: Pair) -> None:
    a, b = pair.a.casino.id, pair.b.casino.id
    with backend.reader(pair.a.admin) as uow:
        session = uow.session
        players_seen = [p.id for p in session.scalars(select(Player))]
        staff_seen = [s.casino_id for s in session.scalars(select(Staff))]
        asked_for_b = session.scalars(select(Player).where(Player.casino_id == b)).all()
        b_by_id = session.get(Player, pair.player_b)
        names = session.scalars(select(Player.first_name)).all()
        counted = session.scalar(select(func.count(Staff.id)))
    assert players_seen == [pair.player_a]
    assert set(staff_seen) == {a}
    assert len(staff_seen) == len(StaffRole)
    assert asked_for_b == []
    assert b_by_id is None
    assert names == ["Ann"]
    assert counted == len(StaffRole)
    # Without a scope (the owner's setup path) both casinos are there: the filter is the scope.
    with backend.reader(None) as uow:
        assert len(uow.session.scalars(select(Player)).all()) == 2


def test_orm_scoping_covers_counts_subqueries_and_exists(backend: Database, pair: Pair) -> None:
    with backend.reader(pair.a.admin) as uow:
        session = uow.session
        counted = session.scalar(select(func.count()).select_from(Player))
        in_subquery = session.scalar(select(func.count()).select_from(select(Player.id).subquery()))
        b_exists = session.scalar(
            select(select(Player.id).where(Player.id == pair.player_b).exists())
        )
    assert (counted, in_subquery, b_exists) == (1, 1, False)


def test_orm_bulk_update_in_a_touches_only_a(backend: Database, pair: Pair) -> None:
    with backend.uow(pair.a.admin) as uow:
        uow.session.execute(update(Player).values(last_name="Renamed"))
        uow.commit()
    with backend.reader(None) as uow:
        names = {p.id: p.last_name for p in uow.session.scalars(select(Player))}
    assert names == {pair.player_a: "Renamed", pair.player_b: "Scoped"}


def test_flushing_a_new_row_of_b_inside_a_is_refused(backend: Database, pair: Pair) -> None:
    with backend.uow(pair.a.admin) as uow, pytest.raises(DomainError) as raised:
        uow.session.add(
            Player(
                id=uuid.uuid4(),
                casino_id=pair.b.casino.id,
                first_name="Mallory",
                last_name="Crosser",
                created_at=uow.now(),
            )
        )
        uow.session.flush()
    assert raised.value.code is ErrorCode.CASINO_MISMATCH
    with backend.reader(None) as uow:
        assert uow.session.scalar(select(func.count(Player.id))) == 2


def test_moving_a_row_to_b_inside_a_is_refused(backend: Database, pair: Pair) -> None:
    with backend.uow(pair.a.admin) as uow, pytest.raises(DomainError) as raised:
        player = uow.session.get(Player, pair.player_a)
        assert player is not None
        player.casino_id = pair.b.casino.id
        uow.commit()
    assert raised.value.code is ErrorCode.CASINO_MISMATCH
    with backend.reader(pair.a.admin) as uow:
        assert uow.session.get(Player, pair.player_a) is not None


def test_unit_of_work_without_commit_rolls_back(backend: Database, pair: Pair) -> None:
    kept = add_player(backend, pair.a.admin, "Kept", commit=True)
    dropped = add_player(backend, pair.a.admin, "Dropped", commit=False)
    with backend.reader(pair.a.admin) as uow:
        assert uow.session.get(Player, kept) is not None
        assert uow.session.get(Player, dropped) is None


def test_unit_of_work_rolls_back_on_error(backend: Database, pair: Pair) -> None:
    with pytest.raises(RuntimeError), backend.uow(pair.a.admin) as uow:
        uow.session.add(
            Player(
                id=uuid.uuid4(),
                casino_id=pair.a.casino.id,
                first_name="Half",
                last_name="Done",
                created_at=uow.now(),
            )
        )
        uow.session.flush()
        raise RuntimeError("boom")
    with backend.reader(pair.a.admin) as uow:
        assert uow.session.scalars(select(Player.first_name)).all() == ["Ann"]


def test_foreign_rows_are_refused_before_they_reach_the_database(
    backend: Database, pair: Pair
) -> None:
    # The guard raises in before_flush: nothing is sent, so SQLite (no RLS) is protected too.
    with backend.uow(pair.a.admin) as uow:
        staff = uow.session.scalars(select(Staff)).first()
        assert staff is not None
        staff.casino_id = pair.b.casino.id
        with pytest.raises(DomainError):
            uow.session.flush()
    with backend.reader(pair.b.admin) as uow:
        assert len(uow.session.scalars(select(Staff)).all()) == len(StaffRole)
