"""The one place that reads the environment (``KEHU_*`` variables and ``.env``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-in-production"  # noqa: S105 - a placeholder refused outside development
#: The shortest secret key production accepts (it signs the console's session cookies).
MIN_SECRET_CHARS = 32


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
    # Serving under load (issue 4 §3): requests handled at once per server process; the
    # database pool and the worker threads are sized from it, so a flood queues instead of
    # deadlocking on connections.
    server_concurrency: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Requests a `kehu serve` process handles at once (more wait their turn); "
        "its database pool holds this many connections plus a few for background jobs.",
    )
    server_gc_freeze: bool = Field(
        default=True,
        description="A server process moves what start-up loaded out of the garbage "
        "collector's way (gc.freeze) and collects young objects every 10,000 allocations "
        "instead of 700 (issue 4 §3: collections under load paused every request); off in tests.",
    )
    jobs_leader_retry_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Of the processes serving one store, one runs the periodic jobs (a "
        "PostgreSQL advisory lock, a lock file beside the SQLite file); the others try to "
        "take over this often, and the leader checks it still holds the lock.",
    )
    # Customer value (``kehu analyze`` and its schedule inside ``kehu serve``).
    analyze_every_hours: float = Field(
        default=24, ge=0, description="Hours between value analyses in `kehu serve`; 0 = off."
    )
    vip_share: float = Field(
        default=0.20, gt=0, le=1, description="Share of scored customers that are VIP."
    )
    value_horizon_weeks: int = Field(default=52, ge=1, le=520)
    value_discount_rate_annual: float = Field(default=0.10, ge=0, le=1)
    # Relationship health (issue 7): stages, churn risk and alerts after the value analysis.
    health_window_days: int = Field(
        default=90, ge=7, le=730, description="Days of each health signal window and of churn."
    )
    health_alert_risk: float = Field(
        default=0.5, gt=0, le=1, description="Churn risk at which a VIP's owner gets a task."
    )
    health_every_minutes: float = Field(
        default=0,
        ge=0,
        le=30 * 24 * 60,
        description="Minutes between health analyses in `kehu serve` on their own; "
        "0 = only after each scheduled value analysis.",
    )
    relations_every_minutes: float = Field(
        default=0,
        ge=0,
        le=30 * 24 * 60,
        description="Minutes between playbook runs (cadence, reminders, surprises, rules) in "
        "`kehu serve` on their own; 0 = only after each scheduled value analysis.",
    )
    # Voice of the customer (issue 6): sentiment + spread-risk scoring inside `kehu serve`.
    voice_score_every_minutes: float = Field(
        default=15,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes between voice scoring turns in `kehu serve`; 0 = off.",
    )
    # Recommendations (issue 4): where fitted models live, and the restraint policy.
    model_dir: Path | None = Field(
        default=None,
        description="Folder of fitted models; default: `models/` beside the SQLite file, "
        "else `<data_dir>/models`.",
    )
    recs_restraint: bool = Field(
        default=True, description="Apply restraint (discounting, stops, caps) when serving."
    )
    recs_max_ignored: int = Field(
        default=3, ge=1, le=100, description="Ignored impressions before an item is stopped."
    )
    recs_cooldown_days: float = Field(default=30, ge=0, le=3650)
    recs_recovery_days: float = Field(default=7, gt=0, le=3650)
    recs_attribution_days: float = Field(default=7, ge=0, le=365)
    recs_impression_flush_ms: float = Field(
        default=50,
        ge=0,
        le=10_000,
        description="A server stores the impressions of web/app lists in batches at most "
        "this many ms after serving (kehu.engagement.impressions); 0: in the request (needed "
        "when the app's sessions share one connection, as in tests).",
    )
    # Service desk (issue 5): routing confidence and the "solved" window of QA.
    service_triage_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Tickets classified with less confidence go to the triage queue.",
    )
    service_reopen_window_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="A ticket reopened within this many days is not solved.",
    )
    # Text models (issue 5 review): BLAS threads of the category cascade's MiniLM encoder.
    text_threads: int = Field(
        default=1,
        ge=0,
        le=256,
        description="BLAS threads the MiniLM encoder of the category cascade uses. 1 (default) "
        "keeps it fast when other processes share the cores (3-4x faster than 2 there); 2 is "
        "~1.3x faster on otherwise idle cores; 0 = BLAS's own default (every core).",
    )

    # Webhooks out (issue 9 §3): delivery inside `kehu serve`, retries, disabling.
    webhook_deliver_every_seconds: float = Field(
        default=5, ge=0, le=3600, description="Seconds between webhook delivery turns; 0 = off."
    )
    webhook_max_attempts: int = Field(default=10, ge=1, le=100)
    webhook_backoff_base_s: float = Field(
        default=30, gt=0, le=86400, description="Wait after a first failure; doubles each time."
    )
    webhook_backoff_max_s: float = Field(default=6 * 3600, gt=0, le=7 * 86400)
    webhook_disable_after_failures: int = Field(
        default=20, ge=1, le=10_000, description="Consecutive failures that disable a webhook."
    )
    webhook_timeout_s: float = Field(default=10, gt=0, le=120)
    webhooks_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local or metadata "
        "addresses (local receivers, tests); off: such URLs are refused.",
    )
    # Privacy (issue 9 §2): erase customers inactive this many years, daily inside `kehu serve`.
    retention_years: int = Field(
        default=0, ge=0, le=100, description="Years of inactivity before erasure; 0 = off."
    )
    # Login throttling (issue 9 §4): failed logins per account and per client address.
    login_window_s: int = Field(default=15 * 60, ge=1, le=86400)
    login_max_failures_per_account: int = Field(default=5, ge=1, le=10_000)
    login_max_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    # Batch engine (issue 8): where `kehu analyze --engine spark` sends its jobs.
    spark_master: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KEHU_SPARK_MASTER", "SPARK_MASTER"),
        description="Spark master URL (local[4], spark://host:7077, yarn...) for "
        "`--engine spark`; unset: the one spark-submit gave, else local[2].",
    )

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "KEHU_SECRET_KEY is still the placeholder; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        if self.environment == "production" and len(self.secret_key) < MIN_SECRET_CHARS:
            raise ValueError(
                f"KEHU_SECRET_KEY is shorter than {MIN_SECRET_CHARS} characters; set a long "
                "random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)."
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache to override)."""
    return Settings()
