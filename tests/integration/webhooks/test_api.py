"""The admin API of webhooks: subscriptions, the delivery log, retries; bad input is 4xx."""

from kehu.jobs.webhooks import deliver_due
from tests.factories import make_customer


def _create(client, admin, receiver_url, **overrides):
    body = {"name": "crm", "url": receiver_url, "event_types": ["customer.created"]}
    body.update(overrides)
    return client.post("/api/v1/webhooks/subscriptions", json=body, headers=admin)


def test_create_shows_the_secret_once_then_lists_without_it(client, admin):
    created = _create(client, admin, "https://example.com/hooks")

    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks/subscriptions", headers=admin).json()
    assert [s["name"] for s in listed] == ["crm"]
    assert "secret" not in listed[0]


def test_bad_input_is_refused_with_a_message(client, admin):
    bad_url = _create(client, admin, "ftp://example.com/x")
    bad_type = _create(client, admin, "https://example.com/x", event_types=["customer.eaten"])
    no_types = _create(client, admin, "https://example.com/x", event_types=[])
    _create(client, admin, "https://example.com/x")
    duplicate = _create(client, admin, "https://example.com/y")

    assert bad_url.status_code == 422
    assert "http(s) URL" in bad_url.json()["detail"]
    assert bad_type.status_code == 422
    assert "customer.eaten" in bad_type.json()["detail"]
    assert no_types.status_code == 422
    assert duplicate.status_code == 409


def test_disable_enable_rotate_delete(client, admin):
    sid = _create(client, admin, "https://example.com/x").json()["id"]
    old_secret = client.get(f"/api/v1/webhooks/subscriptions/{sid}", headers=admin)

    disabled = client.patch(
        f"/api/v1/webhooks/subscriptions/{sid}", json={"is_active": False}, headers=admin
    )
    enabled = client.patch(
        f"/api/v1/webhooks/subscriptions/{sid}", json={"is_active": True}, headers=admin
    )
    rotated = client.post(f"/api/v1/webhooks/subscriptions/{sid}/rotate-secret", headers=admin)
    deleted = client.delete(f"/api/v1/webhooks/subscriptions/{sid}", headers=admin)

    assert old_secret.status_code == 200
    assert disabled.json()["is_active"] is False
    assert disabled.json()["disabled_reason"].startswith("disabled by")
    assert enabled.json()["is_active"] is True
    assert rotated.json()["secret"].startswith("whsec_")
    assert deleted.status_code == 204
    missing = client.get(f"/api/v1/webhooks/subscriptions/{sid}", headers=admin)
    assert missing.status_code == 404


def test_delivery_log_and_retry(client, admin, session, session_factory, receiver, test_settings):
    _create(client, admin, receiver.url)
    make_customer(session)
    session.commit()
    receiver.always = 500
    settings = test_settings.model_copy(update={"webhook_max_attempts": 1})
    deliver_due(session_factory, settings)

    log = client.get("/api/v1/webhooks/deliveries?status=failed", headers=admin).json()

    assert log["count"] == 1
    [row] = log["data"]
    assert (row["event_type"], row["n_attempts"], row["response_code"]) == (
        "customer.created",
        1,
        500,
    )
    receiver.always = None
    retried = client.post(f"/api/v1/webhooks/deliveries/{row['id']}/retry", headers=admin)
    assert retried.json()["status"] == "pending"
    assert deliver_due(session_factory, settings).n_delivered == 1
    again = client.post(f"/api/v1/webhooks/deliveries/{row['id']}/retry", headers=admin)
    assert again.status_code == 409
    assert client.post("/api/v1/webhooks/deliveries/999999/retry", headers=admin).status_code == 404
