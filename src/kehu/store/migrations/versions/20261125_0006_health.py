"""relationship health: health runs and each customer's latest stage, churn risk and evidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "health_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=320), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("n_customers", sa.Integer(), nullable=False),
        sa.Column("n_tasks", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_runs")),
    )
    op.create_table(
        "customer_health",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("previous_stage", sa.String(length=16), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=False),
        sa.Column("previous_risk", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("computed_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_health_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["health_runs.id"], name=op.f("fk_customer_health_run_id_health_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_health")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_health_customer_id")),
    )
    with op.batch_alter_table("customer_health", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_health_stage_risk", ["stage", "churn_risk"], unique=False
        )
        batch_op.create_index("ix_customer_health_risk", ["churn_risk"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_health_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_health", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_health_run_id"))
        batch_op.drop_index("ix_customer_health_risk")
        batch_op.drop_index("ix_customer_health_stage_risk")
    op.drop_table("customer_health")
    op.drop_table("health_runs")
