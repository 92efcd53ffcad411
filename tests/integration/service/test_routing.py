"""Agents' corrections train the classifier; new tickets are routed or sent to triage.

Real texts: 8 BANKING77 intents (tests/data/service/banking77_slice.csv).
"""

import csv
from pathlib import Path

import pytest

from kehu.core import InvalidInputError
from kehu.jobs.service import (
    load_category_model,
    route_new_tickets,
    route_tickets,
    train_category_model,
)
from kehu.service import CategorySource, correct_category, create_category, labelled_tickets
from tests.factories import ACTOR
from tests.factories.service import make_desk, make_ticket

DATA = Path(__file__).parents[2] / "data" / "service"
EXTRA = {
    "top_up_failed": "money",
    "pending_transfer": "money",
    "change_pin": "card",
    "terminate_account": "money",
}


def _slice(split):
    with (DATA / "banking77_slice.csv").open(encoding="utf-8") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f) if r["split"] == split]


@pytest.fixture
def labelled(session):
    desk = make_desk(session)
    for code, parent in EXTRA.items():
        desk.leaves[code] = create_category(
            session, code=code, name=code, parent_code=parent, actor=ACTOR
        )
    for text, code in _slice("train"):
        ticket = make_ticket(session, body=text)
        correct_category(session, ticket, desk.leaves[code].id, actor=ACTOR)
    return desk


def test_corrections_train_a_model_that_routes_new_tickets(session, labelled, tmp_path):
    assert len(labelled_tickets(session)) == 320
    report = train_category_model(session, path=tmp_path / "cat", actor=ACTOR)
    assert (report.n_labels, report.n_categories) == (320, 8)
    model = load_category_model(tmp_path / "cat")
    assert model is load_category_model(tmp_path / "cat")  # cached until the files change

    held_out = _slice("test")
    tickets = [make_ticket(session, body=text) for text, _ in held_out]
    routed = route_tickets(session, tickets, model=model, threshold=0.5, actor=ACTOR)

    assert routed.n_routed + routed.n_triage == 80
    placed = [(t, code) for t, (_, code) in zip(tickets, held_out, strict=True) if not t.in_triage]
    correct = sum(t.category_id == labelled.leaves[code].id for t, code in placed)
    # Measured: 80 held-out texts, 8 intents, 40 labels each; the confident ones are placed.
    assert len(placed) >= 60
    assert correct / len(placed) >= 0.9
    assert all(t.category_source == CategorySource.MODEL for t, _ in placed)
    assert all(t.department_id is not None for t, _ in placed)
    assert all(t.department_id is None and t.predicted_category_id for t in tickets if t.in_triage)


def test_an_unclear_message_goes_to_triage_with_its_best_guess(session, labelled, tmp_path):
    train_category_model(session, path=tmp_path / "cat", actor=ACTOR)
    ticket = make_ticket(session, body="hi")

    route_tickets(
        session,
        [ticket],
        model=load_category_model(tmp_path / "cat"),
        threshold=0.5,
        actor=ACTOR,
    )

    assert ticket.in_triage
    assert ticket.predicted_category_id is not None
    assert 0 < ticket.confidence < 0.5


def test_without_a_saved_model_tickets_wait_in_triage(session, test_settings, tmp_path):
    settings = test_settings.model_copy(update={"model_dir": tmp_path})
    ticket = make_ticket(session)

    report = route_new_tickets(session, [ticket.id], settings=settings, actor=ACTOR)

    assert (report.has_model, report.n_triage, ticket.in_triage) == (False, 1, True)


def test_too_few_labels_is_refused_with_what_to_do(session, tmp_path):
    make_desk(session)
    with pytest.raises(InvalidInputError, match="Correct the category of more tickets"):
        train_category_model(session, path=tmp_path / "cat", actor=ACTOR)
    assert not (tmp_path / "cat").exists()


def test_a_damaged_model_does_not_stop_intake(session, test_settings, tmp_path):
    folder = tmp_path / "service-categories"
    folder.mkdir()
    (folder / "params.json").write_text("{not json", encoding="utf-8")
    settings = test_settings.model_copy(update={"model_dir": tmp_path})
    ticket = make_ticket(session)

    report = route_new_tickets(session, [ticket.id], settings=settings, actor=ACTOR)

    assert (report.has_model, ticket.in_triage) == (False, True)
