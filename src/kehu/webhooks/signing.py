"""Signing and verifying webhook payloads (the Standard Webhooks scheme, HMAC-SHA256).

Every request carries three headers::

    webhook-id: <event id, the same on every retry>
    webhook-timestamp: <Unix seconds when this attempt was signed>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

keyed with the base64-decoded part of the subscription's ``whsec_...`` secret. This is the
scheme of https://www.standardwebhooks.com/, so receivers may verify with any of its libraries
(``standardwebhooks`` for Python, ``svix``) or with :func:`verify_signature` below; docs/
webhooks.md shows the dozen lines it takes by hand. A timestamp further than the replay window
from the receiver's clock is refused, so a captured request cannot be replayed later.
"""

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
#: Seconds a signed request stays acceptable (both ways, for clock skew).
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """A webhook request whose signature or timestamp does not verify."""


def new_secret() -> str:
    """Return a fresh subscription secret: ``whsec_`` + 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise SignatureError("The secret is not whsec_ followed by base64.") from exc


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value (``v1,<base64>``) of one request."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str, event_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """Return the three signature headers of a request carrying ``body``."""
    at = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(at),
        "webhook-signature": sign(secret, event_id, at, body),
    }


def verify_signature(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Check a received request; raise :class:`SignatureError` unless it is authentic and fresh.

    ``headers`` are the request's headers (names in lower case). Several space-separated
    signatures are accepted (one per secret while a secret is being rotated).
    """
    try:
        event_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise SignatureError("Missing or malformed webhook-* headers.") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            f"The timestamp is more than {tolerance_s} s away from now: a replay or a bad clock."
        )
    expected = sign(secret, event_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given):
        raise SignatureError("No signature matches the secret.")


__all__ = [
    "DEFAULT_TOLERANCE_S",
    "SECRET_PREFIX",
    "SignatureError",
    "new_secret",
    "sign",
    "signature_headers",
    "verify_signature",
]
