"""Kudos conservation as a property: a seeded random walk of transfers (good and bad, keys
repeated), awards, admin changes, requests, pops, deliveries (ok, censored, faulted),
cancellations and folds of the anonymous account, through the API, on PostgreSQL and SQLite.

After every step the books balance to the cent:
- each balance is the sum of its applied kudos events (and of the roll-ups that old events
  were added to) plus what the floor added or the ceiling cut off (`kudos_adjustments`);
  each detail bucket is the sum of its events and roll-ups;
- transfers move kudos and create none;
- what requests recorded as consumed is what their requesters were charged per job;
- what workers recorded as earned is what their owners were paid, to the balance or in escrow.
"""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from horde.domain.accounts import ledger
from horde.domain.queue import maintenance
from tests.imaging import webp_bytes

STEPS = 160
CENT = 0.005


@contextmanager
def _session(app):
    with app.extensions["horde"].db.transaction() as session:
        yield session


def _scalar(conn, sql: str) -> float:
    return float(conn.execute(text(sql)).scalar() or 0.0)



def _ledger(applied_only: bool) -> str:
    """Kudos events (all, or those applied to their balance) with the roll-ups that old
    events were added to when they were deleted (only ever applied ones): one ledger."""
    return (
        "(SELECT user_id, amount, bucket, reason FROM kudos_events" + (" WHERE folded" if applied_only else "")
        + " UNION ALL SELECT user_id, amount, bucket, reason FROM kudos_rollups) AS e"
    )


APPLIED, LEDGER = _ledger(True), _ledger(False)


def assert_books_balance(app, requests_expired: bool = False) -> None:
    """`requests_expired`: some requests are gone (with what they consumed), their charges stay."""
    with app.extensions["horde"].db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.id, u.kudos, u.kudos_adjustments, "
            + ", ".join(f"u.kudos_{b}" for b in ledger.KUDOS_BUCKETS)
            + f", (SELECT coalesce(sum(e.amount), 0) FROM {APPLIED} WHERE e.user_id = u.id)"
            " FROM users u ORDER BY u.id"
        )).all()
        for row in rows:
            user_id, balance, adjustments, *buckets, applied = row
            assert abs(balance - (applied + adjustments)) < CENT, f"user {user_id}: {balance} != {applied} + {adjustments}"
            assert ledger.FLOOR_ANONYMOUS <= balance <= ledger.MAX_BALANCE
        for bucket, total in zip(ledger.KUDOS_BUCKETS, zip(*[r[3:3 + len(ledger.KUDOS_BUCKETS)] for r in rows])):
            events = _scalar(conn, f"SELECT sum(amount) FROM {APPLIED} WHERE bucket = '{bucket}'")
            assert abs(sum(total) - events) < CENT, bucket
        assert abs(_scalar(conn, f"SELECT sum(amount) FROM {LEDGER} WHERE reason = 'transfer'")) < CENT
        if not requests_expired:
            consumed = _scalar(conn, "SELECT sum(consumed_kudos) FROM requests")
            charged = _scalar(conn, f"SELECT sum(amount) FROM {LEDGER} WHERE reason = 'generation'")
            assert abs(consumed + charged) < CENT, (consumed, charged)
        earned = _scalar(conn, "SELECT sum(kudos_generated) FROM workers")
        paid = _scalar(conn, f"SELECT sum(amount) FROM {LEDGER} WHERE reason = 'reward'")
        escrow = _scalar(conn, "SELECT sum(evaluating_kudos) FROM users")
        assert abs(earned - (paid + escrow)) < CENT, (earned, paid, escrow)


