"""Webhooks (issue 20) from real gunicorn servers to a local https receiver: one signed POST per
delivered job, retries on 500, and a delivery that outlives the node that queued it."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import create_engine, text

from tests import support
from tests.imaging import REGEN, webp_bytes
from tests.webhook_receiver import WebhookReceiver

ANON = {"apikey": "0000000000"}
IMAGE_FIELDS = {"img", "seed", "worker_id", "worker_name", "model", "id", "censored", "gen_metadata", "state", "request", "kudos"}


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    pytest.importorskip("trustme")
    running = WebhookReceiver(tmp_path_factory.mktemp("webhook-ca"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory, receiver):
    env = support.migrated_server_env(
        "horde_webhooks", tmp_path_factory.mktemp("webhooks"),
        HORDE_FETCH_ALLOW_PRIVATE="true", HORDE_WEBHOOK_CA_FILE=str(receiver.ca_file),
    )
    yield env
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


@pytest.fixture(scope="module")
def database(env):
    engine = create_engine(env["HORDE_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def worker_key(env):
    return support.create_user_cli(env, "webhook-worker-owner", "--trusted")[1]


@pytest.fixture(scope="module")
def sender_node(env):
    """A node that runs jobs, so its webhook sender runs too."""
    node = support.ServerProcess(env, workers=2).start()
    yield node
    node.stop()


def _deliver(node, key: str, webhook: str, n: int = 1) -> tuple[str, list[str]]:
    queued = requests.post(
        f"{node.url}/api/v2/generate/async", json={"prompt": "hooked", "params": {"n": n}, "webhook": webhook},
        headers=ANON, timeout=10,
    )
    assert queued.status_code == 202, queued.text
    job_ids = []
    for index in range(n):
        job = requests.post(
            f"{node.url}/api/v2/generate/pop",
            json={"name": "webhook-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN},
            headers={"apikey": key}, timeout=10,
        ).json()
        assert job["id"], job
        assert requests.put(job["r2_upload"], data=webp_bytes(color=(index, 2, 2)), timeout=10).status_code == 200
        done = requests.post(
            f"{node.url}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 40 + index},
            headers={"apikey": key}, timeout=10,
        )
        assert done.status_code == 200, done.text
        job_ids.append(job["id"])
    return queued.json()["id"], job_ids


def _deliveries(database, request_id: str) -> list:
    with database.connect() as conn:
        return conn.execute(
            text("SELECT job_id, state, attempts FROM webhook_deliveries WHERE request_id = :r ORDER BY job_id"),
            {"r": request_id},
        ).all()


def _wait_state(database, request_id: str, state: str, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _deliveries(database, request_id)
        if rows and all(row.state == state for row in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"deliveries of {request_id}: {_deliveries(database, request_id)}")


def _unsigned(generation: dict) -> dict:
    return {**generation, "img": generation["img"].split("?", 1)[0]}


def _secret(database, user_id: int = 0) -> str:
    with database.connect() as conn:
        return conn.execute(text("SELECT webhook_secret FROM users WHERE id = :u"), {"u": user_id}).scalar_one()


def test_a_delivery_survives_the_node_that_queued_it(env, receiver, database, worker_key, request):
    # The node that records the delivery runs no jobs: the webhook waits in the outbox.
    queueing = support.ServerProcess({**env, "HORDE_RUN_JOBS": "false"}, workers=1).start()
    try:
        request_id, job_ids = _deliver(queueing, worker_key, receiver.url("/survivor"))
        assert [(row.job_id, row.state) for row in _deliveries(database, request_id)] == [(job_ids[0], "pending")]
    finally:
        queueing.proc.kill()  # no goodbye: SIGKILL
        queueing.proc.wait(10)
    assert receiver.posts("/survivor") == []
    request.getfixturevalue("sender_node")  # another node, whose sender finds it
    rows = _wait_state(database, request_id, "sent")
    assert [(row.job_id, row.attempts) for row in rows] == [(job_ids[0], 1)]
    posts = receiver.posts("/survivor")
    assert len(posts) == 1 and posts[0].json()["id"] == job_ids[0]


def test_one_signed_post_per_delivered_job(sender_node, receiver, database, worker_key):
    request_id, job_ids = _deliver(sender_node, worker_key, receiver.url("/ok"), n=2)
    _wait_state(database, request_id, "sent")
    posts = [post for post in receiver.posts("/ok") if post.json()["request"] == request_id]
    assert sorted(post.json()["id"] for post in posts) == sorted(job_ids)
    status = requests.get(f"{sender_node.url}/api/v2/generate/status/{request_id}", timeout=10).json()
    by_job = {generation["id"]: generation for generation in status["generations"]}
    secret = _secret(database)
    for post in posts:
        body = post.json()
        assert set(body) == IMAGE_FIELDS
        generation = by_job[body["id"]]
        # the generation as the status route gives it (image URLs are signed afresh each time)
        assert _unsigned({key: body[key] for key in generation}) == _unsigned(generation)
        assert body["kudos"] > 0
        assert post.headers["content-type"] == "application/json"
        assert post.signed_with(secret), "X-Horde-Signature is the HMAC-SHA256 of the body with the user's secret"
        assert not post.signed_with(secret + "x")
        assert requests.get(body["img"], timeout=10).status_code == 200


def test_a_receiver_answering_500_is_tried_again(sender_node, receiver, database, worker_key):
    request_id, job_ids = _deliver(sender_node, worker_key, receiver.url(f"/flaky-{time.monotonic_ns()}"))
    rows = _wait_state(database, request_id, "sent")
    assert rows[0].attempts == 3
    posts = [post for post in receiver.posts("/flaky") if post.json()["request"] == request_id]
    assert [post.json()["id"] for post in posts] == job_ids * 3


def test_a_failing_receiver_gets_three_attempts_then_none(sender_node, receiver, database, worker_key):
    request_id, _ = _deliver(sender_node, worker_key, receiver.url("/fail"))
    rows = _wait_state(database, request_id, "failed")
    assert rows[0].attempts == 3
    assert len([post for post in receiver.posts("/fail") if post.json()["request"] == request_id]) == 3


def test_a_slow_receiver_is_cut_off_after_three_seconds(sender_node, receiver, database, worker_key):
    request_id, _ = _deliver(sender_node, worker_key, receiver.url("/slow"))
    rows = _wait_state(database, request_id, "failed", timeout=40)
    assert rows[0].attempts == 3
    with database.connect() as conn:
        error = conn.execute(text("SELECT last_error FROM webhook_deliveries WHERE request_id = :r"), {"r": request_id}).scalar_one()
    assert "in time" in error
