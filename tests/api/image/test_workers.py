"""GET/PUT/DELETE of workers: the views and who may change what."""

import pytest


@pytest.fixture
def setup(loop, users):
    owner_id, owner = users.create("owner", trusted=True)
    _, other = users.create("other")
    _, mod = users.create("mod", moderator=True)
    loop.pop(owner, name="gpu-one", models=["Deliberate", "stable_diffusion"], allow_lora=True, threads=2)
    worker_id = loop.client.get("/api/v2/find_user", headers={"apikey": owner}).get_json()["worker_ids"][0]
    return {"owner": owner, "other": other, "mod": mod, "worker_id": worker_id, "owner_id": owner_id}


def test_public_view(loop, setup):
    body = loop.client.get(f"/api/v2/workers/{setup['worker_id']}").get_json()
    assert body["name"] == "gpu-one" and body["type"] == "image" and body["online"] is True
    assert body["models"] == ["Deliberate", "stable_diffusion"] and body["threads"] == 2
    assert body["lora"] is True and body["post-processing"] is True and body["max_pixels"] == 1048576
    assert body["performance"] == "No requests fulfilled yet" and body["team"] == {"id": None, "name": None}
    for private in ("ipaddr", "paused", "suspicious", "owner", "contact"):
        assert private not in body


def test_owner_gets_the_public_view_moderator_the_privileged_one(loop, setup):
    assert "ipaddr" not in loop.client.get(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["owner"]}).get_json()
    privileged = loop.client.get(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["mod"]}).get_json()
    assert privileged["owner"] == f"owner#{setup['owner_id']}" and privileged["paused"] is False and "ipaddr" in privileged


def test_list_by_type_and_name(loop, setup):
    assert [w["name"] for w in loop.client.get("/api/v2/workers").get_json()] == ["gpu-one"]
    assert loop.client.get("/api/v2/workers?type=text").get_json() == []
    assert [w["name"] for w in loop.client.get("/api/v2/workers?name=GPU-ONE").get_json()] == ["gpu-one"]
    assert loop.client.get("/api/v2/workers?type=video").get_json()["rc"] == "BadRequest"


def test_by_name_and_unknown(loop, setup):
    assert loop.client.get("/api/v2/workers/name/gpu-one").get_json()["id"] == setup["worker_id"]
    assert loop.client.get("/api/v2/workers/name/nobody").get_json()["rc"] == "WorkerNotFound"
    assert loop.client.get("/api/v2/workers/00000000-0000-0000-0000-000000000000").status_code == 404


def put(loop, worker_id, key, **body):
    return loop.client.put(f"/api/v2/workers/{worker_id}", json=body, headers={"apikey": key})


@pytest.mark.parametrize(
    "who,body,status,rc",
    [
        ("anon", {"maintenance": True}, 403, "AnonForbiddenWorker"),
        ("other", {"maintenance": True}, 403, "NotOwner"),
        ("other", {"info": "mine now"}, 403, "NotOwner"),
        ("owner", {"paused": True}, 403, "NotModerator"),
        ("owner", {}, 400, "NoWorkerModSelected"),
        ("owner", {"name": "abc"}, 400, "ValidationError"),
        ("owner", {"info": "x" * 1001}, 400, "ValidationError"),
        ("owner", {"info": "shit happens"}, 400, "ProfaneWorkerInfo"),
        ("owner", {"team": "00000000-0000-0000-0000-000000000000"}, 404, "TeamNotFound"),
    ],
)
def test_refused_changes_change_nothing(loop, setup, who, body, status, rc):
    key = "0000000000" if who == "anon" else setup[who]
    response = put(loop, setup["worker_id"], key, **body)
    assert response.status_code == status and response.get_json()["rc"] == rc, response.get_json()
    after = loop.client.get(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["mod"]}).get_json()
    assert after["maintenance_mode"] is False and after["paused"] is False and "info" not in after


def test_owner_changes(loop, setup):
    body = put(loop, setup["worker_id"], setup["owner"], maintenance=True, maintenance_msg="new drivers", info="A 4090", name="gpu-renamed").get_json()
    assert body == {"maintenance": True, "info": "A 4090", "name": "gpu-renamed"}
    details = loop.client.get("/api/v2/workers/name/gpu-renamed").get_json()
    assert details["maintenance_mode"] is True and details["info"] == "A 4090"
    refused = loop.pop(setup["owner"], name="gpu-renamed", expect=403)
    assert refused["rc"] == "WorkerMaintenance" and refused["message"] == "new drivers"


def test_moderator_pauses(loop, setup):
    assert put(loop, setup["worker_id"], setup["mod"], paused=True).get_json() == {"paused": True}


def test_name_taken(loop, setup, users):
    loop.pop(setup["owner"], name="gpu-two")
    assert put(loop, setup["worker_id"], setup["owner"], name="gpu-two").get_json()["rc"] == "WorkerNameAlreadyExists"


def test_team_join_and_leave(loop, setup, app):
    from horde.models import Team

    with app.extensions["horde"].db.transaction() as session:
        session.add(Team(id="22222222-2222-4222-8222-222222222222", name="Direct Action", name_lower="direct action", creator_id=setup["owner_id"]))
    assert put(loop, setup["worker_id"], setup["owner"], team="22222222-2222-4222-8222-222222222222").get_json() == {"team": "Direct Action"}
    assert loop.client.get(f"/api/v2/workers/{setup['worker_id']}").get_json()["team"]["name"] == "Direct Action"
    assert put(loop, setup["worker_id"], setup["owner"], team="").get_json() == {"team": "None"}


def test_delete(loop, setup):
    assert loop.client.delete(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["other"]}).get_json()["rc"] == "NotOwner"
    assert loop.client.delete(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": "0000000000"}).get_json()["rc"] == "AnonForbiddenWorker"
    loop.request()
    job = loop.pop(setup["owner"], name="gpu-one")
    locked = loop.client.delete(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["owner"]})
    assert locked.status_code == 423 and locked.get_json()["rc"] == "Locked"
    loop.upload(job["r2_upload"])
    loop.submit(setup["owner"], job["id"])
    gone = loop.client.delete(f"/api/v2/workers/{setup['worker_id']}", headers={"apikey": setup["owner"]}).get_json()
    assert gone == {"deleted_id": setup["worker_id"], "deleted_name": "gpu-one"}
    assert loop.client.get(f"/api/v2/workers/{setup['worker_id']}").status_code == 404


def test_performance_after_a_delivery(loop, setup):
    loop.request()
    job = loop.pop(setup["owner"], name="gpu-one")
    loop.upload(job["r2_upload"])
    loop.submit(setup["owner"], job["id"])
    body = loop.client.get(f"/api/v2/workers/{setup['worker_id']}").get_json()
    assert body["requests_fulfilled"] == 1 and body["performance"].endswith("megapixelsteps per second")
    assert body["kudos_details"]["generated"] > 0
