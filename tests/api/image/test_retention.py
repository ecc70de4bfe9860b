"""Retention jobs (horde/jobs/retention.py): what each deletes, what it keeps, and that the
API's numbers (users' kudos details and records, statistics, worker counters) are the same
before and after a pruning. On PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update

from horde.db import utcnow
from horde.domain.accounts import kudos_rollup, ledger
from horde.domain.queue import maintenance, stats
from horde.jobs import retention
from horde.models import (
    DailyStat, GenerationRequest, GenerationStat, KudosEvent, KudosRollup, WebhookDelivery, Worker, WorkerMessage,
)
from tests.api.image.test_kudos_conservation import assert_books_balance

DAY = dt.timedelta(days=1)
JOBS = {job.name: job for job in retention.JOBS}


def _session(app):
    return app.extensions["horde"].db.session_factory()


def run_all(app, now=None) -> dict[str, int]:
    """Every retention job once, as the scheduler runs them, with room to finish."""
    svc = app.extensions["horde"]
    with _session(app) as session:
        return {job.name: retention.run(job, session, svc, now or utcnow(), budget=60.0) for job in retention.JOBS}


def age(app, column, by: dt.timedelta, *where) -> None:
    """Move a timestamp column of the matching rows `by` into the past (row by row: the same
    on both databases)."""
    table = column.class_
    (key,) = table.__table__.primary_key.columns
    with _session(app) as session:
        for row_id, value in session.execute(select(key, column).where(*where)).all():
            session.execute(update(table.__table__).where(key == row_id).values({column.key: value - by}))
        session.commit()


def count(app, model, *where) -> int:
    with _session(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def deliver(loop, requester: str, worker_key: str, n: int = 1, **body) -> str:
    request_id = loop.request(requester, params={"steps": 10, "n": n}, **body).get_json()["id"]
    for _ in range(n):
        job = loop.pop(worker_key, name=f"worker-{worker_key[:6]}")
        loop.upload(job["r2_upload"])
        loop.submit(worker_key, job["id"])
    return request_id


def transfer(client, key: str, target: str, amount: int, idempotency_key: str | None = None) -> dict:
    headers = {"apikey": key, **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    response = client.post("/api/v2/kudos/transfer", json={"username": target, "amount": amount}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def api_numbers(app, client, user_ids, worker_ids) -> dict:
    """What the API shows, read afresh: the statistics snapshot is compiled again."""
    app.extensions["horde"].cache.delete("stats:image")
    get = lambda path: client.get(path).get_json()  # noqa: E731
    # account_age counts the seconds of the test itself: the one field left out.
    user = lambda user_id: {k: v for k, v in get(f"/api/v2/users/{user_id}").items() if k != "account_age"}  # noqa: E731
    return {
        "users": {user_id: user(user_id) for user_id in user_ids},
        "workers": {worker_id: get(f"/api/v2/workers/{worker_id}") for worker_id in worker_ids},
        "totals": get("/api/v2/stats/img/totals"),
        "models": get("/api/v2/stats/img/models?model_state=all"),
    }


def test_the_api_shows_the_same_numbers_after_a_pruning(app, loop, users):
    owner_id, owner = users.create("owner", trusted=True)
    alice_id, alice = users.create("alice", kudos=5000)
    bob_id, bob = users.create("bob", kudos=100)
    untrusted_id, untrusted = users.create("newcomer")  # half of its rewards go to escrow
    deliver(loop, alice, owner, n=3)
    deliver(loop, "0000000000", untrusted, n=1)  # anonymous: events folded by the job
    deliver(loop, bob, owner, n=2, models=["stable_diffusion"])
    transfer(loop.client, alice, f"bob#{bob_id}", 25)
    transfer(loop.client, alice, f"bob#{bob_id}", 10, idempotency_key="gift-1")
    with _session(app) as session:
        maintenance.fold_anonymous_kudos(session)
        session.add(GenerationStat(kind="image", model="Old Model", finished=utcnow() - 40 * DAY, things=1e6, state="ok"))
        session.commit()
    # Three days ago, all of it: past the retention of raw rows and events, inside the month.
    age(app, KudosEvent.created, 3 * DAY)
    age(app, GenerationStat.finished, 3 * DAY, GenerationStat.model != "Old Model")
    age(app, GenerationRequest.expiry, 3 * DAY)
    deliver(loop, alice, untrusted, n=1)  # and one job now
    events_now = count(app, KudosEvent, KudosEvent.created > utcnow() - DAY)
    assert events_now >= 2  # the requester charged, the owner paid
    with _session(app) as session:
        worker_ids = list(session.scalars(select(Worker.id)))
    user_ids = [0, owner_id, alice_id, bob_id, untrusted_id]
    before = api_numbers(app, loop.client, user_ids, worker_ids)
    assert before["totals"]["total"]["images"] == 8 and before["totals"]["day"]["images"] == 1

    done = run_all(app)

    assert done["roll-up-kudos-events"] > 0 and done["prune-generation-stats"] > 0 and done["expire-requests"] > 0
    # Kept: the events of the last day, the keyed transfer (for its key), the newest request.
    assert count(app, KudosEvent) == events_now + 1
    assert count(app, KudosEvent, KudosEvent.idempotency_key == "gift-1") == 1
    assert count(app, GenerationStat) == 1 and count(app, GenerationRequest) == 1
    assert count(app, DailyStat, DailyStat.model == "Old Model") == 0  # older than the month
    assert count(app, KudosRollup) > 0
    after = api_numbers(app, loop.client, user_ids, worker_ids)
    changed = {
        (part, key, field): (before[part][key][field], after[part][key].get(field))
        for part in ("users", "workers") for key in before[part] for field in before[part][key]
        if before[part][key][field] != after[part][key].get(field)
    }
    assert not changed
    assert after == before
    assert_books_balance(app, requests_expired=True)
    # A second run finds nothing more to do.
    assert sum(run_all(app).values()) == 0


def test_the_kudos_walk_stops_at_recent_and_unapplied_events(app, users):
    alice_id, _ = users.create("alice")
    now = utcnow()
    with _session(app) as session:
        old = dict(user_id=alice_id, bucket="accumulated", reason="reward", folded=True)
        ledger.record_events(session, [
            {**old, "amount": 1.25, "created": now - 3 * DAY},
            {**old, "amount": 2.5, "created": now - 2 * DAY},
            {**old, "user_id": 0, "amount": -1.0, "reason": "generation", "folded": False, "created": now - 2 * DAY},
            {**old, "amount": 4.0, "created": now - 2 * DAY},  # behind the unapplied one: waits for it
            {**old, "amount": 8.0, "created": now - dt.timedelta(hours=3)},  # recent: the dashboard reads it
        ])
        session.commit()
        assert kudos_rollup.roll_up(session, now) == 2
        assert kudos_rollup.roll_up(session, now) == 0
        assert sorted(session.scalars(select(KudosEvent.amount))) == [-1.0, 4.0, 8.0]
        rollup = session.get(KudosRollup, (alice_id, "accumulated", "reward"))
        assert (rollup.amount, rollup.events) == (3.75, 2)
        maintenance.fold_anonymous_kudos(session)
        assert kudos_rollup.roll_up(session, now) == 2  # the walk goes on once it is applied
        assert sorted(session.scalars(select(KudosEvent.amount))) == [8.0]
        session.expire_all()  # the roll-up rows read above are stale now
        assert session.get(KudosRollup, (alice_id, "accumulated", "reward")).amount == 7.75
        assert session.get(KudosRollup, (0, "accumulated", "generation")).amount == -1.0


def test_a_keyed_transfer_is_answered_until_its_key_expires(app, loop, users):
    alice_id, alice = users.create("alice", kudos=100)
    bob_id, _ = users.create("bob")
    balance = lambda user_id: loop.client.get(f"/api/v2/users/{user_id}").get_json()["kudos"]  # noqa: E731
    assert transfer(loop.client, alice, f"bob#{bob_id}", 10, "gift-7") == {"transferred": 10.0}
    balances = (balance(alice_id), balance(bob_id))
    assert balances[0] == 90
    age(app, KudosEvent.created, 2 * DAY)
    run_all(app)
    # Past the events' retention, but its key is kept: the repeat moves nothing.
    assert transfer(loop.client, alice, f"bob#{bob_id}", 10, "gift-7") == {"transferred": 10.0}
    assert (balance(alice_id), balance(bob_id)) == balances
    assert count(app, KudosEvent, KudosEvent.idempotency_key == "gift-7") == 1
    age(app, KudosEvent.created, kudos_rollup.IDEMPOTENCY_KEPT)
    assert run_all(app)["roll-up-kudos-events"] == 1
    assert count(app, KudosEvent) == 0
    with _session(app) as session:
        assert session.get(KudosRollup, (alice_id, "gifted", "transfer")).amount == -10
    assert (balance(alice_id), balance(bob_id)) == balances
    assert_books_balance(app)


def test_raw_statistics_wait_for_their_roll_up(app):
    now = utcnow()
    with _session(app) as session:
        for age_of_row in (3 * DAY, 2 * DAY, dt.timedelta(hours=23)):
            session.add(GenerationStat(kind="image", model="m", finished=now - age_of_row, things=1.0, state="ok"))
        session.add(DailyStat(kind="image", model="m", day=(now - 31 * DAY).date(), count=1, things=1.0))
        session.add(DailyStat(kind="image", model="m", day=(now - 33 * DAY).date(), count=1, things=1.0))
        session.commit()
        assert stats.prune_raw(session, "image", now) == 0  # not rolled up yet: the totals need them
        stats.roll_up(session, "image")
        assert stats.prune_raw(session, "image", now) == 2
        assert session.scalar(select(func.count()).select_from(GenerationStat)) == 1  # the day window's
        assert stats.prune_days(session, now) == 1
        assert [d.day for d in session.scalars(select(DailyStat).where(DailyStat.model == "m").order_by(DailyStat.day))][0] \
            == (now - 31 * DAY).date()


def test_expired_messages_and_old_webhook_deliveries_go(app, users):
    author_id, _ = users.create("mod", moderator=True)
    now = utcnow()
    with _session(app) as session:
        for days in (10, 2, -1):  # expired 10 days ago, 2 days ago, expires tomorrow
            session.add(WorkerMessage(id=str(uuid.uuid4()), worker_id=None, user_id=author_id, message=f"{days}",
                                      origin="mods", expiry=now - days * DAY, created=now - (days + 1) * DAY))
        for hours in (30, 2):
            session.add(WebhookDelivery(job_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()), kind="image",
                                        user_id=author_id, url="https://example.com/hook", state="sent",
                                        created=now - dt.timedelta(hours=hours)))
        session.commit()
    done = run_all(app, now)
    assert done["prune-worker-messages"] == 1 and done["prune-webhook-deliveries"] == 1
    with _session(app) as session:
        assert sorted(session.scalars(select(WorkerMessage.message))) == ["-1", "2"]
        assert session.scalar(select(WebhookDelivery.created)) == now - dt.timedelta(hours=2)


def test_expiry_works_off_a_backlog_in_chunks_within_its_budget(app, loop, monkeypatch):
    monkeypatch.setattr(maintenance, "BATCH", 2)
    for _ in range(5):
        loop.request()
    later = utcnow() + dt.timedelta(hours=1)
    svc = app.extensions["horde"]
    with _session(app) as session:
        assert retention.run(JOBS["expire-requests"], session, svc, later, budget=0.0) == 2  # one chunk, then out of time
        assert retention.run(JOBS["expire-requests"], session, svc, later) == 3  # the rest, two chunks
    assert count(app, GenerationRequest) == 0


def test_the_scheduler_runs_every_retention_job(app):
    from horde.jobs import periodic_jobs

    names = {job.name for job in periodic_jobs(app, lock=None)}
    assert set(JOBS) <= names


def test_every_kind_is_rolled_up_and_pruned_however_sparse(app, monkeypatch):
    """An image horde records interrogations too, a few among many images: the roll-up of
    each kind walks past the other's rows, so both can be pruned."""
    monkeypatch.setattr(stats, "ROLL_UP_BATCH", 2)
    svc = app.extensions["horde"]
    old = utcnow() - 3 * DAY
    with _session(app) as session:
        for kind in ("image", "image", "image", "image", "interrogation"):
            session.add(GenerationStat(kind=kind, model="m", finished=old, things=1.0, state="ok"))
        session.commit()
        for _ in range(3):  # the scheduler's statistics job, three times
            stats.refresh_all(session, svc.cache, maintenance.served_kinds(svc), utcnow())
        assert stats.compile_windows(session, "interrogation", utcnow())["total"] == {"m": [1, 1.0]}
    assert run_all(app)["prune-generation-stats"] == 5
    assert count(app, GenerationStat) == 0
