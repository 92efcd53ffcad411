"""preview_import and suggest_mapping: what a mapping screen shows, on real test files."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from kehu.core import InvalidInputError
from kehu.ingest import detect_columns, preview_import, suggest_mapping

DATA = Path(__file__).resolve().parents[2] / "data"
RETAIL = (DATA / "online_retail_ii_sample.csv").read_bytes()
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


def _order(line, order_id, customer, when, sku, name, quantity, price, kind, country=None):
    return {
        "line": line,
        "order_id": order_id,
        "customer_id": customer,
        "ordered_at": when,
        "sku": sku,
        "description": name,
        "quantity": quantity,
        "unit_price": Decimal(price),
        "discount": Decimal("0.00"),
        "line_no": None,
        "channel": "store",
        "currency": "GBP",
        "country": country,
        "kind": kind,
        "errors": [],
    }


def _failed(line, errors):
    fields = "order_id customer_id ordered_at sku description quantity unit_price discount"
    empty = dict.fromkeys([*fields.split(), "line_no", "channel", "currency", "country", "kind"])
    return {"line": line, **empty, "errors": errors}


def test_suggestion_is_the_import_matching_by_name_and_alias():
    columns = detect_columns(RETAIL, "retail.csv")

    assert suggest_mapping("orders", columns) == {
        "order_id": "Invoice",
        "customer_id": "Customer ID",
        "ordered_at": "InvoiceDate",
        "sku": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Price",
        "country": "Country",
    }


def test_common_chinese_headers_are_matched_and_unknown_ones_left_unmapped():
    columns = detect_columns(ZH_ORDERS, "orders_zh_gbk.csv")

    assert columns == [
        "订单号",
        "客户编号",
        "下单时间",
        "商品编码",
        "商品名称",
        "数量",
        "单价",
        "备注",
    ]
    assert suggest_mapping("orders", columns) == {
        "order_id": "订单号",
        "customer_id": "客户编号",
        "ordered_at": "下单时间",
        "sku": "商品编码",
        "description": "商品名称",
        "quantity": "数量",
        "unit_price": "单价",
    }
    assert suggest_mapping("orders", ["甲", "乙", "Qty"]) == {"quantity": "Qty"}
    # The field's own name wins over an alias (邮箱 is one for email), case and dashes ignored.
    assert suggest_mapping("customers", ["邮箱", "手机", "E-Mail", "Name"]) == {
        "name": "Name",
        "email": "E-Mail",
        "phone": "手机",
    }


def test_suggestion_uses_each_column_once():
    # unit_price is products' alias for price, but the column named price is taken first.
    assert suggest_mapping("products", ["sku", "price", "unit_price"]) == {
        "sku": "sku",
        "price": "price",
    }
    assert suggest_mapping("orders", ["Price", "unit price"]) == {"unit_price": "unit price"}


def test_unknown_kind_is_refused():
    with pytest.raises(InvalidInputError, match="Unknown import kind 'robots'"):
        suggest_mapping("robots", ["a"])


def test_preview_of_a_gbk_file_with_a_mapping_gives_parsed_rows():
    rows = preview_import(
        kind="orders", data=ZH_ORDERS, filename="orders_zh_gbk.csv", mapping=ZH_MAPPING
    )

    assert rows == [
        _order(2, "SO-1001", "CN-001", datetime(2024, 3, 1, 1, 30, tzinfo=UTC), "TEA-01",
               "西湖龙井", 2, "88.00", "sale"),
        _order(3, "SO-1001", "CN-001", datetime(2024, 3, 1, 1, 30, tzinfo=UTC), "CUP-02",
               "青瓷茶杯", 4, "25.50", "sale"),
        _order(4, "SO-1002", "CN-002", datetime(2024, 3, 2, 14, 5, tzinfo=UTC), "TEA-02",
               "铁观音", 1, "120.00", "sale"),
        _order(5, "C1002", "CN-002", datetime(2024, 3, 5, 10, 0, tzinfo=UTC), "TEA-02",
               "铁观音", -1, "120.00", "return"),
        _failed(6, [{
            "field": "ordered_at",
            "value": "2024-02-30 08:00:00",
            "reason": "'2024-02-30 08:00:00' is not a date kehu understands; use ISO 8601 "
            "(2010-12-01, 2010-12-01T07:45:00, 2010-12-01 07:45:00+08:00), YYYY/MM/DD "
            "[HH:MM[:SS]] or YYYYMMDD",
        }]),
        _failed(7, [{"field": "quantity", "value": "三", "reason": "'三' is not a whole number"}]),
        _order(8, "SO-1005", "CN-001", datetime(2024, 3, 7, tzinfo=UTC), "TEA-03", "大红袍", 3,
               "66.60", "sale"),
    ]  # fmt: skip


def test_preview_stops_after_n_rows_and_matches_names_on_its_own():
    rows = preview_import(kind="orders", data=RETAIL, filename="retail.csv", n=3)

    uk = "United Kingdom"
    when = datetime(2009, 12, 1, 7, 45, tzinfo=UTC)
    assert rows == [
        _order(2, "489434", "13085", when, "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 12,
               "6.95", "sale", uk),
        _order(3, "489434", "13085", when, "79323P", "PINK CHERRY LIGHTS", 12, "6.75", "sale",
               uk),
        _order(4, "489434", "13085", when, "79323W", "WHITE CHERRY LIGHTS", 12, "6.75", "sale",
               uk),
    ]  # fmt: skip


def test_preview_marks_cancellations_and_reports_what_the_loader_rejects():
    rows = preview_import(kind="orders", data=RETAIL, filename="retail.csv", n=200)

    by_line = {row["line"]: row for row in rows}
    assert len(rows) == 178
    assert (by_line[33]["order_id"], by_line[33]["quantity"], by_line[33]["kind"]) == (
        "C489449",
        -12,
        "return",
    )
    assert by_line[33]["errors"] == []
    rejected = {row["line"]: row["errors"][0]["field"] for row in rows if row["errors"]}
    assert rejected
    assert set(rejected.values()) <= {"unit_price", "quantity"}
    assert all(by_line[line]["order_id"] is not None for line in rejected)


def test_preview_of_customers_uses_the_row_model():
    data = "Name,邮箱,生日\n王小明,XiaoMing@Example.com,1990-05-17\n李雷,not-an-email,\n".encode()

    rows = preview_import(kind="customers", data=data, filename="c.csv")

    assert rows[0]["name"] == "王小明"
    assert rows[0]["email"] == "xiaoming@example.com"
    assert rows[0]["birthday"].isoformat() == "1990-05-17"
    assert rows[0]["errors"] == []
    assert rows[1]["line"] == 3
    assert rows[1]["name"] is None
    assert [e["field"] for e in rows[1]["errors"]] == ["email"]
    assert rows[1]["errors"][0]["value"] == "not-an-email"


def test_preview_refuses_a_mapping_without_a_required_field():
    with pytest.raises(InvalidInputError, match="required orders field"):
        preview_import(kind="orders", data="编号,数量\nA,1\n".encode(), filename="o.csv")


def test_preview_with_a_date_format_and_an_explicitly_unmapped_field():
    data = (
        b"Invoice,StockCode,Quantity,Price,InvoiceDate,Customer ID\n1,A,1,2.5,03/04/2024 10:00,7\n"
    )

    rows = preview_import(
        kind="orders",
        data=data,
        filename="o.csv",
        mapping={"__date_format__": "%d/%m/%Y %H:%M", "customer_id": ""},
    )

    assert rows[0]["ordered_at"] == datetime(2024, 4, 3, 10, 0, tzinfo=UTC)
    assert rows[0]["customer_id"] is None
    assert rows[0]["errors"] == []
