import re

from sqlalchemy import select

from kehu.customers import Customer
from tests.integration.web.conftest import csrf_of

CSV = (
    "external_id,name,email,birthday\n"
    "C1,Li Wei,li.wei@example.com,1990-05-17\n"
    "C2,Bad Mail,not-an-email,1991-01-01\n"
    "C3,Bad Day,c3@example.com,1990-13-45\n"
    "C4,Wang Fang,wang@example.com,\n"
)


def _upload(client, data, *, dry_run=False, filename="customers.csv", kind="customers"):
    token = csrf_of(client, "/imports")
    form = {"kind": kind, "csrf_token": token}
    if dry_run:
        form["dry_run"] = "true"
    return client.post("/imports", data=form, files={"file": (filename, data, "text/csv")})


def test_import_reports_bad_rows_and_loads_good_ones(admin_client, session):
    page = _upload(admin_client, CSV.encode())

    assert page.status_code == 200
    html = page.text
    assert re.search(r'data-testid="n-rows">4<', html)
    assert re.search(r'data-testid="n-loaded">2<', html)
    assert re.search(r'data-testid="n-errors">2<', html)
    assert 'data-testid="row-errors"' in html
    assert "not-an-email" in html
    assert "1990-13-45" in html
    names = session.scalars(select(Customer.name).order_by(Customer.name)).all()
    assert "Li Wei" in names
    assert "Bad Mail" not in names
    errors_link = re.search(r'href="(/imports/\d+/errors\.csv)"', html).group(1)
    download = admin_client.get(errors_link)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "not-an-email" in download.text


def test_dry_run_changes_nothing(admin_client, session):
    page = _upload(admin_client, CSV.encode(), dry_run=True)

    assert "This was a dry run" in page.text
    assert session.scalar(select(Customer).where(Customer.external_id == "C1")) is None


def test_file_level_problem_is_shown_on_the_import_page(admin_client):
    page = _upload(admin_client, b"\x00\x01\x02binary\xff\xfe", filename="x.csv")

    assert page.status_code == 422
    assert 'data-testid="import-error"' in page.text


def test_import_without_a_file_is_refused(admin_client):
    page = _upload(admin_client, b"", filename="")

    assert page.status_code == 422


def test_template_download_names_the_columns(admin_client):
    response = admin_client.get("/imports/templates/customers.csv")

    assert response.status_code == 200
    assert response.text.splitlines()[0].startswith("external_id,name")


def test_unknown_template_or_run_answers_404(admin_client):
    assert admin_client.get("/imports/templates/robots.csv").status_code == 404
    assert admin_client.get("/imports/999999").status_code == 404
    assert admin_client.get("/imports/abc").status_code == 404
