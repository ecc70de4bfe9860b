"""GET /status/performance from the scheduler's roll-ups."""

from horde.db import utcnow
from horde.domain.queue import maintenance


def test_performance_figures(app, loop, users):
    _, owner = users.create("owner", trusted=True)
    loop.pop(owner, name="w1", threads=3)
    loop.request(params={"n": 2, "steps": 10})
    loop.request()
    job = loop.pop(owner, name="w1")
    loop.upload(job["r2_upload"])
    loop.submit(owner, job["id"])
    app.extensions["horde"].live.clear()
    with app.extensions["horde"].db.session_factory() as session:
        maintenance.refresh_snapshots(session, app.extensions["horde"], utcnow())
    body = loop.client.get("/api/v2/status/performance").get_json()
    assert body["worker_count"] == 1 and body["thread_count"] == 3
    assert body["queued_requests"] == 2  # two jobs still waiting
    assert body["queued_megapixelsteps"] > 0 and body["past_minute_megapixelsteps"] > 0
    assert body["queued_text_requests"] == 0 and body["text_worker_count"] == 0 and body["queued_forms"] == 0.0


def test_performance_without_a_scheduler_yet(loop):
    body = loop.client.get("/api/v2/status/performance").get_json()
    assert body["queued_requests"] == 0 and body["worker_count"] == 0
    assert set(body) >= {"queued_tokens", "past_minute_tokens", "interrogator_count"}
