"""Shared keys: every route and refusal, and requests paid through a key (spec/api.md §6.2)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.api import state


def put_key(client, key, expect=200, **body):
    response = client.put("/api/v2/sharedkeys", json=body, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def get_key(client, key_id, expect=200):
    response = client.get(f"/api/v2/sharedkeys/{key_id}")
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def patch_key(client, apikey, key_id, expect=200, **body):
    response = client.patch(f"/api/v2/sharedkeys/{key_id}", json=body, headers={"apikey": apikey})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def user(client, user_id, apikey=None):
    return client.get(f"/api/v2/users/{user_id}", headers={"apikey": apikey} if apikey else {}).get_json()


def request_row(app, request_id):
    with app.extensions["horde"].db.engine.connect() as conn:
        return conn.execute(text("SELECT user_id, priority, shared_key_id FROM requests WHERE id = :i"), {"i": request_id}).one()


@pytest.fixture
def owner(users):
    return users.create("lender", kudos=1000)


def test_create_read_change_delete(client, owner, users):
    owner_id, key = owner
    created = put_key(client, key)
    assert created == {
        "id": created["id"], "username": f"lender#{owner_id}", "name": "", "kudos": 5000, "utilized": 0,
        "max_image_pixels": -1, "max_image_steps": -1, "max_text_tokens": -1,
    }  # no expiry: never
    uuid.UUID(created["id"])
    assert get_key(client, created["id"]) == created
    changed = patch_key(client, key, created["id"], name="for my bot", kudos=-1, expiry=30, max_image_steps=40)
    assert changed["name"] == "for my bot" and changed["kudos"] == -1 and changed["max_image_steps"] == 40
    assert changed["expiry"].endswith("-0000")
    assert "expiry" not in patch_key(client, key, created["id"], expiry=-1)
    assert user(client, owner_id, key)["sharedkey_ids"] == [created["id"]]
    assert "sharedkey_ids" not in user(client, owner_id)  # only the owner sees them
    deleted = client.delete(f"/api/v2/sharedkeys/{created['id']}", headers={"apikey": key})
    assert deleted.status_code == 200 and deleted.get_json() == {"message": "OK"}
    assert get_key(client, created["id"], expect=401)["rc"] == "InvalidAPIKey"


def test_refusals(client, app, owner, users):
    owner_id, key = owner
    _, other = users.create("stranger")
    created = put_key(client, key, name="mine")
    before = state.snapshot(app)
    assert put_key(client, "0000000000", expect=403)["rc"] == "AnonForbidden"
    assert patch_key(client, key, created["id"], expect=400)["rc"] == "NoSharedKeyModSelected"
    assert patch_key(client, other, created["id"], expect=403, name="stolen")["rc"] == "Forbidden"
    assert client.delete(f"/api/v2/sharedkeys/{created['id']}", headers={"apikey": other}).get_json()["rc"] == "Forbidden"
    for body in ({"kudos": "lots"}, {"kudos": 50_000_001}, {"kudos": -2}, {"name": "x"}, {"max_image_steps": 501},
                 {"max_text_tokens": 1.5}, {"expiry": True}):
        refused = put_key(client, key, expect=400, **body)
        assert refused["rc"] == "ValidationError" and set(refused["errors"]) == set(body), body
    unknown = str(uuid.uuid4())
    assert get_key(client, unknown, expect=401)["rc"] == "InvalidAPIKey"
    assert get_key(client, "not-a-key", expect=401)["rc"] == "InvalidAPIKey"
    assert patch_key(client, key, unknown, expect=401, name="abc")["rc"] == "InvalidAPIKey"
    assert client.put("/api/v2/sharedkeys", json={}).status_code == 400  # no apikey header
    assert state.snapshot(app) == before
    assert get_key(client, created["id"])["name"] == "mine"


def test_keys_per_user(client, users):
    _, plain = users.create("plain")
    for _ in range(3):
        put_key(client, plain)
    assert put_key(client, plain, expect=403)["rc"] == "Forbidden"
    _, trusted = users.create("trusty", trusted=True)
    for _ in range(10):
        put_key(client, trusted)
    assert put_key(client, trusted, expect=403)["rc"] == "Forbidden"


def test_a_request_through_a_key_end_to_end(client, app, loop, owner, worker_key):
    owner_id, key = owner
    shared = put_key(client, key, kudos=500)
    queued = loop.request(shared["id"]).get_json()
    row = request_row(app, queued["id"])
    assert row.user_id == owner_id and row.shared_key_id == shared["id"]
    after_tax = get_key(client, shared["id"])
    assert after_tax["utilized"] == 1 and after_tax["kudos"] == 499  # the request tax
    job = loop.pop(worker_key)
    assert job["id"] is not None and job["payload"]["prompt"] == "a lighthouse at dusk"
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    assert loop.check(queued["id"])["done"] is True
    key_after = get_key(client, shared["id"])
    spent = 1000 - user(client, owner_id)["kudos"]
    assert spent > 1
    assert key_after["utilized"] == int(spent)
    assert key_after["kudos"] == int(500 - spent)
    assert user(client, owner_id, key)["records"]["request"]["image"] == 1


def test_per_request_maxima(client, app, loop, owner):
    _, key = owner
    shared = put_key(client, key, max_image_pixels=512 * 512, max_image_steps=20)
    before = state.snapshot(app)
    big = loop.request(shared["id"], expect=400, params={"width": 1024, "height": 512, "steps": 10}).get_json()
    assert big["rc"] == "BadRequest" and "pixels" in big["message"]
    slow = loop.request(shared["id"], expect=400, params={"steps": 21}).get_json()
    assert slow["rc"] == "BadRequest" and "steps" in slow["message"]
    assert state.snapshot(app) == before
    loop.request(shared["id"], params={"width": 512, "height": 512, "steps": 20})


def test_expired_empty_and_short_keys(client, app, loop, owner):
    owner_id, key = owner
    expired = put_key(client, key, expiry=0)
    empty = put_key(client, key, kudos=0)
    short = put_key(client, key, kudos=2)
    before = state.snapshot(app)
    assert loop.request(expired["id"], expect=403).get_json()["rc"] == "SharedKeyExpired"
    assert loop.request(empty["id"], expect=403).get_json()["rc"] == "SharedKeyEmpty"
    assert loop.request(short["id"], expect=403).get_json()["rc"] == "SharedKeyInsufficientKudos"
    assert state.snapshot(app) == before
    # allow_downgrade: an empty key falls back to the anonymous account at low priority,
    # a short one keeps its owner at low priority.
    fallback = loop.request(empty["id"], allow_downgrade=True).get_json()
    row = request_row(app, fallback["id"])
    assert row.user_id == 0 and row.priority == -50 and row.shared_key_id is None
    lowered = loop.request(short["id"], allow_downgrade=True).get_json()
    row = request_row(app, lowered["id"])
    assert row.user_id == owner_id and row.priority == -50 and row.shared_key_id == short["id"]


def test_deleted_key_and_deleted_owner(client, loop, owner, users):
    owner_id, key = owner
    shared = put_key(client, key)
    loop.request(shared["id"])
    client.delete(f"/api/v2/sharedkeys/{shared['id']}", headers={"apikey": key})
    refused = loop.request(shared["id"], expect=401).get_json()
    assert refused["rc"] == "InvalidAPIKey"
    again = put_key(client, key)
    assert client.delete(f"/api/v2/users/{owner_id}", headers={"apikey": key}).status_code == 200
    assert loop.request(again["id"], expect=403).get_json()["rc"] == "DeletedUser"


def test_find_user_with_a_shared_key(client, owner):
    owner_id, key = owner
    named = put_key(client, key, name="discord bot")
    unnamed = put_key(client, key)
    found = client.get("/api/v2/find_user", headers={"apikey": named["id"]}).get_json()
    assert found["username"] == f"lender#{owner_id} (Shared Key: discord bot)" and found["id"] == owner_id
    assert "sharedkey_ids" not in found and "contact" not in found  # the owner's public view
    assert client.get("/api/v2/find_user", headers={"apikey": unnamed["id"]}).get_json()["username"].endswith("(Shared Key)")
    missing = client.get("/api/v2/find_user", headers={"apikey": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.get_json()["rc"] == "UserNotFound"


def test_transfers_to_a_shared_key(client, owner, users):
    owner_id, key = owner
    giver_id, giver = users.create("giver", kudos=500)
    finite = put_key(client, key, kudos=10)
    unlimited = put_key(client, key, kudos=-1)
    expired = put_key(client, key, expiry=0)

    def transfer(username, expect=200):
        response = client.post("/api/v2/kudos/transfer", json={"username": username, "amount": 40}, headers={"apikey": giver})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    assert transfer(finite["id"]) == {"transferred": 40.0}
    assert get_key(client, finite["id"])["kudos"] == 50
    transfer(unlimited["id"])
    assert get_key(client, unlimited["id"])["kudos"] == -1
    assert user(client, owner_id)["kudos"] == 1080 and user(client, giver_id)["kudos"] == 420
    assert transfer(expired["id"], expect=400)["rc"] == "SharedKeyExpired"
    assert transfer(str(uuid.uuid4()), expect=400)["rc"] == "InvalidTargetUsername"
    assert user(client, giver_id)["kudos"] == 420


def test_wiping_a_user_deletes_keys_styles_and_collections(client, app, owner):
    import datetime as dt

    from horde.db import utcnow
    from horde.domain.accounts import deletion
    from horde.models import User

    owner_id, key = owner
    shared = put_key(client, key)
    services = app.extensions["horde"]
    with services.db.transaction() as session:
        session.get(User, owner_id).customizer = True
    style = client.post("/api/v2/styles/image", json={"name": "doomed", "info": "a style to be wiped", "models": ["stable_diffusion"]},
                        headers={"apikey": key}).get_json()["id"]
    collection = client.post("/api/v2/collections", json={"name": "doomed", "styles": [style]}, headers={"apikey": key}).get_json()["id"]
    with services.db.transaction() as session:
        target = session.get(User, owner_id)
        target.deleted = True
        target.last_active = utcnow() - dt.timedelta(days=31)
        deletion.wipe(session, target)
    assert get_key(client, shared["id"], expect=401)["rc"] == "InvalidAPIKey"
    assert client.get(f"/api/v2/styles/image/{style}").status_code == 404
    assert client.get(f"/api/v2/collections/{collection}").status_code == 404
