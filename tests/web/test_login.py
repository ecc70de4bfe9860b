"""OAuth / OpenID Connect login against a local provider, the account page, and the callback's defences."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from horde.models import User
from horde.web import providers
from tests import support
from tests.conftest import build_app, make_settings
from tests.oidc_provider import LocalProvider
from tests.web.conftest import Browserless, shown_key, user_count


def _user(app, oauth_id: str) -> User | None:
    with app.extensions["horde"].db.transaction() as session:
        user = session.scalar(select(User).where(User.oauth_id == oauth_id))
        if user is not None:
            session.expunge(user)
        return user


@pytest.mark.parametrize(
    ("provider", "authorize", "client_id", "scope"),
    [
        ("discord", "https://discord.com/oauth2/authorize", "discord-id", "identify"),
        ("github", "https://github.com/login/oauth/authorize", "github-id", None),
    ],
)
def test_login_sends_the_browser_to_the_provider_with_state_and_pkce(web, provider, authorize, client_id, scope):
    location = web.start_login(provider)
    assert location.startswith(authorize + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [client_id]
    assert query["response_type"] == ["code"]
    # No HORDE_PUBLIC_URL: the address the browser used.
    assert query["redirect_uri"] == [f"http://127.0.0.1:7001/callback/{provider}"]
    assert len(query["state"][0]) >= 20
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query.get("scope") == ([scope] if scope else None)
    # Two logins never share a state.
    assert parse_qs(urlsplit(web.start_login(provider)).query)["state"] != query["state"]


@pytest.mark.parametrize(("provider", "api_base", "expected_id"), [
    ("discord", "/api/", lambda sub: f"d_{sub}"),
    ("github", "/", lambda sub: f"gh_{LocalProvider.numeric_id(sub)}"),
])
def test_plain_oauth_providers_name_the_user_on_their_profile_route(tmp_path, oidc_provider, monkeypatch, provider, api_base, expected_id):
    """Discord and GitHub give no ID token: the id comes from their profile route (here the
    local provider plays them, at the same paths)."""
    issuer = oidc_provider.issuer
    monkeypatch.setitem(providers.ENDPOINTS, provider, {
        "authorize_url": f"{issuer}/authorize", "access_token_url": f"{issuer}/token", "api_base_url": f"{issuer}{api_base}",
    })
    client = oidc_provider.client
    app = build_app(make_settings(tmp_path, **{f"{provider}_client_id": client.client_id, f"{provider}_client_secret": client.client_secret}))
    browser = Browserless(app, oidc_provider)
    assert browser.login("zoe", provider).status_code == 303
    key = shown_key(browser.register("Zoe"))
    assert _user(app, expected_id(LocalProvider.subject_for("zoe"))).username == "Zoe"
    assert browser.get("/api/v2/find_user", headers={"apikey": key}).get_json()["username"].startswith("Zoe#")
    app.extensions["horde"].db.dispose()


def test_an_unconfigured_provider_has_no_login_route(web, plain):
    assert web.get("/login/google").status_code == 404
    assert plain.get("/login/oidc").status_code == 404
    assert web.get("/callback/google?code=x&state=y").status_code == 404


def test_first_login_asks_for_a_username_then_later_logins_find_the_same_user(web, web_app, oidc_provider):
    answer = web.login("alice")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/register")
    page = web.get("/register").get_data(as_text=True)
    assert "Choose a username" in page
    assert _user(web_app, "oidc_sub-alice") is None  # nothing stored until a name is chosen

    created = web.register("Alice")
    key = shown_key(created)
    user = _user(web_app, "oidc_sub-alice")
    assert user is not None and user.username == "Alice" and user.pseudonymous is False
    found = web.get("/api/v2/find_user", headers={"apikey": key}).get_json()
    assert found["username"] == user.alias and found["pseudonymous"] is False
    assert "if you lose it, log in again and reset it" in created.get_data(as_text=True)

    # Log out, log in again: the account page, not a second user.
    assert web.post("/logout").status_code == 303
    assert "Choose a username" not in web.get("/register").get_data(as_text=True)
    count = user_count(web_app)
    web.login("alice")
    page = web.get("/register").get_data(as_text=True)
    assert "Your account" in page and user.alias in page
    assert user_count(web_app) == count


def test_a_different_login_is_a_different_user(web, web_app):
    web.login("alice")
    web.register("Alice")
    web.post("/logout")
    web.login("bob")
    assert "Choose a username" in web.get("/register").get_data(as_text=True)
    assert "already taken" in web.register("alice").get_data(as_text=True)
    shown_key(web.register("Bob"))
    assert _user(web_app, "oidc_sub-bob").username == "Bob"


@pytest.mark.parametrize("query", ["code=abc", "code=abc&state=forged"])
def test_a_callback_with_a_missing_or_wrong_state_is_refused(web, web_app, query):
    web.start_login("oidc")  # a real login is under way in this session...
    answer = web.get(f"/callback/oidc?{query}")  # ...but this callback is not its own
    assert answer.status_code == 400
    assert "could not be verified" in answer.get_data(as_text=True)
    assert "Choose a username" not in web.get("/register").get_data(as_text=True)


def test_a_callback_replayed_in_another_session_is_refused(web, web_app, oidc_provider):
    authorize_url = web.start_login("oidc")
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    answer = requests.post(f"{oidc_provider.issuer}/authorize", data={**params, "login": "mallory"}, allow_redirects=False)
    back = urlsplit(answer.headers["Location"])
    victim = Browserless(web_app, oidc_provider)  # a different browser, without that login's state
    response = victim.get(f"{back.path}?{back.query}")
    assert response.status_code == 400
    assert "Choose a username" not in victim.get("/register").get_data(as_text=True)


def test_an_id_token_from_another_issuer_is_refused(web, web_app, oidc_provider):
    oidc_provider.forged_issuer = "https://evil.example"
    try:
        answer = web.login("mallory")
    finally:
        oidc_provider.forged_issuer = None
    assert answer.status_code == 400
    assert "The login failed" in answer.get_data(as_text=True)
    assert "Choose a username" not in web.get("/register").get_data(as_text=True)


def test_a_refused_login_at_the_provider_is_explained(web):
    web.start_login("oidc")
    answer = web.get("/callback/oidc?error=access_denied&state=whatever")
    assert answer.status_code == 400
    assert "did not log you in: access_denied" in answer.get_data(as_text=True)


def test_reset_key_replaces_the_old_key(web, web_app):
    web.login("carol")
    old_key = shown_key(web.register("Carol"))
    response = web.post("/account/key")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new_key = shown_key(response)
    assert new_key != old_key
    assert "Your previous key no longer works" in response.get_data(as_text=True)
    assert web.get("/api/v2/find_user", headers={"apikey": old_key}).get_json()["rc"] == "UserNotFound"
    assert web.get("/api/v2/find_user", headers={"apikey": new_key}).get_json()["username"].startswith("Carol#")


def test_rename_changes_the_username_and_keeps_the_key(web, web_app, web_users):
    web_users.create("Taken")
    web.login("dave")
    key = shown_key(web.register("Dave"))
    answer = web.post("/account/username", {"username": "David"})
    assert answer.status_code == 303
    page = web.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Your username is now David#" in page
    assert web.get("/api/v2/find_user", headers={"apikey": key}).get_json()["username"].startswith("David#")
    for name, message, status in (("taken", "already taken", 400), ("y" * 31, "too long", 400), ("<b>", "may not contain", 400), ("", "Please choose a username.", 400)):
        answer = web.post("/account/username", {"username": name})
        assert answer.status_code == status, name
        assert message in answer.get_data(as_text=True)
    assert _user(web_app, "oidc_sub-dave").username == "David"


def test_registering_again_while_logged_in_renames_and_issues_a_new_key(web, web_app):
    """What the public horde's form does for a known OAuth user."""
    web.login("erin")
    first = shown_key(web.register("Erin"))
    answer = web.register("Erin2")
    assert "Your previous key no longer works" in answer.get_data(as_text=True)
    again = shown_key(answer)
    assert again != first
    assert web.get("/api/v2/find_user", headers={"apikey": first}).get_json()["rc"] == "UserNotFound"
    assert web.get("/api/v2/find_user", headers={"apikey": again}).get_json()["username"].startswith("Erin2#")
    assert user_count(web_app) == 2  # the anonymous user and Erin


