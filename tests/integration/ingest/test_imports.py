"""Importing real and broken files into the store (SQLite and PostgreSQL)."""

import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kehu.audit import AuditEntry
from kehu.commerce import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, InvalidInputError, NotFoundError
from kehu.customers import Customer, Identity
from kehu.ingest import (
    ImportRun,
    errors_csv,
    get_import_run,
    list_import_runs,
    list_mappings,
    run_import,
    save_mapping,
)

DATA = Path(__file__).parents[2] / "data"
RETAIL = DATA / "online_retail_ii_sample.csv"
ACTOR = Actor(kind="import", label="test")
TABLES = (Customer, Identity, Product, Order, OrderLine, ImportRun, AuditEntry)


def _counts(session):
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in TABLES
    }


def _import(session, kind, data, filename, **kwargs):
    return run_import(session, kind=kind, data=data, filename=filename, actor=ACTOR, **kwargs)


def test_online_retail_slice_loads_with_exact_counts(session):
    before = _counts(session)

    run = _import(session, "orders", RETAIL, RETAIL.name)

    assert (run.status, run.n_rows, run.n_loaded, run.n_errors) == ("applied", 178, 168, 10)
    assert run.counts == {
        "customers": {"created": 26, "updated": 0, "unchanged": 0},
        "products": {"created": 132, "updated": 0, "unchanged": 0},
        "orders": {"created": 36, "updated": 0, "unchanged": 0},
    }
    after = _counts(session)
    assert after["order_lines"] - before["order_lines"] == 168
    assert after["orders"] - before["orders"] == 36
    ids = [o.id for o in session.scalars(select(Order).where(Order.external_id.like("%4%")))]
    assert ids
    returns = session.scalars(select(Order).where(Order.kind == OrderKind.RETURN)).all()
    assert sorted(o.external_id for o in returns) == [
        "C489449",
        "C489476",
        "C489503",
        "C489504",
        "C489518",
        "C489524",
        "C489859",
        "C489860",
    ]
    assert all(line.quantity < 0 for o in returns for line in o.lines)
    guests = session.scalar(
        select(func.count()).select_from(Order).where(Order.customer_id.is_(None))
    )
    assert guests == 7
    first = session.scalar(select(Order).where(Order.external_id == "489434"))
    assert first.total == Decimal("505.30")
    assert session.get(Customer, first.customer_id).external_id == "13085"
    assert session.get(Customer, first.customer_id).country == "United Kingdom"
    reasons = {e["line"]: e["reason"] for e in run.errors}
    assert "stock adjustment" in reasons[51]
    assert "cancellation" in reasons[178]
    assert "bad debt" in reasons[179]
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.apply")).all()
    assert [a.object_id for a in audits][-1] == str(run.id)
    assert after["audit_entries"] - before["audit_entries"] == 4  # customers, products, orders, run


def test_running_the_same_import_again_changes_nothing(session):
    _import(session, "orders", RETAIL, RETAIL.name)
    before = _counts(session)

    again = _import(session, "orders", RETAIL, RETAIL.name)

    assert again.counts["orders"] == {"created": 0, "updated": 0, "unchanged": 36}
    assert again.counts["customers"] == {"created": 0, "updated": 0, "unchanged": 26}
    after = _counts(session)
    for table in ("customers", "identities", "products", "orders", "order_lines"):
        assert after[table] == before[table], table


def test_changed_order_is_updated_in_place(session):
    data = (
        b"order_id,ordered_at,sku,quantity,unit_price\n"
        b"X1,2010-01-01,A,1,2.00\nX1,2010-01-01,B,1,3\n"
    )
    _import(session, "orders", data, "a.csv")

    run = _import(session, "orders", data.replace(b"B,1,3", b"B,2,3"), "a.csv")

    assert run.counts["orders"] == {"created": 0, "updated": 1, "unchanged": 0}
    order = session.scalar(select(Order).where(Order.external_id == "X1"))
    session.refresh(order)
    assert order.total == Decimal("8.00")
    assert sorted(line.quantity for line in order.lines) == [1, 2]


def test_dry_run_writes_only_the_run(session):
    before = _counts(session)

    run = _import(session, "orders", RETAIL, RETAIL.name, dry_run=True)

    assert (run.status, run.n_loaded, run.dry_run) == ("previewed", 168, True)
    assert run.counts["orders"]["created"] == 36
    after = _counts(session)
    assert after["import_runs"] == before["import_runs"] + 1
    assert {k: v for k, v in after.items() if k != "import_runs"} == {
        k: v for k, v in before.items() if k != "import_runs"
    }


def test_cdnow_logs_load_as_orders_whose_totals_are_the_dollar_values(session):
    sample = DATA / "cdnow_sample_head.txt"

    run = _import(session, "orders", sample, sample.name)

    assert (run.n_rows, run.n_loaded, run.n_errors) == (120, 120, 0)
    assert "CDNOW" in run.message
    assert run.counts["customers"]["created"] == 46
    expected = sum(Decimal(line.split()[4]) for line in sample.read_text().splitlines())
    total = session.scalar(select(func.sum(Order.total)).where(Order.external_id.like("cdnow-%")))
    assert Decimal(str(total)).quantize(Decimal("0.01")) == expected