class Walk:
    def __init__(self, app, users, loop, seed: int):
        self.app, self.loop, self.rng = app, loop, random.Random(seed)
        self.client = app.test_client()
        self.admin = users.create("admin")  # admin#1
        self.mod = users.create("mod", moderator=True)
        self.people = [("Anonymous#0", "0000000000")]
        for name, kudos in (("alice", 300), ("bob", 40), ("carol", 0), ("dave", 1000)):
            user_id, key = users.create(name, kudos=kudos)
            self.people.append((f"{name}#{user_id}", key))
        self.owners = [users.create("trusted-owner", trusted=True, kudos=5)[1], users.create("new-owner")[1]]
        self.queued: list[str] = []
        self.keys = [f"key-{i}" for i in range(4)]

    def step(self) -> None:
        action = self.rng.choice(
            [self.transfer, self.transfer, self.award, self.admin_change, self.request, self.request,
             self.work, self.work, self.work, self.cancel, self.fold]
        )
        action()

    def _post(self, path: str, key: str, body: dict, headers: dict | None = None):
        response = self.client.post(path, json=body, headers={"apikey": key, **(headers or {})})
        assert response.status_code < 500, response.get_json()
        return response

    def transfer(self) -> None:
        (_, key), (alias, _) = self.rng.choice(self.people), self.rng.choice(self.people)
        amount = self.rng.choice([-5, 0, 1, 7, 25, 120, 400, 10**11])
        headers = {"Idempotency-Key": self.rng.choice(self.keys)} if self.rng.random() < 0.3 else {}
        self._post("/api/v2/kudos/transfer", key, {"username": alias, "amount": amount}, headers)

    def award(self) -> None:
        alias, _ = self.rng.choice(self.people)
        self._post("/api/v2/kudos/award", self.mod[1], {"username": alias, "amount": self.rng.choice([1, 15, 250])})

    def admin_change(self) -> None:
        alias, _ = self.rng.choice(self.people[1:])
        change = round(self.rng.uniform(-400, 400), 2)
        response = self.client.put(f"/api/v2/users/{alias.rsplit('#', 1)[1]}", json={"kudos": change},
                                   headers={"apikey": self.admin[1]})
        assert response.status_code == 200, response.get_json()

    def request(self) -> None:
        _, key = self.rng.choice(self.people)
        body = {"prompt": "a lighthouse", "params": {"n": self.rng.choice([1, 2]), "steps": self.rng.choice([10, 30])}}
        response = self._post("/api/v2/generate/async", key, body)
        if response.status_code == 202:
            self.queued.append(response.get_json()["id"])

    def work(self) -> None:
        owner = self.rng.choice(self.owners)
        job = self.loop.pop(owner, name=f"walker-{self.owners.index(owner)}")
        for job_id, upload in zip(job["ids"], job["r2_uploads"] or []):
            outcome = self.rng.choice(["ok", "ok", "censored", "faulted"])
            if outcome == "faulted":
                self.loop.submit(owner, job_id, state="faulted")
                continue
            self.loop.upload(upload, webp_bytes())
            metadata = [{"type": "censorship", "value": "nsfw"}] if outcome == "censored" else []
            self.loop.submit(owner, job_id, gen_metadata=metadata)

    def cancel(self) -> None:
        if self.queued:
            request_id = self.queued.pop(self.rng.randrange(len(self.queued)))
            assert self.client.delete(f"/api/v2/generate/status/{request_id}").status_code == 200

    def fold(self) -> None:
        with _session(self.app) as session:
            maintenance.fold_anonymous_kudos(session)


@pytest.mark.parametrize("seed", [3, 17])
def test_kudos_are_conserved_through_a_random_walk(app, users, loop, seed):
    walk = Walk(app, users, loop, seed)
    for _ in range(STEPS):
        walk.step()
        assert_books_balance(app)
    walk.fold()
    assert_books_balance(app)
    with app.extensions["horde"].db.engine.connect() as conn:
        reasons = dict(conn.execute(text("SELECT reason, count(*) FROM kudos_events GROUP BY reason")).all())
        states = dict(conn.execute(text("SELECT state, count(*) FROM jobs GROUP BY state")).all())
        adjusted = conn.execute(text("SELECT count(*) FROM users WHERE kudos_adjustments <> 0")).scalar_one()
    # The walk really did all of it: transfers, awards, admin changes, taxes, charges, rewards,
    # deliveries of each kind, and balances held at a floor.
    assert {"transfer", "award", "admin", "tax", "generation", "reward"} <= set(reasons), reasons
    assert {"ok", "censored", "faulted"} <= set(states), states
    assert adjusted >= 1
