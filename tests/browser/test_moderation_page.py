"""A moderator in a real browser: the page is refused until the account is a moderator,
then filters are added and tested, an IP is timed out and lifted, a filter is deleted
after a confirmation dialog; a user deletes their own account after confirming twice."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.test_account_pages import _find_user, _key_on, _log_in

pytestmark = pytest.mark.e2e


def _make_moderator(server, user_id: int) -> None:
    engine = create_engine(server.cli_env["HORDE_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET moderator = true, trusted = true WHERE id = :id"), {"id": user_id})
    engine.dispose()


def _new_account(page, server, login: str, username: str) -> dict:
    _log_in(page, server, login)
    page.fill("#username", username)
    page.click("text=Create my account")
    return _find_user(server, _key_on(page)).json()


def test_moderator_page(page, server, screenshot):
    errors: list[str] = []
    # Script errors and refused scripts or styles; a 403 page or a missing favicon is not one.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    account = _new_account(page, server, "browser-mod", "Browser Mod")
    answer = page.goto(f"{server.url}/moderation")
    assert answer.status == 403 and page.is_visible("text=This page is for moderators.")
    _make_moderator(server, account["id"])

    page.goto(f"{server.url}/register")
    page.click("#moderation-link")
    page.wait_for_url(f"{server.url}/moderation")
    expect(page.locator("text=No filters yet.")).to_be_visible()
    page.fill("#filter-regex", r"\bzorp\w*")
    page.select_option("#filter-type", "20")
    page.fill("#filter-description", "made in a browser")
    page.click("#add-filter-submit")
    expect(page.locator("text=is in place.")).to_be_visible()
    expect(page.locator("#filter-table >> text=made in a browser")).to_be_visible()

    page.fill("#test-prompt", "two zorps dancing")
    page.click("#test-submit")
    expect(page.locator("#test-result .suspicion")).to_have_text("1")
    expect(page.locator("#test-result >> text=zorps")).to_be_visible()
    screenshot(page, "moderation")

    page.fill("#timeout-ipaddr", "198.51.100.0/24")
    page.fill("#timeout-hours", "2")
    page.click("#add-timeout-submit")
    expect(page.locator("#timeout-table >> text=198.51.100.0/24")).to_be_visible()
    page.click("#timeout-table >> button:has-text('Lift')")
    expect(page.locator("text=No address is in timeout.")).to_be_visible()

    # Deleting a filter asks first: dismissed, nothing happens; accepted, it is gone.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#filter-table >> button:has-text('Delete')")
    expect(page.locator("#filter-table >> text=made in a browser")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#filter-table >> button:has-text('Delete')")
    expect(page.locator("text=No filters yet.")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "moderation-phone")
    assert errors == []  # no script or style was refused or failed


def test_deleting_my_account(page, server, screenshot):
    account = _new_account(page, server, "browser-leaver", "Browser Leaver")
    page.goto(f"{server.url}/register")
    page.click("#delete-account-start")
    page.fill("#confirm", "Browser Leaver")
    screenshot(page, "delete-account")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-account")
    expect(page.locator("text=Your account is deleted")).to_be_visible()
    user = requests.get(f"{server.url}/api/v2/users/{account['id']}", timeout=10).json()
    assert user["deleted"] is True
