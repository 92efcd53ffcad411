import pytest

from kehu.customers import Customer
from kehu.ingest import ImportRun

IMPORTS = "/api/v1/imports"
GOOD_AND_BAD = (
    "Customer ID,Full Name,E-mail,Birthday\n"
    "C-1,Ada Lovelace,ada@example.com,1815-12-10\n"
    "C-2,Bad Mail,not-an-address,\n"
    "C-3,Alan Turing,alan@example.com,1912-06-23\n"
)


def _upload(client, headers, kind="customers", text=GOOD_AND_BAD, name="crm.csv", **fields):
    return client.post(
        f"{IMPORTS}/{kind}",
        files={"file": (name, text.encode(), "text/csv")},
        data={key: str(value) for key, value in fields.items()},
        headers=headers,
    )


def test_import_loads_good_rows_and_reports_bad_ones(client, session, staff):
    headers = staff["manager"].headers

    response = _upload(client, headers)

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["dry_run"], run["filename"]) == ("applied", False, "crm.csv")
    assert (run["n_rows"], run["n_loaded"], run["n_errors"]) == (3, 2, 1)
    assert run["errors"][0]["line"] == 3
    assert "not-an-address" in str(run["errors"][0]["value"])
    session.expire_all()
    assert sorted(c.external_id for c in session.query(Customer)) == ["C-1", "C-3"]

    listed = client.get(IMPORTS, headers=headers).json()
    assert [r["id"] for r in listed["data"]] == [run["id"]]
    assert listed["count"] == 1
    detail = client.get(f"{IMPORTS}/{run['id']}", headers=headers)
    assert detail.json()["n_errors"] == 1
    errors = client.get(f"{IMPORTS}/{run['id']}/errors.csv", headers=headers)
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("text/csv")
    assert "not-an-address" in errors.text
    assert errors.text.splitlines()[0].startswith("line")


def test_dry_run_stores_only_the_run(client, session, admin):
    response = _upload(client, admin, dry_run="true")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "previewed"
    assert response.json()["n_loaded"] == 2
    session.expire_all()
    assert session.query(Customer).count() == 0
    assert session.query(ImportRun).count() == 1


def test_saved_mapping_is_used_by_name(client, session, admin):
    text = "Ref,Who,Mail\nX-1,Grace,grace@example.com\n"
    saved = client.post(
        f"{IMPORTS}/mappings",
        json={
            "kind": "customers",
            "name": "legacy",
            "columns": {"external_id": "Ref", "name": "Who", "email": "Mail"},
        },
        headers=admin,
    )
    assert saved.status_code == 201, saved.text

    response = _upload(client, admin, text=text, mapping_name="legacy")

    assert response.status_code == 200, response.text
    assert response.json()["n_loaded"] == 1
    session.expire_all()
    assert session.query(Customer).one().name == "Grace"
    listed = client.get(f"{IMPORTS}/mappings", params={"kind": "customers"}, headers=admin).json()
    assert [m["name"] for m in listed["data"]] == ["legacy"]


def test_template_and_kinds(client, admin):
    template = client.get(f"{IMPORTS}/templates/orders", headers=admin)
    kinds = client.get(f"{IMPORTS}/kinds", headers=admin).json()

    assert template.status_code == 200
    assert template.headers["content-disposition"] == (
        'attachment; filename="kehu-orders-template.csv"'
    )
    assert template.text.splitlines()[0].startswith("order_id,customer_id,ordered_at")
    orders = next(k for k in kinds if k["kind"] == "orders")
    assert {"name": "order_id", "required": True}.items() <= orders["fields"][0].items()


def test_upload_over_the_limit_is_413_and_stores_nothing(client, app, session, admin):
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 1000})
    big = "external_id,name\n" + "".join(f"C-{i},Name {i}\n" for i in range(200))

    declared = _upload(client, admin, text=big)
    streamed = client.post(
        f"{IMPORTS}/customers",
        content=iter([b"x" * 50_000] * 3),  # no Content-Length: counted while streaming
        headers={**admin, "Content-Type": "multipart/form-data; boundary=zzz"},
    )

    assert declared.status_code == 413
    assert "1,000 bytes" in declared.json()["detail"]
    assert streamed.status_code == 413
    session.expire_all()
    assert session.query(Customer).count() == 0
    assert session.query(ImportRun).count() == 0


@pytest.mark.parametrize(
    ("kind", "kwargs", "status", "words"),
    [
        pytest.param("robots", {}, 404, "no import kind 'robots'", id="unknown_kind"),
        pytest.param("customers", {"text": ""}, 422, "empty", id="empty_file"),
        pytest.param("customers", {"dry_run": "perhaps"}, 422, "dry_run", id="bad_flag"),
        pytest.param("customers", {"mapping_name": "nope"}, 422, "nope", id="unknown_mapping"),
        pytest.param("customers", {"mapping": "{not json"}, 422, "mapping", id="bad_mapping"),
        pytest.param(
            "orders", {"text": "a,b\n1,2\n"}, 422, "order_id", id="missing_required_column"
        ),
    ],
)
def test_unusable_uploads_are_refused_with_a_reason(
    client, session, admin, kind, kwargs, status, words
):
    response = _upload(client, admin, kind=kind, **kwargs)

    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    session.expire_all()
    assert session.query(ImportRun).count() == 0


def test_upload_must_be_multipart_with_a_file(client, admin):
    as_json = client.post(f"{IMPORTS}/customers", json={"file": "x"}, headers=admin)
    no_file = client.post(
        f"{IMPORTS}/customers",
        data={"dry_run": "true"},
        files={"other": ("a.csv", b"x")},
        headers=admin,
    )

    assert as_json.status_code == 415
    assert no_file.status_code == 422
    assert "field named `file`" in no_file.json()["detail"]
