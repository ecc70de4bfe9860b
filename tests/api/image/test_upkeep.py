"""Stale-job requeue, faulting after restarts, expiry deleting images, anonymous kudos folding."""

import datetime as dt

from horde.db import utcnow
from horde.domain.queue import maintenance
from horde.models import GenerationRequest, Job
from horde.storage import result_key


def _session(app):
    return app.extensions["horde"].db.session_factory()


def test_stale_job_is_requeued_and_late_submit_is_aborted(app, loop, worker_key):
    request_id = loop.request().get_json()["id"]
    job = loop.pop(worker_key)
    with _session(app) as session:
        assert maintenance.requeue_stale_jobs(session, utcnow()) == 0  # within its TTL
        deadline = session.get(Job, job["id"]).deadline
        assert maintenance.requeue_stale_jobs(session, deadline + dt.timedelta(seconds=1)) == 1
    check = loop.check(request_id)
    assert check["waiting"] == 1 and check["restarted"] == 1 and check["processing"] == 0
    loop.upload(job["r2_upload"])
    late = loop.submit(worker_key, job["id"], expect=400)
    assert late["rc"] == "AbortedGen" and "Please check your worker speed" in late["message"]
    assert loop.pop(worker_key)["id"] is not None


def test_jobs_are_never_lost_within_their_ttl(app, loop, worker_key):
    """A job whose TTL outlives the request's 20 minutes keeps its request alive."""
    _, rich = loop.users.create("rich", kudos=100000)
    request_id = loop.request(rich, params={"width": 2048, "height": 2048, "steps": 200}).get_json()["id"]
    job = loop.pop(worker_key, max_pixels=2048 * 2048)
    with _session(app) as session:
        deadline = session.get(Job, job["id"]).deadline
        request = session.get(GenerationRequest, request_id)
        assert request.expiry > deadline
        just_before = deadline - dt.timedelta(seconds=1)
        assert maintenance.expire_requests(session, app.extensions["horde"], just_before) == 0
        assert maintenance.requeue_stale_jobs(session, just_before) == 0
    loop.upload(job["r2_upload"])
    assert loop.submit(worker_key, job["id"])["reward"] > 0


def test_repeated_timeouts_fault_the_request(app, loop, worker_key):
    request_id = loop.request().get_json()["id"]
    for _ in range(3):
        job = loop.pop(worker_key)
        with _session(app) as session:
            deadline = session.get(Job, job["id"]).deadline
            maintenance.requeue_stale_jobs(session, deadline + dt.timedelta(seconds=1))
    check = loop.check(request_id)
    assert check["faulted"] and check["done"]


def test_expiry_deletes_request_and_images(app, loop, worker_key):
    from tests.imaging import png_b64

    store = app.extensions["horde"].store
    request_id = loop.request(source_image=png_b64()).get_json()["id"]
    job = loop.pop(worker_key)
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    assert store.exists(result_key(job["id"])) and store.exists(f"{request_id}_src.webp")
    with _session(app) as session:
        expiry = session.get(GenerationRequest, request_id).expiry
        assert maintenance.expire_requests(session, app.extensions["horde"], expiry - dt.timedelta(seconds=1)) == 0
        assert maintenance.expire_requests(session, app.extensions["horde"], expiry + dt.timedelta(seconds=1)) == 1
    assert loop.client.get(f"/api/v2/generate/status/{request_id}").status_code == 404
    assert not store.exists(result_key(job["id"])) and not store.exists(f"{request_id}_src.webp")
    assert loop.submit(worker_key, job["id"], expect=404)["rc"] == "InvalidJobID"


def test_anonymous_kudos_are_folded_by_the_job(app, loop, worker_key):
    loop.request()
    job = loop.pop(worker_key)
    loop.upload(job["r2_upload"])
    loop.submit(worker_key, job["id"])
    anon = lambda: loop.client.get("/api/v2/users/0").get_json()["kudos"]  # noqa: E731
    assert anon() == 0  # requests never touch the anonymous row
    with _session(app) as session:
        folded = maintenance.fold_anonymous_kudos(session)
    assert folded < 0 and anon() == round(max(folded, -50), 2)
    with _session(app) as session:
        assert maintenance.fold_anonymous_kudos(session) == 0


def test_snapshot_gives_positions(app, loop):
    ids = [loop.request().get_json()["id"] for _ in range(3)]
    with _session(app) as session:
        maintenance.refresh_snapshots(session, app.extensions["horde"], utcnow())
    assert app.extensions["horde"].cache.hash_get("queue:image", ids[2]).startswith("3,")
    assert [loop.check(i)["queue_position"] for i in ids] == [1, 2, 3]
    totals = app.extensions["horde"].cache.get("totals:image")
    assert totals["queued_jobs"] == 3
