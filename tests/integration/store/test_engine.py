"""PostgreSQL connections from make_engine: JIT off, the URL's own options kept."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kehu.store import make_engine
from tests.conftest import pg_base_url

pytestmark = pytest.mark.postgres


def _show(url: str, setting: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text(f"SHOW {setting}")).scalar_one())
    finally:
        engine.dispose()


def test_jit_is_off():
    assert _show(pg_base_url(), "jit") == "off"


def test_options_in_the_url_are_kept_beside_jit_off():
    url = make_url(pg_base_url())
    with_options = url.set(query={**url.query, "options": "-cstatement_timeout=1234"})

    rendered = with_options.render_as_string(hide_password=False)

    assert _show(rendered, "jit") == "off"
    assert _show(rendered, "statement_timeout") == "1234ms"
