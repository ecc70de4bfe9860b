"""Typed settings, read from HORDE_* environment variables.

Every setting has a documented default (README "Configuration"), so `make run` needs no
configuration at all: image mode, SQLite under ./var, no Redis.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from horde.modes import Mode

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class SettingsError(ValueError):
    """A HORDE_* variable holds a value we cannot use."""


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _text(value: str, name: str) -> str:
    return value


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {value!r}") from None


def _hops(value: str, name: str) -> int:
    hops = _int(value, name)
    if not 0 <= hops <= 10:
        raise SettingsError(f"{name} must be a number of proxy hops from 0 to 10, not {value!r}")
    return hops


def _access_log(value: str, name: str) -> str:
    lowered = value.strip().lower()
    if lowered not in ("text", "json", "off"):
        raise SettingsError(f"{name} must be text, json or off, not {value!r}")
    return lowered


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    return number


def _positive(value: str, name: str) -> float:
    number = _float(value, name)
    if number <= 0:
        raise SettingsError(f"{name} must be a number of seconds above 0, not {value!r}")
    return number


def _sibling_url(value: str, name: str) -> str:
    url = value.strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]  # the base URL, as clients write AI_HORDE_URL or not
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise SettingsError(f"{name} must be the other horde's http(s) address, like http://text-horde:7001, not {value!r}")
    return url


def _seconds(value: str, name: str) -> float:
    seconds = _float(value, name)
    if not 0.5 <= seconds <= 86400:
        raise SettingsError(f"{name} must be a number of seconds from 0.5 to 86400, not {value!r}")
    return seconds


# PostgreSQL URLs as platforms hand them out name no driver (`postgresql://`, `postgres://`):
# SQLAlchemy would pick psycopg 3 for them, which is not installed. psycopg2 is the driver.
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg2")


def database_url(url: str) -> str:
    """The SQLAlchemy URL for a HORDE_DATABASE_URL: PostgreSQL always through psycopg2."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.lower().startswith("postgres"):
        return url
    if scheme.lower() not in POSTGRES_SCHEMES:
        raise SettingsError(
            f"HORDE_DATABASE_URL: the PostgreSQL driver {scheme.split('+', 1)[-1]!r} is not installed; "
            "use postgresql:// (Horde connects through psycopg2)"
        )
    return f"postgresql+psycopg2://{rest}"


