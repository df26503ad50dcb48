"""The one reader of the environment: every setting the product uses, with its default.

Names are read as written here (``DATABASE_URL``) or with the ``DWC_`` prefix
(``DWC_DATABASE_URL``); a ``.env`` file in the working directory is read when present.
``.env.example`` lists every setting with its default.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

_WEAK_SECRETS = frozenset({"changeme", "secret", "jwt-secret", "change-me", "password"})
_MIN_SECRET_LENGTH = 32


def _env(name: str) -> AliasChoices:
    """Accept both the documented name and its ``DWC_``-prefixed form."""
    return AliasChoices(name, f"DWC_{name}")


class Settings(BaseSettings):
    """Every environment variable the product reads, typed and validated once."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Environment = Field(default="development", validation_alias=_env("ENVIRONMENT"))
    data_dir: Path = Field(default=Path("data"), validation_alias=_env("DATA_DIR"))
    database_url: str = Field(default="", validation_alias=_env("DATABASE_URL"))
    redis_url: str = Field(default="", validation_alias=_env("REDIS_URL"))
    # PostgreSQL connections per process: pool_size kept open, max_overflow more under load, and how long a
    # request waits for one when all are busy before answering 503. Each event loop also holds up to
    # pool_size connections for compiled reads (services.read_pool), with the same wait.
    database_pool_size: int = Field(default=10, ge=1, le=1000, validation_alias=_env("DATABASE_POOL_SIZE"))
    database_max_overflow: int = Field(default=10, ge=0, le=1000, validation_alias=_env("DATABASE_MAX_OVERFLOW"))
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300,
                                                 validation_alias=_env("DATABASE_POOL_TIMEOUT_SECONDS"))
    # Webhook calls starting runs at once per process (the others wait their turn, in order, up to
    # WEBHOOK_QUEUE_SECONDS, then get 503): they never queue inside the connection pool.
    webhook_concurrency: int = Field(default=8, ge=1, le=1000, validation_alias=_env("WEBHOOK_CONCURRENCY"))
    webhook_queue_seconds: float = Field(default=30.0, gt=0, le=600, validation_alias=_env("WEBHOOK_QUEUE_SECONDS"))
    # API reads (GET, HEAD) at once per process is DATABASE_POOL_SIZE (the overflow stays free for work
    # that needs a second connection); the others wait their turn, in order, up to READ_QUEUE_SECONDS.
    read_queue_seconds: float = Field(default=30.0, gt=0, le=600, validation_alias=_env("READ_QUEUE_SECONDS"))
    jwt_secret: SecretStr = Field(default=SecretStr(""), validation_alias=_env("JWT_SECRET"))
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60, validation_alias=_env("ACCESS_TOKEN_MINUTES"))
    # How long an API process may reuse a signed-in user's row (0: read it on every request).
    auth_user_cache_seconds: float = Field(default=5.0, ge=0, le=60, validation_alias=_env("AUTH_USER_CACHE_SECONDS"))
    refresh_token_days: int = Field(default=14, ge=1, le=365, validation_alias=_env("REFRESH_TOKEN_DAYS"))
    login_max_failures: int = Field(default=5, ge=1, validation_alias=_env("LOGIN_MAX_FAILURES"))
    login_failure_window_seconds: int = Field(
        default=15 * 60, ge=1, validation_alias=_env("LOGIN_FAILURE_WINDOW_SECONDS")
    )
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, validation_alias=_env("API_MAX_BODY_BYTES"))
    secure_cookies: bool = Field(default=True, validation_alias=_env("SECURE_COOKIES"))

    # Outbound HTTP from user-controlled URLs (HTTP node, webhooks): private targets need allow-listing.
    outbound_allowlist: str = Field(default="", validation_alias=_env("OUTBOUND_ALLOWLIST"))
    outbound_timeout_seconds: float = Field(default=15.0, gt=0, le=300,
                                            validation_alias=_env("OUTBOUND_TIMEOUT_SECONDS"))
    outbound_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, validation_alias=_env("OUTBOUND_MAX_BYTES"))

    # Cache service (services/cache). Empty backend: "tiered" when REDIS_URL is set, "memory" otherwise.
    cache_backend: str = Field(default="", max_length=20, validation_alias=_env("CACHE_BACKEND"))
    cache_dir: Path | None = Field(default=None, validation_alias=_env("CACHE_DIR"))
    cache_max_value_bytes: int = Field(default=1024 * 1024, ge=1, validation_alias=_env("CACHE_MAX_VALUE_BYTES"))
    cache_memory_max_entries: int = Field(default=10_000, ge=1, validation_alias=_env("CACHE_MEMORY_MAX_ENTRIES"))
    cache_memory_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024,
                                        validation_alias=_env("CACHE_MEMORY_MAX_BYTES"))
    cache_file_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024,
                                      validation_alias=_env("CACHE_FILE_MAX_BYTES"))
    cache_l1_ttl_seconds: float = Field(default=60.0, gt=0, validation_alias=_env("CACHE_L1_TTL_SECONDS"))
    cache_redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10,
                                               validation_alias=_env("CACHE_REDIS_TIMEOUT_SECONDS"))

    # Workflow engine.
    workflow_max_parallel_nodes: int = Field(default=8, ge=1, le=256,
                                             validation_alias=_env("WORKFLOW_MAX_PARALLEL_NODES"))
    workflow_node_timeout_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_env("WORKFLOW_NODE_TIMEOUT_SECONDS"))
    run_lease_seconds: float = Field(default=30.0, ge=1, validation_alias=_env("RUN_LEASE_SECONDS"))
    run_wait_timeout_seconds: float = Field(default=60.0, gt=0, le=600,
                                            validation_alias=_env("RUN_WAIT_TIMEOUT_SECONDS"))
    worker_concurrency: int = Field(default=20, ge=1, le=1000, validation_alias=_env("WORKER_CONCURRENCY"))

    # AI.
    ai_default_provider: str = Field(default="builtin", validation_alias=_env("AI_DEFAULT_PROVIDER"))
    ai_request_timeout_seconds: float = Field(default=60.0, gt=0, le=600,
                                              validation_alias=_env("AI_REQUEST_TIMEOUT_SECONDS"))
    ai_fallback_chain: str = Field(default="", validation_alias=_env("AI_FALLBACK_CHAIN"))
    ai_max_retries: int = Field(default=2, ge=0, le=10, validation_alias=_env("AI_MAX_RETRIES"))
    ai_retry_base_seconds: float = Field(default=0.5, ge=0, le=60, validation_alias=_env("AI_RETRY_BASE_SECONDS"))
    ai_retry_max_wait_seconds: float = Field(default=30.0, ge=0, le=600,
                                             validation_alias=_env("AI_RETRY_MAX_WAIT_SECONDS"))
    ai_cache_ttl_seconds: int = Field(default=3600, ge=0, validation_alias=_env("AI_CACHE_TTL_SECONDS"))
    ai_budget_per_user_daily_usd: float = Field(default=0.0, ge=0,
                                                validation_alias=_env("AI_BUDGET_PER_USER_DAILY_USD"))
    ai_budget_per_run_usd: float = Field(default=0.0, ge=0, validation_alias=_env("AI_BUDGET_PER_RUN_USD"))
    ai_prices_file: str = Field(default="", validation_alias=_env("AI_PRICES_FILE"))
    ai_embedding_provider: str = Field(default="", validation_alias=_env("AI_EMBEDDING_PROVIDER"))
    openai_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str = Field(default="https://api.openai.com/v1", validation_alias=_env("OPENAI_BASE_URL"))
    local_llm_base_url: str = Field(default="", validation_alias=_env("LOCAL_LLM_BASE_URL"))
    local_llm_model: str = Field(default="llama3.1", min_length=1, validation_alias=_env("LOCAL_LLM_MODEL"))
    local_embedding_model: str = Field(default="nomic-embed-text", min_length=1,
                                       validation_alias=_env("LOCAL_EMBEDDING_MODEL"))
    anthropic_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("ANTHROPIC_API_KEY"))
    anthropic_base_url: str = Field(default="https://api.anthropic.com", validation_alias=_env("ANTHROPIC_BASE_URL"))
    google_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("GOOGLE_API_KEY"))
    google_base_url: str = Field(default="https://generativelanguage.googleapis.com",
                                 validation_alias=_env("GOOGLE_BASE_URL"))

    # Notifications: delivery retries, per-channel send rates, how long a send may take.
    notify_retry_schedule: str = Field(default="0,5,300,1800,7200,18000,36000,36000",
                                       validation_alias=_env("NOTIFY_RETRY_SCHEDULE"))
    notify_retry_schedules: str = Field(default="", validation_alias=_env("NOTIFY_RETRY_SCHEDULES"))
    notify_rate_limits: str = Field(default="", validation_alias=_env("NOTIFY_RATE_LIMITS"))
    notify_send_timeout_seconds: float = Field(default=60.0, gt=0, le=600,
                                               validation_alias=_env("NOTIFY_SEND_TIMEOUT_SECONDS"))
    notify_digest_period_seconds: float = Field(default=86400.0, gt=0, le=31 * 86400,
                                                validation_alias=_env("NOTIFY_DIGEST_PERIOD_SECONDS"))

    # Notification channels: SMTP relay (email), Twilio (sms), ntfy (push), webhook signing, HTTP time limit.
    smtp_host: str = Field(default="", validation_alias=_env("SMTP_HOST"))
    smtp_port: int = Field(default=587, ge=1, le=65535, validation_alias=_env("SMTP_PORT"))
    smtp_username: str = Field(default="", validation_alias=_env("SMTP_USERNAME"))
    smtp_password: SecretStr = Field(default=SecretStr(""), validation_alias=_env("SMTP_PASSWORD"))
    smtp_from: str = Field(default="", validation_alias=_env("SMTP_FROM"))
    smtp_starttls: bool = Field(default=True, validation_alias=_env("SMTP_STARTTLS"))
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600, validation_alias=_env("SMTP_TIMEOUT_SECONDS"))
    twilio_account_sid: str = Field(default="", validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr = Field(default=SecretStr(""), validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_from: str = Field(default="", validation_alias=_env("TWILIO_FROM"))
    twilio_base_url: str = Field(default="https://api.twilio.com", validation_alias=_env("TWILIO_BASE_URL"))
    ntfy_base_url: str = Field(default="", validation_alias=_env("NTFY_BASE_URL"))
    ntfy_token: SecretStr = Field(default=SecretStr(""), validation_alias=_env("NTFY_TOKEN"))
    webhook_signing_secret: SecretStr = Field(default=SecretStr(""), validation_alias=_env("WEBHOOK_SIGNING_SECRET"))
    notify_http_timeout_seconds: float = Field(default=15.0, gt=0, le=300,
                                               validation_alias=_env("NOTIFY_HTTP_TIMEOUT_SECONDS"))

    # Builder: after this many idle seconds an edited, valid graph is saved as a version by itself.
    builder_autosave_seconds: float = Field(default=10.0, ge=1, le=3600,
                                            validation_alias=_env("BUILDER_AUTOSAVE_SECONDS"))
    # Documents: where original files are kept, and the limits extraction works under.
    storage_url: str = Field(default="", validation_alias=_env("STORAGE_URL"))
    s3_endpoint_url: str = Field(default="", validation_alias=_env("S3_ENDPOINT_URL"))
    s3_region: str = Field(default="us-east-1", validation_alias=_env("S3_REGION"))
    aws_access_key_id: str = Field(default="", validation_alias=_env("AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("AWS_SECRET_ACCESS_KEY"))
    document_max_mb: float = Field(default=25.0, gt=0, le=1024, validation_alias=_env("DOCUMENT_MAX_MB"))
    document_max_files_per_upload: int = Field(default=10, ge=1, le=100,
                                               validation_alias=_env("DOCUMENT_MAX_FILES_PER_UPLOAD"))
    document_max_pages: int = Field(default=500, ge=1, validation_alias=_env("DOCUMENT_MAX_PAGES"))
    document_max_unpacked_mb: float = Field(default=200.0, gt=0, validation_alias=_env("DOCUMENT_MAX_UNPACKED_MB"))
    document_extract_timeout_seconds: float = Field(default=120.0, gt=0, le=3600,
                                                    validation_alias=_env("DOCUMENT_EXTRACT_TIMEOUT_SECONDS"))
    # API rate limits per route family (`limits` notation), per signed-in user or per client IP.
    rate_limit_enabled: bool = Field(default=True, validation_alias=_env("RATE_LIMIT_ENABLED"))
    rate_limit_auth: str = Field(default="120/minute", validation_alias=_env("RATE_LIMIT_AUTH"))
    rate_limit_reads: str = Field(default="1200/minute", validation_alias=_env("RATE_LIMIT_READS"))
    rate_limit_writes: str = Field(default="600/minute", validation_alias=_env("RATE_LIMIT_WRITES"))
    rate_limit_execute: str = Field(default="300/minute", validation_alias=_env("RATE_LIMIT_EXECUTE"))
    rate_limit_ai: str = Field(default="120/minute", validation_alias=_env("RATE_LIMIT_AI"))
    rate_limit_hooks: str = Field(default="1200/minute", validation_alias=_env("RATE_LIMIT_HOOKS"))

    # Observability: /metrics access, multi-process metrics, log format.
    metrics_token: SecretStr = Field(default=SecretStr(""), validation_alias=_env("METRICS_TOKEN"))
    prometheus_multiproc_dir: str = Field(default="", validation_alias=_env("PROMETHEUS_MULTIPROC_DIR"))
    log_format: Literal["json", "text"] = Field(default="json", validation_alias=_env("LOG_FORMAT"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", validation_alias=_env("LOG_LEVEL"))

    # Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR networks).
    trusted_proxies: str = Field(default="", validation_alias=_env("TRUSTED_PROXIES"))

    # Security headers: HSTS max-age sent on HTTPS answers (0: none).
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, validation_alias=_env("HSTS_MAX_AGE_SECONDS"))

    @field_validator("rate_limit_auth", "rate_limit_reads", "rate_limit_writes", "rate_limit_execute",
                     "rate_limit_ai", "rate_limit_hooks")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError(f"a rate limit looks like '120/minute' or '10 per second', not {value!r}") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and (raw.lower() in _WEAK_SECRETS or len(raw) < _MIN_SECRET_LENGTH):
            msg = f"JWT_SECRET must be at least {_MIN_SECRET_LENGTH} random characters (unset it to generate one)"
            raise ValueError(msg)
        return value

    @field_validator("webhook_signing_secret")
    @classmethod
    def _refuse_weak_webhook_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and (raw.lower() in _WEAK_SECRETS or len(raw) < _MIN_SECRET_LENGTH):
            msg = f"WEBHOOK_SIGNING_SECRET must be at least {_MIN_SECRET_LENGTH} random characters"
            raise ValueError(msg)
        return value

    @property
    def resolved_cache_backend(self) -> str:
        """``CACHE_BACKEND`` as configured, else ``tiered`` with Redis and ``memory`` without."""
        if self.cache_backend:
            return self.cache_backend.strip().lower()
        return "tiered" if self.redis_url else "memory"

    @property
    def resolved_cache_dir(self) -> Path:
        """Where the ``file`` cache backend keeps its data: ``CACHE_DIR`` or ``$DATA_DIR/cache``."""
        return self.cache_dir or self.data_dir / "cache"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dwc.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        """``STORAGE_URL``, or a ``file://`` URL of ``$DATA_DIR/documents``."""
        return self.storage_url.strip() or (self.data_dir / "documents").resolve().as_uri()

    @property
    def document_max_bytes(self) -> int:
        return int(self.document_max_mb * 1024 * 1024)

    def signing_secret(self) -> str:
        """The JWT signing secret: the configured one, or one generated once and kept on disk."""
        configured = self.jwt_secret.get_secret_value()
        if configured:
            return configured
        return _persisted_secret(self.data_dir / "jwt_secret")


@lru_cache(maxsize=16)
def _persisted_secret(path: Path) -> str:
    """Read the secret kept at ``path``, creating it atomically on first use (read once per process)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            # A hard link never overwrites: two processes starting together keep one secret.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
