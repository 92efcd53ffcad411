"""Lifting an erasure block: the person came back and gives an identity anew.

Erasure leaves a tombstone per identity (:mod:`kehu.privacy.erasure`) so that the same
e-mail, phone or external id is refused later. When the person returns and consents, an
administrator removes that one tombstone; who did it and why is audited (the identity itself
is not written anywhere: only its kind).
"""

from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError, NotFoundError
from kehu.customers import normalise_identity
from kehu.privacy.erasure import identity_digest
from kehu.privacy.errors import PrivacyErrorCode
from kehu.privacy.models import ErasureTombstone

#: Longest reason kept in the audit entry.
MAX_REASON = 500


class UnblockResult(BaseModel):
    """An identity whose erasure block was lifted (its kind only, never its value)."""

    kind: str
    unblocked: bool = True


def lift_erasure_block(
    session: Session, kind: str, value: str, *, actor: Actor, reason: str
) -> UnblockResult:
    """Remove the tombstone of identity ``kind``/``value`` so that it may be stored again.

    Raises
    ------
    InvalidInputError
        An unknown kind, a malformed value, or no reason given.
    NotFoundError
        The identity is not blocked (``privacy.not_blocked``).
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(
            "Say why the block is lifted (e.g. 'came back 2026-11-25 and consented').",
            code="privacy.reason_required",
        )
    norm_kind, norm_value = normalise_identity(kind, value)
    digest = identity_digest(norm_kind.value, norm_value)
    removed = session.execute(delete(ErasureTombstone).where(ErasureTombstone.digest == digest))
    if not getattr(removed, "rowcount", 0):
        raise NotFoundError(
            f"No erasure block holds this {norm_kind.value.replace('_', ' ')}: it can be "
            "stored already (check the spelling).",
            code=PrivacyErrorCode.NOT_BLOCKED,
        )
    session.flush()
    record(
        session,
        actor=actor,
        action="privacy.unblock",
        object_type="privacy_tombstone",
        object_id=digest[:16],
        summary=f"lifted the erasure block of one {norm_kind.value}: {reason[:MAX_REASON]}",
        changes={"kind": norm_kind.value, "reason": reason[:MAX_REASON]},
    )
    return UnblockResult(kind=norm_kind.value)
