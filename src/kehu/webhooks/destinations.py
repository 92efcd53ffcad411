"""Where a webhook may be sent: outside this host and its network (no SSRF).

A subscription URL that names -- or resolves to -- a loopback, private, link-local, shared
(CGNAT), multicast, reserved or unspecified address, or a cloud metadata endpoint, would let
whoever manages webhooks make the server POST into its own network (server-side request
forgery). Such URLs are refused when a subscription is created or changed, and again before
every delivery, because what a name resolves to may change after it was checked. A local
receiver (development, tests) needs ``KEHU_WEBHOOKS_ALLOW_PRIVATE=true``.

What is left: the address is checked just before the HTTP client connects, which resolves the
name again; a name whose DNS answer flips within that instant (DNS rebinding with a zero TTL)
could still reach an inner address once. Redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from kehu.core import InvalidInputError
from kehu.webhooks.errors import WebhookErrorCode

#: Host names that are this machine or a cloud metadata service whatever they resolve to.
LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _kind(address: Address) -> str | None:
    """Return why ``address`` is not a public destination, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _kind(address.ipv4_mapped)
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local (cloud metadata)"
    if address.is_unspecified:
        return "an unspecified"
    if address.is_multicast:
        return "a multicast"
    if address.is_private:
        return "a private"
    if not address.is_global:
        return "a reserved or shared"
    return None


def _resolve(host: str, port: int) -> list[Address]:
    """Return the addresses ``host`` resolves to now (empty when it does not resolve)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found: list[Address] = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return found


def destination_problem(url: str, *, allow_private: bool) -> str | None:
    """Return why ``url`` may not receive webhooks now, or None when it may.

    A host that does not resolve is not a problem here (the request will fail on its own).
    """
    if allow_private:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return None
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return f"{host} is this machine or a metadata service"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443
    for address in _resolve(host, port):
        kind = _kind(address)
        if kind is not None:
            shown = f"{host} is" if host == str(address) else f"{host} resolves to {address},"
            return f"{shown} {kind} address"
    return None


def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise :class:`kehu.core.InvalidInputError` (422) when ``url`` points inside the network."""
    problem = destination_problem(url, allow_private=allow_private)
    if problem is not None:
        raise InvalidInputError(
            f"url: {problem}; webhooks must go to a receiver outside this host and its "
            "network (for a local receiver in development set "
            "KEHU_WEBHOOKS_ALLOW_PRIVATE=true).",
            code=WebhookErrorCode.UNSAFE_URL,
        )


__all__ = ["check_destination", "destination_problem"]
