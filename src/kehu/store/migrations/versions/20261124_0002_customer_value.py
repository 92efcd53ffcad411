"""customer value: value runs and per-customer scores (CLV, P(alive), tiers, RFM)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:19:58.224108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=320), nullable=False),
        sa.Column("observation_end", sa.Date(), nullable=True),
        sa.Column("calibration_end", sa.Date(), nullable=True),
        sa.Column("horizon_weeks", sa.Integer(), nullable=False),
        sa.Column("discount_rate_annual", sa.Float(), nullable=False),
        sa.Column("vip_share", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("n_customers", sa.Integer(), nullable=False),
        sa.Column("n_scored", sa.Integer(), nullable=False),
        sa.Column("n_orders", sa.Integer(), nullable=False),
        sa.Column("n_vip", sa.Integer(), nullable=False),
        sa.Column("n_owner_changes", sa.Integer(), nullable=False),
        sa.Column("total_clv", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_runs")),
    )
    op.create_table(
        "customer_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("recency", sa.Float(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("monetary_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column("expected_purchases", sa.Float(), nullable=False),
        sa.Column("expected_spend", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("clv", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("value_rank", sa.Integer(), nullable=False),
        sa.Column("value_percentile", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("rfm_r", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_f", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_m", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=32), nullable=False),
        sa.Column("total_spend", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("last_purchase_on", sa.Date(), nullable=True),
        sa.Column("computed_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_values_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["value_runs.id"], name=op.f("fk_customer_values_run_id_value_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_values")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_values_customer_id")),
    )
    with op.batch_alter_table("customer_values", schema=None) as batch_op:
        batch_op.create_index("ix_customer_values_rank", ["value_rank"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_values_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_customer_values_segment", ["rfm_segment"], unique=False)
        batch_op.create_index("ix_customer_values_tier_clv", ["tier", "clv"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_values", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_values_tier_clv")
        batch_op.drop_index("ix_customer_values_segment")
        batch_op.drop_index(batch_op.f("ix_customer_values_run_id"))
        batch_op.drop_index("ix_customer_values_rank")

    op.drop_table("customer_values")
    op.drop_table("value_runs")
