"""Webhook signing secrets encrypted at rest (Fernet, key from ``KEHU_SECRET_KEY`` via HKDF).

Signing needs the secret itself, so it cannot be hashed; a copy of the database (a backup, a
read replica, a leaked dump) must still not let anyone forge webhooks. The column holds
``enc:v1:<Fernet token>``; the key is HKDF-SHA256 of the application's secret key with a
purpose label of its own, so it is not the session-signing key. Rows from before the
encryption (plain ``whsec_...``) are encrypted by migration 0013 and still read meanwhile.
Changing ``KEHU_SECRET_KEY`` makes stored secrets unreadable: deliveries then fail with a
message asking to rotate the subscription's secret.
"""

import base64
import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from typing_extensions import override

from kehu.core import get_settings

#: What an encrypted value starts with (a plain ``whsec_`` secret cannot).
ENCRYPTED_PREFIX = "enc:v1:"
_HKDF_INFO = b"kehu webhook signing secrets v1"


class UnreadableSecretError(ValueError):
    """A stored secret that the current secret key cannot decrypt."""


@functools.lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plain: str, *, secret_key: str | None = None) -> str:
    """Return ``plain`` encrypted for storage (``enc:v1:...``)."""
    fernet = _fernet(secret_key if secret_key is not None else get_settings().secret_key)
    return ENCRYPTED_PREFIX + fernet.encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(stored: str, *, secret_key: str | None = None) -> str:
    """Return the plain secret of a stored value (a plain legacy value is returned as is).

    Raises
    ------
    UnreadableSecretError
        The value was encrypted with another secret key.
    """
    if not stored.startswith(ENCRYPTED_PREFIX):
        return stored
    fernet = _fernet(secret_key if secret_key is not None else get_settings().secret_key)
    try:
        return fernet.decrypt(stored.removeprefix(ENCRYPTED_PREFIX).encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise UnreadableSecretError(
            "The webhook secret cannot be decrypted with the current KEHU_SECRET_KEY; "
            "rotate the subscription's secret."
        ) from exc


class EncryptedSecret(TypeDecorator[str]):
    """A string column stored encrypted; Python code sees the plain value.

    A value that cannot be decrypted (the secret key changed) reads as the stored token,
    which no receiver can verify and :func:`kehu.webhooks.signature_headers` refuses.
    """

    impl = String(500)
    cache_ok = True

    @override
    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Encrypt on the way in (an already encrypted value is kept)."""
        del dialect
        if value is None or str(value).startswith(ENCRYPTED_PREFIX):
            return value  # type: ignore[no-any-return]  # None or a str
        return encrypt_secret(str(value))

    @override
    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        del dialect
        if value is None:
            return None
        try:
            return decrypt_secret(str(value))
        except UnreadableSecretError:
            return str(value)


__all__ = [
    "ENCRYPTED_PREFIX",
    "EncryptedSecret",
    "UnreadableSecretError",
    "decrypt_secret",
    "encrypt_secret",
]
