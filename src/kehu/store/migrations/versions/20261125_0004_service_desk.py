"""service desk: departments' categories, tickets, messages, SLA, answers, QA

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_sla_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("business_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("warn_at_share", sa.Float(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sla_policies")),
        sa.UniqueConstraint("code", name=op.f("uq_service_sla_policies_code")),
    )
    op.create_table(
        "service_categories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "department_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "sla_policy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_service_categories_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["service_categories.id"],
            name=op.f("fk_service_categories_parent_id_service_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["service_sla_policies.id"],
            name=op.f("fk_service_categories_sla_policy_id_service_sla_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_service_categories_code")),
    )
    with op.batch_alter_table("service_categories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_categories_parent_id"), ["parent_id"], unique=False
        )

    op.create_table(
        "service_answers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_service_answers_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_categories.id"],
            name=op.f("fk_service_answers_category_id_service_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_answers")),
        sa.UniqueConstraint(
            "category_id", "version", name=op.f("uq_service_answers_category_id_version")
        ),
    )
    with op.batch_alter_table("service_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_answers_category_id"), ["category_id"], unique=False
        )

    op.create_table(
        "service_tickets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("requester", sa.String(length=320), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "department_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("category_source", sa.String(length=16), nullable=True),
        sa.Column(
            "predicted_category_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("in_triage", sa.Boolean(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column(
            "sla_policy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("opened_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "first_response_due_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("resolution_due_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("n_reopened", sa.Integer(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("amount_claimed", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("amount_paid", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("value_recovered", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_service_tickets_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_categories.id"],
            name=op.f("fk_service_tickets_category_id_service_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_service_tickets_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_service_tickets_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_service_tickets_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["predicted_category_id"],
            ["service_categories.id"],
            name=op.f("fk_service_tickets_predicted_category_id_service_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["service_sla_policies.id"],
            name=op.f("fk_service_tickets_sla_policy_id_service_sla_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_tickets")),
        sa.UniqueConstraint("external_id", name=op.f("uq_service_tickets_external_id")),
    )
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_tickets_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_category_opened", ["category_id", "opened_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_tickets_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_department_status", ["department_id", "status"], unique=False
        )

    op.create_table(
        "service_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_internal", sa.Boolean(), nullable=False),
        sa.Column("sent_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_messages_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_service_messages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_messages")),
    )
    with op.batch_alter_table("service_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_messages_ticket_sent", ["ticket_id", "sent_at"], unique=False
        )

    op.create_table(
        "service_policy_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("rule_text", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column(
            "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decided_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_service_policy_decisions_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_policy_decisions_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_policy_decisions")),
    )
    with op.batch_alter_table("service_policy_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_policy_decisions_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "service_ticket_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("old", sa.String(length=128), nullable=False),
        sa.Column("new", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_ticket_events_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_service_ticket_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ticket_events")),
    )
    with op.batch_alter_table("service_ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_ticket_events_ticket_at", ["ticket_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("service_ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_service_ticket_events_ticket_at")

    op.drop_table("service_ticket_events")
    with op.batch_alter_table("service_policy_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_policy_decisions_ticket_id"))

    op.drop_table("service_policy_decisions")
    with op.batch_alter_table("service_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_service_messages_ticket_sent")

    op.drop_table("service_messages")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_department_status")
        batch_op.drop_index(batch_op.f("ix_service_tickets_customer_id"))
        batch_op.drop_index("ix_service_tickets_category_opened")
        batch_op.drop_index(batch_op.f("ix_service_tickets_assignee_id"))

    op.drop_table("service_tickets")
    with op.batch_alter_table("service_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_answers_category_id"))

    op.drop_table("service_answers")
    with op.batch_alter_table("service_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_categories_parent_id"))

    op.drop_table("service_categories")
    op.drop_table("service_sla_policies")
