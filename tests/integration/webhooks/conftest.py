"""A real HTTP receiver on 127.0.0.1 for the webhook tests (no mocked HTTP)."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kehu.core import Settings, get_settings
from tests.integration.api.conftest import admin, app, client, staff

__all__ = ["admin", "app", "client", "staff"]  # the API's fixtures, used here too


@pytest.fixture(autouse=True)
def allow_loopback_receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let webhooks reach the loopback receiver (refused by default: no SSRF).

    ``KEHU_WEBHOOKS_ALLOW_PRIVATE=true`` for every settings object these tests make; the tests
    of the refusal turn it off again explicitly.
    """
    monkeypatch.setenv("KEHU_WEBHOOKS_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server: records every POST, answers the statuses queued (then 200)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    always: int | None = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Start a receiver thread on a free loopback port; stop it after the test."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # no 40 ms delayed ACK per request

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            state.requests.append(
                Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
            )
            if state.always is not None:
                status = state.always
            else:
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver says no")

        def log_message(self, *_: object) -> None:
            return  # quiet: the test reads ``state.requests``

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/kehu"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook_settings(test_settings: Settings) -> Settings:
    """Settings with small retry figures, so tests see backoff and disabling quickly."""
    return test_settings.model_copy(
        update={
            "webhook_max_attempts": 5,
            "webhook_backoff_base_s": 30,
            "webhook_backoff_max_s": 600,
            "webhook_disable_after_failures": 3,
            "webhook_timeout_s": 5,
        }
    )
