"""value dashboard figures (issue 8 §3): each value run stores what its dashboards show;
the value lists' order (CLV descending, then customer) comes from an index, whole or by tier

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty for the runs before this revision: their dashboards compute the figures live.
    with op.batch_alter_table("value_runs") as batch_op:
        batch_op.add_column(sa.Column("dashboard_figures", sa.JSON(), nullable=True))
    op.drop_index("ix_customer_values_tier_clv", table_name="customer_values")
    op.create_index(
        "ix_customer_values_tier_clv",
        "customer_values",
        ["tier", sa.text("clv DESC"), "customer_id"],
    )
    op.create_index(
        "ix_customer_values_clv", "customer_values", [sa.text("clv DESC"), "customer_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_customer_values_clv", table_name="customer_values")
    op.drop_index("ix_customer_values_tier_clv", table_name="customer_values")
    op.create_index("ix_customer_values_tier_clv", "customer_values", ["tier", "clv"])
    with op.batch_alter_table("value_runs") as batch_op:
        batch_op.drop_column("dashboard_figures")
