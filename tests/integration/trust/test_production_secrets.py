"""Production refuses the placeholder (or a short) secret key, with a message saying what to do."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from kehu.core import Settings
from kehu.core.settings import DEFAULT_SECRET


@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "short-secret"])
def test_production_refuses_a_default_or_short_secret(secret):
    with pytest.raises(ValidationError, match="KEHU_SECRET_KEY"):
        Settings(environment="production", secret_key=secret)


def test_production_accepts_a_long_random_secret():
    settings = Settings(environment="production", secret_key="x" * 48)

    assert settings.environment == "production"


def test_development_keeps_the_placeholder():
    assert Settings(environment="development").secret_key == DEFAULT_SECRET


def test_kehu_serve_refuses_to_start_in_production_with_the_placeholder(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "KEHU_ENVIRONMENT": "production",
        "KEHU_SECRET_KEY": DEFAULT_SECRET,
        "KEHU_DATABASE_URL": f"sqlite:///{tmp_path / 'kehu.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "kehu", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 2
    assert "Refusing to start: KEHU_SECRET_KEY is still the placeholder" in done.stderr
    assert not (tmp_path / "kehu.db").exists()  # refused before touching the database
