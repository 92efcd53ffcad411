"""Contracts for customers crossing the feature boundary (API, imports)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kehu.customers.models import CustomerKind, IdentityKind


class IdentityIn(BaseModel):
    """An identity given with a customer record."""

    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class CustomerIn(BaseModel):
    """A customer record to create or update (API batch upsert, imports).

    The record is matched on ``external_id`` first, then on its identities (``email`` and
    ``phone`` count as identities too). Fields left out (``None``) are not changed.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str | None = Field(default=None, max_length=128)
    kind: CustomerKind | None = None
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    birthday: date | None = None
    notes: str | None = None
    identities: list[IdentityIn] = Field(default_factory=list)

    @field_validator("external_id", "name", "email", "phone", "country", "city", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class CustomerUpdate(BaseModel):
    """A partial change to a customer (PATCH): only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CustomerKind | None = None
    name: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    birthday: date | None = None
    notes: str | None = None
    owner_id: int | None = None
