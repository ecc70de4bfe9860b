"""Collections of styles: routes, refusals, and requests naming a collection (spec/api.md §6.8)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.api import state


def make_style(client, key, name, prompt):
    body = {"name": name, "info": "a style for collections", "prompt": prompt, "models": ["stable_diffusion"]}
    response = client.post("/api/v2/styles/image", json=body, headers={"apikey": key})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def post(client, key, expect=200, **body):
    response = client.post("/api/v2/collections", json=body, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def curator(users):
    return users.create("curator", customizer=True, kudos=50)


@pytest.fixture
def two_styles(client, curator):
    _, key = curator
    return make_style(client, key, "red", "{p} in red{np}"), make_style(client, key, "blue", "{p} in blue{np}")


def test_collection_routes(client, curator, two_styles, users):
    curator_id, key = curator
    red, blue = two_styles
    made = post(client, key, name="colours", info="primary colours", styles=[red, "blue"])
    assert made["message"] == "OK"
    expected = {
        "id": made["id"], "name": "colours", "type": "image", "info": "primary colours", "public": True,
        "styles": [{"name": "red", "id": red}, {"name": "blue", "id": blue}], "use_count": 0,
    }
    assert client.get(f"/api/v2/collections/{made['id']}").get_json() == expected
    assert client.get("/api/v2/collection_by_name/colours").get_json() == expected
    assert client.get(f"/api/v2/collection_by_name/curator%23{curator_id}::colours").get_json()["id"] == made["id"]
    assert client.get("/api/v2/collections").get_json() == [expected]
    assert client.get("/api/v2/collections?type=text").get_json() == []
    assert client.get("/api/v2/collections?type=image&sort=age&page=1").get_json() == [expected]
    hidden = post(client, key, name="secret", styles=[red], public=False)["id"]
    assert [c["id"] for c in client.get("/api/v2/collections").get_json()] == [made["id"]]
    assert client.get(f"/api/v2/collections/{hidden}").get_json()["public"] is False
    patched = client.patch(f"/api/v2/collections/{made['id']}", json={"styles": [blue], "info": "just blue"}, headers={"apikey": key})
    assert patched.status_code == 200 and patched.get_json()["id"] == made["id"]
    now = client.get(f"/api/v2/collections/{made['id']}").get_json()
    assert now["styles"] == [{"name": "blue", "id": blue}] and now["info"] == "just blue"
    # A deleted style leaves the collections it was in.
    client.delete(f"/api/v2/styles/image/{blue}", headers={"apikey": key})
    assert client.get(f"/api/v2/collections/{made['id']}").get_json()["styles"] == []
    _, moderator = users.create("mod", moderator=True)
    assert client.delete(f"/api/v2/collections/{made['id']}", headers={"apikey": moderator}).get_json() == {"message": "OK"}
    gone = client.get(f"/api/v2/collections/{made['id']}")
    assert gone.status_code == 404 and gone.get_json()["rc"] == "CollectionNotFound"


def test_collection_refusals(client, app, curator, two_styles, users):
    _, key = curator
    red, _ = two_styles
    _, other = users.create("other")
    made = post(client, key, name="mine", styles=[red])["id"]
    with app.extensions["horde"].db.engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM users WHERE username = 'curator'")).scalar()
        text_style = str(uuid.uuid4())
        conn.execute(
            text("INSERT INTO styles (id, kind, user_id, name, prompt, params, models, tags, models_csv, tags_csv, public, nsfw,"
                 " use_count, created, updated) VALUES (:i, 'text', :u, 'wordy', '{p}', '{}', '[]', '[]', '', '', true, false, 0,"
                 " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"i": text_style, "u": user_id},
        )
    before = state.snapshot(app)
    assert post(client, "0000000000", expect=403, name="anon", styles=[red])["rc"] == "StylesAnonForbidden"
    assert post(client, key, expect=400, name="mixed", styles=[red, text_style])["rc"] == "BadRequest"
    assert post(client, key, expect=404, name="ghost", styles=[str(uuid.uuid4())])["rc"] == "StyleNotFound"
    assert post(client, key, expect=400, name="empty", styles=[])["rc"] == "ValidationError"
    assert post(client, key, expect=400, styles=[red])["rc"] == "ValidationError"
    assert post(client, key, expect=400, name="mine", styles=[red])["rc"] == "BadRequest"
    path = f"/api/v2/collections/{made}"
    assert client.patch(path, json={"name": "x"}, headers={"apikey": other}).get_json()["rc"] == "NotOwner"
    assert client.patch(path, json={}, headers={"apikey": key}).get_json()["rc"] == "NoValidActions"
    assert client.patch(path, json={"styles": [text_style]}, headers={"apikey": key}).get_json()["rc"] == "BadRequest"
    assert client.delete(path, headers={"apikey": other}).get_json()["rc"] == "NotOwner"
    assert client.get(f"/api/v2/collections/{uuid.uuid4()}").get_json()["rc"] == "CollectionNotFound"
    assert client.get("/api/v2/collection_by_name/nothing").get_json()["rc"] == "CollectionNotFound"
    assert client.get("/api/v2/collections?page=-1").status_code == 400
    assert state.snapshot(app) == before


def test_a_request_naming_a_collection_gets_one_of_its_styles(client, loop, curator, two_styles, worker_key):
    _, key = curator
    made = post(client, key, name="colours", styles=list(two_styles))["id"]
    prompts = set()
    for by in (made, "colours", made, "colours", made, "colours"):
        loop.request(key, style=by, prompt="a kite")
    for _ in range(6):
        job = loop.pop(worker_key)
        prompts.add(job["payload"]["prompt"])
        loop.upload(job["r2_upload"])
        loop.submit(worker_key, job["id"])
    assert prompts <= {"a kite in red", "a kite in blue"} and prompts
    assert client.get(f"/api/v2/collections/{made}").get_json()["use_count"] == 6
    uses = sum(client.get(f"/api/v2/styles/image/{s}").get_json()["use_count"] for s in two_styles)
    assert uses == 6
