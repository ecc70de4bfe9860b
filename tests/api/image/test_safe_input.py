"""Every input an attacker or a careless client tried (issue 11) is a JSON 400-class answer with
its rc, and leaves balances, the queue and the workers exactly as they were. PostgreSQL and SQLite."""

from __future__ import annotations

import json

import pytest

from tests.api.state import snapshot
from tests.imaging import REGEN

DEEP = "[" * 5000 + "]" * 5000
NAN_TRANSFER = '{"username": "bob#3", "amount": NaN}'


@pytest.fixture
def world(app, users, loop):
    """admin#1, alice#2 (1,000 kudos), bob#3 (500), a trusted worker owner with one worker, one queued request."""
    ids = {}
    ids["admin"], ids["admin_key"] = users.create("admin")
    ids["alice"], ids["alice_key"] = users.create("alice", kudos=1000)
    ids["bob"], ids["bob_key"] = users.create("bob", kudos=500)
    ids["owner"], ids["owner_key"] = users.create("gpu-owner", trusted=True)
    loop.pop(ids["owner_key"], name="worker-one")
    ids["worker_id"] = loop.client.get("/api/v2/workers/name/worker-one").get_json()["id"]
    loop.request(ids["alice_key"], prompt="a queued lighthouse", models=["not-served-model"])
    return ids


def _send(client, method: str, path: str, key: str | None, body, raw: bool = False, headers: dict | None = None):
    headers = dict(headers or {})
    if key:
        headers["apikey"] = key
    if body is None:
        return client.open(path, method=method, headers=headers)
    data = body if raw else json.dumps(body)
    return client.open(path, method=method, data=data, headers=headers, content_type="application/json")


