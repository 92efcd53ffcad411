"""Privacy tables: tombstones of erased identities, and automated-decision opt-outs."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK


class ErasureTombstone(Base):
    """A salted hash of one identity of an erased person (never the identity itself).

    ``digest`` is HMAC-SHA256 over ``kind:normalised value`` keyed with the secret key, so a
    later import of the same e-mail, phone or external id is recognised and refused, while
    the store cannot tell anyone what the identity was.
    """

    __tablename__ = "privacy_tombstones"

    id: Mapped[IdPK]
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomatedDecisionOptOut(Base):
    """A customer who asked not to be subject to automated decisions (PIPL 24, GDPR 22)."""

    __tablename__ = "privacy_opt_outs"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(200), default="")
