"""the acting staff member's row, for the check each transaction begins with

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22

Every transaction a signed-in terminal begins checks that its staff member is still active,
unlocked and in the role they signed in with (pitterm.domain.database). On Postgres that
check is a statement in the transaction's first round trip; as a plain query under the
staff table's row-level security it was parsed and planned on every transaction (about
75 µs of a 180 µs BEGIN). ``pitterm_acting_staff(staff)`` reads the same row with a plan
PL/pgSQL keeps for the session (about 40 µs). It runs as its owner, so it applies the
tenancy rule itself: only a staff row of the transaction's casino (``app.casino_id``, as
row-level security reads it), and of that row only code, active, locked and role. Only the
application role may call it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from db.policies import APP_ROLE, is_postgres

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
    CREATE FUNCTION pitterm_acting_staff(acting uuid)
    RETURNS TABLE (code text, active boolean, locked boolean, role text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        RETURN QUERY
            SELECT s.code::text, s.active, s.locked, s.role::text
            FROM staff s
            WHERE s.id = acting
                AND s.casino_id = NULLIF(current_setting('app.casino_id', true), '')::uuid;
    END
    $$
    """


def upgrade() -> None:
    if not is_postgres():
        return
    op.execute(FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION pitterm_acting_staff(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION pitterm_acting_staff(uuid) TO {APP_ROLE}")


def downgrade() -> None:
    if is_postgres():
        op.execute("DROP FUNCTION pitterm_acting_staff(uuid)")