def _list(value: str) -> list[str]:
    value = value.strip()
    if not value:
        return []
    if value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.IMAGE
    database_url: str = ""  # empty: a SQLite file per mode under data_dir
    redis_url: str = ""  # empty: in-process stand-ins for cache, limits and locks
    redis_prefix: str = ""  # empty: "horde:<mode>:", so two hordes can share one Redis
    secret_key: str = ""  # empty: generated in data_dir for development, refused otherwise (horde.secret_key)
    horde_name: str = ""  # empty: "Stable Horde" or "KoboldAI Horde" by mode
    host: str = "127.0.0.1"
    port: int = 7001
    public_url: str = ""  # empty: http://host:port
    data_dir: str = "var"
    rate_limits: bool = True
    default_concurrency: int = 30
    admins: list[str] = field(default_factory=list)
    web_workers: int = 0  # 0: chosen from the CPU count (1 on SQLite)
    web_threads: int = 64  # threads per web process: requests it holds at once, most of them waiting
    run_jobs: bool = True
    stats_seconds: float = 60.0  # between two statistics roll-ups
    max_body_bytes: int = 32 * 1024 * 1024
    s3_bucket: str = ""  # empty: images in <data_dir>/images
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_public_endpoint_url: str = ""  # empty: the endpoint; else where workers and clients reach the store
    max_upload_bytes: int = 32 * 1024 * 1024
    # Fetching client-supplied URLs (horde/fetch.py): private addresses only for development
    # and tests; fetches at once per process; seconds a whole fetch may take.
    fetch_allow_private: bool = False
    fetch_concurrency: int = 4
    fetch_deadline: float = 10.0
    # Event streams (docs/serving.md): seconds between keep-alive comments; a stream's longest
    # life (EventSource reconnects with Last-Event-ID). A CA file trusted for webhooks (tests).
    stream_keepalive: float = 15.0
    stream_max_seconds: float = 1800.0
    # The OpenAI-compatible routes (/v1): seconds a request may wait for its result before it
    # is cancelled and answered with a timeout error.
    openai_wait_seconds: float = 300.0
    webhook_ca_file: str = ""
    # The other mode's horde (horde/sibling.py): cross-kind read-only questions are answered from it.
    sibling_url: str = ""
    environment: str = "development"  # "production": HORDE_SECRET_KEY is required
    trusted_proxies: int = 0  # proxy hops in front of us whose X-Forwarded-* headers are believed
    log_level: str = "info"
    access_log: str = "text"  # one line per request (request id, time in the application): text, json or off
    # OAuth providers of the registration page: each is offered once its id and secret are set.
    discord_client_id: str = ""
    discord_client_secret: str = ""
    google_client_id: str = ""
    google_client_secret: str = ""
    github_client_id: str = ""
    github_client_secret: str = ""
    oidc_issuer: str = ""  # a community's own OpenID Connect provider
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_name: str = "OpenID Connect"
    terms_file: str = ""  # empty: the bundled terms of service
    privacy_file: str = ""  # empty: the bundled privacy policy
    sponsors_file: str = ""  # empty: the bundled sponsors page

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", database_url(self.database_url))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict = {}
        readers = {
            "mode": ("HORDE_MODE", lambda v, n: Mode.parse(v)),
            "database_url": ("HORDE_DATABASE_URL", _text),
            "redis_url": ("HORDE_REDIS_URL", _text),
            "redis_prefix": ("HORDE_REDIS_PREFIX", _text),
            "secret_key": ("HORDE_SECRET_KEY", _text),
            "horde_name": ("HORDE_NAME", _text),
            "host": ("HORDE_HOST", _text),
            "port": ("HORDE_PORT", _int),
            "public_url": ("HORDE_PUBLIC_URL", lambda v, n: v.rstrip("/")),
            "data_dir": ("HORDE_DATA_DIR", _text),
            "rate_limits": ("HORDE_RATE_LIMITS", _bool),
            "default_concurrency": ("HORDE_DEFAULT_CONCURRENCY", _int),
            "admins": ("HORDE_ADMINS", lambda v, n: _list(v)),
            "web_workers": ("HORDE_WEB_WORKERS", _int),
            "web_threads": ("HORDE_WEB_THREADS", _int),
            "run_jobs": ("HORDE_RUN_JOBS", _bool),
            "stats_seconds": ("HORDE_STATS_SECONDS", _seconds),
            "max_body_bytes": ("HORDE_MAX_BODY_BYTES", _int),
            "s3_bucket": ("HORDE_S3_BUCKET", _text),
            "s3_endpoint_url": ("HORDE_S3_ENDPOINT_URL", _text),
            "s3_region": ("HORDE_S3_REGION", _text),
            "s3_access_key": ("HORDE_S3_ACCESS_KEY", _text),
            "s3_secret_key": ("HORDE_S3_SECRET_KEY", _text),
            "s3_public_endpoint_url": ("HORDE_S3_PUBLIC_ENDPOINT_URL", _text),
            "max_upload_bytes": ("HORDE_MAX_UPLOAD_BYTES", _int),
            "fetch_allow_private": ("HORDE_FETCH_ALLOW_PRIVATE", _bool),
            "fetch_concurrency": ("HORDE_FETCH_CONCURRENCY", _int),
            "fetch_deadline": ("HORDE_FETCH_DEADLINE", _float),
            "stream_keepalive": ("HORDE_STREAM_KEEPALIVE", _positive),
            "stream_max_seconds": ("HORDE_STREAM_MAX_SECONDS", _positive),
            "openai_wait_seconds": ("HORDE_OPENAI_WAIT_SECONDS", _positive),
            "webhook_ca_file": ("HORDE_WEBHOOK_CA_FILE", _text),
            "sibling_url": ("HORDE_SIBLING_URL", _sibling_url),
            "environment": ("HORDE_ENV", _text),
            "trusted_proxies": ("HORDE_TRUSTED_PROXIES", _hops),
            "log_level": ("HORDE_LOG_LEVEL", _text),
            "access_log": ("HORDE_ACCESS_LOG", _access_log),
            "discord_client_id": ("HORDE_DISCORD_CLIENT_ID", _text),
            "discord_client_secret": ("HORDE_DISCORD_CLIENT_SECRET", _text),
            "google_client_id": ("HORDE_GOOGLE_CLIENT_ID", _text),
            "google_client_secret": ("HORDE_GOOGLE_CLIENT_SECRET", _text),
            "github_client_id": ("HORDE_GITHUB_CLIENT_ID", _text),
            "github_client_secret": ("HORDE_GITHUB_CLIENT_SECRET", _text),
            "oidc_issuer": ("HORDE_OIDC_ISSUER", lambda v, n: v.rstrip("/")),
            "oidc_client_id": ("HORDE_OIDC_CLIENT_ID", _text),
            "oidc_client_secret": ("HORDE_OIDC_CLIENT_SECRET", _text),
            "oidc_name": ("HORDE_OIDC_NAME", _text),
            "terms_file": ("HORDE_TERMS_FILE", _text),
            "privacy_file": ("HORDE_PRIVACY_FILE", _text),
            "sponsors_file": ("HORDE_SPONSORS_FILE", _text),
        }
        for attr, (name, read) in readers.items():
            if name in env:
                values[attr] = read(env[name], name)
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def name(self) -> str:
        return self.horde_name or self.mode.default_name

    @property
    def key_prefix(self) -> str:
        return self.redis_prefix or f"horde:{self.mode.value}:"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = Path(self.data_dir).resolve() / f"horde-{self.mode.value}.db"
        return f"sqlite:///{path}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_public_url(self) -> str:
        """HORDE_PUBLIC_URL, else the listen address (loopback for a wildcard one). Links given
        out during a request use the request's own host instead (horde.public_url)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def core_slots(self) -> int:
        """Requests a web process runs at once (horde/serving.py): one on PostgreSQL, where
        more processes served the pop better than more threads; several on SQLite, which
        runs one process."""
        return 8 if self.is_sqlite else 1

    @property
    def development(self) -> bool:
        """A development server: not declared production and reachable from this machine only."""
        return self.environment != "production" and self.host in LOOPBACK_HOSTS

    @property
    def https(self) -> bool:
        """Clients reach us over TLS: cookies are Secure and browsers are told to stay on https."""
        return urlsplit(self.effective_public_url).scheme == "https"
