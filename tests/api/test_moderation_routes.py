"""Every moderator route (filters, operations): a moderator succeeds, a user gets 403
`NotModerator`, the anonymous key 403, a wrong key 401, no key 400; and what each does."""

from __future__ import annotations

import pytest

from tests.imaging import REGEN

ROUTES = [
    ("get", "/api/v2/filters", None),
    ("put", "/api/v2/filters", {"regex": r"\bfoo\b", "filter_type": 10}),
    ("post", "/api/v2/filters", {"prompt": "a foo"}),
    ("get", "/api/v2/filters/regex", None),
    ("get", "/api/v2/filters/{filter_id}", None),
    ("patch", "/api/v2/filters/{filter_id}", {"description": "changed"}),
    ("delete", "/api/v2/filters/{filter_id}", None),
    ("get", "/api/v2/operations/ipaddr", None),
    ("post", "/api/v2/operations/ipaddr", {"ipaddr": "198.51.100.0/24", "hours": 2}),
    ("delete", "/api/v2/operations/ipaddr", {"ipaddr": "198.51.100.0/24"}),
    ("get", "/api/v2/operations/ipaddr/198.51.100.7", None),
    ("put", "/api/v2/operations/block_worker_ipaddr/{worker_id}", {"days": 1}),
    ("delete", "/api/v2/operations/block_worker_ipaddr/{worker_id}", None),
]


@pytest.fixture
def world(client, users):
    _, mod = users.create("mod", moderator=True)
    _, user = users.create("someone")
    _, owner = users.create("gpu-owner", trusted=True)
    popped = client.post(
        "/api/v2/generate/pop", json={"name": "filter-gpu", "models": ["stable_diffusion"], "bridge_agent": REGEN},
        headers={"apikey": owner}, environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )
    assert popped.status_code == 200, popped.get_json()
    worker_id = client.get("/api/v2/workers/name/filter-gpu").get_json()["id"]
    made = client.put("/api/v2/filters", json={"regex": r"\bbar\b", "filter_type": 20}, headers={"apikey": mod})
    return {"mod": mod, "user": user, "worker_id": worker_id, "filter_id": made.get_json()["id"]}


def _call(client, method, path, body, key):
    headers = {"apikey": key} if key is not None else {}
    return getattr(client, method)(path, json=body, headers=headers)


@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_only_moderators(client, world, method, path, body):
    path = path.format(**world)
    for key, status, rc in ((world["user"], 403, "NotModerator"), ("0000000000", 403, "NotModerator"), ("W" * 22, 401, "InvalidAPIKey")):
        answer = _call(client, method, path, body, key)
        assert answer.status_code == status and answer.get_json()["rc"] == rc, (key, answer.get_json())
    missing = _call(client, method, path, body, None)
    assert missing.status_code == 400 and "apikey" in missing.get_json()["errors"]
    answer = _call(client, method, path, body, world["mod"])
    assert answer.status_code == 200, answer.get_json()


