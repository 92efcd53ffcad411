"""Settings → Webhooks in the console: administrators only; create shows the secret once."""

from kehu.users import Role
from kehu.webhooks import list_subscriptions
from tests.factories import make_user
from tests.integration.web.conftest import csrf_of, sign_in


def _signed_in(client, session, role):
    make_user(session, role, email=f"{role.value}@example.com")
    session.commit()
    assert sign_in(client, f"{role.value}@example.com").status_code == 303
    return client


def test_admin_creates_disables_and_deletes_a_subscription(client, session):
    _signed_in(client, session, Role.ADMIN)
    token = csrf_of(client, "/settings/webhooks")

    created = client.post(
        "/settings/webhooks",
        data={
            "csrf_token": token,
            "name": "erp",
            "url": "https://example.com/erp",
            "event_types": ["ticket.created", "customer.created"],
        },
    )

    assert created.status_code == 200
    assert 'data-testid="webhook-secret"' in created.text
    [subscription] = list_subscriptions(session)
    assert subscription.secret in created.text
    assert subscription.event_types == ["customer.created", "ticket.created"]
    page = client.get("/settings/webhooks")
    assert subscription.secret not in page.text  # shown once only
    assert 'data-testid="nav-webhooks"' in page.text

    client.post(
        f"/settings/webhooks/{subscription.id}/state", data={"csrf_token": token, "active": "0"}
    )
    session.expire_all()
    assert list_subscriptions(session)[0].is_active is False
    client.post(f"/settings/webhooks/{subscription.id}/delete", data={"csrf_token": token})
    assert list_subscriptions(session) == []


def test_bad_url_is_explained_and_nothing_is_created(client, session):
    _signed_in(client, session, Role.ADMIN)
    token = csrf_of(client, "/settings/webhooks")

    answer = client.post(
        "/settings/webhooks",
        data={"csrf_token": token, "name": "x", "url": "not a url", "event_types": ["*"]},
    )

    assert answer.status_code == 200  # back on the page, with the reason
    assert "is not an http(s) URL" in answer.text
    assert list_subscriptions(session) == []


def test_managers_may_not_open_the_page(client, session):
    _signed_in(client, session, Role.MANAGER)

    answer = client.get("/settings/webhooks")

    assert answer.status_code == 403
    assert 'data-testid="nav-webhooks"' not in client.get("/").text
