"""Uptime kudos: every 10 minutes online earns the owner 50 + 2 per model (behaviour §2.9)."""

import datetime as dt

import pytest
from sqlalchemy import select

from horde.db import utcnow
from horde.models import User, Worker


@pytest.fixture
def now(monkeypatch):
    """The time the pop route sees, passed in: a test's own slowness never counts as uptime."""
    from horde.api.image import generate

    fixed = utcnow()
    monkeypatch.setattr(generate, "utcnow", lambda: fixed)
    return fixed


def age_worker(app, name: str, seconds_ago: int, uptime: int, now: dt.datetime) -> None:
    with app.extensions["horde"].db.transaction() as session:
        worker = session.scalar(select(Worker).where(Worker.name == name))
        worker.last_check_in = now - dt.timedelta(seconds=seconds_ago)
        worker.uptime = uptime


def owner_kudos(app, user_id):
    with app.extensions["horde"].db.session_factory() as session:
        user = session.get(User, user_id)
        return user.kudos, user.evaluating_kudos


@pytest.mark.parametrize("trusted", [True, False])
def test_uptime_reward(app, loop, users, trusted, now):
    owner_id, key = users.create("owner", kudos=100, trusted=trusted)
    loop.pop(key, name="steady", models=["stable_diffusion", "Deliberate"])
    age_worker(app, "steady", seconds_ago=200, uptime=500, now=now)  # online, 500 s counted so far
    loop.pop(key, name="steady", models=["stable_diffusion", "Deliberate"])  # +200 s: past 600
    reward = 50 + 2 * 2
    balance, escrow = owner_kudos(app, owner_id)
    assert (balance, escrow) == ((100 + reward, 0) if trusted else (100, reward))
    with app.extensions["horde"].db.session_factory() as session:
        worker = session.scalar(select(Worker).where(Worker.name == "steady"))
        assert worker.uptime == 700 and worker.kudos_uptime == reward


def test_no_uptime_after_being_offline(app, loop, users, now):
    owner_id, key = users.create("owner", kudos=100, trusted=True)
    loop.pop(key, name="flaky")
    age_worker(app, "flaky", seconds_ago=400, uptime=590, now=now)  # silent for more than 300 s
    loop.pop(key, name="flaky")
    assert owner_kudos(app, owner_id)[0] == 100
