"""The live pages with the Flask test client: /dashboard and its feeds, and the account page's
webhook secret and requests in flight."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from sqlalchemy import select

from horde.domain.accounts import webhook_secrets
from horde.models import User

SECRET = re.compile(r'id="webhook-secret-value">([0-9a-f]{64})<')


def _first_event(response) -> tuple[str, dict]:
    fields: dict = {}
    for chunk in response.response:
        for line in chunk.decode().split("\n"):
            if line == "" and "event" in fields:
                return fields["event"], json.loads(fields["data"])
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    raise AssertionError("the stream ended without an event")


def test_the_dashboard_page_and_its_feeds(plain):
    page = plain.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html and "/static/dashboard.js" in html
    assert 'data-figure="workers.online">0<' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    figures = plain.get("/dashboard/figures").get_json()
    assert figures["workers"]["online"] == 0 and figures["queue"]["jobs"] == 0
    assert len(figures["jobs_per_minute"]) == 180 and len(figures["kudos_per_minute"]) == 180
    stream = plain.get("/dashboard/events", buffered=False)
    assert stream.mimetype == "text/event-stream" and stream.headers["Access-Control-Allow-Origin"] == "*"
    event, data = _first_event(stream)
    assert event == "figures" and data["workers"] == figures["workers"]
    stream.close()
    assert plain.get("/static/vendor/uplot/uPlot.min.css").status_code == 200


def test_the_account_page_shows_the_webhook_secret_and_can_replace_it(web, web_app):
    web.login("hooker")
    web.register("hooker")
    html = web.get("/register").get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    with web_app.extensions["horde"].db.session_factory() as session:
        user_id = session.scalar(select(User.id).where(User.username == "hooker"))
        assert webhook_secrets.secret_of(session, user_id) == secret
    body = b'{"id": "x"}'
    assert webhook_secrets.signature(secret, body) == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert SECRET.search(web.get("/register").get_data(as_text=True)).group(1) == secret, "the same secret on every visit"

    replaced = web.post("/account/webhook-secret")
    assert replaced.status_code == 303
    new = SECRET.search(web.get("/register?secret=1").get_data(as_text=True)).group(1)
    assert new != secret
    assert web.post("/account/webhook-secret", csrf=False).status_code == 400


def test_the_account_page_lists_requests_in_flight(web, web_app):
    web.login("flyer")
    key = re.search(r'id="api-key">([^<]+)<', web.register("flyer").get_data(as_text=True)).group(1)
    queued = web.client.post("/api/v2/generate/async", json={"prompt": "in flight"}, headers={"apikey": key})
    request_id = queued.get_json()["id"]
    assert f'data-request="{request_id}"' in web.get("/register").get_data(as_text=True)
    stream = web.get("/account/events", buffered=False)
    event, requests_now = _first_event(stream)
    assert event == "requests" and [r["id"] for r in requests_now] == [request_id]
    assert requests_now[0]["waiting"] == 1
    stream.close()


def test_account_events_need_a_login(plain):
    assert plain.get("/account/events").status_code == 401
    assert plain.post("/account/webhook-secret").status_code == 401
