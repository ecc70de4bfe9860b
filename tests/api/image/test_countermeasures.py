"""Filters and timeouts on the generation routes: a corrupt prompt is refused with its
consequences (suspicion, growing IP timeout), the replacement filter rewrites, timed-out
IPs are refused on generate, pop, check (nameless clients) and registration."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from horde.domain.moderation import prompt_check
from horde.models import IPTimeout, Suspicion, User
from tests.imaging import REGEN

ABUSER_IP = "203.0.113.66"


@pytest.fixture
def filtered(client, users):
    _, mod = users.create("mod", moderator=True)
    for regex, kind, replacement in ((r"\b(?:child|kid)s?\b", 10, "person"), (r"\bnude\b", 20, "")):
        made = client.put("/api/v2/filters", json={"regex": regex, "filter_type": kind, "replacement": replacement},
                          headers={"apikey": mod})
        assert made.status_code == 200
    return mod


def _generate(client, key, prompt, ip=ABUSER_IP, **body):
    return client.post("/api/v2/generate/async", json={"prompt": prompt, **body}, headers={"apikey": key},
                       environ_base={"REMOTE_ADDR": ip})


def _queued_prompt(client, request_id, worker_key):
    job = client.post("/api/v2/generate/pop", json={"name": "prompt-reader", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                      headers={"apikey": worker_key}).get_json()
    assert job["id"] is not None
    return job["payload"]["prompt"]


def _move_clock(app, minutes: int) -> None:
    """Age every timeout as if `minutes` had passed (the server's clock is the real one)."""
    services = app.extensions["horde"]
    with services.db.transaction() as session:
        for row in session.scalars(select(IPTimeout)):
            row.expires -= dt.timedelta(minutes=minutes)
    services.rules.forget()


def test_corrupt_prompt_refused_then_timeout_then_allowed(app, client, users, filtered):
    user_id, key = users.create("abuser")
    refused = _generate(client, key, "a child, nude", replacement_filter=False)
    assert refused.status_code == 400 and refused.get_json()["rc"] == "CorruptPrompt"
    services = app.extensions["horde"]
    with services.db.transaction() as session:
        assert session.get(User, user_id).suspicion == 1
        assert [s.reason for s in session.scalars(select(Suspicion).where(Suspicion.user_id == user_id))] == ["CORRUPT_PROMPT"]
        row = session.get(IPTimeout, f"{ABUSER_IP}/32")
        assert row.suspicion == 1 and dt.timedelta(minutes=2, seconds=50) < row.expires - row.created <= dt.timedelta(minutes=3, seconds=1)
    # The next request from that IP is refused, even an innocent one, even from another account.
    _, other = users.create("neighbour")
    blocked = _generate(client, other, "a lighthouse")
    assert blocked.status_code == 403 and blocked.get_json()["rc"] == "TimeoutIP"
    assert _generate(client, other, "a lighthouse", ip="192.0.2.99").status_code == 202
    _move_clock(app, 4)  # the 3 minutes are over
    assert _generate(client, other, "a lighthouse").status_code == 202
    # A second corrupt prompt within 24 hours: (2*1+1) x 3 = 9 minutes.
    assert _generate(client, key, "kids nude", replacement_filter=False).status_code == 400
    with services.db.transaction() as session:
        row = session.get(IPTimeout, f"{ABUSER_IP}/32")
        assert row.suspicion == 2 and dt.timedelta(minutes=8, seconds=50) < row.expires - (dt.datetime.utcnow()) <= dt.timedelta(minutes=9)
        assert session.get(User, user_id).suspicion == 1  # CORRUPT_PROMPT counts once per user


def test_replacement_filter_rewrites_what_workers_get(client, users, filtered, worker_key):
    _, key = users.create("careless", kudos=100)
    queued = _generate(client, key, "a (kid:1.2) nude###blurry")
    assert queued.status_code == 202, queued.get_json()
    prompt = _queued_prompt(client, queued.get_json()["id"], worker_key)
    assert prompt == f"a person nude###{prompt_check.YOUTH_NEGATIVE}, blurry"


def test_moderators_are_refused_without_timeout(app, client, filtered):
    refused = _generate(client, filtered, "child nude", replacement_filter=False)
    assert refused.get_json()["rc"] == "CorruptPrompt"
    assert _generate(client, filtered, "a lighthouse").status_code == 202


def test_dry_runs_are_not_screened(client, users, filtered):
    _, key = users.create("pricer")
    priced = _generate(client, key, "child nude", replacement_filter=False, dry_run=True)
    assert priced.status_code == 200 and "kudos" in priced.get_json()


def test_timed_out_ip_cannot_pop(app, client, users, filtered):
    _, owner = users.create("gpu", trusted=True)
    client.post("/api/v2/operations/ipaddr", json={"ipaddr": ABUSER_IP, "hours": 1}, headers={"apikey": filtered})
    refused = client.post("/api/v2/generate/pop", json={"name": "gpu-1", "models": ["stable_diffusion"]},
                          headers={"apikey": owner}, environ_base={"REMOTE_ADDR": ABUSER_IP})
    assert refused.status_code == 403 and refused.get_json()["rc"] == "TimeoutIP"


def test_check_refuses_only_nameless_clients_from_timed_out_ips(client, users, filtered):
    _, key = users.create("poller")
    request_id = _generate(client, key, "a lighthouse", ip="192.0.2.1").get_json()["id"]
    client.post("/api/v2/operations/ipaddr", json={"ipaddr": ABUSER_IP, "hours": 1}, headers={"apikey": filtered})
    nameless = client.get(f"/api/v2/generate/check/{request_id}", environ_base={"REMOTE_ADDR": ABUSER_IP})
    assert nameless.status_code == 403 and nameless.get_json()["rc"] == "TimeoutIP"
    named = client.get(f"/api/v2/generate/check/{request_id}", headers={"Client-Agent": "my-app:1:me"},
                       environ_base={"REMOTE_ADDR": ABUSER_IP})
    assert named.status_code == 200


def test_timeouts_survive_losing_the_cache(app, client, users, filtered):
    """The database holds them: a node that lost every cached copy still refuses."""
    client.post("/api/v2/operations/ipaddr", json={"ipaddr": ABUSER_IP, "hours": 1}, headers={"apikey": filtered})
    services = app.extensions["horde"]
    services.cache.clear()
    services.rules.forget()
    _, key = users.create("after-restart")
    assert _generate(client, key, "a lighthouse").get_json()["rc"] == "TimeoutIP"


def test_suspicious_users_cannot_transfer_and_reset_clears_it(app, client, users, filtered):
    sender_id, sender = users.create("sender", kudos=500)
    receiver_id, _ = users.create("receiver")
    with app.extensions["horde"].db.transaction() as session:
        session.execute(update(User).where(User.id == sender_id).values(suspicion=5))
    refused = client.post("/api/v2/kudos/transfer", json={"username": f"receiver#{receiver_id}", "amount": 10},
                          headers={"apikey": sender})
    assert refused.get_json()["rc"] == "FaultWhenKudosSending"
    reset = client.put(f"/api/v2/users/{sender_id}", json={"reset_suspicion": True}, headers={"apikey": filtered})
    assert reset.get_json() == {"new_suspicion": 0}
    sent = client.post("/api/v2/kudos/transfer", json={"username": f"receiver#{receiver_id}", "amount": 10},
                       headers={"apikey": sender})
    assert sent.status_code == 200, sent.get_json()
