# ruff: noqa: RUF001 - Chinese customer text is written with full-width punctuation
"""Reading e-mail: charsets (declared, undeclared, wrong), HTML-only bodies, attachments, mbox."""

from pathlib import Path

import pytest

from kehu.ingest.email import decode_text, html_to_text, is_mbox, parse_mail, split_mbox

DATA = Path(__file__).parents[2] / "data" / "service"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_gbk_declared_as_gb2312_is_read_with_its_encoded_headers():
    mail = parse_mail(read("gbk.eml"))

    assert mail.subject == "我的银行卡还没到"
    assert mail.body == "你好，我两周前申请的银行卡到现在还没有收到，请帮我查一下。\n谢谢！"
    assert mail.sender == "wang.fang@example.com"
    assert mail.sender_name == "王芳"
    assert mail.sent_at is not None
    assert mail.sent_at.isoformat() == "2026-11-23T01:15:00+00:00"
    assert mail.message_id == "gbk-1@example.com"
    assert mail.charsets == ["gb18030"]


def test_big5_traditional_chinese_is_read():
    mail = parse_mail(read("big5.eml"))

    assert mail.subject == "卡片被吞"
    assert mail.body == "我的卡片被ATM吞掉了，請問該怎麼辦？"
    assert mail.charsets == ["big5hkscs"]


def test_gbk_declared_as_latin1_and_a_raw_8bit_subject_are_recovered():
    mail = parse_mail(read("wrong_charset.eml"))

    assert mail.subject == "重复扣款"
    assert mail.body == "我被重复扣款了两次，请退款。订单号 12345。"
    assert mail.sender == "li@example.com"


def test_html_only_mail_is_reduced_to_text_without_script_or_style():
    mail = parse_mail(read("html_only.eml"))

    assert mail.is_html_only
    assert mail.body == (
        "Hello,\n\nI was charged a fee for a card payment & I don't know why.\n\nRegards,\nAnn"
    )
    assert "alert" not in mail.body
    assert "color" not in mail.body


def test_attachments_are_listed_with_name_type_and_size_not_kept_as_text():
    mail = parse_mail(read("attachment.eml"))

    assert mail.body == "There is an extra charge on my statement, see attached."
    assert mail.attachments == [
        {"name": "对账单.pdf", "content_type": "application/pdf", "size": 2009},
        {"name": "", "content_type": "image/png", "size": 508},
    ]


def test_malformed_mbox_is_split_with_line_numbers_and_from_escapes_undone():
    data = read("malformed.mbox")
    assert is_mbox(data, "x.mbox")
    assert is_mbox(b"From a@b Mon\n", "upload")
    assert not is_mbox(read("gbk.eml"), "gbk.eml")

    chunks = split_mbox(data)

    assert [line for line, _ in chunks] == [1, 3, 13, 22, 26, 34]
    assert b"\nFrom the app it says pending." in chunks[1][1]
    with pytest.raises(ValueError, match="no e-mail headers"):
        parse_mail(chunks[0][1])
    with pytest.raises(ValueError, match="no e-mail headers"):
        parse_mail(chunks[3][1])
    assert parse_mail(chunks[2][1]).body == "我的卡丢了，请帮我冻结。"


@pytest.mark.parametrize(
    ("raw", "declared", "expected"),
    [
        pytest.param("退款".encode("gbk"), "gbk", "退款", id="gbk_case"),
        pytest.param(
            "退款申请已提交".encode(), "gb2312", "退款申请已提交", id="utf8_declared_gb2312_case"
        ),
        pytest.param(
            "退款申请已经提交了".encode("gb18030"),
            "x-unknown",
            "退款申请已经提交了",
            id="unknown_label_case",
        ),
        pytest.param("café".encode("latin-1"), "iso-8859-1", "café", id="real_latin1_case"),
        pytest.param(b"", None, "", id="empty_case"),
    ],
)
def test_decode_text_trusts_valid_utf8_then_the_label_then_detection(raw, declared, expected):
    assert decode_text(raw, declared)[0] == expected


def test_html_to_text_survives_broken_markup_and_entities():
    assert html_to_text("<p>a &lt; b<p>c<div><b>d") == "a < b\nc\nd"
    assert html_to_text("") == ""
