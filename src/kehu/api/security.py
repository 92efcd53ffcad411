"""Security headers on every response of the application (API, console, static files).

A pure ASGI middleware (no per-request task or body buffering, unlike ``BaseHTTPMiddleware``).
The console serves its own JavaScript and CSS (``web/static``, vendored HTMX and ECharts), so
the Content-Security-Policy allows only this origin: no inline or foreign script. Inline
``style`` *attributes* stay allowed (``style-src-attr``): the console draws bar widths with
them, and an attribute cannot run code; the one style element HTMX inserts is allowed by its
hash. The interactive API docs (``/docs``) load Swagger UI from its CDN with an inline
bootstrap script, so they get a policy of their own.
"""

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The hash of the one ``<style>`` element HTMX 2.0.11 adds (its request-indicator rules), so
#: the console's CSP needs no 'unsafe-inline' for style elements (tests/e2e checks for none).
HTMX_INDICATOR_STYLE = "sha256-faU7yAF8NxuMTNEwVmBz+VcYeIoBQ2EMHW3WaVxCvnk="
CONSOLE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' '{HTMX_INDICATOR_STYLE}'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_PATHS = ("/docs", "/redoc")
#: One year, subdomains included; sent only on https (browsers ignore it on http anyway).
HSTS = "max-age=31536000; includeSubDomains"
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` to add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else CONSOLE_CSP
        extra = [*BASE_HEADERS, (b"content-security-policy", csp.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message["headers"] = _merged(headers, extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _merged(
    headers: list[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in extra if name not in present]


__all__ = ["CONSOLE_CSP", "DOCS_CSP", "HSTS", "SecurityHeadersMiddleware"]
