"""Image styles: routes, validation, permissions, examples, and styled requests (spec/api.md §6.8)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tests.api import state

STYLE = {
    "name": "noir", "info": "black and white film stills", "prompt": "{p}, film noir, grainy###{np}, colour",
    "params": {"steps": 12, "cfg_scale": 7.5, "sampler_name": "k_dpmpp_2m", "width": 768, "height": 512, "n": 4, "seed": "9"},
    "models": ["stable_diffusion"], "tags": ["film", "bw"],
}


def create(client, key, expect=200, **overrides):
    body = {k: v for k, v in {**STYLE, **overrides}.items() if v is not None}  # None: leave the field out
    response = client.post("/api/v2/styles/image", json=body, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def get(client, path, key=None, expect=200):
    response = client.get(f"/api/v2/{path}", headers={"apikey": key} if key else {})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def creator(users):
    return users.create("stylist", kudos=100, customizer=True)


def test_create_and_read(client, creator):
    creator_id, key = creator
    made = create(client, key)
    assert made["message"] == "OK" and uuid.UUID(made["id"])
    style = get(client, f"styles/image/{made['id']}")
    assert style == {
        "id": made["id"], "name": "noir", "info": "black and white film stills", "prompt": STYLE["prompt"],
        # n and seed are the request's, never a style's
        "params": {"steps": 12, "cfg_scale": 7.5, "sampler_name": "k_dpmpp_2m", "width": 768, "height": 512},
        "public": True, "nsfw": False, "tags": ["film", "bw"], "models": ["stable_diffusion"],
        "creator": f"stylist#{creator_id}", "use_count": 0, "examples": [],
    }
    for name in ("noir", f"stylist#{creator_id}::style::noir", f"stylist#{creator_id}::noir", "style::noir"):
        assert get(client, f"styles/image_by_name/{quote(name)}")["id"] == made["id"], name
    details = get(client, f"users/{creator_id}")
    assert details["styles"] == [{"name": f"stylist#{creator_id}::style::noir", "id": made["id"], "type": "image"}]
    default_prompt = create(client, key, name="plain", prompt=None)
    assert get(client, f"styles/image/{default_prompt['id']}")["prompt"] == "{p}{np}"


def test_who_may_create(client, app, users):
    _, plain = users.create("plain")
    _, trusted = users.create("trusty", trusted=True)
    before = state.snapshot(app)
    assert create(client, "0000000000", expect=403)["rc"] == "StylesAnonForbidden"
    assert create(client, plain, expect=403)["rc"] == "StylesRequiresCustomizer"
    assert state.snapshot(app) == before
    create(client, trusted)


@pytest.mark.parametrize(
    "overrides,status,rc",
    [
        ({"prompt": "{p} only, no negative"}, 400, "BadRequest"),
        ({"prompt": "short"}, 400, "ValidationError"),
        ({"models": []}, 400, "ValidationError"),
        ({"models": ["a", "b", "c", "d", "e", "f"]}, 400, "ValidationError"),
        ({"tags": [f"t{i}" for i in range(11)]}, 400, "ValidationError"),
        ({"tags": ["x" * 26]}, 400, "ValidationError"),
        ({"info": "too short"}, 400, "ValidationError"),
        ({"name": ""}, 400, "ValidationError"),
        ({"name": "n" * 101}, 400, "ValidationError"),
        ({"params": {"steps": 501}}, 400, "ValidationError"),
        ({"params": {"width": 100}}, 400, "ValidationError"),
        ({"public": "yes"}, 400, "ValidationError"),
        ({"sharedkey": str(uuid.uuid4())}, 400, "BadRequest"),
    ],
)
def test_create_refusals(client, creator, overrides, status, rc):
    _, key = creator
    refused = create(client, key, expect=status, **overrides)
    assert refused["rc"] == rc, refused
    assert get(client, "styles/image") == []


def test_duplicate_names_and_the_per_user_limit(client, creator):
    _, key = creator
    create(client, key)
    assert create(client, key, expect=400)["rc"] == "BadRequest"
    from horde.domain.community import styles

    for i in range(styles.STYLES_PER_USER - 1):
        create(client, key, name=f"style {i}")
    assert create(client, key, expect=403, name="one too many")["rc"] == "Forbidden"


def test_listing_paging_sort_and_filters(client, app, creator):
    _, key = creator
    ids = [create(client, key, name=f"s{i:02}", tags=["even" if i % 2 == 0 else "odd"])["id"] for i in range(27)]
    hidden = create(client, key, name="hidden", public=False)["id"]
    with app.extensions["horde"].db.engine.begin() as conn:
        conn.execute(text("UPDATE styles SET use_count = 5 WHERE id = :i"), {"i": ids[20]})
    first = get(client, "styles/image")
    assert len(first) == 25 and first[0]["id"] == ids[20]
    assert len(get(client, "styles/image?page=2")) == 2
    assert [s["id"] for s in get(client, "styles/image?sort=age")][:2] == ids[:2]
    assert {s["id"] for s in get(client, "styles/image?tag=odd&page=1")} == set(ids[1::2])
    assert get(client, "styles/image?model=other") == []
    assert hidden not in {s["id"] for s in first + get(client, "styles/image?page=2")}
    assert get(client, f"styles/image/{hidden}")["public"] is False
    assert get(client, "styles/image?page=0", expect=400)["rc"] == "ValidationError"
    assert get(client, "styles/image?page=x", expect=400)["rc"] == "ValidationError"


def test_change_and_delete_permissions(client, app, creator, users):
    _, key = creator
    _, other = users.create("other", customizer=True)
    _, moderator = users.create("mod", moderator=True)
    made = create(client, key)["id"]
    path = f"/api/v2/styles/image/{made}"
    changed = client.patch(path, json={"name": "noir 2", "tags": ["new"]}, headers={"apikey": key})
    assert changed.status_code == 200 and changed.get_json()["id"] == made
    assert get(client, f"styles/image/{made}")["name"] == "noir 2"
    before = state.snapshot(app)
    for apikey in (other, moderator):
        refused = client.patch(path, json={"name": "taken over"}, headers={"apikey": apikey})
        assert refused.status_code == 403 and refused.get_json()["rc"] == "NotOwner"
    assert client.patch(path, json={}, headers={"apikey": key}).get_json()["rc"] == "NoValidActions"
    assert client.patch(path, json={"prompt": "{p} without np"}, headers={"apikey": key}).get_json()["rc"] == "BadRequest"
    assert client.delete(path, headers={"apikey": other}).get_json()["rc"] == "NotOwner"
    assert client.delete(path, headers={"apikey": "0000000000"}).get_json()["rc"] == "StylesAnonForbidden"
    assert state.snapshot(app) == before
    assert get(client, f"styles/image/{made}")["name"] == "noir 2"
    assert client.delete(path, headers={"apikey": moderator}).get_json() == {"message": "OK"}
    assert get(client, f"styles/image/{made}", expect=404)["rc"] == "StyleNotFound"
    assert get(client, f"styles/image/{uuid.uuid4()}", expect=404)["rc"] == "StyleNotFound"
    assert get(client, "styles/image_by_name/nothing", expect=404)["rc"] == "StyleNotFound"


def test_examples(client, creator, users):
    _, key = creator
    _, other = users.create("other")
    _, moderator = users.create("mod", moderator=True)
    made = create(client, key)["id"]
    base = f"/api/v2/styles/image/{made}/example"

    def add(url, apikey=key, expect=200, **body):
        response = client.post(base, json={"url": url, **body}, headers={"apikey": apikey})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    first = add("https://example.com/1.webp", primary=True)["id"]
    second = add("https://example.com/2.webp", apikey=moderator)["id"]
    assert add("http://example.com/3.webp", expect=400)["rc"] == "BadRequest"
    assert add("https://example.com/1.webp", expect=400)["rc"] == "BadRequest"
    assert add("https://example.com/9.webp", apikey=other, expect=403)["rc"] == "NotOwner"
    add("https://example.com/3.webp")
    add("https://example.com/4.webp")
    assert add("https://example.com/5.webp", expect=403)["rc"] == "Forbidden"
    examples = get(client, f"styles/image/{made}")["examples"]
    assert [(e["id"], e["primary"]) for e in examples][:2] == [(first, True), (second, False)]
    patched = client.patch(f"{base}/{second}", json={"url": "https://example.com/2b.webp", "primary": True}, headers={"apikey": key})
    assert patched.status_code == 200
    examples = {e["id"]: e for e in get(client, f"styles/image/{made}")["examples"]}
    assert examples[second]["primary"] is True and examples[first]["primary"] is False
    assert examples[second]["url"] == "https://example.com/2b.webp"
    assert client.delete(f"{base}/{first}", headers={"apikey": other}).get_json()["rc"] == "NotOwner"
    assert client.delete(f"{base}/{first}", headers={"apikey": key}).get_json() == {"message": "OK"}
    missing = client.delete(f"{base}/{first}", headers={"apikey": key})
    assert missing.status_code == 404 and missing.get_json()["rc"] == "Style exampleNotFound"
    assert len(get(client, f"styles/image/{made}")["examples"]) == 3


def test_a_styled_request_is_popped_with_the_style(client, app, loop, creator, users, worker_key):
    creator_id, key = creator
    requester_id, requester = users.create("fan", kudos=100)
    made = create(client, key)["id"]
    queued = loop.request(requester, style="noir", prompt="a cat###dogs", params={"n": 2, "steps": 50, "width": 1024}).get_json()
    job = loop.pop(worker_key, amount=1)
    payload = job["payload"]
    assert payload["prompt"] == "a cat, film noir, grainy###dogs, colour"
    assert payload["ddim_steps"] == 12 and payload["cfg_scale"] == 7.5 and payload["sampler_name"] == "k_dpmpp_2m"
    assert (payload["width"], payload["height"]) == (768, 512)  # the style's size wins when it has one
    assert job["model"] == "stable_diffusion"
    assert loop.check(queued["id"])["waiting"] == 1  # n stays the request's
    assert get(client, f"styles/image/{made}")["use_count"] == 1
    # Another user's style: the requester pays 1 + 2 tax, the style's owner earns 2.
    assert get(client, f"users/{requester_id}")["kudos"] == 97
    owner = get(client, f"users/{creator_id}")
    assert owner["kudos"] == 102 and owner["kudos_details"]["styled"] == 2 and owner["records"]["style"]["image"] == 1
    # The owner's own style: no style tax.
    loop.request(key, style=made)
    assert get(client, f"users/{creator_id}")["kudos"] == 101


def test_size_and_negative_prompt_without_style_values(client, loop, creator, users, worker_key):
    _, key = creator
    create(client, key, name="sizeless", prompt="{p} in watercolour {np}", params={"steps": 8})
    loop.request(key, style="sizeless", prompt="a boat", params={"width": 640, "height": 384})
    payload = loop.pop(worker_key)["payload"]
    assert payload["prompt"] == "a boat in watercolour"
    assert (payload["width"], payload["height"]) == (640, 384)


def test_unknown_or_wrong_kind_style(client, app, loop, creator):
    _, key = creator
    before = state.snapshot(app)
    assert loop.request(key, expect=404, style="no such style").get_json()["rc"] == "StyleNotFound"
    with app.extensions["horde"].db.engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM users WHERE username = 'stylist'")).scalar()
        conn.execute(
            text("INSERT INTO styles (id, kind, user_id, name, prompt, params, models, tags, models_csv, tags_csv, public, nsfw,"
                 " use_count, created, updated) VALUES (:i, 'text', :u, 'wordy', '{p}', '{}', '[]', '[]', '', '', true, false, 0,"
                 " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"i": str(uuid.uuid4()), "u": user_id},
        )
    refused = loop.request(key, expect=400, style="wordy").get_json()
    assert refused["rc"] == "BadRequest" and "text style" in refused["message"]
    assert get(client, "styles/image_by_name/wordy", expect=400)["rc"] == "BadRequest"
    assert get(client, "styles/text", expect=404)["rc"] == "ModeNotServed"  # each mode serves its own kind
    assert state.snapshot(app)["queue"] == before["queue"]


def test_deleting_a_style_in_use(client, loop, creator, worker_key):
    _, key = creator
    made = create(client, key)["id"]
    queued = loop.request(key, style=made, prompt="a harbour").get_json()
    assert client.delete(f"/api/v2/styles/image/{made}", headers={"apikey": key}).status_code == 200
    job = loop.pop(worker_key)
    assert job["payload"]["prompt"] == "a harbour, film noir, grainy###, colour"
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    assert loop.check(queued["id"])["done"] is True
    assert loop.request(key, expect=404, style=made).get_json()["rc"] == "StyleNotFound"


def test_a_style_with_a_shared_key_pays_for_its_users(client, app, loop, creator, users):
    creator_id, key = creator
    shared = client.put("/api/v2/sharedkeys", json={"kudos": 300, "max_image_steps": 5}, headers={"apikey": key}).get_json()
    made = create(client, key, sharedkey=shared["id"])["id"]
    view = get(client, f"styles/image/{made}", key=key)
    assert view["sharedkey"] == shared["id"] and view["shared_key"]["kudos"] == 300
    assert "sharedkey" not in get(client, f"styles/image/{made}") and "shared_key" not in get(client, "styles/image")[0]
    _, other = users.create("other")
    assert "sharedkey" not in get(client, f"styles/image/{made}", key=other)
    # Through the style, the key pays (its per-request maxima do not apply to its own style)...
    queued = loop.request(other, style=made).get_json()
    with app.extensions["horde"].db.engine.connect() as conn:
        row = conn.execute(text("SELECT user_id, shared_key_id FROM requests WHERE id = :i"), {"i": queued["id"]}).one()
    assert row.user_id == creator_id and row.shared_key_id == shared["id"]
    # ...but the sender still needs a valid key of their own (or the style's key itself)...
    assert loop.request("x" * 22, expect=401, style=made).get_json()["rc"] == "InvalidAPIKey"
    loop.request(shared["id"], style=made)
    # ...and the key cannot be used without its style any more.
    assert loop.request(shared["id"], expect=403).get_json()["rc"] == "SharedKeyAssignedStyles"
    _, stranger_key_owner = users.create("keyholder")
    foreign = client.put("/api/v2/sharedkeys", json={}, headers={"apikey": stranger_key_owner}).get_json()["id"]
    refused = client.patch(f"/api/v2/styles/image/{made}", json={"sharedkey": foreign}, headers={"apikey": key})
    assert refused.status_code == 400 and refused.get_json()["rc"] == "BadRequest"
    # "" takes the key off the style: it works on its own again.
    assert client.patch(f"/api/v2/styles/image/{made}", json={"sharedkey": ""}, headers={"apikey": key}).status_code == 200
    assert "sharedkey" not in get(client, f"styles/image/{made}", key=key)
    loop.request(shared["id"].upper(), params={"steps": 5})  # and its own maxima apply again
