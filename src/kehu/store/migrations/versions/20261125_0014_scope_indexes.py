"""scope indexes (issue 9 §1 at 1M customers): an owner's customer ids from the index alone

``customers (owner_id, id)`` replaces ``customers (owner_id)``: the record-level scopes
(``kehu.access``) ask for the ids of an owner's customers (and, through them, their accounts'
contacts) on every owner's page; the one-column index made PostgreSQL visit the heap page of
each of an owner's ~16,000 customers (one page each at 1M customers), the two-column one
answers from the index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customers_owner_id_id", "customers", ["owner_id", "id"])
    op.drop_index("ix_customers_owner_id", table_name="customers")


def downgrade() -> None:
    op.create_index("ix_customers_owner_id", "customers", ["owner_id"])
    op.drop_index("ix_customers_owner_id_id", table_name="customers")