def test_filter_lifecycle(client, world):
    mod = {"apikey": world["mod"]}
    made = client.put("/api/v2/filters", json={"regex": r"\bkid\w*", "filter_type": 10, "description": "youth",
                                               "replacement": "person"}, headers=mod).get_json()
    assert made["filter_type"] == 10 and made["replacement"] == "person" and made["user"].startswith("mod#")
    again = client.put("/api/v2/filters", json={"regex": r"\bkid\w*", "filter_type": 10}, headers=mod).get_json()
    assert again["id"] == made["id"]
    listed = client.get("/api/v2/filters?filter_type=10", headers=mod).get_json()
    assert [f["id"] for f in listed] == [made["id"]]
    assert [f["id"] for f in client.get("/api/v2/filters?contains=YOUTH", headers=mod).get_json()] == [made["id"]]
    assert client.get("/api/v2/filters?contains=nothing-like-it", headers=mod).get_json() == []
    changed = client.patch(f"/api/v2/filters/{made['id']}", json={"regex": r"\bkids?\b"}, headers=mod).get_json()
    assert changed["regex"] == r"\bkids?\b" and changed["description"] == "youth"
    regexes = client.get("/api/v2/filters/regex", headers=mod).get_json()
    assert {r["filter_type"]: r["regex"] for r in regexes} == {10: r"(?:\bkids?\b)", 20: r"(?:\bbar\b)"}
    assert client.get("/api/v2/filters/regex?filter_type=20", headers=mod).get_json() == [{"filter_type": 20, "regex": r"(?:\bbar\b)"}]
    scored = client.post("/api/v2/filters", json={"prompt": "two kids at a bar"}, headers=mod).get_json()
    assert scored == {"suspicion": "2", "matches": ["kids", "bar"]}
    one_type = client.post("/api/v2/filters", json={"prompt": "two kids at a bar", "filter_type": 20}, headers=mod).get_json()
    assert one_type == {"suspicion": "1", "matches": ["bar"]}
    assert client.delete(f"/api/v2/filters/{made['id']}", headers=mod).get_json() == {"message": "OK"}
    gone = client.get(f"/api/v2/filters/{made['id']}", headers=mod)
    assert gone.status_code == 404 and gone.get_json()["rc"] == "FilterNotFound"


@pytest.mark.parametrize(
    "method, path, body, status, rc",
    [
        ("put", "/api/v2/filters", {"regex": "a(?=b)", "filter_type": 10}, 400, "BadRequest"),
        ("put", "/api/v2/filters", {"regex": "x", "filter_type": 30}, 400, "ValidationError"),
        ("put", "/api/v2/filters", {"filter_type": 10}, 400, "ValidationError"),
        ("post", "/api/v2/filters", {"filter_type": 10}, 400, "ValidationError"),
        ("patch", "/api/v2/filters/{filter_id}", {}, 400, "NoFilterModSelected"),
        ("patch", "/api/v2/filters/{filter_id}", {"regex": "(unclosed"}, 400, "BadRequest"),
        ("get", "/api/v2/filters/abc", None, 404, "FilterNotFound"),
        ("get", "/api/v2/filters/99999", None, 404, "FilterNotFound"),
        ("delete", "/api/v2/filters/99999", None, 404, "FilterNotFound"),
        ("post", "/api/v2/operations/ipaddr", {"ipaddr": "not-an-address", "hours": 1}, 400, "BadRequest"),
        ("post", "/api/v2/operations/ipaddr", {"ipaddr": "192.0.2.1", "hours": 721}, 400, "ValidationError"),
        ("post", "/api/v2/operations/ipaddr", {"ipaddr": "192.0.2.1"}, 400, "ValidationError"),
        ("put", "/api/v2/operations/block_worker_ipaddr/{worker_id}", {"days": 31}, 400, "ValidationError"),
        ("put", "/api/v2/operations/block_worker_ipaddr/no-such-worker", {"days": 1}, 404, "WorkerNotFound"),
        ("delete", "/api/v2/operations/block_worker_ipaddr/no-such-worker", None, 404, "WorkerNotFound"),
    ],
)
def test_moderator_errors(client, world, method, path, body, status, rc):
    answer = _call(client, method, path.format(**world), body, world["mod"])
    assert answer.status_code == status and answer.get_json()["rc"] == rc, answer.get_json()


def test_a_bad_regex_changes_nothing(client, world):
    mod = {"apikey": world["mod"]}
    before = client.get("/api/v2/filters", headers=mod).get_json()
    client.patch(f"/api/v2/filters/{world['filter_id']}", json={"regex": "(unclosed", "description": "x"}, headers=mod)
    assert client.get("/api/v2/filters", headers=mod).get_json() == before


