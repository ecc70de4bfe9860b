"""Teams: who may create, change and delete them; what they show."""

import pytest


def post(client, key, expect=200, **body):
    response = client.post("/api/v2/teams", json=body, headers={"apikey": key})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def keys(users):
    _, creator = users.create("creator", trusted=True)
    _, other = users.create("other", trusted=True)
    _, mod = users.create("mod", moderator=True)
    _, newcomer = users.create("newcomer")
    return {"creator": creator, "other": other, "mod": mod, "newcomer": newcomer, "anon": "0000000000"}


def test_create_list_and_show(client, keys):
    created = post(client, keys["creator"], name="Direct Action", info="We run GPUs")
    assert set(created) == {"id", "name", "info"} and created["name"] == "Direct Action"
    listed = client.get("/api/v2/teams").get_json()
    assert [t["name"] for t in listed] == ["Direct Action"] and listed[0]["creator"] == "creator#1"
    assert listed[0]["worker_count"] == 0 and listed[0]["workers"] == [] and listed[0]["kudos"] == 0
    assert client.get(f"/api/v2/teams/{created['id']}").get_json()["info"] == "We run GPUs"


def test_creation_refusals(client, keys):
    post(client, keys["creator"], name="Direct Action")
    assert post(client, keys["newcomer"], 403, name="Newbies")["rc"] == "UntrustedTeamCreation"
    assert post(client, keys["anon"], 403, name="Nobody")["rc"] == "AnonForbidden"
    assert post(client, keys["other"], 400, name="direct action")["rc"] == "TeamNameAlreadyExists"
    assert post(client, keys["other"], 400, name="shit team")["rc"] == "ProfaneTeamName"
    assert post(client, keys["other"], 400, name="ab")["rc"] == "ValidationError"
    assert [t["name"] for t in client.get("/api/v2/teams").get_json()] == ["Direct Action"]


def test_single_with_a_key_must_be_a_moderator(client, keys):
    team = post(client, keys["creator"], name="Direct Action")
    response = client.get(f"/api/v2/teams/{team['id']}", headers={"apikey": keys["creator"]})
    assert response.status_code == 403 and response.get_json()["rc"] == "NotModerator"
    assert client.get(f"/api/v2/teams/{team['id']}", headers={"apikey": keys["mod"]}).status_code == 200
    assert client.get("/api/v2/teams/00000000-0000-0000-0000-000000000000").get_json()["rc"] == "TeamNotFound"


@pytest.mark.parametrize("who,status,rc", [("other", 403, "NotOwner"), ("anon", 403, "AnonForbidden")])
def test_changes_by_others_are_refused(client, keys, who, status, rc):
    team = post(client, keys["creator"], name="Direct Action")
    for method in ("patch", "delete"):
        kwargs = {"json": {"name": "Taken Over"}} if method == "patch" else {}
        response = getattr(client, method)(f"/api/v2/teams/{team['id']}", headers={"apikey": keys[who]}, **kwargs)
        assert response.status_code == status and response.get_json()["rc"] == rc
    assert client.get(f"/api/v2/teams/{team['id']}").get_json()["name"] == "Direct Action"


def test_creator_and_moderator_change_and_delete(client, keys):
    team = post(client, keys["creator"], name="Direct Action")
    patch = client.patch(f"/api/v2/teams/{team['id']}", json={"info": "New info"}, headers={"apikey": keys["creator"]})
    assert patch.get_json() == {"id": team["id"], "name": "Direct Action", "info": "New info"}
    empty = client.patch(f"/api/v2/teams/{team['id']}", json={}, headers={"apikey": keys["creator"]})
    assert empty.get_json()["rc"] == "NoTeamModSelected"
    renamed = client.patch(f"/api/v2/teams/{team['id']}", json={"name": "Renamed"}, headers={"apikey": keys["mod"]})
    assert renamed.get_json()["name"] == "Renamed"
    gone = client.delete(f"/api/v2/teams/{team['id']}", headers={"apikey": keys["mod"]}).get_json()
    assert gone == {"deleted_id": team["id"], "deleted_name": "Renamed"}
    assert client.get("/api/v2/teams").get_json() == []


def test_team_shows_its_workers_and_earns(client, keys, app):
    from tests.imaging import REGEN, webp_bytes

    team = post(client, keys["creator"], name="Direct Action")
    client.post("/api/v2/generate/pop", json={"name": "team-gpu", "models": ["Deliberate"], "bridge_agent": REGEN}, headers={"apikey": keys["creator"]})
    worker_id = client.get("/api/v2/workers/name/team-gpu").get_json()["id"]
    client.put(f"/api/v2/workers/{worker_id}", json={"team": team["id"]}, headers={"apikey": keys["creator"]})
    client.post("/api/v2/generate/async", json={"prompt": "x", "models": ["Deliberate"]}, headers={"apikey": "0000000000"})
    job = client.post("/api/v2/generate/pop", json={"name": "team-gpu", "models": ["Deliberate"], "bridge_agent": REGEN}, headers={"apikey": keys["creator"]}).get_json()
    client.post("/api/v2/generate/submit", json={"id": job["id"], "generation": __import__("base64").b64encode(webp_bytes()).decode(), "seed": 1}, headers={"apikey": keys["creator"]})
    details = client.get(f"/api/v2/teams/{team['id']}").get_json()
    assert details["worker_count"] == 1 and details["workers"][0]["name"] == "team-gpu"
    assert details["models"] == [{"name": "Deliberate", "count": 1}]
    assert details["requests_fulfilled"] == 1 and details["kudos"] > 0
    client.delete(f"/api/v2/teams/{team['id']}", headers={"apikey": keys["creator"]})
    assert client.get(f"/api/v2/workers/{worker_id}").get_json()["team"] == {"id": None, "name": None}