def test_cdnow_master_with_header_and_same_day_repeats(session):
    master = DATA / "cdnow_master_head.txt"

    run = _import(session, "orders", master.read_bytes(), "CDNOW_master.txt")

    assert (run.n_rows, run.n_loaded, run.counts["orders"]["created"]) == (60, 60, 60)
    assert run.counts["customers"]["created"] == 21
    assert session.scalar(select(Order.id).where(Order.external_id == "cdnow-00002-19970112-2"))


def test_gbk_customers_with_chinese_names(session):
    data = (
        "客户编号,姓名,邮箱,手机,城市\n"
        "C001,王小明,xiaoming@example.com,138 1234 5678,上海\n"
        "C002,李华,lihua@example.com,,北京\n"
    ).encode("gbk")

    run = _import(session, "customers", data, "客户.csv", mapping={"external_id": "客户编号"})

    assert (run.n_loaded, run.n_errors) == (2, 0)
    assert "gb18030" in run.message
    customer = session.scalar(select(Customer).where(Customer.external_id == "C001"))
    assert (customer.name, customer.city, customer.email) == (
        "王小明",
        "上海",
        "xiaoming@example.com",
    )
    assert customer.phone == "13812345678"


def test_xlsx_orders(session):
    workbook = Workbook()
    sheet = workbook.active
    when = datetime(2010, 5, 1, 9, 30)  # noqa: DTZ001 - spreadsheet cells are naive
    sheet.append(["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"])
    sheet.append(["X100", "SKU1", 2, when, 1.25, 12345.0])
    sheet.append(["X100", "SKU2", 1, when, 10, 12345.0])
    buffer = io.BytesIO()
    workbook.save(buffer)

    run = _import(session, "orders", buffer.getvalue(), "orders.xlsx")

    assert (run.n_loaded, run.n_errors) == (2, 0)
    order = session.scalar(select(Order).where(Order.external_id == "X100"))
    assert order.total == Decimal("12.50")
    assert session.get(Customer, order.customer_id).external_id == "12345"


