"""A session cookie or an upload URL signed with any other secret than the server's is refused.

With the development secret that used to be built in, anyone could forge the session of an
OAuth user and have /account/key show them a new API key. The same forgery with the server's
own secret goes through (so the test can tell the difference)."""

from __future__ import annotations

import re

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from horde.storage import LocalStore, result_key

OLD_BUILT_IN_SECRET = "horde-development-secret-change-me"
VICTIM_OAUTH_ID = "d_112233445566"


def _forged_session(secret: str, csrf_raw: str) -> str:
    forger = Flask("forger")
    forger.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    return serializer.dumps({"oauth_id": VICTIM_OAUTH_ID, "csrf_token": csrf_raw})


def _forged_csrf_field(secret: str, csrf_raw: str) -> str:
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(csrf_raw)


def _victim(app, users):
    uid, key = users.create("victim")
    db = app.extensions["horde"].db
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE users SET oauth_id = '{VICTIM_OAUTH_ID}', pseudonymous = false WHERE id = {uid}")
    return uid, key


def _reset_key_with(app, secret: str):
    client = app.test_client()
    client.set_cookie("session", _forged_session(secret, "raw-token"))
    return client.post("/account/key", data={"csrf_token": _forged_csrf_field(secret, "raw-token")})


def test_a_session_forged_with_another_secret_gets_no_key(app, users):
    _, key = _victim(app, users)
    for secret in (OLD_BUILT_IN_SECRET, "", "guess"):
        response = _reset_key_with(app, secret or "x")
        assert response.status_code == 400, secret
        assert 'class="ah-api-key"' not in response.get_data(as_text=True)
    assert app.test_client().get("/api/v2/find_user", headers={"apikey": key}).status_code == 200  # key unchanged


def test_the_same_forgery_with_the_server_secret_would_work(app, users):
    _, key = _victim(app, users)
    response = _reset_key_with(app, app.config["SECRET_KEY"])
    assert response.status_code == 200
    assert re.search(r'class="ah-api-key" id="api-key">[^<]{22}<', response.get_data(as_text=True))
    assert app.test_client().get("/api/v2/find_user", headers={"apikey": key}).status_code == 404  # the old key is gone


def test_an_upload_url_signed_with_another_secret_is_refused(app):
    store = app.extensions["horde"].store
    key = result_key("00000000-0000-4000-8000-000000000000")
    for secret in (OLD_BUILT_IN_SECRET, "guess"):
        forged = LocalStore(store.root, "", secret).upload_url(key)
        response = app.test_client().put(forged, data=b"not an image")
        assert response.status_code == 403 and response.get_json()["rc"] == "Forbidden"
    assert not store.exists(key)
    genuine = store.upload_url(key).split("://", 1)[1].split("/", 1)[1]
    # The server's own signature passes (the store takes any bytes, as the public bucket does).
    assert app.test_client().put(f"/{genuine}", data=b"not an image").status_code == 200
    assert store.exists(key)
