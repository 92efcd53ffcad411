"""The column-wise orders path: the same outcome as the per-row path, on odd files too."""

from sqlalchemy import select

from kehu.commerce import Order, OrderLine
from kehu.core import Actor
from kehu.ingest import run_import

ACTOR = Actor(kind="import", label="test")
HEADER = b"order_id,ordered_at,sku,quantity,unit_price,line_no\n"


def _import(session, data, filename="o.csv"):
    return run_import(session, kind="orders", data=data, filename=filename, actor=ACTOR)


def _problems(run):
    return [(e["line"], e["column"], e["reason"]) for e in run.errors]


def test_order_level_problems_reject_whole_orders(session):
    data = HEADER + (
        b"D1,2010-01-01,A,1,2.00,1\nD1,2010-01-01,B,1,2.00,1\n"  # line 1 twice
        b"P1,2010-01-01,A,1,2.00,1\nP1,2010-01-01,B,1,2.00,\n"  # numbered in part
        b"M1,2010-01-01,A,1,2.00,\nM1,2010-01-01,B,-1,2.00,\n"  # sold and returned
        b"OK,2010-01-01,A,1,2.00,2\nOK,2010-01-01,B,3,2.00,1\n"
    )

    run = _import(session, data)

    assert (run.n_rows, run.n_loaded) == (8, 2)
    reasons = _problems(run)
    assert (3, "line_no", "line 1 of order D1 appears twice (also on line 2)") in reasons
    assert (5, "line_no", "order P1 numbers only some of its lines") in reasons
    assert any(line == 7 and "mixes sold and returned" in r for line, _, r in reasons)
    lines = session.scalars(
        select(OrderLine).join(Order).where(Order.external_id == "OK").order_by(OrderLine.line_no)
    ).all()
    assert [(x.line_no, x.quantity) for x in lines] == [(1, 3), (2, 1)]


def test_a_bad_line_spoils_its_order_wherever_it_is(session):
    data = HEADER + (b"A1,2010-01-01,A,1,2.00,\nB1,2010-01-01,A,1,2.00,\nA1,2010-01-01,B,x,2.00,\n")

    run = _import(session, data)

    assert run.n_loaded == 1
    assert _problems(run)[0][:2] == (4, "quantity")
    assert (2, None, "order A1 rejected because line 4 is invalid") in _problems(run)
    assert session.scalar(select(Order.id).where(Order.external_id == "A1")) is None


def test_quoted_newlines_and_blank_lines_keep_their_line_numbers(session):
    data = HEADER.replace(b"line_no", b"description") + (
        b'Q1,2010-01-01,A,1,2.00,"two\nlines"\n\nQ1,2010-01-01,B,0,2.00,x\n'
    )

    run = _import(session, data)

    assert run.n_rows == 2
    assert _problems(run)[0][:2] == (5, "quantity")


def test_crlf_bom_and_semicolons_read_as_the_csv_module_does(session):
    text = "order_id;ordered_at;sku;quantity;unit_price\r\nS1;2010/01/02 10:00;A;2;£1,234.50\r\n"
    data = b"\xef\xbb\xbf" + (text + "\r\nS1;20100102;B; 3 ;1\r\nS2;2010-13-01;A;1;1\r\n").encode()

    run = _import(session, data)

    assert (run.n_rows, run.n_loaded) == (3, 2)
    assert _problems(run)[0][0] == 5
    order = session.scalar(select(Order).where(Order.external_id == "S1"))
    assert str(order.total) == "2472.00"
    assert order.ordered_at.day == 2


def test_a_huge_quantity_is_reported_not_stored(session):
    run = _import(session, HEADER + b"H1,2010-01-01,A,99999999999,1,\n")

    assert (run.n_loaded, _problems(run)[0][:2]) == (0, (2, "quantity"))
