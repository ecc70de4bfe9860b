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


def _path(url: str) -> str:
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.path}?{parsed.query}"


def test_batch_of_four_in_one_pop(loop, worker_key):
    request_id = loop.request(params={"n": 4, "steps": 8}).get_json()["id"]
    job = loop.pop(worker_key, amount=4, max_pixels=4194304)
    assert len(job["ids"]) == 4 and job["payload"]["n_iter"] == 4
    # each upload URL sorts like its id (reGen sorts both lists and pairs them)
    assert [job["ids"].index(i) for i in sorted(job["ids"])] == [job["r2_uploads"].index(u) for u in sorted(job["r2_uploads"])]
    for index, (job_id, url) in enumerate(zip(job["ids"], job["r2_uploads"])):
        loop.upload(url, webp_bytes(color=(index * 40, 0, 0)))
        loop.submit(worker_key, job_id, seed=100 + index)
    status = loop.status(request_id)
    assert status["done"] and status["finished"] == 4
    assert sorted(g["seed"] for g in status["generations"]) == ["100", "101", "102", "103"]


def test_small_worker_gets_one_image_at_a_time(loop, worker_key):
    loop.request(params={"n": 4})
    job = loop.pop(worker_key, amount=4, max_pixels=262144)
    assert len(job["ids"]) == 1


def test_request_stays_queued_until_its_last_image_is_taken(loop, worker_key):
    request_id = loop.request(params={"n": 3}).get_json()["id"]
    taken = []
    for expected_waiting in (2, 1, 0):
        job = loop.pop(worker_key, amount=1)
        assert len(job["ids"]) == 1
        taken.append((job["id"], job["r2_upload"]))
        progress = loop.check(request_id)
        assert progress["waiting"] == expected_waiting and progress["processing"] == len(taken)
    assert len({job_id for job_id, _ in taken}) == 3
    assert loop.pop(worker_key, name="worker-two")["id"] is None  # out of the queue now
    for job_id, upload in taken:
        loop.upload(upload)
        loop.submit(worker_key, job_id)
    assert loop.check(request_id)["done"]


def test_cancel_mid_way(loop, worker_key):
    request_id = loop.request(params={"n": 3}).get_json()["id"]
    job = loop.pop(worker_key)
    cancelled = loop.client.delete(f"/api/v2/generate/status/{request_id}")
    assert cancelled.status_code == 200
    before = cancelled.get_json()
    assert before["waiting"] == 2 and before["processing"] == 1 and before["generations"] == []
    after = loop.check(request_id)
    assert after["done"] and after["waiting"] == 0
    assert loop.pop(worker_key, name="worker-two")["id"] is None
    loop.upload(job["r2_upload"])
    assert loop.submit(worker_key, job["id"])["reward"] > 0
    status = loop.status(request_id)
    assert status["finished"] == 1 and len(status["generations"]) == 1 and status["done"]


