"""Kudos after delivered, cancelled and censored jobs; every movement is accounted for."""

import pytest
from sqlalchemy import func, select

from horde.models import KudosEvent, User

PRICE = 6.5  # 512x512, 30 steps, SD 1.5: the resolution/steps formula
BRIDGE = 0.9  # reGen 9 is an official bridge, not the latest
TAX = 1.0


def balances(app):
    with app.extensions["horde"].db.session_factory() as session:
        users = {u.id: (u.kudos, u.evaluating_kudos) for u in session.scalars(select(User))}
        events = dict(session.execute(select(KudosEvent.user_id, func.sum(KudosEvent.amount)).group_by(KudosEvent.user_id)).all())
    return users, events


def deliver(loop, key, request_key, **submit):
    request_id = loop.request(request_key).get_json()["id"]
    job = loop.pop(key)
    loop.upload(job["r2_upload"])
    reward = loop.submit(key, job["id"], **submit)["reward"]
    return request_id, reward


@pytest.fixture
def parties(users):
    requester_id, requester = users.create("requester", kudos=100)
    owner_id, owner = users.create("owner", kudos=100, trusted=True)
    return requester_id, requester, owner_id, owner


def test_delivered_job(app, loop, parties):
    requester_id, requester, owner_id, owner = parties
    request_id, reward = deliver(loop, owner, requester)
    assert reward == PRICE
    users, events = balances(app)
    assert users[requester_id][0] == pytest.approx(100 - TAX - (PRICE + 1))
    assert users[owner_id][0] == pytest.approx(100 + PRICE * BRIDGE)
    # every balance is exactly the sum of its events
    for user_id in (requester_id, owner_id):
        assert users[user_id][0] == pytest.approx(events[user_id])
    # what left the requester = what the worker earned + what the horde took
    paid = 100 - users[requester_id][0]
    earned = users[owner_id][0] - 100
    assert paid == pytest.approx(earned + TAX + 1 + PRICE * (1 - BRIDGE))
    assert loop.check(request_id)["kudos"] == round(PRICE + 1)
    details = loop.client.get(f"/api/v2/users/{owner_id}").get_json()
    assert details["records"]["fulfillment"]["image"] == 1
    assert details["records"]["contribution"]["megapixelsteps"] == pytest.approx(512 * 512 * 30 / 1e6, abs=0.01)


def test_censored_job_costs_the_requester_only_the_tax(app, loop, parties):
    requester_id, requester, owner_id, owner = parties
    deliver(loop, owner, requester, gen_metadata=[{"type": "censorship", "value": "nsfw"}])
    users, events = balances(app)
    assert users[requester_id][0] == pytest.approx(100 - TAX - 1)
    assert users[owner_id][0] == pytest.approx(100 + PRICE * BRIDGE)  # the worker did the work
    assert users[requester_id][0] == pytest.approx(events[requester_id])


def test_cancelled_request_pays_only_for_delivered_jobs(app, loop, parties):
    requester_id, requester, owner_id, owner = parties
    request_id = loop.request(requester, params={"n": 3}).get_json()["id"]
    job = loop.pop(owner)
    loop.client.delete(f"/api/v2/generate/status/{request_id}")
    loop.upload(job["r2_upload"])
    loop.submit(owner, job["id"])
    users, events = balances(app)
    assert users[requester_id][0] == pytest.approx(100 - TAX - (PRICE + 1))
    assert users[owner_id][0] == pytest.approx(100 + PRICE * BRIDGE)
    assert sum(events.values()) == pytest.approx(users[requester_id][0] + users[owner_id][0])


def test_faulted_job_moves_no_kudos(app, loop, parties):
    requester_id, requester, owner_id, owner = parties
    loop.request(requester)
    job = loop.pop(owner)
    loop.submit(owner, job["id"], state="faulted", generation="x")
    users, _ = balances(app)
    assert users[requester_id][0] == pytest.approx(100 - TAX)
    assert users[owner_id][0] == pytest.approx(100)


def test_untrusted_owner_earns_half_in_escrow(app, loop, users):
    _, requester = users.create("requester", kudos=100)
    owner_id, owner = users.create("newcomer", kudos=100)
    deliver(loop, owner, requester)
    users_now, _ = balances(app)
    balance, escrow = users_now[owner_id]
    assert balance == pytest.approx(100 + PRICE * BRIDGE / 2, abs=0.01)
    assert escrow == pytest.approx(PRICE * BRIDGE / 2, abs=0.01)


def test_model_family_multiplies_the_reward(app, loop, users):
    _, requester = users.create("requester", kudos=1000)
    _, owner = users.create("owner", kudos=100, trusted=True)
    loop.request(requester, models=["SDXL 1.0"], params={"width": 1024, "height": 1024})
    job = loop.pop(owner, models=["SDXL 1.0"], max_pixels=1024 * 1024)
    loop.upload(job["r2_upload"])
    assert loop.submit(owner, job["id"])["reward"] == pytest.approx(36.04 * 2)


def test_dry_run_matches_the_formula(loop, users):
    _, requester = users.create("requester", kudos=1000)
    dry = loop.request(requester, expect=200, dry_run=True, models=["SDXL 1.0"], params={"width": 1024, "height": 1024, "n": 2})
    # (price + 1) x n x SDXL family + 1
    assert dry.get_json()["kudos"] == round((36.04 + 1) * 2 * 2 + 1)


def test_async_answer_is_the_price_of_one_image(loop):
    assert loop.request(params={"n": 3}).get_json()["kudos"] == round(PRICE)


def test_kudos_transfer_free_requests_still_served_at_the_floor(app, loop, users):
    """A user without kudos may still generate; the balance stays at the floor."""
    requester_id, requester = users.create("broke")
    owner_id, owner = users.create("owner", kudos=100, trusted=True)
    deliver(loop, owner, requester)
    users_now, _ = balances(app)
    assert users_now[requester_id][0] == 14  # pseudonymous floor
