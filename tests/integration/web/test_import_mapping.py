"""The console's mapping step: upload once, map columns, preview, import for real."""

import html
import os
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kehu.app import create_app
from kehu.audit import AuditEntry
from kehu.commerce import Order, OrderLine
from kehu.core import Actor
from kehu.customers import Customer
from kehu.ingest import ImportMapping, ImportRun, save_mapping
from kehu.web.routes.imports import UPLOAD_DIR, upload_path
from tests.integration.web.conftest import csrf_of, sign_in

DATA = Path(__file__).resolve().parents[2] / "data"
ZH_ORDERS = (DATA / "orders_zh_gbk.csv").read_bytes()
ZH_MAPPING = {
    "order_id": "订单号",
    "customer_id": "客户编号",
    "ordered_at": "下单时间",
    "sku": "商品编码",
    "description": "商品名称",
    "quantity": "数量",
    "unit_price": "单价",
}
SECOND_FILE = (
    "订单号,客户编号,下单时间,商品编码,商品名称,数量,单价,备注\r\n"
    "SO-2001,CN-001,2024-04-01 10:00:00,TEA-01,西湖龙井,1,90.00,\r\n"
    "SO-2002,CN-009,2024-04-02 11:00:00,TEA-09,白毫银针,2,150.00,新客户\r\n"
).encode("gbk")
TOKEN_URL = re.compile(r"^/imports/uploads/([0-9a-f]{32})$")


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _start(client, data=ZH_ORDERS, *, filename="订单.csv", kind="orders", mapping_name=""):
    token = csrf_of(client, "/imports")
    form = {"kind": kind, "csrf_token": token, "mapping_name": mapping_name}
    return client.post(
        "/imports/map",
        data=form,
        files={"file": (filename, data, "text/csv")},
        follow_redirects=False,
    )


