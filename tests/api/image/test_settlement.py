"""Exact balances after every way an image job can end (spec/behaviour.md §2.5, §2.6, §2.13).

One scenario: a requester with 100 kudos asks for one SD 1.5 image of 1024x1024 at 30 steps
(or three, for the cancel cases); a worker of an owner with 100 kudos, on team "Night
Shift", takes it. The expected kudos are worked out here from the spec:

  price K  = 0.1232 x 30 + 1 x 0.1232 x 30 x 8.75      = 36.04   (§2.2 point 3, ratio 1 at 1024x1024)
  tax      = 1                                           (§2.5)
  burn     = K + 1 = 37.04; censored: 0 + 1 = 1           (§2.2 burn, slow workers, no source image)
  earned   = K x B, B = 0.9 for reGen 9 (latest is 13)   = 32.44   (§2.6)
  escrow   = untrusted owners: half of earned            = 16.22   (§2.13)
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, update

from horde.db import utcnow
from horde.domain.queue import maintenance
from horde.models import ANONYMOUS_USER_ID, GenerationRequest, KudosEvent, SharedKey, Team, User, WebhookDelivery, Worker
from tests.imaging import REGEN, webp_bytes

START = 100.0
K = round(0.1232 * 30 + 1.0 * 0.1232 * 30 * 8.75, 2)
TAX = 1.0
BURN = K + 1
CENSORED_BURN = 0 + 1
EARNED = round(K * 0.9, 2)
HALF = round(EARNED / 2, 2)
REQUEST = {"params": {"width": 1024, "height": 1024, "steps": 30}}
POP = {"max_pixels": 1024 * 1024, "bridge_agent": REGEN}


THINGS = 1024 * 1024 * 30  # pixelsteps of one job (§1.4)
MPS = round(THINGS / 1e6, 2)  # megapixelsteps, as records keep them


class Clock:
    """The routes' clock, passed in (`horde.api.image.generate.utcnow`): a job delivered at the
    time it was handed out took the minimum of one second, so the worker's speed is exactly
    its pixelsteps per second; `advance` makes a delivery come later."""

    def __init__(self):
        self.now = utcnow()

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    from horde.api.image import generate

    fake = Clock()
    monkeypatch.setattr(generate, "utcnow", lambda: fake.now)
    return fake


@pytest.fixture
def frozen(clock):
    return clock.now


class Parties:
    def __init__(self, app, loop, users, owner_trusted: bool):
        self.app, self.loop = app, loop
        self.requester_id, self.requester = users.create("requester", kudos=START)
        self.owner_id, self.owner = users.create("owner", kudos=START, trusted=owner_trusted)
        self.team_id = str(uuid.uuid4())
        self.request_id: str | None = None
        with self.db() as session, session.begin():
            session.add(Team(id=self.team_id, name="Night Shift", name_lower="night shift", creator_id=self.owner_id))

    def db(self):
        return self.app.extensions["horde"].db.session_factory()

    def request(self, **body):
        self.request_id = self.loop.request(self.requester, **{**REQUEST, **body}).get_json()["id"]
        return self.request_id

    def pop(self, **body):
        job = self.loop.pop(self.owner, **{**POP, **body})
        with self.db() as session, session.begin():  # the worker joins the team before it delivers
            session.execute(update(Worker).values(team_id=self.team_id))
        return job

    def deliver(self, job, **submit):
        if job["r2_upload"]:
            self.loop.upload(job["r2_upload"])
        else:  # a bridge without r2 sends the image inline
            submit.setdefault("generation", base64.b64encode(webp_bytes()).decode())
        return self.loop.submit(self.owner, job["id"], **submit)

    def state(self) -> dict:
        with self.db() as session:
            users = {u.id: u for u in session.scalars(select(User))}
            events = dict(session.execute(select(KudosEvent.user_id, func.sum(KudosEvent.amount)).group_by(KudosEvent.user_id)).all())
            worker = session.scalar(select(Worker))
            team = session.get(Team, self.team_id)
            request = session.get(GenerationRequest, self.request_id) if self.request_id else None
            requester, owner = users[self.requester_id], users[self.owner_id]
            # Every balance is the sum of its events (the floor aside): nothing moves unrecorded.
            for user in (requester, owner):
                assert user.kudos == pytest.approx(events.get(user.id, 0.0), abs=1e-9)
            return {
                "requester": requester.kudos, "owner": owner.kudos, "escrow": owner.evaluating_kudos,
                "worker": worker.kudos_generated if worker else 0.0, "team": team.kudos,
                "anonymous": users[ANONYMOUS_USER_ID].kudos,
                # the buckets of kudos_details (§2.12) and the records (§2.6)
                "requester accumulated": requester.kudos_accumulated, "requester admin": requester.kudos_admin,
                "owner accumulated": owner.kudos_accumulated, "requests": requester.requested_image,
                "usage": requester.usage_megapixelsteps, "fulfilled": owner.fulfilled_image,
                "contributed": owner.contributed_megapixelsteps,
                "worker jobs": worker.fulfilments if worker else 0, "worker contributions": worker.contributions if worker else 0.0,
                "worker speed": worker.speed if worker else None,
                "team jobs": team.fulfilments, "team contributions": team.contributions,
                "request": None if request is None else {
                    "consumed": request.consumed_kudos, "finished": request.finished, "processing": request.processing,
                    "expiry": request.expiry,
                },
            }


def events_of(parties, user_id: int) -> list[tuple]:
    """A user's kudos events as (reason, bucket, amount, request, job, other user)."""
    with parties.db() as session:
        rows = session.scalars(select(KudosEvent).where(KudosEvent.user_id == user_id).order_by(KudosEvent.id))
        return [(e.reason, e.bucket, pytest.approx(e.amount, abs=1e-9), e.request_id, e.job_id, e.other_user_id) for e in rows]


