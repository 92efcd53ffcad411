"""Webhook hardening: no URL inside the host's network (creation and delivery), secrets at rest."""

import pytest
from alembic import command
from sqlalchemy import func, select, text

from kehu.core import Actor, InvalidInputError
from kehu.jobs.webhooks import CANNOT_SIGN, deliver_due
from kehu.store import make_engine, make_session_factory, session_scope
from kehu.store.migrate import alembic_config
from kehu.webhooks import (
    WebhookDelivery,
    WebhookSubscription,
    create_subscription,
    get_subscription,
    update_subscription,
    verify_signature,
)
from kehu.webhooks.secrets import ENCRYPTED_PREFIX, decrypt_secret, encrypt_secret
from tests.factories import make_customer

ADMIN = Actor(kind="system", label="test admin")

UNSAFE = {
    "loopback_case": "http://127.0.0.1:8080/hook",
    "loopback_v6_case": "http://[::1]/hook",
    "mapped_v6_case": "http://[::ffff:127.0.0.1]/hook",
    "decimal_ip_case": "http://2130706433/hook",
    "localhost_case": "http://localhost:8000/hook",
    "sub_localhost_case": "https://api.localhost/hook",
    "private_10_case": "http://10.0.0.5/hook",
    "private_192_case": "https://192.168.1.20/hook",
    "private_172_case": "http://172.16.3.4/hook",
    "link_local_metadata_case": "http://169.254.169.254/latest/meta-data/",
    "gcp_metadata_case": "http://metadata.google.internal/computeMetadata/v1/",
    "alibaba_metadata_case": "http://100.100.100.200/latest/meta-data/",
    "unique_local_v6_case": "http://[fd00:ec2::254]/",
    "unspecified_case": "http://0.0.0.0:9000/hook",
}


@pytest.fixture
def strict(app, test_settings):
    """The API app with private destinations refused (the production default)."""
    app.state.settings = test_settings.model_copy(update={"webhooks_allow_private": False})
    return app


@pytest.mark.parametrize("url", UNSAFE.values(), ids=UNSAFE.keys())
def test_an_inner_url_is_refused_at_creation_with_a_clear_422(client, admin, session, strict, url):
    answer = client.post(
        "/api/v1/webhooks/subscriptions",
        json={"name": "inner", "url": url, "event_types": ["*"]},
        headers=admin,
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "webhooks.unsafe_url"
    assert "outside this host" in answer.json()["detail"]
    assert "KEHU_WEBHOOKS_ALLOW_PRIVATE" in answer.json()["detail"]
    assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_a_public_url_is_accepted_and_a_change_to_an_inner_one_is_refused(
    client, admin, session, strict
):
    created = client.post(
        "/api/v1/webhooks/subscriptions",
        json={"name": "erp", "url": "https://93.184.215.14/hooks", "event_types": ["*"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    moved = client.patch(
        f"/api/v1/webhooks/subscriptions/{sid}",
        json={"url": "http://169.254.169.254/latest/"},
        headers=admin,
    )

    assert moved.status_code == 422
    assert moved.json()["code"] == "webhooks.unsafe_url"
    shown = client.get(f"/api/v1/webhooks/subscriptions/{sid}", headers=admin).json()
    assert shown["url"] == "https://93.184.215.14/hooks"


def test_the_setting_allows_a_local_receiver(session):
    subscription = create_subscription(
        session,
        name="local",
        url="http://127.0.0.1:9/x",
        event_types=["*"],
        actor=ADMIN,
        allow_private=True,
    )
    assert subscription.id is not None
    with pytest.raises(InvalidInputError, match="loopback"):
        update_subscription(
            session, subscription.id, url="http://127.0.0.1:10/x", actor=ADMIN, allow_private=False
        )


def test_delivery_checks_the_destination_again(
    session, session_factory, receiver, webhook_settings
):
    create_subscription(
        session, name="crm", url=receiver.url, event_types=["*"], actor=ADMIN, allow_private=True
    )
    make_customer(session)
    session.commit()
    strict = webhook_settings.model_copy(update={"webhooks_allow_private": False})

    run = deliver_due(session_factory, strict)

    assert receiver.requests == []  # nothing left the process
    assert run.n_sent == 1
    assert run.n_retrying == 1
    delivery = session.scalars(select(WebhookDelivery)).one()
    session.refresh(delivery)
    assert delivery.response_code is None
    assert delivery.last_error.startswith("refused: 127.0.0.1 is a loopback address")


def test_secrets_are_encrypted_at_rest_and_still_sign(
    session, session_factory, receiver, webhook_settings
):
    subscription = create_subscription(
        session, name="crm", url=receiver.url, event_types=["*"], actor=ADMIN
    )
    plain = subscription.secret
    make_customer(session)
    session.commit()

    stored = session.execute(
        text("SELECT secret FROM webhook_subscriptions WHERE id = :id"), {"id": subscription.id}
    ).scalar_one()
    assert stored.startswith(ENCRYPTED_PREFIX)
    assert plain.startswith("whsec_")
    assert plain.removeprefix("whsec_") not in stored
    assert decrypt_secret(stored) == plain
    session.expire_all()
    assert get_subscription(session, subscription.id).secret == plain

    deliver_due(session_factory, webhook_settings)

    [request] = receiver.requests
    verify_signature(plain, request.headers, request.body)  # signed with the plain key


def test_a_secret_from_another_secret_key_fails_the_delivery_with_a_reason(
    session, session_factory, receiver, webhook_settings
):
    subscription = create_subscription(
        session, name="crm", url=receiver.url, event_types=["*"], actor=ADMIN
    )
    subscription.secret = encrypt_secret(subscription.secret, secret_key="another key " * 4)
    make_customer(session)
    session.commit()

    deliver_due(session_factory, webhook_settings)

    assert receiver.requests == []
    delivery = session.scalars(select(WebhookDelivery)).one()
    session.refresh(delivery)
    assert delivery.last_error == CANNOT_SIGN


def test_the_migration_encrypts_plain_secrets_and_the_downgrade_decrypts(tmp_path):
    url = f"sqlite:///{tmp_path / 'secrets.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0012")
    engine = make_engine(url)
    plain = "whsec_" + "QUJD" * 11
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO webhook_subscriptions (name, url, secret, event_types, is_active, "
                "n_consecutive_failures, disabled_reason, created_at, updated_at) VALUES "
                "('old', 'https://93.184.215.14/h', :secret, '[\"*\"]', 1, 0, '', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"secret": plain},
        )

    command.upgrade(config, "0013")

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
    assert stored.startswith(ENCRYPTED_PREFIX)
    with session_scope(make_session_factory(engine), writes=False) as session:
        assert session.scalars(select(WebhookSubscription.secret)).one() == plain

    command.downgrade(config, "0012")

    with engine.connect() as connection:
        back = connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
    assert back == plain
    engine.dispose()
