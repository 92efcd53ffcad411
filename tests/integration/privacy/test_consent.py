"""Consent per channel and purpose, enforced for every contact the budget is asked for."""

import datetime as dt

from sqlalchemy import func, select

from kehu.analytics.clv import simulate_transactions
from kehu.customers import get_customer, record_consent
from kehu.jobs.relations import run_relations
from kehu.jobs.value import run_value_analysis
from kehu.playbooks.rules import store_rule
from kehu.privacy import consent_refusals, purpose_of
from kehu.relations import (
    ContactDecision,
    ContactLedgerEntry,
    Task,
    seed_cadence_policies,
    spend_contact,
)
from tests.factories import ACTOR, make_customer
from tests.integration.value.conftest import LAST_DAY, load_history

NOW = dt.datetime(2022, 1, 3, 9, 0, tzinfo=dt.UTC)


def _consent(session, customer, channel, purpose, status):
    record_consent(session, customer, channel=channel, purpose=purpose, status=status, actor=ACTOR)


def test_the_rules_per_channel_and_purpose(session):
    never, granted, withdrawn, regranted, all_no, one_yes = (
        make_customer(session, name=n) for n in ("a", "b", "c", "d", "e", "f")
    )
    _consent(session, granted, "email", "marketing", "granted")
    _consent(session, withdrawn, "email", "marketing", "granted")
    _consent(session, withdrawn, "email", "marketing", "withdrawn")
    _consent(session, regranted, "email", "marketing", "withdrawn")
    _consent(session, regranted, "email", "marketing", "granted")
    for channel in ("email", "phone"):
        _consent(session, all_no, channel, "marketing", "withdrawn")
    _consent(session, one_yes, "email", "marketing", "withdrawn")
    _consent(session, one_yes, "phone", "marketing", "granted")
    _consent(session, granted, "email", "service", "withdrawn")  # another purpose
    ids = [c.id for c in (never, granted, withdrawn, regranted, all_no, one_yes)]

    email = consent_refusals(session, ids, channel="EMAIL", purpose="marketing")
    phone = consent_refusals(session, ids, channel="phone", purpose="marketing")
    task = consent_refusals(session, ids, channel="task", purpose="marketing")
    service = consent_refusals(session, ids, channel="email", purpose="service")

    # E-mail needs an opt-in in force.
    assert set(email) == {never.id, withdrawn.id, all_no.id, one_yes.id}
    assert "never given" in email[never.id]
    assert "withdrawn" in email[withdrawn.id]
    # Phone is refused only where it was withdrawn.
    assert set(phone) == {all_no.id}
    # A staff task: refused when the purpose was withdrawn on every channel answered.
    assert set(task) == {withdrawn.id, all_no.id}
    assert "email, phone" in task[all_no.id]
    assert set(service) == set(ids)  # nobody opted in to service e-mails
    assert purpose_of("cadence") == "relationship"
    assert purpose_of("campaign") == purpose_of("nonsense") == "marketing"


def test_a_campaign_without_consent_is_refused_with_the_reason_and_spends_nothing(
    client, session, staff
):
    customer = make_customer(session, name="Ada")
    session.commit()
    headers = staff["admin"].headers
    body = {"customer_id": customer.id, "playbook": "campaign", "channel": "email"}

    refused = client.post(
        "/api/v1/relations/contacts", json={**body, "reference": "c1"}, headers=headers
    )

    assert refused.status_code == 200, refused.text
    assert refused.json()["decision"] == "dropped"
    assert refused.json()["reason"].startswith("no consent: email needs the customer's opt-in")
    session.expire_all()
    [entry] = session.scalars(select(ContactLedgerEntry)).all()
    assert (entry.decision, entry.channel, entry.playbook) == (
        ContactDecision.DROPPED,
        "email",
        "campaign",
    )
    assert entry.reason.startswith("no consent")

    _consent(session, get_customer(session, customer.id), "email", "marketing", "granted")
    session.commit()
    sent = client.post(
        "/api/v1/relations/contacts", json={**body, "reference": "c2"}, headers=headers
    )
    assert sent.json()["decision"] == "sent"
    # The refused request did not use the budget: 4 - 1 left.
    assert sent.json()["remaining"] == 3


def test_an_operation_caller_gets_the_same_refusal(session):
    customer = make_customer(session, name="Bo")
    _consent(session, customer, "sms", "service", "withdrawn")

    verdict = spend_contact(
        session, customer_id=customer.id, playbook="service", channel="sms", actor=ACTOR
    )

    assert verdict.decision == ContactDecision.DROPPED
    assert "sms needs the customer's opt-in for service (withdrawn)" in verdict.reason


def test_cadence_opens_no_task_for_who_withdrew_the_purpose_everywhere(session):
    ids = sorted(set(load_history(session, simulate_transactions(120, random_state=11)).values()))
    run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    seed_cadence_policies(session, actor=ACTOR)
    withdrawn = set(ids[::2])
    for customer_id in withdrawn:
        customer = get_customer(session, customer_id)
        for channel in ("email", "phone"):
            _consent(session, customer, channel, "relationship", "withdrawn")

    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    neglected = set(session.scalars(select(Task.customer_id).where(Task.kind == "neglect")))
    assert neglected
    assert not neglected & withdrawn
    refused = session.scalar(
        select(func.count())
        .select_from(ContactLedgerEntry)
        .where(
            ContactLedgerEntry.playbook == "cadence",
            ContactLedgerEntry.decision == ContactDecision.DROPPED,
            ContactLedgerEntry.reason.like("no consent%"),
        )
    )
    assert refused >= 1
    assert report.cadence.n_dropped == refused


def test_a_stored_rule_opens_no_task_for_who_withdrew_its_purpose(session):
    ids = sorted(set(load_history(session, simulate_transactions(60, random_state=3)).values()))
    run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    store_rule(
        session,
        {
            "name": "everyone",
            "when": {"all": [["total_spend", "gt", 0]]},
            "action": "open_task",
            "params": {"kind": "follow_up", "title": "Thank $name"},
        },
        actor=ACTOR,
    )
    withdrawn = set(ids[::3])
    for customer_id in withdrawn:
        _consent(session, get_customer(session, customer_id), "email", "marketing", "withdrawn")

    dry = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW, dry_run=True)
    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    ruled = set(session.scalars(select(Task.customer_id).where(Task.kind == "follow_up")))
    assert ruled
    assert not ruled & withdrawn
    assert report.rules.n_dropped == dry.rules.n_dropped == len(withdrawn)
    assert any("not run: no consent" in note for note in dry.rules.notes)
