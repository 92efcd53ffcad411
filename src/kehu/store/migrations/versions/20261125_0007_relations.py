"""relationship playbooks: tasks, cadence, reminders, surprises, contact budget, referrals, rules

Also adds ``interactions.kind`` (contact, service, gift, fix, surprise) so the log of what we
did for a customer stays one table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the relationship tables and the interaction kind."""
    op.create_table(
        "relation_cadence_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("due_in_days", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_cadence_policies")),
        sa.UniqueConstraint("tier", name=op.f("uq_relation_cadence_policies_tier")),
    )
    op.create_table(
        "relation_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_relation_rules_name")),
    )
    op.create_table(
        "relation_settings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contact_budget", sa.Integer(), nullable=False),
        sa.Column("budget_window_days", sa.Integer(), nullable=False),
        sa.Column("priorities", sa.JSON(), nullable=False),
        sa.Column("wait_min_priority", sa.Integer(), nullable=False),
        sa.Column("surprise_tiers", sa.JSON(), nullable=False),
        sa.Column("surprise_every_months", sa.Integer(), nullable=False),
        sa.Column("surprise_monthly_budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_settings")),
    )
    op.create_table(
        "relation_surprises",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effort_minutes", sa.Integer(), nullable=False),
        sa.Column("moments", sa.JSON(), nullable=False),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_surprises")),
        sa.UniqueConstraint("code", name=op.f("uq_relation_surprises_code")),
    )
    op.create_table(
        "relation_service_reminders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("after_days", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_relation_service_reminders_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_service_reminders")),
    )
    op.create_index(
        op.f("ix_relation_service_reminders_category"),
        "relation_service_reminders",
        ["category"],
        unique=False,
    )
    op.create_index(
        op.f("ix_relation_service_reminders_product_id"),
        "relation_service_reminders",
        ["product_id"],
        unique=False,
    )
    op.create_table(
        "relation_contact_ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("playbook", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_relation_contact_ledger_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_contact_ledger")),
    )
    op.create_index(
        "ix_relation_contact_ledger_customer_at",
        "relation_contact_ledger",
        ["customer_id", "at"],
        unique=False,
    )
    op.create_table(
        "relation_referrals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "referrer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "referred_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referred_id"],
            ["customers.id"],
            name=op.f("fk_relation_referrals_referred_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["customers.id"],
            name=op.f("fk_relation_referrals_referrer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_referrals")),
        sa.UniqueConstraint("referred_id", name=op.f("uq_relation_referrals_referred_id")),
    )
    op.create_index(
        op.f("ix_relation_referrals_referrer_id"),
        "relation_referrals",
        ["referrer_id"],
        unique=False,
    )
    op.create_table(
        "relation_tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("due_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("opened_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_relation_tasks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_relation_tasks_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_tasks")),
    )
    op.create_index(
        "ix_relation_tasks_customer_status",
        "relation_tasks",
        ["customer_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_relation_tasks_owner_status_due",
        "relation_tasks",
        ["owner_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "uq_relation_tasks_open_dedupe_key",
        "relation_tasks",
        ["dedupe_key"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "relation_surprise_gifts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "surprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("moment", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("planned_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("given_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_relation_surprise_gifts_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["surprise_id"],
            ["relation_surprises.id"],
            name=op.f("fk_relation_surprise_gifts_surprise_id_relation_surprises"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["relation_tasks.id"],
            name=op.f("fk_relation_surprise_gifts_task_id_relation_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_surprise_gifts")),
    )
    op.create_index(
        "ix_relation_surprise_gifts_customer_at",
        "relation_surprise_gifts",
        ["customer_id", "planned_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_relation_surprise_gifts_surprise_id"),
        "relation_surprise_gifts",
        ["surprise_id"],
        unique=False,
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="contact", nullable=False)
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.drop_index(
        op.f("ix_relation_surprise_gifts_surprise_id"), table_name="relation_surprise_gifts"
    )
    op.drop_index("ix_relation_surprise_gifts_customer_at", table_name="relation_surprise_gifts")
    op.drop_table("relation_surprise_gifts")
    op.drop_index(
        "uq_relation_tasks_open_dedupe_key",
        table_name="relation_tasks",
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_relation_tasks_owner_status_due", table_name="relation_tasks")
    op.drop_index("ix_relation_tasks_customer_status", table_name="relation_tasks")
    op.drop_table("relation_tasks")
    op.drop_index(op.f("ix_relation_referrals_referrer_id"), table_name="relation_referrals")
    op.drop_table("relation_referrals")
    op.drop_index("ix_relation_contact_ledger_customer_at", table_name="relation_contact_ledger")
    op.drop_table("relation_contact_ledger")
    op.drop_index(
        op.f("ix_relation_service_reminders_product_id"), table_name="relation_service_reminders"
    )
    op.drop_index(
        op.f("ix_relation_service_reminders_category"), table_name="relation_service_reminders"
    )
    op.drop_table("relation_service_reminders")
    op.drop_table("relation_surprises")
    op.drop_table("relation_settings")
    op.drop_table("relation_rules")
    op.drop_table("relation_cadence_policies")
