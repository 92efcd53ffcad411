"""privacy (issue 9 §2): erasure tombstones and automated-decision opt-outs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_tombstones",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erased_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_tombstones")),
        sa.UniqueConstraint("digest", name=op.f("uq_privacy_tombstones_digest")),
    )
    op.create_table(
        "privacy_opt_outs",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("opted_out_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_privacy_opt_outs_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_privacy_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("privacy_opt_outs")
    op.drop_table("privacy_tombstones")
