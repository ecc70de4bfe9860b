"""Exact balances after every way a text job can end (spec/behaviour.md §2.3, §2.5, §2.6).

A requester with 100 kudos asks the 13B model for one generation; a validated worker
(KoboldCpp) of an owner with 100 kudos delivers 200 characters. From the spec:

  t(generation) = 200 / 4 = 50 tokens; t(prompt) = 20 (the floor)
  cm     = 1.2 + 2.2 ^ log2(20 / 1024)
  reward = round(50 x (13/13)^0.2 x 13 / 125 x cm, 2)     (§2.3, bridge multiplier 1)
  paid   = tax 1 + reward + 1; censored: 1 + 0 + 1
Text workers' teams earn nothing (§2.6: teams count image workers only).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest
from sqlalchemy import select, update

from horde.db import utcnow
from horde.domain.queue import maintenance
from horde.models import Team, User, Worker

START = 100.0
GENERATION = "word " * 40
CM = 1.2 + 2.2 ** math.log2(20 / 1024)
REWARD = round(50 * 1.0 * 13 / 125 * CM, 2)
TAX = 1.0


def setup(text_app, tusers, owner_trusted):
    requester_id, requester = tusers.create("requester", kudos=START)
    owner_id, owner = tusers.create("owner", kudos=START, trusted=owner_trusted)
    team_id = str(uuid.uuid4())
    with text_app.extensions["horde"].db.session_factory() as session, session.begin():
        session.add(Team(id=team_id, name="Scribes", name_lower="scribes", creator_id=owner_id))
    return requester_id, requester, owner_id, owner, team_id


def state(text_app, requester_id, owner_id, team_id) -> dict:
    with text_app.extensions["horde"].db.session_factory() as session:
        requester, owner = session.get(User, requester_id), session.get(User, owner_id)
        worker = session.scalar(select(Worker))
        team = session.get(Team, team_id)
        return {
            "requester": requester.kudos, "owner": owner.kudos, "escrow": owner.evaluating_kudos,
            "worker": worker.kudos_generated if worker else 0.0, "team": team.kudos, "team jobs": team.fulfilments,
            "usage": requester.usage_tokens, "requests": requester.requested_text, "fulfilled": owner.fulfilled_text,
            "contributed": owner.contributed_tokens, "worker jobs": worker.fulfilments if worker else 0,
        }


def expected(paid: float, earned: float, owner_trusted: bool, delivered: bool) -> dict:
    """Records count the max_length asked for (80 tokens by default), not what was delivered (§2.6)."""
    escrow = 0.0 if owner_trusted else round(earned / 2, 2)
    return {
        "requester": pytest.approx(START - paid, abs=1e-9), "owner": pytest.approx(START + earned - escrow, abs=1e-9),
        "escrow": pytest.approx(escrow, abs=1e-9), "worker": pytest.approx(earned, abs=1e-9), "team": 0.0, "team jobs": 0,
        "usage": 80 if delivered else 0, "requests": 1, "fulfilled": int(delivered), "contributed": 80 if delivered else 0,
        "worker jobs": int(delivered),
    }


def pop_into_team(text_app, tloop, owner, team_id):
    job = tloop.pop(owner)
    with text_app.extensions["horde"].db.session_factory() as session, session.begin():
        session.execute(update(Worker).values(team_id=team_id))
    return job


OWNERS = pytest.mark.parametrize("owner_trusted", [True, False], ids=["trusted owner", "untrusted owner"])
OUTCOMES = {
    "delivered": ({"generation": GENERATION}, TAX + REWARD + 1, REWARD),
    "censored": ({"generation": GENERATION, "state": "censored"}, TAX + 0 + 1, REWARD),
    "csam": ({"generation": GENERATION, "state": "csam"}, TAX + 0 + 1, REWARD),
    "faulted": ({"generation": "", "state": "faulted"}, TAX, 0.0),
}


@OWNERS
@pytest.mark.parametrize("submit,paid,earned", OUTCOMES.values(), ids=OUTCOMES.keys())
def test_text_settlement(text_app, tloop, tusers, owner_trusted, submit, paid, earned):
    requester_id, requester, owner_id, owner, team_id = setup(text_app, tusers, owner_trusted)
    tloop.request(requester, prompt="Once upon a time")
    job = pop_into_team(text_app, tloop, owner, team_id)
    answer = tloop.submit(owner, job["id"], **submit)
    assert answer["reward"] == pytest.approx(earned)
    assert state(text_app, requester_id, owner_id, team_id) == expected(paid, earned, owner_trusted, delivered=earned > 0)


@OWNERS
def test_text_job_expired(text_app, tloop, tusers, owner_trusted):
    requester_id, requester, owner_id, owner, team_id = setup(text_app, tusers, owner_trusted)
    tloop.request(requester, prompt="Once upon a time")
    job = pop_into_team(text_app, tloop, owner, team_id)
    later = utcnow() + dt.timedelta(hours=2)
    with text_app.extensions["horde"].db.session_factory() as session:
        assert maintenance.requeue_stale_jobs(session, later) == 1
        maintenance.expire_requests(session, text_app.extensions["horde"], later)
    late = tloop.client.post("/api/v2/generate/text/submit", json={"id": job["id"], "generation": GENERATION}, headers={"apikey": owner})
    assert (late.status_code, late.get_json()["rc"]) == (404, "InvalidJobID")  # gone with its request
    assert state(text_app, requester_id, owner_id, team_id) == expected(TAX, 0.0, owner_trusted, delivered=False)
