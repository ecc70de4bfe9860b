"""Fixtures for the registration pages: a local OpenID Connect provider and apps configured
against it (and with Discord and GitHub client ids, whose endpoints are only redirected to)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import support
from tests.conftest import build_app, make_settings, reset_database
from tests.oidc_provider import LocalProvider

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
API_KEY = re.compile(r'<code class="ah-api-key" id="api-key">([^<]+)</code>')


def provider_settings(provider: LocalProvider) -> dict:
    return dict(
        oidc_issuer=provider.issuer, oidc_client_id=provider.client.client_id,
        oidc_client_secret=provider.client.client_secret, oidc_name="Test ID",
        discord_client_id="discord-id", discord_client_secret="discord-secret",
        github_client_id="github-id", github_client_secret="github-secret",
    )


@pytest.fixture(scope="session")
def web_apps(tmp_path_factory, oidc_provider):
    built = {}

    def get(backend: str, fixture_request):
        if backend not in built:
            url = fixture_request.getfixturevalue("pg_url") if backend == "postgres" else ""
            data_dir = tmp_path_factory.mktemp(f"web-{backend}")
            built[backend] = build_app(make_settings(data_dir, url, **provider_settings(oidc_provider)))
        return built[backend]

    yield get
    for app in built.values():
        app.extensions["horde"].db.dispose()


@pytest.fixture(params=["postgres", "sqlite"])
def web_app(request, web_apps):
    app = web_apps(request.param, request)
    reset_database(app)
    yield app
    app.extensions["horde"].db.remove()


class Browserless:
    """A Flask test client that fills in forms the way a browser would (CSRF token included)
    and can log in through the local provider over real HTTP."""

    def __init__(self, app, provider: LocalProvider | None = None):
        self.app, self.client, self.provider = app, app.test_client(), provider
        # As a browser on `make run`'s address: links (login redirects) name the host used.
        open_request = self.client.open

        def open_on_make_run_address(*args, **kwargs):
            if not (args and not isinstance(args[0], str)):  # not a prepared request (redirects)
                kwargs.setdefault("base_url", "http://127.0.0.1:7001")
            return open_request(*args, **kwargs)

        self.client.open = open_on_make_run_address

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf(self, page: str = "/register") -> str:
        match = CSRF_FIELD.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, *, page: str = "/register", csrf: bool = True):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf(page)
        return self.client.post(path, data=data)

    def start_login(self, provider: str = "oidc") -> str:
        """Follow /login/<provider> to the provider's page; return its URL."""
        response = self.client.get(f"/login/{provider}")
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    def login(self, login_name: str, provider: str = "oidc"):
        """Log in as `login_name` at the local provider; return the callback's response."""
        authorize_url = self.start_login(provider)
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        page = requests.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        answer = requests.post(
            f"{self.provider.issuer}/authorize", data={**params, "login": login_name}, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["Location"])
        return self.client.get(f"{back.path}?{back.query}")

    def register(self, username: str):
        return self.post("/register", {"username": username})


def shown_key(response) -> str:
    match = API_KEY.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def user_count(app) -> int:
    from sqlalchemy import text

    with app.extensions["horde"].db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM users")).scalar_one()


@pytest.fixture
def web(web_app, oidc_provider):
    return Browserless(web_app, oidc_provider)


@pytest.fixture
def plain(app):
    """The default app: no login provider configured."""
    return Browserless(app)


__all__ = ["Browserless", "shown_key", "user_count", "support"]


@pytest.fixture
def web_users(web_app):
    from tests.conftest import Users

    return Users(web_app)
