"""/transfer: the API's transfer rule behind a form, for logged-in users and for key holders."""

from __future__ import annotations

import pytest

from tests.web.conftest import shown_key


def _kudos(client, user_id: int) -> float:
    return client.get(f"/api/v2/users/{user_id}").get_json()["kudos"]


def test_a_logged_in_user_transfers_kudos(web, web_app, web_users):
    _, admin_key = web_users.create("admin")  # admin#1 of the test settings
    web.login("giver")
    key = shown_key(web.register("Giver"))
    giver_id = web.get("/api/v2/find_user", headers={"apikey": key}).get_json()["id"]
    assert web.client.put(f"/api/v2/users/{giver_id}", json={"kudos": 500}, headers={"apikey": admin_key}).status_code == 200
    friend_id, _ = web_users.create("Friend")

    page = web.get("/transfer").get_data(as_text=True)
    assert "Sending from" in page and 'name="apikey"' not in page
    answer = web.post("/transfer", {"username": f"Friend#{friend_id}", "amount": "120"}, page="/transfer")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert f"Sent 120 kudos to Friend#{friend_id}." in answer.get_data(as_text=True)
    assert _kudos(web.client, friend_id) == 120
    assert _kudos(web.client, giver_id) == 380


def test_a_key_holder_transfers_without_logging_in(plain, users):
    source_id, source_key = users.create("Pseudo", kudos=300)
    target_id, _ = users.create("Target")
    assert 'name="apikey"' in plain.get("/transfer").get_data(as_text=True)
    answer = plain.post("/transfer", {"apikey": source_key, "username": f"Target#{target_id}", "amount": "50"}, page="/transfer")
    assert answer.status_code == 200 and "Sent 50 kudos" in answer.get_data(as_text=True)
    assert _kudos(plain.client, target_id) == 50
    assert _kudos(plain.client, source_id) == 250


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("bad key", 401, "No user matching sent API Key"),
        ("anonymous key", 400, "anonymous"),
        ("words", 400, "whole number"),
        ("zero", 400, ""),
        ("negative", 400, ""),
        ("unknown recipient", 400, ""),
        ("not an alias", 400, ""),
        ("to self", 400, ""),
        ("too much", 400, "enough"),
    ],
)
def test_refused_transfers_say_why_and_move_nothing(plain, users, case, status, message):
    source_id, source_key = users.create("Source", kudos=100)
    target_id, _ = users.create("Target")
    form = {"apikey": source_key, "username": f"Target#{target_id}", "amount": "10"}
    form.update(
        {
            "bad key": {"apikey": "x" * 22},
            "anonymous key": {"apikey": "0000000000"},
            "words": {"amount": "ten"},
            "zero": {"amount": "0"},
            "negative": {"amount": "-5"},
            "unknown recipient": {"username": "Nobody#99999"},
            "not an alias": {"username": "Target"},
            "to self": {"username": f"Source#{source_id}"},
            "too much": {"amount": "1000"},
        }[case]
    )
    answer = plain.post("/transfer", form, page="/transfer")
    html = answer.get_data(as_text=True)
    assert answer.status_code == status, html
    assert 'class="error"' in html and message in html
    assert _kudos(plain.client, source_id) == 100
    assert _kudos(plain.client, target_id) == 0
    # What was typed (but never the key) is kept in the form.
    assert form["username"] in html and source_key not in html


def test_a_transfer_without_its_csrf_token_moves_nothing(plain, users):
    source_id, source_key = users.create("Source", kudos=100)
    target_id, _ = users.create("Target")
    answer = plain.post("/transfer", {"apikey": source_key, "username": f"Target#{target_id}", "amount": "10"}, csrf=False)
    assert answer.status_code == 400
    assert _kudos(plain.client, source_id) == 100 and _kudos(plain.client, target_id) == 0
