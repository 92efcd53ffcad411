"""Security headers on every response: console, API, static files, errors; HSTS on https."""

import pytest
from fastapi.testclient import TestClient

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/api/v1/auth/me", 401),
        ("/api/v1/no-such-route", 404),
        ("/static/css/console.css", 200),
        ("/healthz", 200),
    ],
)
def test_every_response_carries_the_headers(client, path, status):
    answer = client.get(path)

    assert answer.status_code == status
    for name, value in EXPECTED.items():
        assert answer.headers[name] == value
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp  # no inline or foreign script
    assert "frame-ancestors 'none'" in csp
    assert "strict-transport-security" not in answer.headers  # plain http


def test_hsts_only_over_https(app):
    with TestClient(app, base_url="https://kehu.example") as client:
        answer = client.get("/login")

    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_api_docs_get_their_own_policy(client):
    answer = client.get("/docs")

    assert answer.status_code == 200
    assert "https://cdn.jsdelivr.net" in answer.headers["content-security-policy"]
