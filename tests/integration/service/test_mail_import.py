"""E-mail files become tickets: every crafted charset, HTML-only, attachments, a bad mbox."""

from pathlib import Path

from kehu.ingest.email import import_mail
from kehu.service import get_ticket, list_messages
from tests.factories import ACTOR, make_customer

DATA = Path(__file__).parents[2] / "data" / "service"


def test_each_eml_becomes_one_ticket_linked_to_a_known_sender(session):
    customer = make_customer(session, identities=[("email", "wang.fang@example.com")])

    report = import_mail(session, (DATA / "gbk.eml").read_bytes(), filename="gbk.eml", actor=ACTOR)

    assert (report.n_messages, report.n_created, report.n_matched_customers) == (1, 1, 1)
    ticket = get_ticket(session, report.ticket_ids[0])
    assert ticket.customer_id == customer.id
    assert ticket.subject == "我的银行卡还没到"
    assert ticket.channel == "email"
    assert ticket.external_id == "mail:gbk-1@example.com"
    assert ticket.opened_at.isoformat() == "2026-11-23T01:15:00+00:00"


def test_reimporting_the_same_mail_creates_nothing(session):
    data = (DATA / "big5.eml").read_bytes()
    import_mail(session, data, filename="big5.eml", actor=ACTOR)

    again = import_mail(session, data, filename="big5.eml", actor=ACTOR)

    assert (again.n_created, again.n_duplicates, again.errors) == (0, 1, [])


def test_html_only_and_attachments_are_kept_as_text_and_a_list(session):
    html = import_mail(
        session, (DATA / "html_only.eml").read_bytes(), filename="h.eml", actor=ACTOR
    )
    attached = import_mail(
        session, (DATA / "attachment.eml").read_bytes(), filename="a.eml", actor=ACTOR
    )

    html_message = list_messages(session, html.ticket_ids[0])[0]
    assert html_message.body.startswith("Hello,\n\nI was charged a fee")
    message = list_messages(session, attached.ticket_ids[0])[0]
    assert [a["name"] for a in message.attachments] == ["对账单.pdf", ""]
    assert message.attachments[0]["size"] == 2009


def test_a_malformed_mbox_reports_each_bad_message_and_loads_the_others(session):
    report = import_mail(
        session, (DATA / "malformed.mbox").read_bytes(), filename="inbox.mbox", actor=ACTOR
    )

    assert report.n_messages == 6
    assert report.n_created == 3
    assert [(e.index, e.line) for e in report.errors] == [(1, 1), (4, 22), (5, 26)]
    assert "no e-mail headers" in report.errors[0].message
    assert "neither a subject nor any text" in report.errors[2].message
    bodies = [list_messages(session, t)[0].body for t in report.ticket_ids]
    assert bodies[1] == "我的卡丢了，请帮我冻结。"  # noqa: RUF001 - Chinese punctuation


def test_empty_and_binary_files_are_reported_not_crashed(session):
    empty = import_mail(session, b"  \n", filename="x.eml", actor=ACTOR)
    binary = import_mail(session, bytes(range(256)) * 40, filename="x.bin", actor=ACTOR)

    assert (empty.n_created, empty.errors[0].message) == (0, "The file is empty.")
    assert binary.n_created == 0
    assert "Not an e-mail message" in binary.errors[0].message


def test_a_huge_body_is_truncated_with_a_warning(session):
    body = ("Refund please. " * 8000).encode()
    data = b"From: big@example.com\nSubject: long\nMessage-ID: <big@x>\n\n" + body

    report = import_mail(session, data, filename="big.eml", actor=ACTOR)

    assert report.n_created == 1
    assert "only the first 100,000 were kept" in report.warnings[0].message
    assert len(list_messages(session, report.ticket_ids[0])[0].body) <= 100_000
