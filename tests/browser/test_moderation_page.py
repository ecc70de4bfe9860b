"""A moderator in a real browser: the page is refused until the account is a moderator,
then filters are added and tested, an IP is timed out and lifted, a filter is deleted
after a confirmation dialog; a user deletes their own account after confirming twice."""

from __future__ import annotations

import pytest
import requests
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
    assert page.is_visible("text=No filters yet.")
    page.fill("#filter-regex", r"\bzorp\w*")
    page.select_option("#filter-type", "20")
    page.fill("#filter-description", "made in a browser")
    page.click("#add-filter-submit")
    assert page.is_visible("text=is in place.")
    assert page.is_visible("#filter-table >> text=made in a browser")

    page.fill("#test-prompt", "two zorps dancing")
    page.click("#test-submit")
    assert page.inner_text("#test-result .suspicion") == "1"
    assert page.is_visible("#test-result >> text=zorps")
    screenshot(page, "moderation")

    page.fill("#timeout-ipaddr", "198.51.100.0/24")
    page.fill("#timeout-hours", "2")
    page.click("#add-timeout-submit")
    assert page.is_visible("#timeout-table >> text=198.51.100.0/24")
    page.click("#timeout-table >> button:has-text('Lift')")
    assert page.is_visible("text=No address is in timeout.")

    # Deleting a filter asks first: dismissed, nothing happens; accepted, it is gone.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#filter-table >> button:has-text('Delete')")
    assert page.is_visible("#filter-table >> text=made in a browser")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#filter-table >> button:has-text('Delete')")
    assert page.is_visible("text=No filters yet.")
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
    assert page.is_visible("text=Your account is deleted")
    user = requests.get(f"{server.url}/api/v2/users/{account['id']}", timeout=10).json()
    assert user["deleted"] is True
