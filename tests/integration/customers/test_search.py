"""Customer search at scale: every branch matches, and PostgreSQL can answer from the indexes."""

import pytest
from sqlalchemy import text

from kehu.customers import CustomerFilter, list_customers
from kehu.customers.queries import filter_customers
from kehu.store import is_postgresql
from tests.factories import make_customer


@pytest.fixture
def people(session):
    made = {
        # SQLite lower-cases ASCII only: upper-case "Ü" would not match "ü" there (nor before).
        "name": make_customer(session, name="Jürgen MüLLER", identities=[]),
        "email": make_customer(session, email="Ann.Lee@Example.com", identities=[]),
        "phone": make_customer(session, phone="+86 138 0013 8000", identities=[]),
        "external": make_customer(session, external_id="ERP-42", identities=[]),
        "handle": make_customer(session, identities=[("wechat_openid", "oWX-Handle-77")]),
        "merged_away": make_customer(session, name="Jürgen Müller-Alt", identities=[]),
    }
    made["merged_away"].merged_into_id = made["name"].id
    session.commit()
    return made


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("müller", "name"),
        ("jürgen m", "name"),
        ("ann.lee@example", "email"),
        ("0013 8000", "phone"),
        ("ERP-42", "external"),
        ("owx-handle", "handle"),
    ],
)
def test_search_finds_each_kind_of_match_once(session, people, q, who):
    rows, total = list_customers(session, CustomerFilter(q=q))

    assert [row.id for row in rows] == [people[who].id]
    assert total == 1


def test_search_by_customer_number_and_merged_ones_on_request(session, people):
    number = str(people["email"].id)
    rows, _ = list_customers(session, CustomerFilter(q=number))
    assert people["email"].id in [row.id for row in rows]

    rows, total = list_customers(session, CustomerFilter(q="müller", include_merged=True))
    assert {row.id for row in rows} == {people["name"].id, people["merged_away"].id}
    assert total == 2


def test_postgresql_answers_a_search_from_the_trigram_indexes(session, people):
    query = filter_customers(CustomerFilter(q="müller"))
    if not is_postgresql(session):
        # SQLite has no trigram index: the same query still runs and finds the customer.
        assert [c.id for c in session.scalars(query)] == [people["name"].id]
        return
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
    plan = "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())

    for index in (
        "ix_customers_name_trgm",
        "ix_customers_email_trgm",
        "ix_customers_phone_trgm",
        "ix_identities_value_trgm",
    ):
        assert index in plan, plan
