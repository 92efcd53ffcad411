"""Concurrent requests on the embedded SQLite store: writers queue, nobody gets a 500.

SQLite has one writer at a time. A transaction that read before it wrote is refused at once
("database is locked") when another connection committed in between; requests that write
therefore begin their transaction ready to write and wait their turn, and plain reads write
nothing (not even the token's last use, kept to the minute).
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kehu.app import create_app
from kehu.core import Actor, Settings
from kehu.customers import Customer
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.users import Role, create_api_token
from tests.factories import make_user


def test_concurrent_reads_and_writes_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kehu.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        user = make_user(session, role=Role.ADMIN, email="admin@example.com")
        _, token = create_api_token(session, user, name="load", actor=Actor.system("test"))
    app = create_app(Settings(database_url=url, analyze_every_hours=0), factory)
    headers = {"Authorization": f"Bearer {token}"}

    def work(n: int) -> list[int]:
        statuses = []
        with TestClient(app, raise_server_exceptions=False) as client:
            for i in range(6):
                created = client.post(
                    "/api/v1/customers",
                    json={"name": f"C {n}-{i}", "email": f"c{n}-{i}@example.com"},
                    headers=headers,
                )
                statuses.append(created.status_code)
                listed = client.get("/api/v1/customers?limit=5", headers=headers)
                statuses.append(listed.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [status for statuses in pool.map(work, range(8)) for status in statuses]

    assert sorted(set(results)) == [200, 201]
    with session_scope(factory, writes=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 48
    engine.dispose()