def expected(requester_pays: float, earned: float, owner_trusted: bool, *, delivered: int = 1, request=None, speed=None) -> dict:
    """Balances and records after `delivered` jobs: the requester paid the tax and then
    `requester_pays - tax`; the worker earned `earned` in all."""
    escrow = 0.0 if owner_trusted else round(earned / 2, 2)
    worked = 1 if earned else 0
    return {
        "requester": START - requester_pays, "owner": START + earned - escrow, "escrow": escrow,
        "worker": earned, "team": earned, "anonymous": 0.0,
        "requester accumulated": -requester_pays, "requester admin": START, "owner accumulated": earned - escrow,
        "requests": 1, "usage": MPS * delivered, "fulfilled": worked, "contributed": MPS * worked,
        "worker jobs": worked, "worker contributions": MPS * worked, "worker speed": speed,
        "team jobs": worked, "team contributions": MPS * worked, "request": request,
    }


def exactly(values: dict) -> dict:
    return {
        key: exactly(value) if isinstance(value, dict) else value if value is None or isinstance(value, dt.datetime)
        else pytest.approx(value, abs=1e-9)
        for key, value in values.items()
    }


def request_after(frozen, consumed: float, finished: int) -> dict:
    return {"consumed": consumed, "finished": finished, "processing": 0, "expiry": frozen + dt.timedelta(minutes=20)}


OWNERS = pytest.mark.parametrize("owner_trusted", [True, False], ids=["trusted owner", "untrusted owner"])


@OWNERS
def test_delivered(app, loop, users, owner_trusted, frozen):
    parties = Parties(app, loop, users, owner_trusted)
    parties.request()
    job = parties.pop()
    answer = parties.deliver(job)
    assert answer["reward"] == pytest.approx(K)  # before the bridge multiplier
    assert parties.state() == exactly(expected(
        TAX + BURN, EARNED, owner_trusted, request=request_after(frozen, BURN, 1), speed=THINGS / 1.0,
    ))
    rid, jid, escrow = parties.request_id, job["id"], 0.0 if owner_trusted else HALF
    assert events_of(parties, parties.requester_id) == [
        ("admin", "admin", START, None, None, None), ("tax", "accumulated", -TAX, rid, None, None),
        ("generation", "accumulated", -BURN, rid, jid, None),
    ]
    assert events_of(parties, parties.owner_id) == [
        ("admin", "admin", START, None, None, None), ("reward", "accumulated", EARNED - escrow, rid, jid, None),
    ]
    assert HALF == 16.22 and EARNED == 32.44 and MPS == 31.46  # the arithmetic of the docstring


