"""A person in a real browser: logs in through the provider, gets a key, resets it, makes a
pseudonymous account, transfers kudos; a forged login callback is refused.

What a click leads to is checked with `expect(...)`, which waits for it (with a deadline);
a bare `is_visible` right after a click can look before the new page is there."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests import support

pytestmark = pytest.mark.e2e


def _find_user(server, key: str) -> requests.Response:
    return requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=10)


def _log_in(page, server, login: str) -> None:
    page.goto(f"{server.url}/register")
    page.click("#login-oidc")
    page.wait_for_selector("#login")  # the provider's own page
    page.fill("#login", login)
    page.click("#allow")
    page.wait_for_url(f"{server.url}/register")


def _key_on(page) -> str:
    key = page.inner_text("#api-key").strip()
    assert len(key) == 22, key
    return key


def test_login_choose_a_username_and_use_the_key(page, server, screenshot):
    page.goto(f"{server.url}/register")
    screenshot(page, "register")
    page.click("#login-oidc")
    page.wait_for_selector("#login")
    assert "Test identity provider" in page.content()
    screenshot(page, "provider-login")
    page.fill("#login", "browser-alice")
    page.click("#allow")
    page.wait_for_url(f"{server.url}/register")
    expect(page.locator("text=Choose a username")).to_be_visible()
    screenshot(page, "choose-username")

    page.fill("#username", "Browser Alice")
    page.click("text=Create my account")
    key = _key_on(page)
    expect(page.locator("text=This key is shown only once.")).to_be_visible()
    screenshot(page, "api-key")

    found = _find_user(server, key)
    assert found.status_code == 200
    assert found.json()["username"].startswith("Browser Alice#")
    assert found.json()["pseudonymous"] is False

    # The account page afterwards shows who is logged in, and not the key.
    page.goto(f"{server.url}/register")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    assert key not in page.content()
    screenshot(page, "account")


def test_reset_key_refuses_the_old_key(page, server):
    _log_in(page, server, "browser-bob")
    page.fill("#username", "Browser Bob")
    page.click("text=Create my account")
    old_key = _key_on(page)
    page.goto(f"{server.url}/register")
    page.click("#reset-key")
    new_key = _key_on(page)
    assert new_key != old_key
    expect(page.locator("text=Your previous key no longer works.")).to_be_visible()
    assert _find_user(server, old_key).json()["rc"] == "UserNotFound"
    assert _find_user(server, new_key).json()["username"].startswith("Browser Bob#")


def test_logging_in_again_finds_the_same_account(page, server, browser):
    _log_in(page, server, "browser-carol")
    page.fill("#username", "Browser Carol")
    page.click("text=Create my account")
    key = _key_on(page)
    alias = _find_user(server, key).json()["username"]

    other = browser.new_context().new_page()  # another browser, another day
    _log_in(other, server, "browser-carol")
    expect(other.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    assert alias in other.content()
    other.context.close()


def test_pseudonymous_account(page, server, screenshot):
    page.goto(f"{server.url}/register")
    page.fill("#username", "Browser Pseudo")
    page.click("text=Create a pseudonymous account")
    key = _key_on(page)
    expect(page.locator("text=cannot be recovered or changed")).to_be_visible()
    screenshot(page, "pseudonymous-key")
    assert _find_user(server, key).json()["pseudonymous"] is True


def test_transfer_kudos_through_the_form(page, server, screenshot):
    _log_in(page, server, "browser-dave")
    page.fill("#username", "Browser Dave")
    page.click("text=Create my account")
    giver = _find_user(server, _key_on(page)).json()
    support.horde_cli("user", "kudos", str(giver["id"]), "200", env=server.cli_env)
    friend_alias, _ = support.create_user_cli(server.cli_env, "BrowserFriend")

    page.goto(f"{server.url}/transfer")
    page.fill("#recipient", friend_alias)
    page.fill("#amount", "75")
    page.click("button:has-text('Transfer')")
    expect(page.locator(f"text=Sent 75 kudos to {friend_alias}.")).to_be_visible()
    screenshot(page, "transfer")
    friend_id = friend_alias.rsplit("#", 1)[1]
    assert requests.get(f"{server.url}/api/v2/users/{friend_id}", timeout=10).json()["kudos"] == 75
    assert requests.get(f"{server.url}/api/v2/users/{giver['id']}", timeout=10).json()["kudos"] == 125

    # A refusal is shown on the page and moves nothing.
    page.fill("#recipient", friend_alias)
    page.fill("#amount", "5000")
    page.click("button:has-text('Transfer')")
    expect(page.locator("text=You do not have enough kudos")).to_be_visible()
    assert requests.get(f"{server.url}/api/v2/users/{friend_id}", timeout=10).json()["kudos"] == 75


@pytest.mark.parametrize("query", ["code=stolen&state=forged", "code=stolen"])
def test_a_forged_login_callback_is_refused(page, server, screenshot, query):
    page.goto(f"{server.url}/login/oidc")  # a login starts, so the session holds a real state
    page.wait_for_selector("#login")
    answer = page.goto(f"{server.url}/callback/oidc?{query}")
    assert answer.status == 400
    expect(page.locator("text=This login could not be verified")).to_be_visible()
    screenshot(page, "forged-callback")
    page.goto(f"{server.url}/register")
    assert not page.is_visible("text=Choose a username")
    assert not page.get_by_role("heading", name="Your account", exact=True).is_visible()


def test_pages_fit_a_phone_screen(browser, server, screenshot):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    for path, name in (("/register", "phone-register"), ("/transfer", "phone-transfer"), ("/privacy", "phone-privacy")):
        phone.goto(f"{server.url}{path}")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        screenshot(phone, name)
    context.close()
