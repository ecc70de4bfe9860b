"""The image loop through the test client, on PostgreSQL and SQLite."""

from tests.imaging import webp_bytes


def test_full_loop_anonymous_request(loop, worker_key):
    request_id = loop.request(params={"steps": 10}).get_json()["id"]
    assert loop.check(request_id)["waiting"] == 1
    job = loop.pop(worker_key)
    assert job["id"] and job["ids"] == [job["id"]]
    assert job["payload"]["ddim_steps"] == 10 and job["payload"]["n_iter"] == 1
    assert isinstance(job["payload"]["seed"], str) and job["payload"]["seed"].isdigit()
    assert job["model"] == "stable_diffusion" and job["r2_uploads"] == [job["r2_upload"]]
    assert job["ttl"] >= 150 and job["skipped"] == {}
    check = loop.check(request_id)
    assert check["processing"] == 1 and check["waiting"] == 0 and not check["done"]
    image = webp_bytes()
    loop.upload(job["r2_upload"], image)
    reward = loop.submit(worker_key, job["id"])["reward"]
    assert reward > 0
    check = loop.check(request_id)
    assert check["done"] and check["finished"] == 1
    status = loop.status(request_id)
    generation = status["generations"][0]
    assert generation["seed"] == "1312" and generation["id"] == job["id"] and generation["censored"] is False
    url = generation["img"]
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    downloaded = loop.client.get(f"{parsed.path}?{parsed.query}")
    assert downloaded.status_code == 200 and downloaded.data == image
