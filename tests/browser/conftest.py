"""Browser tests: Playwright driving Debian's Chromium against a real gunicorn server on
PostgreSQL and Redis, logged in through the local OpenID Connect provider."""

from __future__ import annotations

import os
import shutil

import pytest

from tests import support

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
SCREENSHOTS = support.ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory, oidc_provider):
    env = support.migrated_server_env(
        "horde_browser",
        tmp_path_factory.mktemp("browser"),
        HORDE_OIDC_ISSUER=oidc_provider.issuer,
        HORDE_OIDC_CLIENT_ID=oidc_provider.client.client_id,
        HORDE_OIDC_CLIENT_SECRET=oidc_provider.client.client_secret,
        HORDE_OIDC_NAME="Test ID",
        # The local provider speaks http on loopback; real providers are https.
        AUTHLIB_INSECURE_TRANSPORT="1",
    )
    proc = support.ServerProcess(env, workers=2).start()
    proc.cli_env = env
    yield proc
    proc.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        support.unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        support.unavailable("Playwright for Python (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()  # a fresh browser for every test: no cookies carried over
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshot():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
