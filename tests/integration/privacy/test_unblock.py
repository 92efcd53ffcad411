"""Lifting an erasure block (API and CLI): the person came back and consents; audited."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kehu.audit import AuditEntry
from kehu.cli.main import app as cli
from kehu.core import ConflictError, InvalidInputError, NotFoundError
from kehu.customers import Identity, create_customer
from kehu.privacy import ErasureTombstone, erase_customer, lift_erasure_block
from kehu.store import make_engine, make_session_factory
from tests.factories import ACTOR, make_customer
from tests.integration.privacy.test_cli import db_url  # noqa: F401 - the CLI's SQLite file

runner = CliRunner()


def _tombstones(session):
    return session.scalar(select(func.count()).select_from(ErasureTombstone))


def _erased_ada(session):
    ada = make_customer(session, name="Ada", email="ada@example.com", phone="+44 20 7946 0000")
    erase_customer(session, ada.id, actor=ACTOR)
    session.commit()
    return ada


def test_an_admin_lifts_one_block_and_the_identity_can_be_stored_again(client, session, staff):
    _erased_ada(session)
    n_before = _tombstones(session)
    with pytest.raises(ConflictError):
        create_customer(
            session, actor=ACTOR, name="Ada again", identities=[("email", "ADA@example.com")]
        )
    session.rollback()

    denied = client.post(
        "/api/v1/privacy/unblock",
        json={"kind": "email", "value": "ada@example.com", "reason": "came back"},
        headers=staff["manager"].headers,
    )
    assert denied.status_code == 403
    session.expire_all()
    assert _tombstones(session) == n_before  # refused: nothing changed

    lifted = client.post(
        "/api/v1/privacy/unblock",
        json={"kind": "email", "value": " Ada@Example.com ", "reason": "came back, consented"},
        headers=staff["admin"].headers,
    )
    assert lifted.status_code == 200, lifted.text
    assert lifted.json() == {"kind": "email", "unblocked": True}
    session.expire_all()
    assert _tombstones(session) == n_before - 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.unblock")).one()
    assert entry.actor_user_id == staff["admin"].user.id
    assert entry.changes == {"kind": "email", "reason": "came back, consented"}
    assert "ada@example.com" not in (entry.summary + str(entry.changes)).lower()
    again = create_customer(
        session, actor=ACTOR, name="Ada", identities=[("email", "ada@example.com")]
    )
    assert session.scalars(
        select(Identity.value).where(Identity.customer_id == again.id)
    ).all() == ["ada@example.com"]
    # The phone stays blocked: only the identity named was unblocked.
    with pytest.raises(ConflictError):
        create_customer(session, actor=ACTOR, name="Ada", identities=[("phone", "+442079460000")])


def test_bad_requests_are_refused_with_a_reason(client, session, staff):
    _erased_ada(session)
    n_before = _tombstones(session)
    headers = staff["admin"].headers
    cases = {
        "not_blocked": ({"kind": "email", "value": "bob@example.com", "reason": "x"}, 404),
        "bad_kind": ({"kind": "pager", "value": "123", "reason": "x"}, 422),
        "bad_email": ({"kind": "email", "value": "not-an-address", "reason": "x"}, 422),
        "no_reason": ({"kind": "email", "value": "ada@example.com", "reason": ""}, 422),
        "blank_reason": ({"kind": "email", "value": "ada@example.com", "reason": "  "}, 422),
        "extra": ({"kind": "email", "value": "a@b.cn", "reason": "x", "who": 1}, 422),
    }
    for case, (body, status) in cases.items():
        answer = client.post("/api/v1/privacy/unblock", json=body, headers=headers)
        assert answer.status_code == status, (case, answer.text)
        assert answer.json()["detail"], case
    assert client.post("/api/v1/privacy/unblock", json=cases["not_blocked"][0]).status_code == 401
    session.expire_all()
    assert _tombstones(session) == n_before
    with pytest.raises(NotFoundError):
        lift_erasure_block(session, "phone", "+1 555 0100", actor=ACTOR, reason="x")
    with pytest.raises(InvalidInputError):
        lift_erasure_block(session, "email", "ada@example.com", actor=ACTOR, reason="")


def test_the_cli_lifts_a_block(db_url):  # noqa: F811 - the fixture imported above
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        _erased_ada(session)
        n_before = _tombstones(session)

    missing = runner.invoke(
        cli, ["privacy", "unblock", "email", "bob@example.com", "--reason", "x"]
    )
    assert missing.exit_code == 1
    assert "No erasure block" in missing.output
    done = runner.invoke(
        cli, ["privacy", "unblock", "email", "ada@example.com", "--reason", "came back"]
    )
    assert done.exit_code == 0, done.output
    assert "lifted" in done.output

    with make_session_factory(engine)() as session:
        assert _tombstones(session) == n_before - 1
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy.unblock")
        ).one()
        assert entry.actor_label.startswith("cli:")
    engine.dispose()