@OWNERS
def test_censored(app, loop, users, owner_trusted, frozen):
    parties = Parties(app, loop, users, owner_trusted)
    parties.request()
    parties.deliver(parties.pop(), gen_metadata=[{"type": "censorship", "value": "nsfw"}])
    assert parties.state() == exactly(expected(  # the worker did the work and is paid; the requester pays burn(0)
        TAX + CENSORED_BURN, EARNED, owner_trusted, request=request_after(frozen, CENSORED_BURN, 1), speed=THINGS / 1.0,
    ))


@OWNERS
def test_faulted(app, loop, users, owner_trusted, frozen):
    parties = Parties(app, loop, users, owner_trusted)
    parties.request()
    job = parties.pop()
    loop.submit(parties.owner, job["id"], state="faulted", generation="x")
    assert parties.state() == exactly(expected(TAX, 0.0, owner_trusted, delivered=0, request=request_after(frozen, 0.0, 0)))


def test_a_later_delivery_refreshes_the_request_and_measures_the_speed(app, loop, users, clock):
    parties = Parties(app, loop, users, owner_trusted=True)
    parties.request()
    job = parties.pop()
    clock.advance(600)  # ten minutes of work
    parties.deliver(job)
    state = parties.state()
    assert state["worker speed"] == pytest.approx(THINGS / 600)
    assert state["request"]["expiry"] == clock.now + dt.timedelta(minutes=20)  # 20 minutes after the delivery


@OWNERS
def test_two_deliveries_add_up(app, loop, users, owner_trusted, clock):
    parties = Parties(app, loop, users, owner_trusted)
    frozen = clock.now
    parties.request(params={**REQUEST["params"], "n": 2})
    jobs = [parties.pop(amount=1) for _ in range(2)]
    parties.deliver(jobs[0])  # in the minimum of one second
    clock.advance(100)
    parties.deliver(jobs[1])  # in 100 seconds
    state = parties.state()
    assert state["requester"] == pytest.approx(START - TAX - 2 * BURN) and state["requests"] == 1
    assert state["worker"] == state["team"] == pytest.approx(2 * EARNED)
    assert state["owner"] + state["escrow"] == pytest.approx(START + 2 * EARNED)
    for record in ("usage", "contributed", "worker contributions", "team contributions"):
        assert state[record] == pytest.approx(2 * MPS), record
    assert state["fulfilled"] == state["worker jobs"] == state["team jobs"] == 2
    # the newest sample weighs 0.1 (about the last 20 jobs)
    assert state["worker speed"] == pytest.approx(0.9 * THINGS + 0.1 * THINGS / 100)
    assert state["request"] == exactly(request_after(frozen + dt.timedelta(seconds=100), 2 * BURN, 2))


@OWNERS
def test_cancelled_while_one_job_is_at_the_worker(app, loop, users, owner_trusted, frozen):
    parties = Parties(app, loop, users, owner_trusted)
    request_id = parties.request(params={**REQUEST["params"], "n": 3})
    job = parties.pop(amount=1)
    assert loop.client.delete(f"/api/v2/generate/status/{request_id}").status_code == 200
    parties.deliver(job)  # the job already handed out is still delivered and settled
    assert parties.state() == exactly(expected(
        TAX + BURN, EARNED, owner_trusted, request=request_after(frozen, BURN, 1), speed=THINGS / 1.0,
    ))
    assert loop.pop(parties.owner, **POP)["id"] is None  # the two others are never handed out


