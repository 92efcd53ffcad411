"""voice of the customer: posts, comments, spread risk, crises, demand, polls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kehu.store.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the voice tables."""
    op.create_table(
        "voice_demand_terms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_demand_terms")),
        sa.UniqueConstraint("attribute", "term", name=op.f("uq_voice_demand_terms_attribute_term")),
    )
    op.create_table(
        "voice_polls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("product_key", sa.String(length=200), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_polls")),
    )
    op.create_table(
        "voice_poll_options",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["voice_polls.id"], name=op.f("fk_voice_poll_options_poll_id_voice_polls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_poll_options")),
    )
    op.create_index(
        op.f("ix_voice_poll_options_poll_id"), "voice_poll_options", ["poll_id"], unique=False
    )
    op.create_table(
        "voice_settings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("risk_threshold", sa.Float(), nullable=False),
        sa.Column("response_target_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "crisis_owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("cluster_window_hours", sa.Integer(), nullable=False),
        sa.Column("dedupe_window_hours", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_owner_id"], ["users.id"], name=op.f("fk_voice_settings_crisis_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_settings")),
    )
    op.create_table(
        "voice_poll_votes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "option_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("voter", sa.String(length=200), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("voted_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_voice_poll_votes_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["voice_poll_options.id"],
            name=op.f("fk_voice_poll_votes_option_id_voice_poll_options"),
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["voice_polls.id"], name=op.f("fk_voice_poll_votes_poll_id_voice_polls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_poll_votes")),
        sa.UniqueConstraint("poll_id", "voter", name=op.f("uq_voice_poll_votes_poll_id_voter")),
    )
    op.create_index(
        op.f("ix_voice_poll_votes_customer_id"), "voice_poll_votes", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_voice_poll_votes_option_id"), "voice_poll_votes", ["option_id"], unique=False
    )
    op.create_index(
        op.f("ix_voice_poll_votes_poll_id"), "voice_poll_votes", ["poll_id"], unique=False
    )
    op.create_table(
        "voice_posts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_external_id", sa.String(length=128), nullable=True),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("author_handle", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.String(length=320), nullable=True),
        sa.Column(
            "author_followers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reposts", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("comments", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("likes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("posted_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("is_truncated", sa.Boolean(), nullable=False),
        sa.Column(
            "duplicate_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("product_sku", sa.String(length=64), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("sentiment_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("risk_breakdown", sa.JSON(), nullable=True),
        sa.Column("risk_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cluster_size", sa.Integer(), nullable=True),
        sa.Column(
            "cluster_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_voice_posts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["voice_posts.id"],
            name=op.f("fk_voice_posts_duplicate_of_id_voice_posts"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["voice_posts.id"], name=op.f("fk_voice_posts_parent_id_voice_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_posts")),
        sa.UniqueConstraint(
            "platform", "external_id", name=op.f("uq_voice_posts_platform_external_id")
        ),
    )
    op.create_index(
        "ix_voice_posts_author",
        "voice_posts",
        ["platform", "author_handle", "text_hash"],
        unique=False,
    )
    op.create_index(
        op.f("ix_voice_posts_customer_id"), "voice_posts", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_voice_posts_duplicate_of_id"), "voice_posts", ["duplicate_of_id"], unique=False
    )
    op.create_index(
        "ix_voice_posts_parent", "voice_posts", ["platform", "parent_external_id"], unique=False
    )
    op.create_index(op.f("ix_voice_posts_parent_id"), "voice_posts", ["parent_id"], unique=False)
    op.create_index("ix_voice_posts_posted_at", "voice_posts", ["posted_at"], unique=False)
    op.create_index("ix_voice_posts_risk", "voice_posts", ["risk_score"], unique=False)
    op.create_table(
        "voice_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("routed_to", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("raised_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_voice_alerts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_voice_alerts_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["voice_posts.id"], name=op.f("fk_voice_alerts_post_id_voice_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_alerts")),
        sa.UniqueConstraint("post_id", name=op.f("uq_voice_alerts_post_id")),
    )
    op.create_index(
        op.f("ix_voice_alerts_customer_id"), "voice_alerts", ["customer_id"], unique=False
    )
    op.create_index(op.f("ix_voice_alerts_owner_id"), "voice_alerts", ["owner_id"], unique=False)
    op.create_table(
        "voice_mentions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("product_key", sa.String(length=200), nullable=False),
        sa.Column("mentioned_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["voice_posts.id"], name=op.f("fk_voice_mentions_post_id_voice_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_mentions")),
        sa.UniqueConstraint(
            "post_id", "attribute", "value", name=op.f("uq_voice_mentions_post_id_attribute_value")
        ),
    )
    op.create_index(op.f("ix_voice_mentions_post_id"), "voice_mentions", ["post_id"], unique=False)
    op.create_index(
        "ix_voice_mentions_when", "voice_mentions", ["attribute", "mentioned_at"], unique=False
    )
    op.create_table(
        "voice_crises",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("opened_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("response_due_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", kehu.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("created_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["voice_alerts.id"], name=op.f("fk_voice_crises_alert_id_voice_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_voice_crises_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["voice_posts.id"], name=op.f("fk_voice_crises_post_id_voice_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_crises")),
    )
    op.create_index(op.f("ix_voice_crises_alert_id"), "voice_crises", ["alert_id"], unique=False)
    op.create_index(op.f("ix_voice_crises_owner_id"), "voice_crises", ["owner_id"], unique=False)
    op.create_index(op.f("ix_voice_crises_post_id"), "voice_crises", ["post_id"], unique=False)
    op.create_table(
        "voice_crisis_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "crisis_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", kehu.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["voice_crises.id"],
            name=op.f("fk_voice_crisis_events_crisis_id_voice_crises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_crisis_events")),
    )
    op.create_index(
        op.f("ix_voice_crisis_events_crisis_id"), "voice_crisis_events", ["crisis_id"], unique=False
    )


def downgrade() -> None:
    """Drop the voice tables."""
    op.drop_index(op.f("ix_voice_crisis_events_crisis_id"), table_name="voice_crisis_events")
    op.drop_table("voice_crisis_events")
    op.drop_index(op.f("ix_voice_crises_post_id"), table_name="voice_crises")
    op.drop_index(op.f("ix_voice_crises_owner_id"), table_name="voice_crises")
    op.drop_index(op.f("ix_voice_crises_alert_id"), table_name="voice_crises")
    op.drop_table("voice_crises")
    op.drop_index("ix_voice_mentions_when", table_name="voice_mentions")
    op.drop_index(op.f("ix_voice_mentions_post_id"), table_name="voice_mentions")
    op.drop_table("voice_mentions")
    op.drop_index(op.f("ix_voice_alerts_owner_id"), table_name="voice_alerts")
    op.drop_index(op.f("ix_voice_alerts_customer_id"), table_name="voice_alerts")
    op.drop_table("voice_alerts")
    op.drop_index("ix_voice_posts_risk", table_name="voice_posts")
    op.drop_index("ix_voice_posts_posted_at", table_name="voice_posts")
    op.drop_index(op.f("ix_voice_posts_parent_id"), table_name="voice_posts")
    op.drop_index("ix_voice_posts_parent", table_name="voice_posts")
    op.drop_index(op.f("ix_voice_posts_duplicate_of_id"), table_name="voice_posts")
    op.drop_index(op.f("ix_voice_posts_customer_id"), table_name="voice_posts")
    op.drop_index("ix_voice_posts_author", table_name="voice_posts")
    op.drop_table("voice_posts")
    op.drop_index(op.f("ix_voice_poll_votes_poll_id"), table_name="voice_poll_votes")
    op.drop_index(op.f("ix_voice_poll_votes_option_id"), table_name="voice_poll_votes")
    op.drop_index(op.f("ix_voice_poll_votes_customer_id"), table_name="voice_poll_votes")
    op.drop_table("voice_poll_votes")
    op.drop_table("voice_settings")
    op.drop_index(op.f("ix_voice_poll_options_poll_id"), table_name="voice_poll_options")
    op.drop_table("voice_poll_options")
    op.drop_table("voice_polls")
    op.drop_table("voice_demand_terms")
