"""GET /status/models from the live worker set and the queue."""


def test_models_of_online_workers(loop, users, app):
    _, key = users.create("owner", trusted=True)
    loop.pop(key, name="w1", models=["Deliberate", "stable_diffusion"], threads=2)
    loop.pop(key, name="w2", models=["Deliberate"])
    loop.request(models=["Deliberate"], params={"n": 3})
    app.extensions["horde"].live.clear()
    app.extensions["horde"].cache.delete("models:image")
    models = {m["name"]: m for m in loop.client.get("/api/v2/status/models").get_json()}
    deliberate = models["Deliberate"]
    assert deliberate["count"] == 3 and deliberate["type"] == "image"
    assert deliberate["jobs"] == 3.0 and deliberate["queued"] == round(3 * 512 * 512 * 30 / 1e6, 2)
    assert deliberate["performance"] == 1.0 and isinstance(deliberate["eta"], int)
    assert models["stable_diffusion"]["count"] == 2 and models["stable_diffusion"]["jobs"] == 0
    single = loop.client.get("/api/v2/status/models/Deliberate").get_json()
    assert single == [deliberate]
    assert loop.client.get("/api/v2/status/models/Nobody%20Serves%20This").get_json() == []
    assert loop.client.get("/api/v2/status/models?min_count=3").get_json() == [deliberate]
    assert loop.client.get("/api/v2/status/models?type=text").get_json() == []
    assert loop.client.get("/api/v2/status/models?model_state=custom").get_json() == []


def test_queued_model_without_workers_has_count_zero(loop, app):
    loop.request(models=["Dreamshaper"])
    app.extensions["horde"].cache.delete("models:image")
    models = loop.client.get("/api/v2/status/models").get_json()
    assert models == [{"name": "Dreamshaper", "count": 0, "performance": 0.0, "queued": 7.86, "jobs": 1.0, "eta": 10000, "type": "image"}]


def test_bad_filters(loop):
    assert loop.client.get("/api/v2/status/models?model_state=weird").get_json()["rc"] == "BadRequest"
    assert loop.client.get("/api/v2/status/models?type=audio").status_code == 400
    assert loop.client.get("/api/v2/status/models?min_count=x").status_code == 400
