"""A token found valid is trusted for a moment without SQL; revoking or deactivating is at once."""

from contextlib import contextmanager

from sqlalchemy import event, update

from kehu.core import Actor, utcnow
from kehu.users import ApiToken, set_user_active
from kehu.users import _token_cache as token_cache

ME = "/api/v1/auth/me"
ACTOR = Actor(kind="system", label="test")


@contextmanager
def statements(connection):
    """Collect the SQL statements run on the test's connection."""
    seen: list[str] = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", collect)


def test_a_token_checked_a_moment_ago_is_not_looked_up_again(client, connection, staff):
    agent = staff["agent"]
    with statements(connection) as first:
        assert client.get(ME, headers=agent.headers).status_code == 200
    with statements(connection) as second:
        again = client.get(ME, headers=agent.headers)

    assert again.status_code == 200
    assert again.json()["email"] == "agent@example.com"
    # the lookup (token and user in one statement), then last_used_at
    assert ["api_tokens" in s and "users" in s for s in first if "api_tokens" in s] == [True, False]
    assert sum("api_tokens" in s for s in second) == 0


def test_deactivating_a_user_refuses_their_remembered_token_at_once(client, session, staff):
    manager = staff["manager"]
    assert client.get(ME, headers=manager.headers).status_code == 200

    set_user_active(session, manager.user, False, actor=ACTOR)
    session.commit()

    assert client.get(ME, headers=manager.headers).status_code == 401


def test_a_change_made_outside_kehu_counts_once_the_moment_has_passed(
    client, session, staff, monkeypatch
):
    owner = staff["owner"]
    assert client.get(ME, headers=owner.headers).status_code == 200
    session.execute(
        update(ApiToken).where(ApiToken.user_id == owner.user.id).values(revoked_at=utcnow())
    )
    session.commit()

    assert client.get(ME, headers=owner.headers).status_code == 200  # still remembered
    monkeypatch.setattr(token_cache, "TOKEN_CHECK_SECONDS", 0.0)
    assert client.get(ME, headers=owner.headers).status_code == 401