def test_jsonl_products_and_a_bad_row(session):
    lines = [
        {"sku": "P1", "name": "Teapot", "price": "12.50", "currency": "gbp"},
        {"sku": "P2", "name": "Cup", "price": "a lot"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()

    run = _import(session, "products", data, "products.jsonl")

    assert (run.n_rows, run.n_loaded, run.n_errors) == (2, 1, 1)
    assert run.errors == [
        {
            "line": 2,
            "column": "price",
            "value": "a lot",
            "reason": "'a lot' is not an amount (use digits and a dot: 6.95)",
        }
    ]
    product = session.scalar(select(Product).where(Product.sku == "P1"))
    assert (product.name, product.price, product.currency) == ("Teapot", Decimal("12.50"), "GBP")


def test_two_channels_sharing_an_email_become_one_customer(session):
    shop = b"customer_id,name,email\nS-1,Mei Chen,Mei.Chen@Example.com\n"
    wechat = b"wechat_openid,email,city\noABC123,mei.chen@example.com,Shenzhen\n"

    first = _import(session, "customers", shop, "shop.csv")
    second = _import(session, "customers", wechat, "wechat.csv")

    assert first.counts["customers"]["created"] == 1
    assert second.counts["customers"] == {"created": 0, "updated": 1, "unchanged": 0}
    customer = session.scalar(select(Customer).where(Customer.external_id == "S-1"))
    kinds = sorted(
        i.kind for i in session.scalars(select(Identity).where(Identity.customer_id == customer.id))
    )
    assert kinds == ["email", "external_id", "wechat_openid"]
    assert customer.city == "Shenzhen"


def test_duplicate_customer_with_different_data_is_reported(session):
    data = b"external_id,name\nK1,Ann\nK2,Bob\nK1,Anne\nK2,Bob\n"

    run = _import(session, "customers", data, "dups.csv")

    assert (run.n_rows, run.n_loaded, run.n_errors) == (4, 3, 1)
    assert run.errors[0]["line"] == 4
    assert "already appears on line 2" in run.errors[0]["reason"]
    assert session.scalar(select(Customer.name).where(Customer.external_id == "K1")) == "Ann"


def test_bad_line_rejects_its_whole_order(session):
    data = (
        b"order_id,ordered_at,sku,quantity,unit_price\n"
        b"B1,2010-01-01,A,1,2.00\n"
        b"B1,2010-01-01,B,many,2.00\n"
        b"B1,2010-01-01,C,1,2.00\n"
        b"B2,2010-01-01,A,1,2.00\n"
    )
    before = _counts(session)

    run = _import(session, "orders", data, "o.csv")

    assert (run.n_loaded, run.n_errors) == (1, 3)
    assert [(e["line"], e["column"], e["reason"]) for e in run.errors] == [
        (3, "quantity", "'many' is not a whole number"),
        (2, None, "order B1 rejected because line 3 is invalid"),
        (4, None, "order B1 rejected because line 3 is invalid"),
    ]
    assert _counts(session)["order_lines"] == before["order_lines"] + 1


def test_mixed_signs_and_repeated_line_numbers_are_reported(session):
    data = (
        b"order_id,ordered_at,sku,quantity,unit_price,line_no\n"
        b"M1,2010-01-01,A,1,2.00,1\n"
        b"M1,2010-01-01,B,-1,2.00,2\n"
        b"D1,2010-01-01,A,1,2.00,1\n"
        b"D1,2010-01-01,B,1,2.00,1\n"
    )

    run = _import(session, "orders", data, "o.csv")

    assert run.n_loaded == 0
    reasons = [e["reason"] for e in run.errors]
    assert "mixes sold and returned lines" in reasons[0]
    assert "line 1 of order D1 appears twice (also on line 4)" in reasons[2]


def test_wrong_date_format_is_a_row_error_unless_the_format_is_given(session):
    data = (
        b"order_id,ordered_at,sku,quantity,unit_price\nW1,03/04/2010,A,1,2\nW2,2010-04-03,A,1,2\n"
    )

    run = _import(session, "orders", data, "dates.csv")

    assert (run.n_loaded, run.n_errors) == (1, 1)
    assert run.errors[0]["column"] == "ordered_at"
    assert "ambiguous" in run.errors[0]["reason"]
    assert "YYYY/MM/DD" in run.errors[0]["reason"]

    fixed = _import(session, "orders", data, "dates.csv", mapping={"__date_format__": "%d/%m/%Y"})

    assert fixed.n_errors == 1  # W2 is not in that format
    assert fixed.counts["orders"]["created"] == 1
    w1 = session.scalar(select(Order).where(Order.external_id == "W1"))
    assert (w1.ordered_at.month, w1.ordered_at.day) == (4, 3)


@pytest.mark.parametrize(
    ("data", "filename", "kwargs", "message"),
    [
        (b"", "empty.csv", {}, "is empty"),
        (bytes(range(256)) * 4, "junk.csv", {}, "does not look like a text file"),
        (RETAIL.read_bytes(), "big.csv", {"max_bytes": 1000}, "over the 0.0 MiB limit"),
        (b'{"sku": "A"}\n{"sku": B}\n', "p.jsonl", {"kind": "products"}, "line 2: not valid"),
        (RETAIL.read_bytes(), "r.csv", {"mapping": {"sku": "Article"}}, "no such column"),
        (b"name,email\nA,a@example.com\n", "c.csv", {}, "required orders field"),
        (b"Invoice,StockCode,Quantity,InvoiceDate,Price\n", "h.csv", {}, "no rows"),
        (RETAIL.read_bytes(), "r.csv", {"kind": "tickets"}, "Unknown import kind"),
        (RETAIL.read_bytes(), "r.csv", {"mapping_name": "nope"}, "no saved orders mapping"),
    ],
    ids=[
        "empty_case",
        "binary_case",
        "oversized_case",
        "malformed_jsonl_case",
        "unknown_column_case",
        "missing_field_case",
        "header_only_case",
        "unknown_kind_case",
        "unknown_mapping_case",
    ],
)
def test_refused_files_leave_the_store_unchanged(session, data, filename, kwargs, message):
    kwargs = dict(kwargs)
    kind = kwargs.pop("kind", "orders")
    before = _counts(session)

    with pytest.raises(InvalidInputError, match=message):
        _import(session, kind, data, filename, **kwargs)

    assert _counts(session) == before


def test_saved_mapping_runs_and_reports(session):
    data = b"Artikel,Menge,Datum,Preis,Beleg\nA,1,2010-01-01,2.5,R1\n"
    saved = save_mapping(
        session,
        kind="orders",
        name="german shop",
        columns={
            "sku": "Artikel",
            "quantity": "Menge",
            "ordered_at": "Datum",
            "unit_price": "Preis",
            "order_id": "Beleg",
        },
        actor=ACTOR,
    )

    run = _import(session, "orders", data, "de.csv", mapping_name="german shop")

    assert [m.name for m in list_mappings(session, "orders")] == [saved.name]
    assert run.n_loaded == 1
    assert get_import_run(session, run.id) is run
    runs, total = list_import_runs(session, limit=1)
    assert runs[0].id == run.id
    assert total >= 1
    with pytest.raises(NotFoundError):
        get_import_run(session, 10**9)
    with pytest.raises(InvalidInputError, match="Unknown orders field"):
        save_mapping(session, kind="orders", name="x", columns={"colour": "c"}, actor=ACTOR)


def test_errors_csv_lists_every_kept_problem(session):
    run = _import(session, "orders", RETAIL, RETAIL.name)

    lines = errors_csv(run).splitlines()

    assert lines[0] == "line,column,value,reason"
    assert len(lines) == 11
    assert lines[1].startswith('51,Price,0.00,"a stock adjustment')
