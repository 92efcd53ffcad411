"""Pure parts of the import pipeline: kinds, parsing, mapping, readers (no database)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kehu.core import InvalidInputError
from kehu.ingest import KINDS, describe_kind, detect_columns, template_csv
from kehu.ingest.mapping import resolve_mapping
from kehu.ingest.parsing import clean_external_id, parse_amount, parse_datetime, parse_quantity
from kehu.ingest.readers import read_table

ONLINE_RETAIL_HEADER = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]


def test_every_kind_has_a_template_with_its_fields():
    for kind in KINDS:
        rows = list(csv.reader(io.StringIO(template_csv(kind))))
        assert rows[0] == [spec.name for spec in describe_kind(kind)]
        assert len(rows) == 2


def test_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(InvalidInputError, match="customers, products, orders"):
        describe_kind("tickets")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-12-01 07:45:00", datetime(2010, 12, 1, 7, 45, tzinfo=UTC)),
        ("2010-12-01T08:45:00+01:00", datetime(2010, 12, 1, 7, 45, tzinfo=UTC)),
        ("2010-12-01T07:45:00Z", datetime(2010, 12, 1, 7, 45, tzinfo=UTC)),
        ("2010/12/01", datetime(2010, 12, 1, tzinfo=UTC)),
        ("2010/12/1 7:45", datetime(2010, 12, 1, 7, 45, tzinfo=UTC)),
        ("19970101", datetime(1997, 1, 1, tzinfo=UTC)),
    ],
    ids=[
        "space_case",
        "offset_case",
        "zulu_case",
        "slashed_case",
        "slashed_time_case",
        "cdnow_case",
    ],
)
def test_accepted_dates(text, expected):
    assert parse_datetime(text) == expected


def test_ambiguous_date_names_the_accepted_formats_and_the_way_out():
    with pytest.raises(ValueError, match="ambiguous") as info:
        parse_datetime("03/04/2010")
    assert "__date_format__" in str(info.value)
    assert "YYYYMMDD" in str(info.value)
    assert parse_datetime("03/04/2010", "%d/%m/%Y") == datetime(2010, 4, 3, tzinfo=UTC)


def test_amounts_quantities_and_float_ids():
    assert parse_amount("1,234.5") == Decimal("1234.50")
    assert parse_quantity("-12.0") == -12
    assert clean_external_id("13085.0") == "13085"
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount("abc")
    with pytest.raises(ValueError, match="not a whole number"):
        parse_quantity("1.5")


def test_online_retail_columns_map_to_orders_without_a_mapping():
    resolved = resolve_mapping("orders", ONLINE_RETAIL_HEADER, None)
    assert resolved.columns == {
        "order_id": "Invoice",
        "customer_id": "Customer ID",
        "ordered_at": "InvoiceDate",
        "sku": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Price",
        "country": "Country",
    }


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"sku": "Article"}, "no such column"),
        ({"colour": "Description"}, "unknown orders field"),
        ({"sku": ""}, "required orders field"),
    ],
    ids=["unknown_column_case", "unknown_field_case", "unmapped_required_case"],
)
def test_bad_mappings_are_refused(mapping, message):
    with pytest.raises(InvalidInputError, match=message):
        resolve_mapping("orders", ONLINE_RETAIL_HEADER, mapping)


def test_gbk_file_is_decoded_and_its_encoding_reported():
    data = "姓名,邮箱\n王小明,xm@example.com\n".encode("gbk")
    table = read_table(data, "客户.csv")
    assert table.columns == ["姓名", "邮箱"]
    assert table.encoding == "gb18030"
    assert list(table.rows) == [(2, ["王小明", "xm@example.com"])]


def test_csv_line_numbers_count_multiline_values_and_skip_blank_lines():
    data = b'name,notes\nA,"one\ntwo"\n\nB,x\n'
    assert list(read_table(data, "c.csv").rows) == [(2, ["A", "one\ntwo"]), (5, ["B", "x"])]


def test_semicolon_csv_with_bom():
    assert detect_columns("\ufeffsku;name\nA;B\n".encode(), "p.csv") == ["sku", "name"]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "e.csv", "is empty"),
        (b"\x00\x01\x02PK junk\x00", "j.csv", "not look like a text file"),
        (b"PK\x03\x04 not really a zip", "x.xlsx", "not a readable XLSX"),
        (b'{"a": 1}\n{"a": \n', "l.jsonl", "line 2: not valid JSON"),
        (b"PAR1 nope", "p.parquet", "not a readable Parquet"),
    ],
    ids=["empty_case", "binary_case", "xlsx_case", "jsonl_case", "parquet_case"],
)
def test_unreadable_files_are_refused(data, name, message):
    with pytest.raises(InvalidInputError, match=message):
        read_table(data, name)


def test_cdnow_log_is_recognised_by_its_shape():
    table = read_table(
        b" 00004 0001 19970101  2   29.33\n 00004 0001 19970101  1   5.00\n", "x.txt"
    )
    assert table.format == "cdnow"
    rows = list(table.rows)
    assert rows[0] == (
        1,
        ["cdnow-00004-19970101-1", "00004", "19970101", "CD", "CD", "2", "14.67", "0.01"],
    )
    assert rows[1][1][0] == "cdnow-00004-19970101-2"