# (id, method, path, key name, body, raw JSON text?, status, rc)
CASES = [
    ("admin kudos NaN", "PUT", "/api/v2/users/{alice}", "admin_key", '{"kudos": NaN}', True, 400, "ValidationError"),
    ("admin kudos Infinity", "PUT", "/api/v2/users/{alice}", "admin_key", '{"kudos": Infinity}', True, 400, "ValidationError"),
    ("admin kudos -Infinity", "PUT", "/api/v2/users/{alice}", "admin_key", '{"kudos": -Infinity}', True, 400, "ValidationError"),
    ("admin kudos 1e308", "PUT", "/api/v2/users/{alice}", "admin_key", {"kudos": 1e308}, False, 400, "ValidationError"),
    ("admin kudos 1e400", "PUT", "/api/v2/users/{alice}", "admin_key", '{"kudos": 1e400}', True, 400, "ValidationError"),
    ("admin kudos past the amount limit", "PUT", "/api/v2/users/{alice}", "admin_key", {"kudos": 2e10}, False, 400, "ValidationError"),
    ("monthly kudos overflow", "PUT", "/api/v2/users/{alice}", "admin_key", {"monthly_kudos": 2**40}, False, 400, "ValidationError"),
    ("worker_invited overflow", "PUT", "/api/v2/users/{alice}", "admin_key", {"worker_invited": 2**31}, False, 400, "ValidationError"),
    ("integer past 2^53", "PUT", "/api/v2/users/{alice}", "admin_key", '{"concurrency": 100000000000000000000}', True, 400, "ValidationError"),
    ("deep JSON on users", "PUT", "/api/v2/users/{alice}", "alice_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON on async", "POST", "/api/v2/generate/async", "alice_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON on transfer", "POST", "/api/v2/kudos/transfer", "alice_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON on modes", "PUT", "/api/v2/status/modes", "admin_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON on pop", "POST", "/api/v2/generate/pop", "owner_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON in a field", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"special": ' + DEEP + "}}", True, 400, "ValidationError"),
    ("transfer amount NaN", "POST", "/api/v2/kudos/transfer", "alice_key", NAN_TRANSFER, True, 400, "ValidationError"),
    ("transfer amount Infinity", "POST", "/api/v2/kudos/transfer", "alice_key",
     '{"username": "bob#3", "amount": Infinity}', True, 400, "ValidationError"),
    ("transfer amount past the limit", "POST", "/api/v2/kudos/transfer", "alice_key",
     {"username": "bob#3", "amount": 10**11}, False, 400, "InvalidKudosTransferAmount"),
    ("transfer to a superscript digit", "POST", "/api/v2/kudos/transfer", "alice_key",
     {"username": "x#²", "amount": 1}, False, 400, "InvalidTargetUsername"),
    ("transfer to an Arabic-Indic 3", "POST", "/api/v2/kudos/transfer", "alice_key",
     {"username": "bob#٣", "amount": 1}, False, 400, "InvalidTargetUsername"),
    ("transfer to a 30-digit id", "POST", "/api/v2/kudos/transfer", "alice_key",
     {"username": "x#" + "9" * 30, "amount": 1}, False, 400, "InvalidTargetUsername"),
    ("transfer to a 5,000-digit id", "POST", "/api/v2/kudos/transfer", "alice_key",
     {"username": "x#" + "9" * 5000, "amount": 1}, False, 400, "InvalidTargetUsername"),
    ("award NaN", "POST", "/api/v2/kudos/award", "admin_key", '{"username": "bob#3", "amount": NaN}', True, 400, "ValidationError"),
    ("award past the limit", "POST", "/api/v2/kudos/award", "admin_key",
     {"username": "bob#3", "amount": 10**11}, False, 400, "InvalidKudosTransferAmount"),
    ("lone surrogate in a prompt", "POST", "/api/v2/generate/async", "alice_key", '{"prompt": "a \\ud800 b"}', True, 400, "ValidationError"),
    ("lone surrogate in a key", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "a", "\\udfff": 1}', True, 400, "ValidationError"),
    ("NUL in a prompt", "POST", "/api/v2/generate/async", "alice_key", {"prompt": "a\x00b"}, False, 400, "NulByteInPayload"),
    ("model name of 256 characters", "POST", "/api/v2/generate/async", "alice_key",
     {"prompt": "x", "models": ["m" * 256]}, False, 400, "ValidationError"),
    ("10,000 models", "POST", "/api/v2/generate/async", "alice_key",
     {"prompt": "x", "models": [f"model {i}" for i in range(10000)]}, False, 400, "ValidationError"),
    ("1 MB single-word prompt", "POST", "/api/v2/generate/async", "alice_key", {"prompt": "w" * 1_000_000}, False, 400, "InvalidPromptSize"),
    ("NaN denoising_strength", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"denoising_strength": NaN}}', True, 400, "ValidationError"),
    ("NaN LoRA strength", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"loras": [{"name": "1", "model": NaN}]}}', True, 400, "ValidationError"),
    ("NaN TI strength", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"tis": [{"name": "1", "strength": NaN}]}}', True, 400, "ValidationError"),
    ("NaN facefixer_strength", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"facefixer_strength": NaN}}', True, 400, "ValidationError"),
    ("NaN control_strength", "POST", "/api/v2/generate/async", "alice_key",
     '{"prompt": "x", "params": {"control_strength": NaN}}', True, 400, "ValidationError"),
    ("text control_strength", "POST", "/api/v2/generate/async", "alice_key",
     {"prompt": "x", "params": {"control_strength": "strong"}}, False, 400, "ValidationError"),
    ("seed of a megabyte", "POST", "/api/v2/generate/async", "alice_key",
     {"prompt": "x", "params": {"seed": "7" * 1_000_000}}, False, 400, "ValidationError"),
    ("NUL in a query parameter", "GET", "/api/v2/workers?name=a%00b", None, None, False, 400, "NulByteInPayload"),
    ("NUL in a path parameter", "GET", "/api/v2/workers/name/a%00b", None, None, False, 400, "NulByteInPayload"),
    ("NUL in a user id", "GET", "/api/v2/users/1%00", None, None, False, 400, "NulByteInPayload"),
    ("superscript user id", "GET", "/api/v2/users/²", None, None, False, 404, "UserNotFound"),
    ("user id past BIGINT", "GET", "/api/v2/users/99999999999999999999999", None, None, False, 404, "UserNotFound"),
    ("huge messages page", "GET", "/api/v2/workers/messages?page=99999999999999999999", "owner_key", None, False, 400, "ValidationError"),
    ("messages page past the last", "GET", "/api/v2/workers/messages?page=10001", "owner_key", None, False, 400, "ValidationError"),
    ("messages user id past BIGINT", "GET", "/api/v2/workers/messages?user_id=99999999999999999999", "owner_key", None, False, 400, "ValidationError"),
    ("empty max_count", "GET", "/api/v2/status/models?max_count=", None, None, False, 400, "ValidationError"),
    ("max_count not a number", "GET", "/api/v2/status/models?max_count=%C2%B2", None, None, False, 400, "ValidationError"),
    ("worker with max_pixels -1", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-two", "models": ["stable_diffusion"], "bridge_agent": REGEN, "max_pixels": -1}, False, 400, "ValidationError"),
    ("worker with max_pixels 0", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-one", "models": ["stable_diffusion"], "bridge_agent": REGEN, "max_pixels": 0}, False, 400, "ValidationError"),
    ("worker with 10^12 pixels", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-one", "models": ["stable_diffusion"], "bridge_agent": REGEN, "max_pixels": 10**12}, False, 400, "ValidationError"),
    ("201-word blacklist", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-one", "models": ["stable_diffusion"], "bridge_agent": REGEN, "blacklist": ["w"] * 201}, False, 400, "ValidationError"),
    ("pop model name of 256 characters", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-one", "models": ["m" * 256], "bridge_agent": REGEN}, False, 400, "ValidationError"),
    ("priority username with a superscript id", "POST", "/api/v2/generate/pop", "owner_key",
     {"name": "worker-one", "models": ["stable_diffusion"], "bridge_agent": REGEN, "priority_usernames": ["a#²"]},
     False, 400, "InvalidPriorityUsername"),
    ("look-alike worker name of another owner", "POST", "/api/v2/generate/pop", "alice_key",
     {"name": "WORKER-ONE", "models": ["stable_diffusion"], "bridge_agent": REGEN}, False, 403, "WrongCredentials"),
    ("look-alike rename", "PUT", "/api/v2/workers/{worker_id}", "admin_key", None, False, 400, "WorkerNameAlreadyExists"),
    ("1 MB maintenance message", "PUT", "/api/v2/workers/{worker_id}", "owner_key",
     {"maintenance": True, "maintenance_msg": "m" * 1_000_000}, False, 400, "ValidationError"),
    ("rename to spaces", "PUT", "/api/v2/workers/{worker_id}", "owner_key", {"name": "      "}, False, 400, "BadRequest"),
    ("shared key kudos NaN", "PUT", "/api/v2/sharedkeys", "alice_key", '{"kudos": NaN}', True, 400, "ValidationError"),
    ("shared key kudos past the maximum", "PUT", "/api/v2/sharedkeys", "alice_key", {"kudos": 10**9}, False, 400, "ValidationError"),
    ("shared key name of a megabyte", "PUT", "/api/v2/sharedkeys", "alice_key", {"name": "x" * 2**20}, False, 400, "ValidationError"),
    ("deep JSON on shared keys", "PUT", "/api/v2/sharedkeys", "alice_key", DEEP, True, 400, "ValidationError"),
    ("deep JSON on styles", "POST", "/api/v2/styles/image", "alice_key", DEEP, True, 400, "ValidationError"),
    ("style name past 100", "POST", "/api/v2/styles/image", "admin_key",
     {"name": "n" * 101, "info": "a long enough info", "models": ["stable_diffusion"]}, False, 400, "ValidationError"),
    ("style with 11 tags", "POST", "/api/v2/styles/image", "admin_key",
     {"name": "tags", "info": "a long enough info", "models": ["m"], "tags": ["t"] * 11}, False, 400, "ValidationError"),
    ("collection of 101 styles", "POST", "/api/v2/collections", "alice_key",
     {"name": "big", "styles": ["s"] * 101}, False, 400, "ValidationError"),
    ("style page past the last", "GET", "/api/v2/styles/image?page=10001", None, None, False, 400, "ValidationError"),
    ("deep JSON on interrogate", "POST", "/api/v2/interrogate/async", "alice_key", DEEP, True, 400, "ValidationError"),
    ("101 alchemy forms", "POST", "/api/v2/interrogate/async", "alice_key",
     {"source_image": "x", "forms": [{"name": "caption"}] * 101}, False, 400, "ValidationError"),
    ("alchemy payload value of a megabyte", "POST", "/api/v2/interrogate/async", "alice_key",
     {"source_image": "x", "forms": [{"name": "caption", "payload": {"k": "v" * 1_000_000}}]}, False, 400, "ValidationError"),
    ("alchemy webhook of 1,025 characters", "POST", "/api/v2/interrogate/async", "alice_key",
     {"source_image": "x", "forms": [{"name": "caption"}], "webhook": "https://" + "w" * 1017}, False, 400, "ValidationError"),
    ("alchemist with max_tiles 0", "POST", "/api/v2/interrogate/pop", "owner_key",
     {"name": "alchemist", "forms": ["caption"], "max_tiles": 0}, False, 400, "ValidationError"),
    ("alchemist with 101 forms", "POST", "/api/v2/interrogate/pop", "owner_key",
     {"name": "alchemist", "forms": ["caption"] * 101}, False, 400, "ValidationError"),
    ("alchemy form name of 101 characters", "POST", "/api/v2/interrogate/pop", "owner_key",
     {"name": "alchemist", "forms": ["f" * 101]}, False, 400, "ValidationError"),
    ("alchemy submit of an id of 37 characters", "POST", "/api/v2/interrogate/submit", "owner_key",
     {"id": "i" * 37, "result": {}}, False, 400, "ValidationError"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_refused_and_nothing_changed(app, world, users, loop, case):
    name, method, path, key_name, body, raw, status, rc = case
    if name == "look-alike rename":  # a second worker of the owner, renamed like the first
        loop.pop(world["owner_key"], name="worker-two")
        second = loop.client.get("/api/v2/workers/name/worker-two").get_json()["id"]
        path, key_name, body = f"/api/v2/workers/{second}", "owner_key", {"name": "Worker-One"}
    before = snapshot(app)
    response = _send(app.test_client(), method, path.format(**world), world.get(key_name), body, raw)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["rc"] == rc, answer
    assert isinstance(answer["message"], str) and answer["message"]
    if rc == "ValidationError":
        assert answer["errors"] and all(isinstance(v, str) and v for v in answer["errors"].values())
    assert snapshot(app) == before


def test_oversized_url_and_header_are_json(app, world):
    before = snapshot(app)
    client = app.test_client()
    too_long = client.get("/api/v2/users?page=1&pad=" + "x" * 5000)
    assert too_long.status_code == 414 and too_long.get_json()["rc"] == "URITooLong"
    assert "4096" in too_long.get_json()["message"]
    header = client.get("/api/v2/find_user", headers={"apikey": world["alice_key"], "X-Padding": "x" * 9000})
    assert header.status_code == 431 and header.get_json()["rc"] == "RequestHeaderFieldsTooLarge"
    assert "8192" in header.get_json()["message"]
    assert snapshot(app) == before


def test_a_unicode_digit_seed_is_hashed_not_a_crash(app, world, loop):
    answer = loop.request(world["alice_key"], params={"seed": "²٣"}).get_json()
    assert answer["id"]


def test_balances_stay_below_the_ceiling(app, world):
    """The ceiling holds for admin changes and transfers, and what it refuses moves nothing."""
    from horde.domain.accounts import ledger

    db = app.extensions["horde"].db
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE users SET kudos = {ledger.MAX_BALANCE - 10} WHERE id = {world['bob']}")
    before = snapshot(app)
    client = app.test_client()
    admin = client.put(f"/api/v2/users/{world['bob']}", json={"kudos": 100}, headers={"apikey": world["admin_key"]})
    assert admin.status_code == 400 and admin.get_json()["rc"] == "KudosAboveMaximum"
    sent = client.post("/api/v2/kudos/transfer", json={"username": "bob#3", "amount": 100}, headers={"apikey": world["alice_key"]})
    assert sent.status_code == 400 and sent.get_json()["rc"] == "KudosAboveMaximum"
    award = client.post("/api/v2/kudos/award", json={"username": "bob#3", "amount": 100}, headers={"apikey": world["admin_key"]})
    assert award.status_code == 400 and award.get_json()["rc"] == "KudosAboveMaximum"
    assert snapshot(app) == before
    ok = client.put(f"/api/v2/users/{world['bob']}", json={"kudos": 10}, headers={"apikey": world["admin_key"]})
    assert ok.status_code == 200 and ok.get_json()["new_kudos"] == ledger.MAX_BALANCE


def test_worker_names_are_one_name_whatever_the_case_and_spaces(app, world, loop):
    """The owner popping as 'WORKER-ONE ' gets the same worker, not a look-alike."""
    before = len(loop.client.get("/api/v2/workers").get_json())
    loop.pop(world["owner_key"], name="  WORKER-ONE  ")
    assert len(loop.client.get("/api/v2/workers").get_json()) == before
    found = loop.client.get("/api/v2/workers/name/Worker-One")
    assert found.status_code == 200 and found.get_json()["id"] == world["worker_id"]