def _upload_token(client, **kwargs) -> str:
    response = _start(client, **kwargs)
    assert response.status_code == 303, response.text
    match = TOKEN_URL.match(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _mapping_form(client, token: str, mapping: dict[str, str], **extra: str) -> dict[str, str]:
    form = {"csrf_token": csrf_of(client, f"/imports/uploads/{token}")}
    form.update({f"map-{field}": column for field, column in mapping.items()})
    form.update(extra)
    return form


def _selected(page: str) -> dict[str, str]:
    """Return ``{field: selected column}`` from a mapping page ("" for not mapped)."""
    chosen = {}
    for name, body in re.findall(r'<select [^>]*name="map-(\w+)"[^>]*>(.*?)</select>', page, re.S):
        match = re.search(r'<option value="([^"]*)" selected>', body)
        chosen[name] = html.unescape(match.group(1)) if match else ""
    return chosen


def _preview_rows(page: str) -> list[list[str]]:
    """Return the preview table's rows as lists of cell texts."""
    table = re.search(r'data-testid="preview-rows">(.*?)</table>', page, re.S).group(1)
    rows = []
    for body in re.findall(r"<tr class=[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        texts = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)) for c in cells)
        rows.append([html.unescape(t).strip() for t in texts])
    return rows


def test_mapping_page_lists_fields_with_the_file_columns(admin_client):
    token = _upload_token(admin_client)

    page = admin_client.get(f"/imports/uploads/{token}")

    assert page.status_code == 200
    text = page.text
    fields = "order_id customer_id ordered_at sku description quantity unit_price discount"
    fields += " line_no channel currency country"
    # Common Chinese headers are recognised; 备注 (a note) has no orders field and is ignored.
    expected = dict.fromkeys(fields.split(), "")
    expected.update(
        order_id="订单号",
        customer_id="客户编号",
        ordered_at="下单时间",
        sku="商品编码",
        description="商品名称",
        quantity="数量",
        unit_price="单价",
    )
    assert _selected(text) == expected
    assert text.count('class="badge badge-required"') == 5
    assert text.count('<option value="下单时间"') == 12
    ignored = re.search(r'data-testid="ignored-columns">(.*?)</ul>', text, re.S).group(1)
    assert re.findall(r'<li class="mono">([^<]+)</li>', ignored) == ["备注"]


def test_mapping_page_preselects_what_the_import_would_match(admin_client):
    data = (DATA / "online_retail_ii_sample.csv").read_bytes()
    token = _upload_token(admin_client, data=data, filename="retail.csv")

    page = admin_client.get(f"/imports/uploads/{token}").text

    assert _selected(page) == {
        "order_id": "Invoice",
        "customer_id": "Customer ID",
        "ordered_at": "InvoiceDate",
        "sku": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Price",
        "discount": "",
        "line_no": "",
        "channel": "",
        "currency": "",
        "country": "Country",
    }
    assert "None: every column is used." in page


def test_map_save_preview_apply_then_reuse_the_mapping(admin_client, session):
    # Given a GBK file with Chinese headers kept on the server
    token = _upload_token(admin_client)

    # When the mapping is saved under a name
    saved = admin_client.post(
        f"/imports/uploads/{token}/save",
        data=_mapping_form(admin_client, token, ZH_MAPPING, save_name="门店订单"),
        follow_redirects=False,
    )

    # Then it is stored (only the mapped fields), audited, and the page keeps the choices
    assert saved.status_code == 303
    mapping = session.scalar(select(ImportMapping).where(ImportMapping.name == "门店订单"))
    assert (mapping.kind, mapping.columns) == ("orders", ZH_MAPPING)
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "import_mapping.save"))
    assert audit.object_id == str(mapping.id)
    page = admin_client.get(f"/imports/uploads/{token}").text
    assert "Mapping 门店订单 saved." in page
    assert {f: c for f, c in _selected(page).items() if c} == ZH_MAPPING
    ignored = re.search(r'data-testid="ignored-columns">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r'<li class="mono">([^<]+)</li>', ignored) == ["备注"]

    # When the preview runs
    preview = admin_client.post(
        f"/imports/uploads/{token}/preview",
        data=_mapping_form(admin_client, token, ZH_MAPPING),
        follow_redirects=True,
    )

    # Then the dry run counts, and the first rows show as kehu will load them; nothing loaded
    assert preview.status_code == 200
    assert preview.url.path == f"/imports/uploads/{token}/preview"
    text = preview.text
    assert re.search(r'data-testid="n-rows">7<', text)
    assert re.search(r'data-testid="n-loaded">5<', text)
    assert re.search(r'data-testid="n-errors">2<', text)
    head = [
        "Line",
        "order_id",
        "customer_id",
        "ordered_at",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "kind",
    ]
    header = re.search(r'data-testid="preview-rows">\s*<thead><tr>(.*?)</tr>', text, re.S)
    assert [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>.*?</th>", header[1])] == [
        *head,
        "Check",
    ]
    date_error = (
        "ordered_at '2024-02-30 08:00:00' is not a date kehu understands; use ISO 8601 "
        "(2010-12-01, 2010-12-01T07:45:00, 2010-12-01 07:45:00+08:00), YYYY/MM/DD "
        "[HH:MM[:SS]] or YYYYMMDD"
    )
    not_loaded = "Not loaded: the row does not parse."
    assert _preview_rows(text) == [
        ["2", "SO-1001", "CN-001", "2024-03-01 01:30:00 UTC", "TEA-01", "西湖龙井", "2", "88.00",
         "sale", "OK"],
        ["3", "SO-1001", "CN-001", "2024-03-01 01:30:00 UTC", "CUP-02", "青瓷茶杯", "4", "25.50",
         "sale", "OK"],
        ["4", "SO-1002", "CN-002", "2024-03-02 14:05:00 UTC", "TEA-02", "铁观音", "1", "120.00",
         "sale", "OK"],
        ["5", "C1002", "CN-002", "2024-03-05 10:00:00 UTC", "TEA-02", "铁观音", "-1", "120.00",
         "return", "OK"],
        ["6", not_loaded, date_error],
        ["7", not_loaded, "quantity '三' is not a whole number"],
        ["8", "SO-1005", "CN-001", "2024-03-07 00:00:00 UTC", "TEA-03", "大红袍", "3", "66.60",
         "sale", "OK"],
    ]  # fmt: skip
    assert _count(session, Order) == 0
    assert session.scalar(select(ImportRun.status).order_by(ImportRun.id.desc())) == "previewed"

    # When it is imported for real, without a second upload
    apply_token = csrf_of(admin_client, f"/imports/uploads/{token}/preview")
    applied = admin_client.post(
        f"/imports/uploads/{token}/apply", data={"csrf_token": apply_token}, follow_redirects=False
    )

    # Then exactly the good orders load, and the kept file is gone
    assert applied.status_code == 303
    result = admin_client.get(applied.headers["location"]).text
    assert re.search(r'data-testid="n-rows">7<', result)
    assert re.search(r'data-testid="n-loaded">5<', result)
    assert re.search(r'data-testid="n-errors">2<', result)
    assert session.scalars(select(Order.external_id).order_by(Order.external_id)).all() == [
        "C1002",
        "SO-1001",
        "SO-1002",
        "SO-1005",
    ]
    assert _count(session, OrderLine) == 5
    assert sorted(session.scalars(select(Customer.external_id)).all()) == ["CN-001", "CN-002"]
    assert not upload_path(token).exists()
    gone = admin_client.get(f"/imports/uploads/{token}")
    assert gone.status_code == 404
    assert "This upload is not known to this session" in gone.text

    # When a second file of the same layout starts from the saved mapping
    second = _upload_token(admin_client, data=SECOND_FILE, mapping_name="门店订单")
    page = admin_client.get(f"/imports/uploads/{second}").text
    assert {f: c for f, c in _selected(page).items() if c} == ZH_MAPPING
    admin_client.post(
        f"/imports/uploads/{second}/preview",
        data=_mapping_form(admin_client, second, ZH_MAPPING),
        follow_redirects=False,
    )
    apply_token = csrf_of(admin_client, f"/imports/uploads/{second}/preview")
    applied = admin_client.post(
        f"/imports/uploads/{second}/apply", data={"csrf_token": apply_token}, follow_redirects=True
    )

    # Then it loads with the same mapping
    assert re.search(r'data-testid="n-loaded">2<', applied.text)
    assert _count(session, Order) == 6
    assert session.scalar(select(Customer).where(Customer.external_id == "CN-009")) is not None


def test_a_required_field_left_unmapped_is_explained_and_nothing_is_written(admin_client, session):
    token = _upload_token(admin_client)
    partial = {**ZH_MAPPING, "unit_price": ""}

    page = admin_client.post(
        f"/imports/uploads/{token}/preview", data=_mapping_form(admin_client, token, partial)
    )

    assert page.status_code == 422
    message = re.search(r'data-testid="mapping-error">(.*?)</div>', page.text, re.S).group(1)
    assert "required orders field(s) unit_price" in html.unescape(message)
    assert _count(session, ImportRun) == 0
    assert _selected(page.text)["unit_price"] == ""
    assert _selected(page.text)["order_id"] == "订单号"


def test_saving_without_a_name_is_refused(admin_client, session):
    token = _upload_token(admin_client)

    page = admin_client.post(
        f"/imports/uploads/{token}/save", data=_mapping_form(admin_client, token, ZH_MAPPING)
    )

    assert page.status_code == 422
    assert "Give the mapping a name to save it." in page.text
    assert _count(session, ImportMapping) == 0


@pytest.mark.parametrize("step", ["save", "preview", "apply"])
def test_posts_without_the_csrf_token_change_nothing(admin_client, session, step):
    token = _upload_token(admin_client)
    form = {f"map-{field}": column for field, column in ZH_MAPPING.items()}

    response = admin_client.post(
        f"/imports/uploads/{token}/{step}", data={**form, "save_name": "x", "csrf_token": "forged"}
    )

    assert response.status_code == 403
    assert (_count(session, ImportMapping), _count(session, ImportRun)) == (0, 0)
    assert _count(session, Order) == 0
    assert upload_path(token).exists()


def test_an_agent_may_not_map_preview_or_delete(agent_client, session):
    mapping = save_mapping(
        session, kind="orders", name="keep", columns=ZH_MAPPING, actor=Actor.system("test")
    )
    session.commit()
    token = csrf_of(agent_client, "/customers")

    started = agent_client.post(
        "/imports/map",
        data={"kind": "orders", "csrf_token": token},
        files={"file": ("o.csv", ZH_ORDERS, "text/csv")},
    )
    deleted = agent_client.post(
        f"/imports/mappings/{mapping.id}/delete", data={"csrf_token": token}
    )
    forged = agent_client.post(f"/imports/uploads/{'a' * 32}/apply", data={"csrf_token": token})

    assert (started.status_code, deleted.status_code, forged.status_code) == (403, 403, 403)
    assert session.scalars(select(ImportMapping.name)).all() == ["keep"]
    assert (_count(session, ImportRun), _count(session, Order)) == (0, 0)
    assert agent_client.get("/imports/uploads/" + "a" * 32).status_code == 403


def test_a_forged_or_foreign_token_gets_a_clear_message(admin_client, client, session):
    token = _upload_token(admin_client)
    forged = "0123456789abcdef" * 2

    page = admin_client.post(
        f"/imports/uploads/{forged}/apply", data={"csrf_token": csrf_of(admin_client, "/imports")}
    )
    traversal = admin_client.get("/imports/uploads/..%2F..%2Fetc%2Fpasswd")

    assert page.status_code == 404
    assert "This upload is not known to this session" in page.text
    assert 'data-testid="import-error"' in page.text
    assert traversal.status_code == 404
    assert _count(session, ImportRun) == 0
    # The real token from another browser session is not accepted either.
    other = TestClient(admin_client.app)
    assert sign_in(other, "admin@example.com").status_code == 303
    foreign = other.get(f"/imports/uploads/{token}")
    assert foreign.status_code == 404
    assert upload_path(token).exists()


def test_an_expired_upload_is_deleted_with_a_clear_message(admin_client, session):
    token = _upload_token(admin_client)
    old = time.time() - 3700
    os.utime(upload_path(token), (old, old))

    page = admin_client.get(f"/imports/uploads/{token}")

    assert page.status_code == 410
    assert "This upload has expired" in page.text
    assert not upload_path(token).exists()
    again = admin_client.post(
        f"/imports/uploads/{token}/apply", data={"csrf_token": csrf_of(admin_client, "/imports")}
    )
    assert again.status_code == 404
    assert _count(session, Order) == 0


def test_old_files_are_swept_when_a_new_upload_arrives(admin_client):
    UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    stale = UPLOAD_DIR / ("f" * 32)
    stale.write_bytes(b"old")
    old = time.time() - 7200
    os.utime(stale, (old, old))

    _upload_token(admin_client)

    assert not stale.exists()


def test_an_oversized_or_unreadable_file_is_refused_before_it_is_kept(
    admin_client, test_settings, session_factory
):
    small = test_settings.model_copy(update={"max_upload_bytes": 100})
    with TestClient(create_app(small, session_factory)) as client:
        assert sign_in(client, "admin@example.com").status_code == 303
        too_big = _start(client)
    unreadable = _start(admin_client, data=b"\x00\x01binary", filename="x.csv")

    assert too_big.status_code == 413
    assert "over the 0.0 MiB upload limit" in too_big.text
    assert unreadable.status_code == 422
    assert 'data-testid="import-error"' in unreadable.text


def test_saved_mappings_are_listed_and_deleted_with_an_audit_row(admin_client, session):
    mapping = save_mapping(
        session, kind="orders", name="门店订单", columns=ZH_MAPPING, actor=Actor.system("test")
    )
    session.commit()
    page = admin_client.get("/imports").text
    listed = re.search(r'data-testid="saved-mappings">(.*?)</table>', page, re.S).group(1)
    assert "门店订单" in listed
    assert '订单号</span> → <span class="mono field-name">order_id' in listed

    deleted = admin_client.post(
        f"/imports/mappings/{mapping.id}/delete",
        data={"csrf_token": csrf_of(admin_client, "/imports")},
        follow_redirects=True,
    )

    assert deleted.status_code == 200
    assert "Mapping 门店订单 deleted." in deleted.text
    assert _count(session, ImportMapping) == 0
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "import_mapping.delete"))
    assert audit.summary == "orders: 门店订单"
    missing = admin_client.post(
        f"/imports/mappings/{mapping.id}/delete",
        data={"csrf_token": csrf_of(admin_client, "/imports")},
    )
    assert missing.status_code == 404


def test_the_ignored_columns_follow_the_choices_on_the_screen(admin_client):
    token = _upload_token(admin_client)

    partial = admin_client.post(
        f"/imports/uploads/{token}/ignored",
        data=_mapping_form(admin_client, token, {"order_id": "订单号", "sku": "商品编码"}),
    )

    assert partial.status_code == 200
    assert re.findall(r'<li class="mono">([^<]+)</li>', partial.text) == [
        "客户编号",
        "下单时间",
        "商品名称",
        "数量",
        "单价",
        "备注",
    ]
    assert "<html" not in partial.text
