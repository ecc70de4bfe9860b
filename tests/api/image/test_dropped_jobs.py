"""Dropped jobs (behaviour §4.5): more than 20 in an hour put the worker in maintenance with
a TOO_MANY_JOBS_ABORTED suspicion; in raid mode more than 10 give the suspicion only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from horde.models import Suspicion, Worker


def _drop(loop, owner: str, requester: str, times: int, name: str = "flaky-gpu") -> None:
    dropped = 0
    while dropped < times:
        loop.request(requester, prompt=f"drop {dropped}")
        for _ in range(3):  # three faults fault the request; the next one brings a new request
            if dropped == times:
                break
            job = loop.pop(owner, name=name)
            if job["id"] is None:
                break
            loop.submit(owner, job["id"], state="faulted")
            dropped += 1


def _worker(app, name="flaky-gpu") -> tuple[Worker, list[str]]:
    with app.extensions["horde"].db.transaction() as session:
        worker = session.scalar(select(Worker).where(Worker.name == name))
        session.expunge(worker)
        reasons = list(session.scalars(select(Suspicion.reason).where(Suspicion.worker_id == worker.id)))
    return worker, reasons


@pytest.fixture
def parties(users):
    _, owner = users.create("flaky-owner")
    _, requester = users.create("requester", kudos=1000)
    return owner, requester


def test_twenty_one_drops_put_the_worker_in_maintenance(app, loop, parties):
    owner, requester = parties
    _drop(loop, owner, requester, 20)
    worker, reasons = _worker(app)
    assert not worker.maintenance and reasons == [] and worker.uncompleted_jobs == 20
    _drop(loop, owner, requester, 1)
    worker, reasons = _worker(app)
    assert worker.maintenance and "dropped too many jobs" in worker.maintenance_msg
    assert reasons == ["TOO_MANY_JOBS_ABORTED"] and worker.suspicion == 1 and worker.dropped_jobs == 0


def test_raid_mode_counts_ten_and_adds_suspicion_without_maintenance(app, loop, parties, client, users):
    _, mod = users.create("mod", moderator=True)
    assert client.put("/api/v2/status/modes", json={"raid_mode": True}, headers={"apikey": mod}).status_code == 200
    owner, requester = parties
    _drop(loop, owner, requester, 11)
    worker, reasons = _worker(app)
    assert not worker.maintenance and reasons == ["TOO_MANY_JOBS_ABORTED"]
