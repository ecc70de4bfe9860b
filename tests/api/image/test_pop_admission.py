"""Worker registration and check-in: who may pop, and with what."""

from tests.imaging import REGEN


def pop(loop, key, expect, **body):
    body.setdefault("name", "gpu")
    return loop.pop(key, expect=expect, **body)


def test_anonymous_cannot_run_workers(loop):
    assert pop(loop, "0000000000", 403)["rc"] == "AnonForbiddenWorker"


def test_pop_needs_a_valid_key(loop):
    assert pop(loop, "z" * 22, 401)["rc"] == "InvalidAPIKey"


def test_name_belongs_to_its_owner(loop, users, worker_key):
    pop(loop, worker_key, 200)
    _, other = users.create("other")
    assert pop(loop, other, 403)["rc"] == "WrongCredentials"


def test_name_is_required_and_cleaned(loop, worker_key):
    response = loop.client.post("/api/v2/generate/pop", json={"models": ["stable_diffusion"]}, headers={"apikey": worker_key})
    assert response.status_code == 400 and "name" in response.get_json()["errors"]
    pop(loop, worker_key, 200, name="<b>tagged</b> worker")
    workers = loop.client.get("/api/v2/find_user", headers={"apikey": worker_key}).get_json()["worker_ids"]
    assert len(workers) == 1


def test_forbidden_and_profane_names(loop, worker_key):
    assert pop(loop, worker_key, 400, name="my colab box")["rc"] == "BadRequest"
    assert pop(loop, worker_key, 400, name="shit machine")["rc"] == "ProfaneWorkerName"


def test_unknown_models_only(loop, worker_key):
    body = pop(loop, worker_key, 400, models=["Totally Made Up Model"])
    assert "cannot accept workers serving" in body["message"]


def test_unknown_models_are_dropped(loop, worker_key):
    assert pop(loop, worker_key, 200, models=["Made Up", "stable_diffusion"])["id"] is None


def test_invalid_priority_username(loop, worker_key):
    assert pop(loop, worker_key, 400, priority_usernames=["someone"])["rc"] == "InvalidPriorityUsername"


def test_flagged_owner(loop, users):
    _, key = users.create("flagged", flagged=True)
    assert pop(loop, key, 403)["rc"] == "WorkerFlaggedMaintenance"


def test_untrusted_owner_worker_limit(loop, users):
    _, key = users.create("newcomer")
    for index in range(4):
        pop(loop, key, 200, name=f"gpu-{index}")
    assert pop(loop, key, 403, name="gpu-4")["rc"] == "TooManyWorkers"


def test_invite_only_mode(loop, users):
    _, admin = users.create("admin")
    _, mod = users.create("mod", moderator=True)
    loop.client.put("/api/v2/status/modes", json={"invite_only_mode": True}, headers={"apikey": mod})
    _, key = users.create("newcomer")
    assert pop(loop, key, 403)["rc"] == "WorkerInviteOnly"


def test_maintenance_worker_gets_only_owner_jobs(loop, users, worker_key, app):
    from horde.models import Worker

    pop(loop, worker_key, 200)
    with app.extensions["horde"].db.transaction() as session:
        session.query(Worker).filter_by(name="gpu").update({"maintenance": True, "maintenance_msg": "upgrading drivers"})
    loop.request()
    refused = pop(loop, worker_key, 403)
    assert refused["rc"] == "WorkerMaintenance" and refused["message"] == "upgrading drivers"
    own = loop.request(worker_key).get_json()["id"]
    assert pop(loop, worker_key, 200)["id"] is not None
    assert loop.check(own)["processing"] == 1


def test_paused_worker_gets_fake_jobs_that_change_nothing(loop, users, worker_key, app):
    from horde.models import Worker

    pop(loop, worker_key, 200)
    with app.extensions["horde"].db.transaction() as session:
        session.query(Worker).filter_by(name="gpu").update({"paused": True})
    request_id = loop.request().get_json()["id"]
    fake = pop(loop, worker_key, 200)
    assert fake["id"] is not None
    assert loop.check(request_id)["waiting"] == 1  # nothing was taken off the request
    loop.upload(fake["r2_upload"])
    assert loop.submit(worker_key, fake["id"])["reward"] == 0
    assert loop.check(request_id)["finished"] == 0
    assert pop(loop, worker_key, 200)["id"] is None  # never offered the same request again
    assert loop.pop(worker_key, name="honest")["id"] is not None


def test_pop_validation(loop, worker_key):
    response = loop.client.post(
        "/api/v2/generate/pop", json={"name": "gpu", "amount": 21, "threads": 0, "bridge_agent": REGEN},
        headers={"apikey": worker_key},
    )
    errors = response.get_json()["errors"]
    assert response.status_code == 400 and "amount" in errors and "threads" in errors


def test_idle_pop_answer_shape(loop, worker_key):
    body = pop(loop, worker_key, 200)
    assert body["id"] is None and body["ids"] == [] and body["skipped"] == {}
    assert body["payload"]["ddim_steps"] == 30 and body["r2_upload"] is None and body["ttl"] is None
