"""Fixtures: a migrated PostgreSQL database and a SQLite file per test session, Redis db 15.

Database-facing tests take the `app` fixture, which runs them on PostgreSQL and again on
SQLite. Each test starts from an empty horde (the anonymous user and the modes row only).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from horde.app import create_app
from horde.db import MIGRATIONS_DIR
from horde.domain.accounts import ledger
from horde.domain.accounts.users import create_user
from horde.domain.moderation import horde_modes
from horde.modes import Mode
from horde.settings import Settings
from tests import support
from tests.e2e import sdk_suite

TABLES_TO_EMPTY = (
    "collection_styles", "collections", "style_examples", "styles", "shared_keys",
    "suspicions", "prompt_filters", "ip_timeouts", "worker_messages", "kudos_rollups", "retention_cursors", "kudos_events", "jobs", "request_models", "requests", "interrogations", "workers", "teams",
    "generation_stats", "stats_daily", "stats_totals", "stats_cursor", "webhook_deliveries",
)
MIGRATIONS = str(MIGRATIONS_DIR)


@pytest.fixture(autouse=True)
def _fresh_statement_caches():
    """Under `make mutation` only: the money's statement builders run in every test, so
    mutmut maps each of them to every test that uses it (a cached statement would be built
    by the first test alone)."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        from horde.domain.accounts import ledger
        from horde.domain.queue import settlement

        for cached in (ledger._balance_statement, settlement._delivered_statement, settlement._credit_statements):
            cached.cache_clear()
    yield


@pytest.fixture(scope="session")
def pg_url():
    if not support.pg_reachable():
        support.unavailable("PostgreSQL at 127.0.0.1:5432")
    url = support.create_pg_database()
    yield url
    support.drop_pg_database(url)


@pytest.fixture(scope="session")
def oidc_provider():
    """The local OpenID Connect provider that stands in for Discord, Google and GitHub."""
    import os

    from tests.oidc_provider import LocalProvider

    # It speaks plain http on loopback; authlib insists on https otherwise.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    provider = LocalProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def redis_url():
    if not support.redis_reachable():
        support.unavailable("Redis at 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url(support.REDIS_URL)
    client.flushdb()
    yield support.REDIS_URL
    client.flushdb()


def make_settings(data_dir: Path, database_url: str = "", **overrides) -> Settings:
    values = dict(
        data_dir=str(data_dir),
        database_url=database_url,
        secret_key="test-secret",
        rate_limits=False,
        environment="development",
        run_jobs=False,
        admins=["admin#1"],
    )
    values.update(overrides)
    return Settings(**values)


BUILT_APPS: list = []


def build_app(settings: Settings):
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    BUILT_APPS.append(app)
    return app


@pytest.fixture(scope="module", autouse=True)
def release_idle_connections():
    """After each module, the apps built so far close their pooled connections (they reopen
    when used again): a worker's apps must not hold PostgreSQL connections that servers
    started by later modules need."""
    yield
    for built in BUILT_APPS:
        built.extensions["horde"].db.dispose()


def reset_database(app) -> None:
    db = app.extensions["horde"].db
    with db.engine.begin() as conn:
        for table in TABLES_TO_EMPTY:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM users WHERE id <> 0"))
        conn.execute(
            text(
                "UPDATE users SET kudos = 0, kudos_accumulated = 0, kudos_adjustments = 0, usage_megapixelsteps = 0,"
                " usage_tokens = 0, requested_image = 0, requested_text = 0 WHERE id = 0"
            )
        )
        conn.execute(text("UPDATE horde_state SET maintenance_mode = false, invite_only_mode = false, raid_mode = false,"
                 " filters_version = filters_version + 1, ip_timeouts_version = ip_timeouts_version + 1"))
        # Ids start again at 1, so the first user of a test named "admin" is the admin#1 of settings.
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER SEQUENCE users_id_seq RESTART WITH 1"))
    db.remove()
    services = app.extensions["horde"]
    services.live.clear()
    services.callers.forget()
    services.rules.forget()
    services.cache.clear()  # the in-process cache: positions, skip counts, model lists
    horde_modes.forget()


@pytest.fixture(scope="session")
def backend_apps(tmp_path_factory, request):
    """One app per (backend, mode), built lazily and kept for the session. Each mode has
    its own database, as in production."""
    built: dict[tuple[str, Mode], object] = {}
    extra_databases: list[str] = []

    def get(backend: str, fixture_request, mode: Mode = Mode.IMAGE):
        key = (backend, mode)
        if key not in built:
            data_dir = tmp_path_factory.mktemp(f"horde-{backend}-{mode.value}")
            if backend == "postgres":
                url = fixture_request.getfixturevalue("pg_url")
                if mode is not Mode.IMAGE:
                    url = support.create_pg_database(f"horde_test_{mode.value}")
                    extra_databases.append(url)
                built[key] = build_app(make_settings(data_dir, url, mode=mode))
            else:
                built[key] = build_app(make_settings(data_dir, mode=mode))
        return built[key]

    yield get
    for app in built.values():
        app.extensions["horde"].db.dispose()
    for url in extra_databases:
        support.drop_pg_database(url)


@pytest.fixture(params=["postgres", "sqlite"])
def app(request, backend_apps):
    application = backend_apps(request.param, request)
    reset_database(application)
    yield application
    application.extensions["horde"].db.remove()


@pytest.fixture(params=["postgres", "sqlite"])
def text_app(request, backend_apps):
    application = backend_apps(request.param, request, Mode.TEXT)
    reset_database(application)
    yield application
    application.extensions["horde"].db.remove()


@pytest.fixture
def pg_app(backend_apps, request):
    """PostgreSQL only: for tests of concurrency or PostgreSQL-specific behaviour."""
    application = backend_apps("postgres", request)
    reset_database(application)
    yield application
    application.extensions["horde"].db.remove()


@pytest.fixture
def client(app):
    return app.test_client()


class Users:
    """Make users directly through the domain (what `horde user create` does)."""

    def __init__(self, app):
        self.app = app

    def create(self, username: str = "tester", kudos: float = 0, **flags) -> tuple[int, str]:
        services = self.app.extensions["horde"]
        with services.db.transaction() as session:
            user, key = create_user(session, services.hasher, username)
            for flag, value in flags.items():
                setattr(user, flag, value)
            if flags.get("moderator"):
                user.trusted = True  # as create_user and PUT /users do
            if kudos:
                ledger.move_kudos(session, user, kudos, bucket="admin", reason="admin")
            return user.id, key


@pytest.fixture
def users(app):
    return Users(app)


# --- horde-sdk's own tests (tests/e2e/sdk_suite.py): started in the background at once, read last
SDK_SUITE = "tests/e2e/test_sdk_suite.py"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        sdk_suite.run_id()  # one run id for the session; pytest-xdist's workers inherit it


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    if any(nodeid.startswith(SDK_SUITE) for nodeid in ids):
        sdk_suite.start_in_background()


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.nodeid.startswith(SDK_SUITE))  # last: its results take a while


def pytest_sessionfinish(session, exitstatus):
    if not hasattr(session.config, "workerinput") and exitstatus != pytest.ExitCode.INTERRUPTED:
        sdk_suite.wait_for_background()
