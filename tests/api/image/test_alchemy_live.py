"""Alchemy with shared keys, the webhook outbox and event streams (issues 15, 17, 20), through
the Flask test client on PostgreSQL and SQLite."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from horde.api import streams
from horde.api.streams import event_id
from horde.db import utcnow
from horde.domain.accounts import webhook_secrets
from horde.domain.queue import alchemy
from horde.jobs.webhooks import WebhookSender
from horde.models import GenerationRequest, WebhookDelivery
from tests.api import state
from tests.api.image.test_alchemy import Alchemy
from tests.api.image.test_live_events import _events
from tests.api.image.test_sharedkeys import get_key, put_key, user

CAPTION = {"caption": "a small square"}


@pytest.fixture
def al(app, client):
    return Alchemy(app, client)


@pytest.fixture
def alchemist(users):
    return users.create("alchemist-owner", trusted=True)[1]


@pytest.fixture
def owner(users):
    return users.create("lender", kudos=1000, trusted=True)  # trusted: more than 3 keys


def _forms(app, interrogation_id):
    with app.extensions["horde"].db.session_factory() as session:
        return list(session.scalars(select(GenerationRequest).where(GenerationRequest.interrogation_id == interrogation_id)))


def _rows(app) -> list[WebhookDelivery]:
    with app.extensions["horde"].db.session_factory() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# --- shared keys --------------------------------------------------------------------------
def test_an_interrogation_through_a_shared_key(client, app, al, alchemist, owner):
    owner_id, key = owner
    shared = put_key(client, key, kudos=500)
    queued = al.request(shared["id"], forms=("caption", "nsfw"))
    forms = _forms(app, queued["id"])
    assert {(f.user_id, f.shared_key_id) for f in forms} == {(owner_id, shared["id"])}
    popped = al.pop(alchemist, amount=2)["forms"]
    assert len(popped) == 2
    for form in popped:
        al.submit(alchemist, form["id"], {form["form"]: "x"})
    assert al.status(queued["id"])["state"] == "done"
    spent = 1000 - user(client, owner_id)["kudos"]
    assert spent == 2 * (1 + 1 + 1)  # each form: its price 1, + 1, + 1 with slow workers
    key_after = get_key(client, shared["id"])
    assert (key_after["utilized"], key_after["kudos"]) == (spent, 500 - spent)


def test_refused_shared_keys_leave_nothing_behind(client, app, al, owner):
    _, key = owner
    expired = put_key(client, key, expiry=0)
    empty = put_key(client, key, kudos=0)
    short = put_key(client, key, kudos=2)  # a caption costs 3
    deleted = put_key(client, key)
    client.delete(f"/api/v2/sharedkeys/{deleted['id']}", headers={"apikey": key})
    before = state.snapshot(app)
    refusals = ((expired, 403, "SharedKeyExpired"), (empty, 403, "SharedKeyEmpty"),
                (short, 403, "SharedKeyInsufficientKudos"), (deleted, 401, "InvalidAPIKey"))
    for shared, status, rc in refusals:
        answer = al.request(shared["id"], expect=status).get_json()
        assert answer["rc"] == rc and answer["message"]
    assert state.snapshot(app) == before
    assert al.request(short["id"], forms=({"name": "caption"},), slow_workers=False)["id"]  # 1 + 1 fits in 2


# --- webhooks -----------------------------------------------------------------------------
def test_a_webhook_row_per_finished_form_only(app, al, alchemist):
    al.request(forms=("caption",))
    al.submit(alchemist, al.pop(alchemist)["forms"][0]["id"], CAPTION)
    assert _rows(app) == []
    queued = al.request(forms=("caption", "nsfw"), webhook="https://hooks.example/alchemy")
    popped = al.pop(alchemist, amount=2)["forms"]
    for form in popped:
        al.submit(alchemist, form["id"], {form["form"]: "x"})
    rows = _rows(app)
    assert sorted(row.job_id for row in rows) == sorted(form["id"] for form in popped)
    assert {(row.kind, row.state, row.url, row.kudos) for row in rows} == {("interrogation", "pending", "https://hooks.example/alchemy", 1.0)}
    assert {row.request_id for row in rows} == {f.id for f in _forms(app, queued["id"])}
    # A form cancelled at its worker (settled, paid) and a faulted one have no result to tell.
    cancelled = al.request(webhook="https://hooks.example/alchemy")
    assert al.pop(alchemist)["forms"]
    assert al.cancel(cancelled["id"])["forms"][0]["state"] == "cancelled"
    al.request(webhook="https://hooks.example/alchemy")
    al.submit(alchemist, al.pop(alchemist)["forms"][0]["id"], CAPTION, state="faulted")
    assert len(_rows(app)) == 2


def test_plain_http_alchemy_webhooks_are_refused(al):
    answer = al.request(expect=400, webhook="http://hooks.example/plain").get_json()
    assert answer["rc"] == "BadRequest"


def test_the_sender_posts_a_signed_form(app, al, alchemist, users, tmp_path):
    from tests.webhook_receiver import WebhookReceiver

    pytest.importorskip("trustme")
    requester_id, requester_key = users.create("hook-requester", kudos=100)
    receiver = WebhookReceiver(tmp_path)
    try:
        queued = al.request(requester_key, webhook=receiver.url("/ok"))
        form = al.pop(alchemist)["forms"][0]
        al.submit(alchemist, form["id"], CAPTION)
        services = app.extensions["horde"]
        trusting = dataclasses.replace(
            services, settings=services.settings.with_(fetch_allow_private=True, webhook_ca_file=str(receiver.ca_file))
        )
        sender = WebhookSender(trusting, threads=1)
        assert sender.send_one() is True
        assert sender.send_one() is False
        (post,) = receiver.posts("/ok")
        body = post.json()
        worker_id = body.pop("worker_id")
        assert worker_id and body == {
            "form": "caption", "state": "done", "result": CAPTION, "worker_name": "alchemist",
            "request": queued["id"], "id": form["id"], "kudos": 1.0,
        }
        with services.db.session_factory() as session:
            secret = webhook_secrets.secret_of(session, requester_id)
            session.commit()
        assert post.signed_with(secret)
        assert {row.state for row in _rows(app)} == {"sent"}
    finally:
        receiver.stop()


# --- event streams ------------------------------------------------------------------------
def test_a_stream_follows_an_interrogation_to_its_status(al, client, alchemist):
    queued = al.request()
    response = client.get(f"/api/v2/interrogate/events/{queued['id']}", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    events = _events(response)
    name, ident, body = next(events)
    assert body == {"state": "waiting", "forms": [{"form": "caption", "state": "waiting"}], "done": False}
    assert name == "check" and ident == event_id(body)
    form = al.pop(alchemist)["forms"][0]
    name, _, body = next(events)
    assert (name, body["state"], body["done"]) == ("check", "processing", False)
    al.submit(alchemist, form["id"], CAPTION)
    name, ident, body = next(events)
    assert (name, ident) == ("status", "status")
    assert body == al.status(queued["id"]) and body["forms"][0]["result"] == CAPTION
    assert next(events, None) is None
    response.close()


def test_resuming_sends_only_what_changed(al, client, alchemist):
    queued = al.request()
    seen = client.get(f"/api/v2/interrogate/events/{queued['id']}", buffered=False)
    _, last_id, _ = next(_events(seen))
    seen.close()
    resumed = client.get(f"/api/v2/interrogate/events/{queued['id']}", headers={"Last-Event-ID": last_id}, buffered=False)
    al.pop(alchemist)  # heard by the resumed stream: the check it saw is not sent again
    name, ident, body = next(_events(resumed))
    assert (name, body["state"]) == ("check", "processing") and ident != last_id
    resumed.close()


def test_resuming_after_the_end_is_told_to_stop(al, client):
    queued = al.request()
    al.cancel(queued["id"])
    path = f"/api/v2/interrogate/events/{queued['id']}"
    assert client.get(path, headers={"Last-Event-ID": "status"}).status_code == 204
    response = client.get(path, buffered=False)
    name, _, body = next(_events(response))
    assert name == "status" and body["state"] == "partial" and body["forms"][0]["state"] == "cancelled"
    response.close()


def test_unknown_ids_are_a_json_404(client):
    for path in ("/api/v2/interrogate/events/0f0f0f0f-0000-0000-0000-000000000000", "/api/v2/interrogate/events/x"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["rc"] == "RequestNotFound"
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_expired_interrogation_ends_its_stream_with_an_error(app, al, client):
    queued = al.request()
    response = client.get(f"/api/v2/interrogate/events/{queued['id']}", buffered=False)
    events = _events(response)
    assert next(events)[0] == "check"
    services = app.extensions["horde"]
    with services.db.session_factory() as session:
        assert alchemy.expire_interrogations(session, services, utcnow() + dt.timedelta(days=2)) == 1
    name, _, body = next(events)
    assert name == "error" and body["rc"] == "RequestNotFound"
    assert next(events, None) is None
    response.close()


def test_a_waiting_stream_sends_keep_alives(app, al):
    services = app.extensions["horde"]
    svc = dataclasses.replace(services, settings=services.settings.with_(stream_keepalive=0.01))
    interrogation_id = al.request()["id"]
    topics = streams.with_session(svc, lambda s: alchemy.topics(s, interrogation_id))
    assert len(topics) == 2  # the interrogation and its one form
    first = streams.with_session(svc, lambda s: alchemy.check(s, interrogation_id))
    body = streams.request_events(
        svc, svc.events.listen(*topics), first, "", check=lambda s: alchemy.check(s, interrogation_id),
        final=lambda s: alchemy.status(s, svc, interrogation_id), reposition=lambda fields: fields,
    )
    try:
        assert next(body).startswith("retry:")
        assert next(body).startswith(f"id: {event_id(first)}\nevent: check\n")
        assert [next(body) for _ in range(3)] == [": keep-alive\n\n"] * 3
    finally:
        body.close()
