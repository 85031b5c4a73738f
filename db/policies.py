"""Postgres tenancy statements shared by migrations: grants and row-level security per table.

Kept deliberately small and stable: migrations already applied depend on what it emits.
"""

from __future__ import annotations

from alembic import op

APP_ROLE = "pitterm_app"
TENANT_PREDICATE = "casino_id = NULLIF(current_setting('app.casino_id', true), '')::uuid"


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def tenant_table(table: str, privileges: str) -> None:
    """Grant the app role ``privileges`` on ``table`` and confine it to the current casino."""
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )
