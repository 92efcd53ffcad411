"""Staff: users with roles, departments, API tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.store import Base, IdPK, TimestampMixin


class Role(StrEnum):
    """What a user may do. Admins see all; managers their teams; owners their customers."""

    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    OWNER = "owner"


class Department(TimestampMixin, Base):
    """A team that can own customers' problems (service, billing, logistics...)."""

    __tablename__ = "departments"

    id: Mapped[IdPK]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class User(TimestampMixin, Base):
    """A member of staff who signs in to the console or uses the API."""

    __tablename__ = "users"

    id: Mapped[IdPK]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    department: Mapped[Department | None] = relationship(lazy="joined")


class ApiToken(TimestampMixin, Base):
    """A bearer token for the API. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