@OWNERS
def test_cancelled_before_any_job(app, loop, users, owner_trusted):
    parties = Parties(app, loop, users, owner_trusted)
    request_id = parties.request()
    loop.client.delete(f"/api/v2/generate/status/{request_id}")
    assert loop.pop(parties.owner, **POP)["id"] is None
    state = parties.state()
    assert state["request"]["consumed"] == 0 and state["request"]["finished"] == 0
    state["request"] = None
    assert state == exactly(expected(TAX, 0.0, owner_trusted, delivered=0))


@OWNERS
def test_expired(app, loop, users, owner_trusted):
    """The job passes its TTL (the worker went silent), then the request expires; a late
    delivery is refused and moves nothing."""
    parties = Parties(app, loop, users, owner_trusted)
    parties.request()
    job = parties.pop()
    later = utcnow() + dt.timedelta(hours=2)
    with parties.db() as session:
        assert maintenance.requeue_stale_jobs(session, later) == 1
        assert maintenance.expire_requests(session, app.extensions["horde"], later) == 1
    loop.upload(job["r2_upload"])
    answer = loop.client.post(
        "/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 1}, headers={"apikey": parties.owner}
    )
    assert (answer.status_code, answer.get_json()["rc"]) == (404, "InvalidJobID")  # gone with its request
    assert parties.state() == exactly(expected(TAX, 0.0, owner_trusted, delivered=0))


@pytest.mark.parametrize(
    "bridge,multiplier",
    [(REGEN, 0.9), ("AI Horde Worker reGen:13.0.0:https://x", 1.0), ("My Own Bridge:2.0:https://x", 0.75)],
    ids=["official, older", "official, latest", "not official"],
)
@OWNERS
def test_the_bridge_multiplier(app, loop, users, bridge, multiplier, owner_trusted, frozen):
    """0.75 x 36.04 = 27.03: an untrusted owner's half is 13.515, kept to the cent in escrow."""
    parties = Parties(app, loop, users, owner_trusted)
    parties.request(r2=False)  # bridges of other software may lack r2
    parties.deliver(parties.pop(bridge_agent=bridge))
    assert parties.state() == exactly(expected(
        TAX + BURN, round(K * multiplier, 2), owner_trusted, request=request_after(frozen, BURN, 1), speed=THINGS / 1.0,
    ))


def test_a_paused_workers_fake_job_moves_nothing(app, loop, users):
    """A paused worker gets fake jobs (for other people's requests): delivering one pays
    no one and leaves the request waiting for a real worker."""
    parties = Parties(app, loop, users, owner_trusted=True)
    parties.request()
    loop.pop(parties.owner, **{**POP, "models": ["SDXL 1.0"]})  # registers the worker, takes nothing
    with parties.db() as session, session.begin():
        session.execute(update(Worker).values(paused=True))
    job = parties.pop()
    assert job["id"]
    assert parties.deliver(job)["reward"] == 0
    state = parties.state()
    assert (state["requester"], state["owner"], state["worker"]) == (START - TAX, START, 0)
    assert state["request"]["finished"] == 0 and state["request"]["consumed"] == 0


def test_the_usage_multiplier_scales_usage_records(app, loop, users):
    parties = Parties(app, loop, users, owner_trusted=True)
    with parties.db() as session, session.begin():
        session.execute(update(User).where(User.id == parties.requester_id).values(usage_multiplier=2.5))
    parties.request()
    parties.deliver(parties.pop())
    state = parties.state()
    assert state["usage"] == pytest.approx(round(2.5 * THINGS / 1e6, 2))
    assert state["requester"] == pytest.approx(START - TAX - BURN)  # the multiplier is for records, not kudos


def test_a_transfer_names_both_parties_in_the_ledger(app, loop, users):
    parties = Parties(app, loop, users, owner_trusted=True)
    answer = loop.client.post("/api/v2/kudos/transfer", json={"username": f"owner#{parties.owner_id}", "amount": 30},
                              headers={"apikey": parties.requester})
    assert answer.status_code == 200, answer.get_json()
    assert events_of(parties, parties.requester_id)[-1] == ("transfer", "gifted", -30, None, None, parties.owner_id)
    assert events_of(parties, parties.owner_id)[-1] == ("transfer", "received", 30, None, None, parties.requester_id)
    state = parties.state()
    assert (state["requester"], state["owner"]) == (START - 30, START + 30)


