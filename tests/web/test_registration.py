"""/register without a login provider: pseudonymous accounts, the anonymous key, and every refusal."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_settings
from tests.web.conftest import Browserless, shown_key, user_count


def test_register_page_offers_pseudonymous_accounts_and_explains_the_anonymous_key(plain):
    page = plain.get("/register")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Create a pseudonymous account" in html
    assert "0000000000" in html and "cannot run workers" in html
    assert 'href="/api/"' in html and 'href="/privacy"' in html and 'href="/terms"' in html
    assert '<meta name="viewport"' in html
    # No provider is configured in the default app, so none is offered.
    assert "Log in with" not in html


def test_only_configured_providers_are_offered(web):
    html = web.get("/register").get_data(as_text=True)
    assert "Log in with Discord" in html and "Log in with GitHub" in html and "Log in with Test ID" in html
    assert "Log in with Google" not in html


def test_pseudonymous_account_shows_its_key_once_and_the_key_works(plain):
    response = plain.register("  Pseudo Person ")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    key = shown_key(response)
    assert len(key) == 22
    assert "shown only once" in html and "cannot be recovered or changed" in html
    assert response.headers["Cache-Control"] == "no-store"
    found = plain.get("/api/v2/find_user", headers={"apikey": key}).get_json()
    assert found["username"].startswith("Pseudo Person#")
    assert found["pseudonymous"] is True
    # The key is not on any later page.
    assert key not in plain.get("/register").get_data(as_text=True)


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Please choose a username."),
        ("    ", "Please choose a username."),
        ("a<script>", "may not contain"),
        ("name#12", "may not contain"),
        ("x" * 31, "too long"),
        ("FuckFace", "not allowed"),
    ],
)
def test_refused_usernames_say_why_and_create_nothing(plain, app, username, message):
    before = user_count(app)
    response = plain.register(username)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="ah-api-key"' not in html
    assert user_count(app) == before


def test_a_taken_username_is_refused_whatever_its_case(plain, users, app):
    users.create("Alice")
    before = user_count(app)
    response = plain.register("alice")
    assert response.status_code == 400
    assert "already taken" in response.get_data(as_text=True)
    assert user_count(app) == before
    # What the user typed stays in the form.
    assert 'value="alice"' in response.get_data(as_text=True)


@pytest.mark.parametrize(("flag", "message"), [("raid_mode", "raid"), ("invite_only_mode", "invite-only")])
def test_pseudonymous_registration_is_closed_in_raid_and_invite_only_mode(plain, users, app, flag, message):
    _, mod_key = users.create("mod", moderator=True)
    assert plain.client.put("/api/v2/status/modes", json={flag: True}, headers={"apikey": mod_key}).status_code == 200
    assert "closed right now" in plain.get("/register").get_data(as_text=True)
    before = user_count(app)
    # The page shows no form now; a script posting one anyway (with a valid token) is refused.
    response = plain.post("/register", {"username": "newcomer"}, page="/transfer")
    assert response.status_code == 403
    assert message in response.get_data(as_text=True)
    assert user_count(app) == before


def test_a_form_without_its_csrf_token_is_refused(plain, app):
    before = user_count(app)
    response = plain.post("/register", {"username": "forged"}, csrf=False)
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    plain.get("/register")  # a session now exists, but the token must still match it
    response = plain.client.post("/register", data={"username": "forged", "csrf_token": "not-the-token"})
    assert response.status_code == 400
    assert user_count(app) == before


def test_session_cookie_is_httponly_and_lax(plain):
    cookie = plain.get("/register").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http


def test_session_cookie_is_secure_behind_https(tmp_path):
    app = build_app(make_settings(tmp_path, environment="production", secret_key="s" * 32, public_url="https://horde.example"))
    cookie = Browserless(app).get("/register").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.extensions["horde"].db.dispose()


@pytest.mark.parametrize("public_url", ["", "http://192.168.1.20:7001"], ids=["make run", "LAN address"])
def test_plain_http_keeps_cookies_usable(tmp_path, public_url):
    """Over plain http (`make run`, or a LAN address) a Secure cookie would never come back and
    /register would fail as "expired"."""
    app = build_app(make_settings(tmp_path, environment="production", secret_key="s" * 32, public_url=public_url))
    assert "Secure" not in Browserless(app).get("/register").headers["Set-Cookie"]
    app.extensions["horde"].db.dispose()


def test_api_rename_follows_the_same_username_rules(plain, users):
    users.create("Taken")
    uid, key = users.create("renamer")
    for name, rc in (("taken", "UsernameTaken"), ("x" * 31, "TooLongUserName"), ("a<b", "InvalidUserName"), ("shithead", "ProfaneUserName")):
        answer = plain.client.put(f"/api/v2/users/{uid}", json={"username": name}, headers={"apikey": key})
        assert answer.status_code == 400, name
        assert answer.get_json()["rc"] == rc
    answer = plain.client.put(f"/api/v2/users/{uid}", json={"username": "Renamed"}, headers={"apikey": key})
    assert answer.status_code == 200 and answer.get_json()["username"] == f"Renamed#{uid}"


def test_new_accounts_from_one_address_are_rate_limited(tmp_path):
    app = build_app(make_settings(tmp_path, rate_limits=True))
    browser = Browserless(app)
    answers = [browser.register(f"bulk{i}").status_code for i in range(6)]
    assert answers == [200] * 5 + [429]
    assert user_count(app) == 1 + 5
    # Reading the page is not limited by that.
    assert all(browser.get("/register").status_code == 200 for _ in range(10))
    app.extensions["horde"].db.dispose()
