"""recommendation events, impressions and restraint state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 01:00:00

Restraint state (ignored impressions, stops, caps) is computed from the events when serving,
so that events arriving out of order are simply counted; only the events are stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recommendation_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("serve_id", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_recommendation_events_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recommendation_events_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_recommendation_events_event_id")),
    )
    with op.batch_alter_table("recommendation_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recommendation_events_customer_at", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recommendation_events_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recommendation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_events_product_id"))
        batch_op.drop_index("ix_recommendation_events_customer_at")
    op.drop_table("recommendation_events")
