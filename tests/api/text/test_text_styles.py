"""Text styles and shared keys in text mode (spec/api.md §6.2, §6.8)."""

from __future__ import annotations

import uuid

import pytest

from tests.api.text.conftest import MODEL

STYLE = {
    "name": "bard", "info": "answers in verse", "prompt": "Write a poem about {p}.",
    "params": {"temperature": 0.9, "top_p": 0.8, "n": 3, "max_length": 300},
    "models": [MODEL], "tags": ["poetry"],
}


def create(client, key, expect=200, **overrides):
    response = client.post("/api/v2/styles/text", json={**STYLE, **overrides}, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def poet(tusers):
    return tusers.create("poet", kudos=100, customizer=True)


def test_text_style_routes(text_client, poet, tusers):
    poet_id, key = poet
    made = create(text_client, key)["id"]
    style = text_client.get(f"/api/v2/styles/text/{made}").get_json()
    assert style == {
        "id": made, "name": "bard", "info": "answers in verse", "prompt": "Write a poem about {p}.",
        "params": {"temperature": 0.9, "top_p": 0.8},  # n and the lengths are the request's
        "public": True, "nsfw": False, "tags": ["poetry"], "models": [MODEL], "creator": f"poet#{poet_id}", "use_count": 0,
    }
    assert text_client.get("/api/v2/styles/text_by_name/bard").get_json()["id"] == made
    assert [s["id"] for s in text_client.get("/api/v2/styles/text").get_json()] == [made]
    assert create(text_client, key, expect=400, name="no p", prompt="no placeholder")["rc"] == "BadRequest"
    _, plain = tusers.create("plain")
    assert create(text_client, plain, expect=403)["rc"] == "StylesRequiresCustomizer"
    changed = text_client.patch(f"/api/v2/styles/text/{made}", json={"params": {"temperature": 0.5}}, headers={"apikey": key})
    assert changed.status_code == 200
    assert text_client.get(f"/api/v2/styles/text/{made}").get_json()["params"] == {"temperature": 0.5}
    assert text_client.patch(f"/api/v2/styles/text/{made}", json={"name": "x"}, headers={"apikey": plain}).get_json()["rc"] == "NotOwner"
    # Each mode serves its own kind: no image styles here.
    wrong_mode = text_client.get("/api/v2/styles/image")
    assert wrong_mode.status_code == 404 and wrong_mode.get_json()["rc"] == "ModeNotServed"
    assert text_client.delete(f"/api/v2/styles/text/{made}", headers={"apikey": key}).get_json() == {"message": "OK"}
    missing = text_client.get(f"/api/v2/styles/text/{made}")
    assert missing.status_code == 404 and missing.get_json()["rc"] == "StyleNotFound"


def test_a_styled_text_request(text_client, tloop, poet, tusers, scribe_key):
    poet_id, key = poet
    requester_id, requester = tusers.create("reader", kudos=50)
    made = create(text_client, key)["id"]
    tloop.request(requester, style=made, prompt="the sea", models=["something else"], params={"max_length": 120, "temperature": 2})
    job = tloop.pop(scribe_key)
    payload = job["payload"]
    assert payload["prompt"] == "Write a poem about the sea."
    assert payload["temperature"] == 0.9 and payload["top_p"] == 0.8 and payload["max_length"] == 120
    assert job["model"] == MODEL
    assert text_client.get(f"/api/v2/styles/text/{made}").get_json()["use_count"] == 1
    owner = text_client.get(f"/api/v2/users/{poet_id}").get_json()
    assert owner["kudos"] == 102 and owner["records"]["style"]["text"] == 1
    assert text_client.get(f"/api/v2/users/{requester_id}").get_json()["kudos"] == 47  # 1 tax + 2 for another's style


def test_shared_key_in_text_mode(text_client, tloop, tusers, scribe_key):
    owner_id, key = tusers.create("lender", kudos=500)
    shared = text_client.put("/api/v2/sharedkeys", json={"max_text_tokens": 100, "kudos": 200}, headers={"apikey": key}).get_json()
    long = tloop.request(shared["id"], expect=400, params={"max_length": 101}).get_json()
    assert long["rc"] == "BadRequest" and "tokens" in long["message"]
    queued = tloop.request(shared["id"], params={"max_length": 100}).get_json()
    job = tloop.pop(scribe_key)
    tloop.submit(scribe_key, job["id"])
    assert tloop.status(queued["id"])["done"] is True
    details = text_client.get(f"/api/v2/sharedkeys/{shared['id']}").get_json()
    spent = 500 - text_client.get(f"/api/v2/users/{owner_id}").get_json()["kudos"]
    assert spent > 1 and details["utilized"] == int(spent) and details["kudos"] == int(200 - spent)
    unknown = tloop.request(str(uuid.uuid4()), expect=401).get_json()
    assert unknown["rc"] == "InvalidAPIKey"


@pytest.mark.parametrize("value", [5, ["x"], "not-a-key"])
def test_a_text_style_sharedkey_that_is_no_key_of_yours_is_refused(text_client, poet, value):
    """Not in the documented text style model (horde-sdk's strict one has no such field), still checked."""
    _, key = poet
    refused = create(text_client, key, expect=400, sharedkey=value)
    assert refused["rc"] == "BadRequest"
    assert text_client.get("/api/v2/styles/text").get_json() == []  # nothing was made