def test_the_anonymous_account_pays_through_its_folded_events_down_to_its_floor(app, loop, users):
    parties = Parties(app, loop, users, owner_trusted=True)
    for _ in range(2):
        loop.request(**REQUEST)  # anonymous
        parties.deliver(parties.pop())
    with parties.db() as session:
        assert session.get(User, ANONYMOUS_USER_ID).kudos == 0  # appended, not applied inline
        folded = maintenance.fold_anonymous_kudos(session)
    assert folded == pytest.approx(-2 * (TAX + BURN))
    state = parties.state()
    assert state["anonymous"] == -50  # §2.1: the anonymous floor
    assert state["owner"] == pytest.approx(START + 2 * EARNED) and state["requester"] == START


@pytest.mark.parametrize("pseudonymous,floor", [(True, 14), (False, 25)], ids=["pseudonymous", "OAuth"])
def test_a_requester_at_the_floor_stays_there(app, loop, users, pseudonymous, floor):
    parties = Parties(app, loop, users, owner_trusted=True)
    poor_id, poor = users.create("poor", pseudonymous=pseudonymous)  # 0 kudos; floors of §2.1
    loop.request(poor, **REQUEST)
    parties.deliver(parties.pop())
    with parties.db() as session:
        assert session.get(User, poor_id).kudos == floor


def test_a_delivery_never_shortens_the_request_s_life(app, loop, users, clock):
    """An extra-slow worker's job keeps the request for an hour; a delivery ten minutes in
    must not bring its expiry forward to 20 minutes from then."""
    parties = Parties(app, loop, users, owner_trusted=True)
    parties.request(extra_slow_workers=True)
    job = parties.pop(extra_slow_worker=True)
    handed_out = clock.now
    clock.advance(600)
    parties.deliver(job)
    assert parties.state()["request"]["expiry"] == handed_out + dt.timedelta(minutes=60)


def test_a_request_through_a_shared_key_draws_the_tax_and_the_burn_from_its_budget(app, loop, users):
    """§2.6: the shared key is charged what its owner pays: the tax, then burn(K) = 37.04."""
    parties = Parties(app, loop, users, owner_trusted=True)
    made = loop.client.put("/api/v2/sharedkeys", json={"kudos": 500}, headers={"apikey": parties.requester})
    assert made.status_code == 200, made.get_json()
    parties.request_id = loop.request(made.get_json()["id"], **REQUEST).get_json()["id"]
    parties.deliver(parties.pop())
    with parties.db() as session:
        key = session.get(SharedKey, made.get_json()["id"])
        assert (key.kudos, key.utilized) == (pytest.approx(500 - TAX - BURN, abs=1e-9), pytest.approx(TAX + BURN, abs=1e-9))
    assert parties.state()["requester"] == pytest.approx(START - TAX - BURN)


def test_the_webhook_tells_the_reward_before_the_bridge_multiplier(app, loop, users):
    parties = Parties(app, loop, users, owner_trusted=True)
    parties.request(webhook="https://hooks.example/done")
    job = parties.pop()
    parties.deliver(job)
    with parties.db() as session:
        rows = [(row.job_id, row.kudos) for row in session.scalars(select(WebhookDelivery))]
    assert rows == [(job["id"], pytest.approx(K, abs=1e-9))]  # 36.04, not the 32.44 the worker earned


def test_a_delivery_is_announced_to_the_request_and_the_requester(app, loop, users):
    """The request's status stream and the requester's page hear of the delivery (not money,
    but the same settlement transaction: mutation testing reaches it here)."""
    parties = Parties(app, loop, users, owner_trusted=True)
    parties.request()
    job = parties.pop()
    topics = {f"req:{parties.request_id}", f"user:{parties.requester_id}"}
    with app.extensions["horde"].events.listen(*topics) as listener:
        parties.deliver(job)
        heard: set = set()
        for _ in range(5):
            heard |= {topic for topic, _ in listener.wait(2)}
            if topics <= heard:
                break
    assert topics <= heard