def test_ip_timeouts_listed_matched_and_lifted(client, world):
    mod = {"apikey": world["mod"]}
    assert client.post("/api/v2/operations/ipaddr", json={"ipaddr": "198.51.100.0/24", "hours": 2}, headers=mod).status_code == 200
    assert client.post("/api/v2/operations/ipaddr", json={"ipaddr": "198.51.100.7", "hours": 1}, headers=mod).status_code == 200
    listed = {t["ipaddr"]: t["seconds"] for t in client.get("/api/v2/operations/ipaddr", headers=mod).get_json()}
    assert set(listed) == {"198.51.100.0/24", "198.51.100.7/32"}
    assert 7190 < listed["198.51.100.0/24"] <= 7200 and 3590 < listed["198.51.100.7/32"] <= 3600
    matching = client.get("/api/v2/operations/ipaddr/198.51.100.7", headers=mod).get_json()
    assert {t["ipaddr"] for t in matching} == {"198.51.100.0/24", "198.51.100.7/32"}
    assert client.get("/api/v2/operations/ipaddr/198.51.100.9", headers=mod).get_json()[0]["ipaddr"] == "198.51.100.0/24"
    assert client.get("/api/v2/operations/ipaddr/203.0.113.1", headers=mod).get_json() == []
    # Requests from the block are refused; lifting the block lets them through again.
    blocked = client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": world["user"]},
                          environ_base={"REMOTE_ADDR": "198.51.100.200"})
    assert blocked.status_code == 403 and blocked.get_json()["rc"] == "TimeoutIP"
    assert "seconds" in blocked.get_json()["message"]
    client.delete("/api/v2/operations/ipaddr", json={"ipaddr": "198.51.100.0/24"}, headers=mod)
    allowed = client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": world["user"]},
                          environ_base={"REMOTE_ADDR": "198.51.100.200"})
    assert allowed.status_code == 202, allowed.get_json()


def test_long_timeouts_do_not_show_their_seconds(client, world):
    client.post("/api/v2/operations/ipaddr", json={"ipaddr": "203.0.113.9", "hours": 720}, headers={"apikey": world["mod"]})
    refused = client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": world["user"]},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.get_json()["rc"] == "TimeoutIP" and "seconds" not in refused.get_json()["message"]


def test_blocking_a_workers_ip(client, world, users):
    mod = {"apikey": world["mod"]}
    assert client.put(f"/api/v2/operations/block_worker_ipaddr/{world['worker_id']}", json={"days": 2}, headers=mod).status_code == 200
    listed = client.get("/api/v2/operations/ipaddr", headers=mod).get_json()
    assert listed[0]["ipaddr"] == "192.0.2.10/32" and listed[0]["seconds"] > 2 * 86400 - 10
    _, owner = users.create("owner-two", trusted=True)
    refused = client.post("/api/v2/generate/pop", json={"name": "other-gpu", "models": ["stable_diffusion"]},
                          headers={"apikey": owner}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert refused.status_code == 403 and refused.get_json()["rc"] == "TimeoutIP"
    assert client.delete(f"/api/v2/operations/block_worker_ipaddr/{world['worker_id']}", headers=mod).status_code == 200
    assert client.get("/api/v2/operations/ipaddr", headers=mod).get_json() == []


def test_blocking_an_ipv6_worker_blocks_its_64(client, world, users):
    _, owner = users.create("v6-owner", trusted=True)
    client.post("/api/v2/generate/pop", json={"name": "v6-gpu", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                headers={"apikey": owner}, environ_base={"REMOTE_ADDR": "2001:db8:1:2::5"})
    worker_id = client.get("/api/v2/workers/name/v6-gpu").get_json()["id"]
    mod = {"apikey": world["mod"]}
    client.put(f"/api/v2/operations/block_worker_ipaddr/{worker_id}", json={"days": 1}, headers=mod)
    assert client.get("/api/v2/operations/ipaddr", headers=mod).get_json()[0]["ipaddr"] == "2001:db8:1:2::/64"
    neighbour = client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": world["user"]},
                            environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::1"})
    assert neighbour.get_json()["rc"] == "TimeoutIP"
