"""The webhook outbox: a row per delivered job, its attempts, and senders that share it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import select

from horde.db import utcnow
from horde.domain.queue import webhooks
from horde.jobs.webhooks import WebhookSender
from horde.models import WebhookDelivery


@pytest.fixture
def worker_key(users):
    return users.create("hook-owner", trusted=True)[1]


def _deliver(loop, key: str, webhook: str | None, n: int = 1) -> list[str]:
    body = {"params": {"n": n}}
    if webhook:
        body["webhook"] = webhook
    loop.request(**body)
    job_ids = []
    for _ in range(n):
        job = loop.pop(key)
        loop.upload(job["r2_upload"])
        loop.submit(key, job["id"])
        job_ids.append(job["id"])
    return job_ids


def _rows(app) -> list[WebhookDelivery]:
    with app.extensions["horde"].db.session_factory() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_row_per_delivered_job_only_with_a_webhook(app, loop, worker_key):
    _deliver(loop, worker_key, None)
    assert _rows(app) == []
    job_ids = _deliver(loop, worker_key, "https://hooks.example/endpoint", n=2)
    rows = _rows(app)
    assert sorted(row.job_id for row in rows) == sorted(job_ids)
    assert {(row.state, row.attempts, row.url, row.user_id) for row in rows} == {("pending", 0, "https://hooks.example/endpoint", 0)}
    assert all(row.kudos > 0 for row in rows)


def test_attempts_back_off_then_give_up(app, loop, worker_key):
    _deliver(loop, worker_key, "https://hooks.example/x")
    db = app.extensions["horde"].db
    now = utcnow()
    outcomes = []
    for attempt in range(webhooks.MAX_ATTEMPTS):
        with db.session_factory() as session:
            claimed = webhooks.claim(session, now)
            assert claimed is not None and claimed.attempts == attempt + 1
            assert webhooks.claim(session, now) is None, "a claimed delivery is nobody else's"
            session.commit()
            outcomes.append(webhooks.record(session, claimed.id, ok=False, status=500, error=None, now=now))
            session.commit()
            row = session.get(WebhookDelivery, claimed.id, populate_existing=True)
            if attempt < len(webhooks.RETRY_AFTER):
                assert row.next_attempt == now + dt.timedelta(seconds=webhooks.RETRY_AFTER[attempt])
                assert webhooks.claim(session, now) is None, "not due before its backoff"
                now = row.next_attempt
    assert outcomes == ["pending", "pending", "failed"]
    with db.session_factory() as session:
        assert webhooks.claim(session, now + dt.timedelta(hours=1)) is None


def test_a_sender_that_died_holding_a_claim_is_replaced_after_its_lease(app, loop, worker_key):
    _deliver(loop, worker_key, "https://hooks.example/y")
    db = app.extensions["horde"].db
    now = utcnow()
    with db.session_factory() as session:
        assert webhooks.claim(session, now) is not None
        session.commit()  # ...and the sender dies here
        assert webhooks.claim(session, now + webhooks.LEASE - dt.timedelta(seconds=1)) is None
        again = webhooks.claim(session, now + webhooks.LEASE + dt.timedelta(seconds=1))
        assert again is not None and again.attempts == 2


def test_two_senders_send_each_job_once(pg_app, tmp_path):
    """Two nodes' senders (four threads each) on one PostgreSQL outbox: SKIP LOCKED claims."""
    from tests.api.image.conftest import Loop
    from tests.conftest import Users
    from tests.webhook_receiver import WebhookReceiver

    pytest.importorskip("trustme")
    receiver = WebhookReceiver(tmp_path)
    try:
        users = Users(pg_app)
        loop = Loop(pg_app.test_client(), users)
        key = users.create("hook-owner", trusted=True)[1]
        job_ids = []
        for _ in range(6):
            job_ids += _deliver(loop, key, receiver.url("/ok"), n=2)
        services = pg_app.extensions["horde"]
        trusting = dataclasses.replace(
            services, settings=services.settings.with_(fetch_allow_private=True, webhook_ca_file=str(receiver.ca_file))
        )
        senders = [WebhookSender(trusting, threads=4), WebhookSender(trusting, threads=4)]
        start = threading.Barrier(8)

        def drain(sender):
            start.wait()
            while sender.send_one():
                pass

        threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        posts = receiver.posts("/ok")
        assert sorted(post.json()["id"] for post in posts) == sorted(job_ids)
        assert {row.state for row in _rows(pg_app)} == {"sent"}
    finally:
        receiver.stop()


def test_plain_http_webhooks_are_refused_when_queued(loop):
    answer = loop.request(expect=400, webhook="http://hooks.example/plain")
    assert answer.get_json()["rc"] == "BadRequest"
