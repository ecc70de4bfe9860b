"""The moderator page (/moderation) and account deletion from the account page, through
the Flask test client with real logins; and registration from a timed-out IP."""

from __future__ import annotations

import re

from sqlalchemy import update

from horde.models import User, Worker


def _logged_in(web, login: str, username: str, **flags) -> int:
    web.login(login)
    web.register(username)
    with web.app.extensions["horde"].db.transaction() as session:
        user = session.query(User).filter(User.username == username).one()
        for flag, value in flags.items():
            setattr(user, flag, value)
        return user.id


def _form(web, path: str, data: dict):
    return web.post(path, data, page="/moderation")


def test_only_logged_in_moderators(web):
    assert web.get("/moderation").status_code == 401
    _logged_in(web, "plain-user", "Plain User")
    refused = web.get("/moderation")
    assert refused.status_code == 403 and "for moderators" in refused.get_data(as_text=True)


def test_filters_test_box_timeouts_and_suspicion(web, web_users):
    _logged_in(web, "page-mod", "Page Mod", moderator=True, trusted=True)
    html = web.get("/moderation").get_data(as_text=True)
    assert "No filters yet." in html and "No address is in timeout." in html
    assert "<script>" not in html and "style=" not in html  # no inline script or style (a strict CSP holds)

    added = _form(web, "/moderation/filters", {"regex": r"\bzorp\b", "filter_type": "20", "description": "test"})
    assert added.status_code == 303
    html = web.get("/moderation").get_data(as_text=True)
    assert "is in place" in html and r"\bzorp\b" in html
    tested = _form(web, "/moderation/filters/test", {"prompt": "a zorp"}).get_data(as_text=True)
    assert re.search(r'class="suspicion">1<', tested) and "<code>zorp</code>" in tested
    bad = _form(web, "/moderation/filters", {"regex": "a(?=b)", "filter_type": "20"})
    assert bad.status_code == 400 and "RE2" in bad.get_data(as_text=True)
    filter_id = re.search(r'data-filter-id="(\d+)"', html).group(1)
    assert _form(web, f"/moderation/filters/{filter_id}/delete", {}).status_code == 303
    assert "No filters yet." in web.get("/moderation").get_data(as_text=True)

    assert _form(web, "/moderation/ipaddr", {"ipaddr": "198.51.100.0/24", "hours": "3"}).status_code == 303
    assert "198.51.100.0/24" in web.get("/moderation").get_data(as_text=True)
    assert _form(web, "/moderation/ipaddr", {"ipaddr": "nope", "hours": "3"}).status_code == 400
    assert _form(web, "/moderation/ipaddr", {"ipaddr": "192.0.2.1", "hours": "0"}).status_code == 400
    assert _form(web, "/moderation/ipaddr/lift", {"ipaddr": "198.51.100.0/24"}).status_code == 303
    assert "No address is in timeout." in web.get("/moderation").get_data(as_text=True)

    suspect_id, _ = web_users.create("suspect")
    with web.app.extensions["horde"].db.transaction() as session:
        session.execute(update(User).where(User.id == suspect_id).values(suspicion=5))
    html = web.get("/moderation").get_data(as_text=True)
    assert f'data-user-id="{suspect_id}"' in html and "suspicious" in html
    assert _form(web, f"/moderation/users/{suspect_id}/reset", {}).status_code == 303
    assert f'data-user-id="{suspect_id}"' not in web.get("/moderation").get_data(as_text=True)


def test_suspicious_workers_paused_and_blocked(web, web_users):
    _logged_in(web, "worker-mod", "Worker Mod", moderator=True, trusted=True)
    owner_id, owner = web_users.create("gpu-owner", trusted=True)
    client = web.app.test_client()
    client.post("/api/v2/generate/pop", json={"name": "shady-gpu", "models": ["stable_diffusion"]},
                headers={"apikey": owner}, environ_base={"REMOTE_ADDR": "192.0.2.33"})
    with web.app.extensions["horde"].db.transaction() as session:
        session.execute(update(Worker).where(Worker.owner_id == owner_id).values(suspicion=3))
    html = web.get("/moderation").get_data(as_text=True)
    worker_id = re.search(r'data-worker-id="([^"]+)"', html).group(1)
    assert _form(web, f"/moderation/workers/{worker_id}/pause", {"paused": "1"}).status_code == 303
    assert "shady-gpu (paused)" in web.get("/moderation").get_data(as_text=True)
    assert _form(web, f"/moderation/workers/{worker_id}/block", {"days": "2"}).status_code == 303
    assert "192.0.2.33/32" in web.get("/moderation").get_data(as_text=True)
    assert _form(web, f"/moderation/workers/{worker_id}/block", {"days": "99"}).status_code == 400


def test_modes_from_the_page(web):
    _logged_in(web, "modes-mod", "Modes Mod", moderator=True, trusted=True)
    assert _form(web, "/moderation/modes", {"raid_mode": "1"}).status_code == 303
    html = web.get("/register").get_data(as_text=True)
    assert "Moderator page" in html
    modes = web.app.test_client().get("/api/v2/status/modes").get_json()
    assert modes["invite_only_mode"] is False


def test_account_deletion_asks_for_confirmation(web):
    user_id = _logged_in(web, "leaving", "Leaving Soon")
    page = web.get("/account/delete").get_data(as_text=True)
    assert "Type your username" in page and 'data-confirm="Delete this account?"' in page
    wrong = web.post("/account/delete", {"confirm": "someone else"}, page="/account/delete")
    assert wrong.status_code == 400
    client = web.app.test_client()
    assert client.get(f"/api/v2/users/{user_id}").get_json()["deleted"] is False
    done = web.post("/account/delete", {"confirm": "Leaving Soon"}, page="/account/delete")
    assert done.status_code == 200 and "Your account is deleted" in done.get_data(as_text=True)
    assert client.get(f"/api/v2/users/{user_id}").get_json()["deleted"] is True
    assert "This account is deleted" in web.get("/register").get_data(as_text=True)
    again = web.post("/account/delete", {"confirm": "Leaving Soon"}, page="/account/delete")
    assert again.status_code == 403 and "inactive for 30 days" in again.get_data(as_text=True)


def test_registration_from_a_timed_out_ip(plain, users):
    _, mod = users.create("mod", moderator=True)
    plain.app.test_client().post("/api/v2/operations/ipaddr", json={"ipaddr": "127.0.0.1", "hours": 1}, headers={"apikey": mod})
    refused = plain.register("From Timeout")
    assert refused.status_code == 403 and "timeout" in refused.get_data(as_text=True)
