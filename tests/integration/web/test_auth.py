from sqlalchemy import func, select

from kehu.audit import AuditEntry
from kehu.users import find_user_by_email
from tests.integration.web.conftest import csrf_of, sign_in


def test_signed_out_page_redirects_to_login_with_next(client):
    response = client.get("/customers?q=li", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcustomers%3Fq%3Dli"


def test_signed_out_htmx_request_gets_hx_redirect(client):
    response = client.get(
        "/customers?q=li",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/customers"},
        follow_redirects=False,
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=%2Fcustomers"


def test_login_goes_to_next_page_and_logout_ends_the_session(client, users):
    token = csrf_of(client, "/login?next=/customers")
    response = client.post(
        "/login",
        data={
            "email": " Admin@Example.com ",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/customers",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/customers"
    page = client.get("/")
    assert page.status_code == 200
    assert "Welcome back, Admin." in page.text

    client.post("/logout", data={"csrf_token": csrf_of(client, "/")}, follow_redirects=False)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_refuses_an_open_redirect(client, users):
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={
            "email": "admin@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/"


def test_wrong_password_and_unknown_email_give_the_same_answer(client, users):
    wrong_password = sign_in(client, "admin@example.com", "not the password")
    unknown_email = sign_in(client, "nobody@example.com", "correct horse battery")

    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert "Wrong e-mail or password." in response.text
        assert 'name="password"' in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_deactivated_user_is_signed_out(client, users, session):
    assert sign_in(client, "agent@example.com").status_code == 303
    users["agent"].is_active = False
    session.commit()

    assert client.get("/", follow_redirects=False).status_code == 303


def test_post_without_csrf_token_is_refused_and_changes_nothing(admin_client, session):
    n_audit = session.scalar(select(func.count()).select_from(AuditEntry))

    response = admin_client.post("/lang", data={"locale": "zh-CN", "next": "/"})
    forged = admin_client.post(
        "/lang", data={"locale": "zh-CN", "next": "/", "csrf_token": "forged" * 8}
    )

    for answer in (response, forged):
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
    session.expire_all()
    assert find_user_by_email(session, "admin@example.com").locale == "en"
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == n_audit
    assert 'lang="en"' in admin_client.get("/").text


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post(
        "/login", data={"email": "admin@example.com", "password": "correct horse battery"}
    )

    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_language_switch_is_kept_in_session_and_on_the_user(admin_client, session):
    token = csrf_of(admin_client, "/customers")

    response = admin_client.post(
        "/lang",
        data={"locale": "zh-CN", "next": "/customers", "csrf_token": token},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/customers"
    page = admin_client.get("/customers")
    assert 'lang="zh-CN"' in page.text
    assert "<h1>客户</h1>" in page.text
    assert "审计日志" in page.text
    session.expire_all()
    assert find_user_by_email(session, "admin@example.com").locale == "zh-CN"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.set_locale")).all()
    assert [a.object_id for a in audit] == [
        str(find_user_by_email(session, "admin@example.com").id)
    ]


def test_language_switch_works_before_signing_in(client):
    token = csrf_of(client)

    client.post("/lang", data={"locale": "zh-CN", "next": "/login", "csrf_token": token})

    page = client.get("/login")
    assert "<h1>登录</h1>" in page.text


def test_unknown_language_is_refused(admin_client):
    token = csrf_of(admin_client, "/")

    response = admin_client.post("/lang", data={"locale": "xx", "csrf_token": token})

    assert response.status_code == 422
    assert "Unknown language" in response.text


def test_user_locale_is_used_after_login(client, session, users):
    users["manager"].locale = "zh-CN"
    session.commit()

    sign_in(client, "manager@example.com")

    assert "欢迎回来" in client.get("/").text
