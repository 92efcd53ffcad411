"""The demo service desk: tree, policies, real tickets, training and routing, idempotent."""

import pytest
from sqlalchemy import func, select

from kehu.core import get_settings
from kehu.demo.service import RISING, seed_service
from kehu.service import (
    CategorySource,
    Ticket,
    category_trends,
    contradicting_outcomes,
    leaf_ids,
    list_sla_policies,
)
from kehu.users import create_department
from tests.factories import ACTOR


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KEHU_MODEL_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_demo_desk_is_seeded_once_with_routed_real_tickets(session, model_dir):
    for code in ("service", "sales", "logistics", "billing"):
        create_department(session, code=code, name=code, actor=ACTOR)

    seed_service(session)
    seed_service(session)  # idempotent

    assert len(leaf_ids(session)) == 103
    assert [p.code for p in list_sla_policies(session)] == ["default", "standard", "urgent"]
    assert session.scalar(select(func.count()).select_from(Ticket)) == 924
    by_source = dict(
        session.execute(
            select(Ticket.category_source, func.count()).group_by(Ticket.category_source)
        ).all()
    )
    assert by_source[CategorySource.AGENT] == 77 * 8 - 5 * len(RISING)
    assert by_source[CategorySource.MODEL] > 150  # this week's tickets placed by the model
    assert (model_dir / "service-categories" / "params.json").exists()
    _, rising = category_trends(session)
    assert {t.code for t in rising} & set(RISING)
    assert "request_refund" in {c.code for c in contradicting_outcomes(session)}
