"""Two agents updating one ticket: the later stale update gets 409, nothing is lost."""

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kehu.app import create_app
from kehu.core import Actor, ConflictError, Settings
from kehu.service import Ticket, assign_ticket, get_ticket, record_outcome, set_ticket_status
from kehu.store import make_engine, make_session_factory, session_scope
from kehu.users import Role, create_api_token
from tests.factories import make_user
from tests.factories.service import make_ticket
from tests.integration.api.conftest import row_counts

AGENT_A = Actor(kind="user", label="agent a")
AGENT_B = Actor(kind="user", label="agent b")


def _ticket(client, admin, ticket_id):
    return client.get(f"/api/v1/service/tickets/{ticket_id}", headers=admin).json()["ticket"]


def test_if_match_with_the_current_version_changes_and_bumps_it(client, admin, session):
    ticket = make_ticket(session)
    session.commit()
    version = _ticket(client, admin, ticket.id)["version"]

    answer = client.post(
        f"/api/v1/service/tickets/{ticket.id}/status",
        json={"status": "open"},
        headers={**admin, "If-Match": f'"{version}"'},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == version + 1
    assert answer.json()["status"] == "open"


def test_a_stale_if_match_is_refused_with_409_and_changes_nothing(client, admin, session):
    ticket = make_ticket(session)
    session.commit()
    read = _ticket(client, admin, ticket.id)["version"]
    first = client.post(
        f"/api/v1/service/tickets/{ticket.id}/status",
        json={"status": "pending"},
        headers={**admin, "If-Match": str(read)},
    )
    assert first.status_code == 200
    counts = row_counts(session)

    stale = client.post(
        f"/api/v1/service/tickets/{ticket.id}/outcome",
        json={"rating": 1},
        headers={**admin, "If-Match": str(read)},
    )

    assert stale.status_code == 409
    assert stale.json()["code"] == "service.stale_ticket"
    assert "reload it" in stale.json()["detail"]
    assert row_counts(session) == counts
    now = _ticket(client, admin, ticket.id)
    assert (now["status"], now["rating"], now["version"]) == ("pending", None, read + 1)


@pytest.mark.parametrize("bad", ["abc", '"1.5"', "-1"])
def test_a_malformed_if_match_is_422(client, admin, session, bad):
    ticket = make_ticket(session)
    session.commit()

    answer = client.post(
        f"/api/v1/service/tickets/{ticket.id}/status",
        json={"status": "open"},
        headers={**admin, "If-Match": bad},
    )

    assert answer.status_code == 422
    assert "If-Match" in answer.json()["detail"]


def test_without_if_match_updates_still_apply(client, admin, session):
    ticket = make_ticket(session)
    session.commit()

    answer = client.post(
        f"/api/v1/service/tickets/{ticket.id}/status", json={"status": "open"}, headers=admin
    )

    assert answer.status_code == 200


def test_two_concurrent_updates_on_postgresql_lose_nothing(own_pg_url):
    """Both agents read version 1; both change; exactly one wins, the other gets a conflict."""
    engine = make_engine(own_pg_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        ticket_id = make_ticket(session).id
    both_read = threading.Barrier(2, timeout=30)
    outcomes: dict[str, str] = {}

    def agent(name: str, change) -> None:
        session: Session = factory()
        try:
            ticket = get_ticket(session, ticket_id)
            assert ticket.version == 1
            both_read.wait()
            change(session, ticket)
            session.commit()
            outcomes[name] = "committed"
        except ConflictError as exc:
            session.rollback()
            outcomes[name] = exc.code
        finally:
            session.close()

    threads = [
        threading.Thread(
            target=agent,
            args=("a", lambda s, t: set_ticket_status(s, t, "pending", actor=AGENT_A)),
        ),
        threading.Thread(
            target=agent, args=("b", lambda s, t: record_outcome(s, t, rating=2, actor=AGENT_B))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes.values()) == ["committed", "service.stale_ticket"]
    with session_scope(factory, writes=False) as session:
        stored = session.get(Ticket, ticket_id)
        assert stored is not None
        assert stored.version == 2
        winner = next(name for name, outcome in outcomes.items() if outcome == "committed")
        if winner == "a":
            assert (stored.status, stored.rating) == ("pending", None)
        else:
            assert (stored.status, stored.rating) == ("new", 2)
    engine.dispose()


def test_two_concurrent_api_updates_with_one_if_match(own_store_url):
    """Two clients send If-Match of the version they both read: one 200, one 409."""
    engine = make_engine(own_store_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        user = make_user(session, role=Role.AGENT, email="agent@example.com")
        _, token = create_api_token(session, user, name="t", actor=AGENT_A)
        ticket_id = make_ticket(session).id
        assign_ticket(session, get_ticket(session, ticket_id), assignee_id=user.id, actor=AGENT_A)
    app = create_app(
        Settings(environment="test", database_url=own_store_url, secret_key="s" * 32), factory
    )
    headers = {"Authorization": f"Bearer {token}", "If-Match": "2"}
    go = threading.Barrier(2, timeout=30)
    statuses: list[int] = []

    def send(body: dict[str, object], path: str) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            go.wait()
            statuses.append(
                client.post(
                    f"/api/v1/service/tickets/{ticket_id}/{path}", json=body, headers=headers
                ).status_code
            )

    threads = [
        threading.Thread(target=send, args=({"status": "pending"}, "status")),
        threading.Thread(target=send, args=({"rating": 3}, "outcome")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(statuses) == [200, 409]
    with session_scope(factory, writes=False) as session:
        assert session.get(Ticket, ticket_id).version == 3  # type: ignore[union-attr]
    engine.dispose()
