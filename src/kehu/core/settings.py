"""The one place that reads the environment (``KEHU_*`` variables and ``.env``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-in-production"  # noqa: S105 - a placeholder refused outside development


class Settings(BaseSettings):
    """kehu's configuration.

    Every field can be set with an environment variable ``KEHU_<FIELD>`` (upper case), e.g.
    ``KEHU_DATABASE_URL=postgresql+psycopg://kehu@db/kehu``.
    """

    model_config = SettingsConfigDict(env_prefix="KEHU_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///kehu.db",
        description="SQLAlchemy URL of the operational store; SQLite file by default.",
    )
    secret_key: str = DEFAULT_SECRET
    session_max_age_s: int = 8 * 3600
    max_upload_bytes: int = 200 * 1024 * 1024
    default_locale: Literal["en", "zh-CN"] = "en"
    default_currency: str = "GBP"
    data_dir: Path = Path(".")
    # Customer value (``kehu analyze`` and its schedule inside ``kehu serve``).
    analyze_every_hours: float = Field(
        default=24, ge=0, description="Hours between value analyses in `kehu serve`; 0 = off."
    )
    vip_share: float = Field(
        default=0.20, gt=0, le=1, description="Share of scored customers that are VIP."
    )
    value_horizon_weeks: int = Field(default=52, ge=1, le=520)
    value_discount_rate_annual: float = Field(default=0.10, ge=0, le=1)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "KEHU_SECRET_KEY is still the placeholder; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache to override)."""
    return Settings()
