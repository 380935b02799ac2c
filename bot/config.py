"""All settings, from the environment and `.env`, checked once at start-up."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API_URL = "https://api.telegram.org"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    """One place for every knob; see README for what each does."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    redis_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_locale: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    webhook_url: str | None = Field(
        default=None, description="public https URL Telegram posts updates to; set: webhook mode")
    webhook_secret: SecretStr | None = Field(
        default=None, description="X-Telegram-Bot-Api-Secret-Token; required in webhook mode")
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    webhook_answer_in_response: bool = Field(
        default=True, description="answer a pressed button inside the webhook's HTTP response")
    webhook_answer_hold_seconds: float = Field(
        default=1.0, gt=0, le=10,
        description="how long a button's answer may wait for its handler to end to go in "
                    "the response; then it is sent as a call")
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="polling mode: serve /healthz, /readyz and /metrics on this port")
    stop_grace_seconds: float = Field(
        default=20.0, gt=0, le=300, description="on SIGTERM, how long updates in hand may take")
    emulator_port: int = Field(default=8081, ge=0, le=65535)
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    flood_rate: int = Field(default=8, ge=1, description="updates a user may send per window")
    update_concurrency: int = Field(default=32, ge=1, le=10_000,
                                    description="updates handled at once; more wait their turn")
    flood_window_seconds: float = Field(default=5.0, gt=0)
    quiet_hours: str = Field(default="21:00-08:00",
                             description='default quiet hours, local time; "off" for none')
    sweep_seconds: float = Field(default=30.0, gt=0, le=3600,
                                 description="how often deadline sweeps run")
    dev_clock: bool | None = Field(
        default=None, description="the /clock command that moves time; default: on without a token")
    outbox_rate: float = Field(default=25.0, gt=0, le=1000, description="messages a second")
    outbox_paid_rate: float = Field(default=0.0, ge=0, le=1000,
                                    description="0: off; else paid broadcasts at this rate")
    outbox_batch_size: int = Field(default=0, ge=0, le=10_000)
    outbox_lease_seconds: float = Field(default=60.0, ge=5)
    outbox_max_attempts: int = Field(default=5, ge=1, le=100)
    outbox_tick_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_keep_days: int = Field(default=30, ge=1, le=3650,
                                  description="days a finished outbox row is kept")

    @field_validator("bot_token", "redis_url", "webhook_url", "webhook_secret",
                     "metrics_port", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, _, secret = value.get_secret_value().partition(":")
            if not bot_id.isdigit() or not secret:
                raise ValueError("must look like 123456:ABC-DEF… (from @BotFather)")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas") from None
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use a name such as Asia/Shanghai)") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from services.preferences import parse_quiet_hours

        parse_quiet_hours(value)
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a URL such as https://bot.example.org/tg/hook")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET: required when WEBHOOK_URL is set")
        if self.webhook_url is not None and self.bot_token is None:
            raise ValueError("WEBHOOK_URL: needs a BOT_TOKEN (without one the bot runs the "
                             "playground, on long polling)")
        return self

    @property
    def webhook_path(self) -> str:
        """Where the replica serves updates: the path of WEBHOOK_URL."""
        return urlsplit(self.webhook_url or "").path or "/"

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value


def dev_clock_enabled(settings: Settings) -> bool:
    """Time travel is for the playground and tests, never for a real bot by default."""
    return settings.bot_token is None if settings.dev_clock is None else settings.dev_clock


def describe_error(error: ValidationError) -> str:
    """One clear line naming the setting that is wrong."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"] and ": " in message:  # a rule across settings names its own
        name, message = message.split(": ", 1)
    return f"Configuration error: {name}: {message}"
