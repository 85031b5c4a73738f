"""Alembic environment: runs migrations on the engine handed over by ``db.upgrade``."""

from __future__ import annotations

from alembic import context

from pitterm.domain.tables import Base

engine = context.config.attributes.get("engine")
if engine is None:  # pragma: no cover - only reached by a bare `alembic` invocation
    raise RuntimeError("run migrations through `pitterm db upgrade` (db.upgrade)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
