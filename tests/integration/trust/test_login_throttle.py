"""Login throttling: failed logins per account and per address → 429 with Retry-After."""

import pytest

from kehu.throttle import LoginFailure
from tests.factories import PASSWORD, make_user
from tests.integration.api.conftest import row_counts
from tests.integration.web.conftest import csrf_of


@pytest.fixture
def limits(app, test_settings):
    app.state.settings = test_settings.model_copy(
        update={
            "login_window_s": 600,
            "login_max_failures_per_account": 3,
            "login_max_failures_per_ip": 5,
        }
    )
    yield
    app.state.settings = test_settings


def _token(client, email, password):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_api_account_is_throttled_after_failures_even_with_the_right_password(
    client, session, limits
):
    make_user(session, email="ada@example.com")
    session.commit()
    statuses = [_token(client, "ada@example.com", "wrong").status_code for _ in range(3)]

    refused = _token(client, "ADA@example.com ", PASSWORD)

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert "Too many failed logins" in refused.json()["detail"]


def test_api_success_clears_the_account_failures(client, session, limits):
    make_user(session, email="bo@example.com")
    session.commit()
    for _ in range(2):
        assert _token(client, "bo@example.com", "wrong").status_code == 401

    assert _token(client, "bo@example.com", PASSWORD).status_code == 201
    assert _token(client, "bo@example.com", "wrong").status_code == 401
    assert _token(client, "bo@example.com", "wrong").status_code == 401
    assert _token(client, "bo@example.com", PASSWORD).status_code == 201


def test_api_address_is_throttled_across_accounts(client, session, limits):
    make_user(session, email="cy@example.com")
    session.commit()
    for n in range(5):
        assert _token(client, f"nobody{n}@example.com", "wrong").status_code == 401

    assert _token(client, "cy@example.com", PASSWORD).status_code == 429


def test_a_refused_login_writes_only_the_failure(client, session, limits):
    make_user(session, email="di@example.com")
    session.commit()
    before = row_counts(session)

    assert _token(client, "di@example.com", "wrong").status_code == 401

    after = row_counts(session)
    assert after.pop("login_failures") == before.pop("login_failures") + 1
    assert after == before
    assert session.query(LoginFailure).one().account == "di@example.com"


def test_console_login_is_throttled(client, session, limits):
    make_user(session, email="ed@example.com")
    session.commit()
    token = csrf_of(client, "/login")
    form = {"email": "ed@example.com", "password": "wrong", "csrf_token": token}
    statuses = [client.post("/login", data=form).status_code for _ in range(3)]

    refused = client.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed logins" in refused.text
