"""Customers (people and organisations), their identities, B2B contacts, consent and merges."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin


class CustomerKind(StrEnum):
    """A customer is a person or an organisation (a B2B account)."""

    PERSON = "person"
    ORGANISATION = "organisation"


class IdentityKind(StrEnum):
    """The channels through which kehu recognises one customer."""

    EMAIL = "email"
    PHONE = "phone"
    WECHAT_OPENID = "wechat_openid"
    WECHAT_UNIONID = "wechat_unionid"
    WEIBO_UID = "weibo_uid"
    FORUM_HANDLE = "forum_handle"
    STORE_CARD = "store_card"
    APP_USER = "app_user"
    EXTERNAL_ID = "external_id"


class ContactRole(StrEnum):
    """A person's role at a B2B account; the mix tells whose needs drive the account."""

    USER = "user"
    ENGINEER = "engineer"
    PROCUREMENT = "procurement"
    DECISION_MAKER = "decision_maker"
    FINANCE = "finance"
    OTHER = "other"


class ConsentStatus(StrEnum):
    """A customer's answer for one channel and purpose."""

    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class Customer(TimestampMixin, Base):
    """One customer, whatever the channels they reach us through."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_name", "name"),
        # "My customers" and the owner filter count an owner's live book (migration 0008).
        Index("ix_customers_owner_merged", "owner_id", "merged_into_id"),
        # An owner's customer ids from the index alone (record-level scopes, migration 0014).
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        # Substring search (``ILIKE '%...%'``) at millions of customers: trigram indexes,
        # PostgreSQL only (migration 0008).
        *(
            Index(
                f"ix_customers_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            ).ddl_if(dialect="postgresql")
            for column in ("name", "email", "phone")
        ),
    )

    id: Mapped[IdPK]
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    kind: Mapped[CustomerKind] = mapped_column(String(16), default=CustomerKind.PERSON)
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when this record was merged into another; such a customer is no longer active.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    identities: Mapped[list["Identity"]] = relationship(
        back_populates="customer", order_by="Identity.id"
    )


class Identity(TimestampMixin, Base):
    """A handle that points at exactly one customer (an e-mail, a WeChat openid...)."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        Index(
            "ix_identities_value_trgm",
            "value",
            postgresql_using="gin",
            postgresql_ops={"value": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(64), default="")
    verified: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class Contact(TimestampMixin, Base):
    """A person who acts for an organisation customer, in a role."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "person_id", "role"),)

    id: Mapped[IdPK]
    account_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    role: Mapped[ContactRole] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)
    started_on: Mapped[date | None]
    ended_on: Mapped[date | None]

    person: Mapped[Customer] = relationship(foreign_keys=[person_id], lazy="joined")


class Consent(Base):
    """One consent event: a customer granted or withdrew a channel for a purpose.

    Rows are never updated: the newest row per (customer, channel, purpose) is in force, and
    the history is the proof that PIPL and GDPR ask for.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "customer_id", "channel", "purpose"),)

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    status: Mapped[ConsentStatus] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerMerge(Base):
    """A merge of one customer into another, with what moved, so that it can be undone."""

    __tablename__ = "customer_merges"

    id: Mapped[IdPK]
    winner_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    loser_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    merged_by: Mapped[str] = mapped_column(String(320))
    # {"<table>.<column>": [row ids moved from loser to winner], "fields": {...}}
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(320))
