"""The text request's event stream (/api/v2/generate/text/events/{id}), through the test client."""

from __future__ import annotations

import json


def _events(response):
    pending: dict = {}
    for chunk in response.response:
        for line in chunk.decode().split("\n"):
            if line == "":
                if "event" in pending:
                    yield pending["event"], pending.get("id"), json.loads(pending["data"])
                pending = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                pending[name] = value


def test_a_text_stream_follows_a_request_to_its_status(tloop, text_client, scribe_key):
    key = scribe_key
    request_id = tloop.request().get_json()["id"]
    response = text_client.get(f"/api/v2/generate/text/events/{request_id}", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = _events(response)
    name, _, body = next(events)
    assert name == "check" and (body["waiting"], body["done"]) == (1, False)
    assert "generations" not in body  # the check body; the text status route adds the texts
    job = tloop.pop(key)
    name, _, body = next(events)
    assert (name, body["processing"]) == ("check", 1)
    tloop.submit(key, job["id"])
    name, ident, body = next(events)
    assert (name, ident) == ("status", "status")
    assert body == tloop.status(request_id)
    assert body["generations"][0]["text"] == "there was a lighthouse keeper who loved the sea."
    response.close()


def test_an_image_request_id_is_not_a_text_request(text_client):
    answer = text_client.get("/api/v2/generate/text/events/0f0f0f0f-0000-0000-0000-000000000000")
    assert answer.status_code == 404 and answer.get_json()["rc"] == "RequestNotFound"


def test_a_text_webhook_says_what_the_status_route_says(tloop, text_app, scribe_key):
    from sqlalchemy import select

    from horde.domain.queue import generation
    from horde.models import WebhookDelivery

    request_id = tloop.request(webhook="https://hooks.example/text").get_json()["id"]
    job = tloop.pop(scribe_key)
    tloop.submit(scribe_key, job["id"])
    services = text_app.extensions["horde"]
    with services.db.session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        payload = generation.webhook_payload(session, services, delivery)
    generation_shown = tloop.status(request_id)["generations"][0]
    assert payload == {**generation_shown, "request": request_id, "id": job["id"], "kudos": delivery.kudos}
    assert delivery.kind == "text" and delivery.kudos > 0