def test_account_actions_need_a_login(web):
    for path in ("/account/key", "/account/username"):
        answer = web.post(path, {"username": "x"})
        assert answer.status_code == 401
        assert "Log in first" in answer.get_data(as_text=True)


def test_account_forms_need_their_csrf_token(web, web_app):
    web.login("frank")
    key = shown_key(web.register("Frank"))
    assert web.post("/account/key", csrf=False).status_code == 400
    assert web.post("/account/username", {"username": "Hacked"}, csrf=False).status_code == 400
    assert web.get("/api/v2/find_user", headers={"apikey": key}).get_json()["username"].startswith("Frank#")


def _logged_in(browser) -> bool:
    return "Choose a username" in browser.get("/register").get_data(as_text=True)


def test_a_provider_that_cannot_be_reached_is_explained(tmp_path):
    """The issuer's discovery document is fetched when a login starts: nothing answers there."""
    dead = f"http://127.0.0.1:{support.free_port()}"
    app = build_app(make_settings(tmp_path, oidc_issuer=dead, oidc_client_id="horde", oidc_client_secret="secret", oidc_name="Dead ID"))
    browser = Browserless(app)
    answer = browser.get("/login/oidc")
    assert answer.status_code == 502
    assert "Dead ID cannot be reached right now" in answer.get_data(as_text=True)
    assert not _logged_in(browser)
    app.extensions["horde"].db.dispose()


def test_a_token_endpoint_that_cannot_be_reached_is_explained(tmp_path, oidc_provider, monkeypatch):
    """The person logs in at the provider, but the code cannot be exchanged: its token
    endpoint does not answer."""
    issuer, dead = oidc_provider.issuer, f"http://127.0.0.1:{support.free_port()}"
    monkeypatch.setitem(providers.ENDPOINTS, "discord", {
        "authorize_url": f"{issuer}/authorize", "access_token_url": f"{dead}/token", "api_base_url": f"{issuer}/api/",
    })
    client = oidc_provider.client
    app = build_app(make_settings(tmp_path, discord_client_id=client.client_id, discord_client_secret=client.client_secret))
    browser = Browserless(app, oidc_provider)
    answer = browser.login("yuri", "discord")
    assert answer.status_code == 502
    assert "Discord cannot be reached right now" in answer.get_data(as_text=True)
    assert not _logged_in(browser) and user_count(app) == 1  # only the anonymous account
    app.extensions["horde"].db.dispose()


def test_a_refused_token_exchange_is_explained(tmp_path, oidc_provider):
    """The provider refuses to exchange the code (here: the client secret is wrong)."""
    app = build_app(make_settings(
        tmp_path, oidc_issuer=oidc_provider.issuer, oidc_client_id=oidc_provider.client.client_id,
        oidc_client_secret="not-the-secret", oidc_name="Test ID",
    ))
    browser = Browserless(app, oidc_provider)
    answer = browser.login("victor")
    assert answer.status_code == 400
    assert "The login failed: The client cannot authenticate" in answer.get_data(as_text=True)  # the provider's reason
    assert not _logged_in(browser) and user_count(app) == 1
    app.extensions["horde"].db.dispose()