def test_cancel_unknown_request(loop):
    response = loop.client.delete("/api/v2/generate/status/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.get_json()["rc"] == "RequestNotFound"


def test_dry_run_prices_without_queueing(loop, worker_key):
    response = loop.request(expect=200, dry_run=True, params={"width": 1024, "height": 1024, "steps": 30, "n": 2}, models=["SDXL 1.0"])
    body = response.get_json()
    assert set(body) == {"kudos"} and body["kudos"] > 0
    assert loop.pop(worker_key, models=["SDXL 1.0"])["id"] is None


def test_unknown_and_malformed_request_ids(loop):
    for request_id in ("nope", "00000000-0000-0000-0000-000000000000"):
        for path in ("check", "status"):
            response = loop.client.get(f"/api/v2/generate/{path}/{request_id}")
            assert response.status_code == 404 and response.get_json()["rc"] == "RequestNotFound"


def test_base64_results_when_r2_is_off(loop, worker_key):
    import base64

    request_id = loop.request(r2=False).get_json()["id"]
    job = loop.pop(worker_key)
    image = webp_bytes(color=(1, 2, 3))
    loop.submit(worker_key, job["id"], generation=base64.b64encode(image).decode())
    img = loop.status(request_id)["generations"][0]["img"]
    assert base64.b64decode(img)[:4] == b"RIFF"


def test_base64_submission_is_stored_and_served(loop, worker_key):
    import base64

    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    loop.submit(worker_key, job["id"], generation=base64.b64encode(webp_bytes()).decode())
    downloaded = loop.client.get(_path(loop.status(request_id)["generations"][0]["img"]))
    assert downloaded.status_code == 200 and downloaded.mimetype == "image/webp"


def test_unreadable_base64_submission_changes_nothing(loop, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    response = loop.submit(worker_key, job["id"], expect=400, generation="bm90IGFuIGltYWdl")
    assert response["rc"] == "ImageValidationFailed"
    assert loop.check(request_id)["processing"] == 1
    loop.upload(job["r2_upload"])
    assert loop.submit(worker_key, job["id"])["reward"] > 0


def test_double_submit_is_refused_and_changes_nothing(loop, users, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    owner = loop.client.get("/api/v2/find_user", headers={"apikey": worker_key}).get_json()
    again = loop.submit(worker_key, job["id"], expect=400)
    assert again["rc"] == "DuplicateGen" and "already submitted" in again["message"]
    assert loop.client.get("/api/v2/find_user", headers={"apikey": worker_key}).get_json()["kudos"] == owner["kudos"]
    assert loop.check(request_id)["finished"] == 1


def test_submit_unknown_job_and_foreign_worker(loop, users, worker_key):
    assert loop.submit(worker_key, "00000000-0000-0000-0000-000000000000", expect=404)["rc"] == "InvalidJobID"
    loop.request()
    job = loop.pop(worker_key)
    _, other_key = users.create("mallory")
    assert loop.submit(other_key, job["id"], expect=403)["rc"] == "WrongCredentials"


def test_submit_validation(loop, worker_key):
    response = loop.client.post("/api/v2/generate/submit", json={"id": "x", "generation": "R2"}, headers={"apikey": worker_key})
    assert response.status_code == 400 and "seed" in response.get_json()["errors"]
    response = loop.client.post(
        "/api/v2/generate/submit", json={"id": "x", "generation": "R2", "seed": 1, "state": "great"}, headers={"apikey": worker_key}
    )
    assert response.status_code == 400 and "state" in response.get_json()["errors"]


def test_faulted_job_goes_back_to_the_queue(loop, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    assert loop.submit(worker_key, job["id"], state="faulted", generation="Faulted")["reward"] == 0
    check = loop.check(request_id)
    assert check["waiting"] == 1 and check["restarted"] == 1 and check["processing"] == 0 and not check["done"]
    again = loop.pop(worker_key)
    assert again["id"] and again["id"] != job["id"]


def test_three_faults_fault_the_request(loop, worker_key):
    request_id = loop.request().get_json()["id"]
    for _ in range(3):
        job = loop.pop(worker_key)
        loop.submit(worker_key, job["id"], state="faulted", generation="Faulted")
    check = loop.check(request_id)
    assert check["faulted"] and check["done"] and check["restarted"] == 3
    assert loop.pop(worker_key)["id"] is None


def test_censored_image_is_reported(loop, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"], gen_metadata=[{"type": "censorship", "value": "nsfw"}])
    generation = loop.status(request_id)["generations"][0]
    assert generation["censored"] is True and generation["gen_metadata"] == [{"type": "censorship", "value": "nsfw"}]


def test_too_much_metadata_is_refused_before_anything_is_stored(loop, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    metadata = [{"type": "information", "value": "see_ref", "ref": str(i)} for i in range(51)]
    assert loop.submit(worker_key, job["id"], expect=400, gen_metadata=metadata)["rc"] == "BadRequest"
    assert loop.check(request_id)["processing"] == 1


def test_any_uploaded_bytes_are_the_result_as_they_came(loop, worker_key):
    """Like the public bucket (and horde-sdk's own round trip, which PUTs raw pixels): the upload
    is stored as it came, and the result downloads as those bytes."""
    import urllib.parse

    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    raw = bytes(range(256)) * 300  # raw pixels, no image header
    loop.upload(job["r2_upload"], raw)
    assert loop.submit(worker_key, job["id"])["reward"] > 0
    generation = loop.status(request_id)["generations"][0]
    parsed = urllib.parse.urlsplit(generation["img"])
    downloaded = loop.client.get(f"{parsed.path}?{parsed.query}")
    assert downloaded.status_code == 200 and downloaded.data == raw
    assert downloaded.mimetype == "application/octet-stream"


def test_upload_refusals(loop, worker_key):
    from PIL import Image

    loop.request()
    job = loop.pop(worker_key)
    url = job["r2_upload"]
    assert loop.upload(url, b"", expect=400).get_json()["rc"] == "ImageValidationFailed"
    import io

    huge = io.BytesIO()
    Image.new("L", (16385, 8)).save(huge, format="PNG")  # decodes as an image too wide for any result
    assert loop.upload(url, huge.getvalue(), expect=400).get_json()["message"] == "The uploaded image is too large."
    forged = url.replace("signature=", "signature=0")
    assert loop.upload(forged, expect=403).get_json()["rc"] == "Forbidden"
    import re

    expired = re.sub(r"expires=\d+", "expires=1000", url)
    assert loop.upload(expired, expect=403).get_json()["rc"] == "Forbidden"


def test_request_no_worker_can_serve_is_flagged(loop):
    body = loop.request(models=["Deliberate"]).get_json()
    assert "No available workers" in body["message"]
    assert body["warnings"][0]["code"] == "NoAvailableWorker"
    assert loop.check(body["id"])["is_possible"] is False


def test_request_a_live_worker_can_serve_is_possible(loop, worker_key, app, users):
    _, rich = users.create("rich", kudos=10000)
    loop.pop(worker_key, models=["Deliberate"])
    app.extensions["horde"].live.clear()
    body = loop.request(models=["Deliberate"]).get_json()
    assert "message" not in body and "warnings" not in body
    assert loop.check(body["id"])["is_possible"] is True
    too_big = loop.request(rich, models=["Deliberate"], params={"width": 2048, "height": 2048}).get_json()
    assert loop.check(too_big["id"])["is_possible"] is False


def test_img2img_source_reaches_the_worker(loop, worker_key):
    from tests.imaging import png_b64

    loop.request(source_image=png_b64(128, 128), params={"denoising_strength": 0.6})
    job = loop.pop(worker_key)
    assert job["source_processing"] == "img2img" and job["source_image"].startswith("http")
    downloaded = loop.client.get(_path(job["source_image"]))
    assert downloaded.status_code == 200 and downloaded.data[:4] == b"RIFF"
    assert job["payload"]["denoising_strength"] == 0.6


def test_inpainting_without_mask_needs_alpha(loop):
    from tests.imaging import png_b64

    body = loop.request(expect=400, source_image=png_b64(), source_processing="inpainting").get_json()
    assert body["rc"] == "InpaintingMissingMask"
    loop.request(source_image=png_b64(mode="RGBA"), source_processing="inpainting")


def test_queue_position_and_wait_time(loop):
    ids = [loop.request(params={"steps": 10}).get_json()["id"] for _ in range(3)]
    positions = [loop.check(i)["queue_position"] for i in ids]
    assert positions == [1, 2, 3]
    waits = [loop.check(i)["wait_time"] for i in ids]
    assert waits == sorted(waits)
