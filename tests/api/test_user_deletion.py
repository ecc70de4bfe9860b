"""DELETE /users/{id}: by the user or a moderator; the key stops working at once; undelete;
a second deletion after 30 days of inactivity wipes the account; the kudos history stays."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from horde.models import KudosEvent, User, Worker
from tests.imaging import REGEN


def _delete(client, user_id, key):
    return client.delete(f"/api/v2/users/{user_id}", headers={"apikey": key})


def _age(app, user_id, days):
    with app.extensions["horde"].db.transaction() as session:
        user = session.get(User, user_id)
        user.last_active -= dt.timedelta(days=days)


def test_self_deletion_stops_the_key_at_once_and_can_be_undone(client, users):
    user_id, key = users.create("leaver", kudos=50)
    assert client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": key}).status_code == 202
    assert _delete(client, user_id, key).get_json() == {"message": "OK"}
    refused = client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": key})
    assert refused.status_code == 403 and refused.get_json()["rc"] == "DeletedUser"
    popped = client.post("/api/v2/generate/pop", json={"name": "leaver-gpu", "models": ["stable_diffusion"]}, headers={"apikey": key})
    assert popped.status_code == 403 and popped.get_json()["rc"] == "DeletedUser"
    assert client.get(f"/api/v2/users/{user_id}").get_json()["deleted"] is True
    assert client.put(f"/api/v2/users/{user_id}", json={"undelete": True}, headers={"apikey": key}).get_json() == {"undeleted": True}
    assert client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": key}).status_code == 202


def test_a_moderator_deletes_users(client, users):
    user_id, _ = users.create("spammer")
    _, mod = users.create("mod", moderator=True)
    assert _delete(client, user_id, mod).status_code == 200
    assert client.get(f"/api/v2/users/{user_id}").get_json()["deleted"] is True


@pytest.mark.parametrize(
    "who, target, status, rc",
    [
        ("other", "victim", 403, "NotUserOrMod"),
        ("anon", "victim", 403, "AnonForbiddenUser"),
        ("mod", "anon", 403, "AnonForbiddenUser"),
        ("other", "mod", 403, "NotUserOrMod"),
        ("mod", "mod", 403, "CannotDeleteMod"),
        ("bad", "victim", 401, "InvalidAPIKey"),
    ],
)
def test_who_may_not_delete(client, users, who, target, status, rc):
    victim_id, _ = users.create("victim")
    mod_id, mod = users.create("mod", moderator=True)
    _, other = users.create("other")
    keys = {"other": other, "anon": "0000000000", "mod": mod, "bad": "Z" * 22}
    ids = {"victim": victim_id, "anon": 0, "mod": mod_id}
    answer = _delete(client, ids[target], keys[who])
    assert answer.status_code == status and answer.get_json()["rc"] == rc
    if target == "victim":
        assert client.get(f"/api/v2/users/{victim_id}").get_json()["deleted"] is False


def test_unknown_user_and_missing_key(client, users):
    _, mod = users.create("mod", moderator=True)
    assert _delete(client, 987654, mod).get_json()["rc"] == "UserNotFound"
    assert client.delete("/api/v2/users/1").status_code == 400


def test_second_deletion_wipes_only_after_30_days_inactive(app, client, users):
    user_id, key = users.create("old-account", kudos=30)
    _, giver = users.create("giver", kudos=200)
    assert client.post("/api/v2/kudos/transfer", json={"username": f"old-account#{user_id}", "amount": 20},
                       headers={"apikey": giver}).status_code == 200
    client.post("/api/v2/generate/pop", json={"name": "old-gpu", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                headers={"apikey": key})
    _delete(client, user_id, key)
    too_soon = _delete(client, user_id, key)
    assert too_soon.status_code == 403 and too_soon.get_json()["rc"] == "CannotWipeActiveUser"
    _age(app, user_id, 31)
    assert _delete(client, user_id, key).status_code == 200
    assert client.get(f"/api/v2/users/{user_id}").get_json()["rc"] == "UserNotFound"
    assert client.get("/api/v2/find_user", headers={"apikey": key}).status_code == 404
    with app.extensions["horde"].db.transaction() as session:
        wiped = session.get(User, user_id)
        assert wiped.username == "<wiped>" and wiped.api_key_hash is None and wiped.contact is None
        assert session.scalar(select(func.count()).select_from(Worker).where(Worker.owner_id == user_id)) == 0
        # The history stays: the giver's transfer still has its other side.
        events = session.scalar(select(func.sum(KudosEvent.amount)).where(KudosEvent.user_id == user_id))
        assert events == pytest.approx(wiped.kudos)
    refused = client.post("/api/v2/kudos/transfer", json={"username": f"old-account#{user_id}", "amount": 5}, headers={"apikey": giver})
    assert refused.get_json()["rc"] == "InvalidTargetUsername"
