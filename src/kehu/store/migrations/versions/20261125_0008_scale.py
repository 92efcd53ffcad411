"""indexes for the console and API at millions of customers (issue 8)

An index on (owner, merged into) for an owner's live book ("my customers", the owner filter),
and trigram (``pg_trgm``) GIN indexes for the customer search's substring matches (name, e-mail,
phone, identity handles), PostgreSQL only: without them every search reads every customer and
every identity (``benchmarks/scale/console.py``). SQLite, the embedded store, gets only the
first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index, table, column): mirrored in the models' ``__table_args__`` (``ddl_if`` PostgreSQL).
TRIGRAM_INDEXES = (
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_customers_email_trgm", "customers", "email"),
    ("ix_customers_phone_trgm", "customers", "phone"),
    ("ix_identities_value_trgm", "identities", "value"),
)


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Create the owner index; the trigram ones (and ``pg_trgm``) on PostgreSQL only."""
    op.create_index("ix_customers_owner_merged", "customers", ["owner_id", "merged_into_id"])
    if not _is_postgresql():
        return
    schema = _trigram_schema()
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: f'"{schema}".gin_trgm_ops'},
        )


def _trigram_schema() -> str:
    """Install ``pg_trgm`` (in ``public`` when there is one) and return the schema it is in.

    Not in the store's own schema: a store that lives in a schema of its own (the tests', or a
    shared server's) would otherwise take the extension with it when that schema is dropped.
    The operator class is named with its schema, so the store's ``search_path`` need not
    include it.
    """
    bind = op.get_bind()
    has_public = bind.scalar(sa.text("SELECT to_regnamespace('public') IS NOT NULL"))
    where = " SCHEMA public" if has_public else ""
    op.execute(f"CREATE EXTENSION IF NOT EXISTS pg_trgm{where}")
    return str(
        bind.scalar(
            sa.text(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
    )


def downgrade() -> None:
    """Drop the indexes; the ``pg_trgm`` extension stays (something else may use it)."""
    if _is_postgresql():
        for name, table, _ in reversed(TRIGRAM_INDEXES):
            op.drop_index(name, table_name=table)
    op.drop_index("ix_customers_owner_merged", table_name="customers")
