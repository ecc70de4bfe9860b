"""Worker messages: who may send and read them, and their delivery in pop answers."""

import pytest


@pytest.fixture
def parties(loop, users):
    owner_id, owner = users.create("owner", trusted=True)
    _, other = users.create("other")
    _, mod = users.create("mod", moderator=True)
    loop.pop(owner, name="gpu-msg")
    worker_id = loop.client.get("/api/v2/workers/name/gpu-msg").get_json()["id"]
    return {"owner": owner, "owner_id": owner_id, "other": other, "mod": mod, "worker_id": worker_id}


def send(loop, key, expect=200, **body):
    response = loop.client.post("/api/v2/workers/messages", json=body, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_moderator_message_reaches_the_worker(loop, parties):
    sent = send(loop, parties["mod"], worker_id=parties["worker_id"], message="Please update your bridge", expiry=2)
    assert sent["origin"] == "AI Horde Moderators" and sent["worker_id"] == parties["worker_id"]
    assert sent["expiry"].endswith("-0000") and len(sent["id"]) == 36
    pop = loop.pop(parties["owner"], name="gpu-msg")
    assert pop["messages"] == [{"id": sent["id"], "message": "Please update your bridge", "origin": "AI Horde Moderators", "expiry": sent["expiry"]}]
    assert loop.client.get(f"/api/v2/workers/messages/{sent['id']}").get_json()["message"] == "Please update your bridge"


def test_broadcast_reaches_every_worker(loop, parties):
    send(loop, parties["mod"], message="Maintenance tonight")
    assert [m["message"] for m in loop.pop(parties["owner"], name="another-gpu")["messages"]] == ["Maintenance tonight"]


def test_owner_messages_own_worker_only(loop, parties):
    sent = send(loop, parties["owner"], worker_id=parties["worker_id"], message="note to self", origin="ignored")
    assert sent["origin"] == str(parties["owner_id"])
    assert send(loop, parties["other"], 403, worker_id=parties["worker_id"], message="hi")["rc"] == "MessagesOnlyOwnWorkers"
    assert send(loop, parties["other"], 403, message="to everyone")["rc"] == "MessagesOnlyOwnWorkers"
    assert send(loop, "0000000000", 403, worker_id=parties["worker_id"], message="hi")["rc"] == "AnonForbidden"


def test_listing_and_validity(loop, parties):
    send(loop, parties["mod"], worker_id=parties["worker_id"], message="one")
    send(loop, parties["mod"], message="everyone")
    mine = loop.client.get("/api/v2/workers/messages", headers={"apikey": parties["owner"]}).get_json()
    assert sorted(m["message"] for m in mine) == ["everyone", "one"]
    others = loop.client.get("/api/v2/workers/messages", headers={"apikey": parties["other"]}).get_json()
    assert [m["message"] for m in others] == ["everyone"]
    refused = loop.client.get(f"/api/v2/workers/messages?user_id={parties['owner_id']}", headers={"apikey": parties["other"]})
    assert refused.status_code == 403
    as_mod = loop.client.get(f"/api/v2/workers/messages?user_id={parties['owner_id']}", headers={"apikey": parties["mod"]}).get_json()
    assert len(as_mod) == 2
    assert loop.client.get("/api/v2/workers/messages?validity=expired", headers={"apikey": parties["owner"]}).get_json() == []
    assert loop.client.get("/api/v2/workers/messages?validity=soon", headers={"apikey": parties["owner"]}).get_json()["rc"] == "BadRequest"


def test_delete(loop, parties):
    sent = send(loop, parties["mod"], worker_id=parties["worker_id"], message="bye")
    refused = loop.client.delete(f"/api/v2/workers/messages/{sent['id']}", headers={"apikey": parties["owner"]})
    assert refused.status_code == 403 and refused.get_json()["rc"] == "NotOwner"
    assert loop.client.delete(f"/api/v2/workers/messages/{sent['id']}", headers={"apikey": parties["mod"]}).get_json() == {"message": "OK"}
    assert loop.client.get(f"/api/v2/workers/messages/{sent['id']}").get_json()["rc"] == "WorkermessageNotFound"
    assert loop.pop(parties["owner"], name="gpu-msg")["messages"] == []


def test_validation(loop, parties):
    assert "message" in send(loop, parties["mod"], 400, worker_id=parties["worker_id"])["errors"]
    assert "expiry" in send(loop, parties["mod"], 400, message="x", expiry=0)["errors"]
    long = send(loop, parties["mod"], worker_id=parties["worker_id"], message="long", expiry=5000)
    assert long["expiry"]  # clamped to 30 days
