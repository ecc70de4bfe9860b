"""POST /generate/rate/{id}: rules and rewards."""

import pytest


def finished(loop, key, n=2, shared=True):
    request_id = loop.request(params={"n": n}, shared=shared).get_json()["id"]
    ids = []
    for _ in range(n):
        job = loop.pop(key)
        loop.upload(job["r2_upload"])
        loop.submit(key, job["id"])
        ids.append(job["id"])
    return request_id, ids


def rate(loop, request_id, expect=200, **body):
    response = loop.client.post(f"/api/v2/generate/rate/{request_id}", json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def owner(users):
    return users.create("owner", trusted=True)[1]


def test_ratings_earn_the_requester_kudos(loop, users, owner):
    requester_id, requester = users.create("requester", kudos=100)
    request_id = loop.request(requester, params={"n": 3}, shared=True).get_json()["id"]
    ids = []
    for _ in range(3):
        job = loop.pop(owner)
        loop.upload(job["r2_upload"])
        loop.submit(owner, job["id"])
        ids.append(job["id"])
    before = loop.client.get(f"/api/v2/users/{requester_id}").get_json()["kudos"]
    ratings = [{"id": ids[0], "rating": 8, "artifacts": 1}, {"id": ids[1], "rating": 5}, {"id": ids[2], "rating": 6}]
    reward = rate(loop, request_id, ratings=ratings)["reward"]
    assert reward == 20  # 5 per rating + 5 for the one grading artifacts (the request cost 22.5: no cap)
    after = loop.client.get(f"/api/v2/users/{requester_id}").get_json()
    assert after["kudos"] == before + reward and after["kudos_details"]["awarded"] == reward
    assert rate(loop, request_id, 400, best=ids[0])["rc"] == "AestheticsAlreadyExist"


def test_best_alone(loop, owner):
    request_id, ids = finished(loop, owner)
    assert rate(loop, request_id, best=ids[1])["reward"] == 14  # 15, capped at what the request cost (15) - 1


@pytest.mark.parametrize(
    "case,rc",
    [
        ("not_shared", "AestheticsNotPublic"),
        ("unfinished", "AestheticsNotCompleted"),
        ("nothing", "AestheticsMissing"),
        ("duplicate", "AestheticsDuplicate"),
        ("foreign", "ProcGenNotFound"),
        ("confused", "AestheticsConfused"),
        ("solo", "AestheticsSolo"),
    ],
)
def test_refusals(loop, owner, case, rc):
    if case == "not_shared":
        request_id, ids = finished(loop, owner, shared=False)
        body = {"best": ids[0]}
    elif case == "unfinished":
        request_id = loop.request(params={"n": 2}, shared=True).get_json()["id"]
        body = {"best": "0" * 36}
    elif case == "solo":
        request_id, ids = finished(loop, owner, n=1)
        body = {"best": ids[0]}
    else:
        request_id, ids = finished(loop, owner)
        body = {
            "nothing": {},
            "duplicate": {"ratings": [{"id": ids[0], "rating": 5}, {"id": ids[0], "rating": 6}]},
            "foreign": {"ratings": [{"id": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "rating": 5}]},
            "confused": {"best": ids[1], "ratings": [{"id": ids[0], "rating": 9}, {"id": ids[1], "rating": 3}]},
        }[case]
    assert rate(loop, request_id, 400, **body)["rc"] == rc


def test_validation_and_unknown_request(loop):
    assert "ratings.0.rating" in rate(loop, "0" * 36, 400, ratings=[{"id": "a" * 36, "rating": 11}])["errors"]
    assert rate(loop, "00000000-0000-0000-0000-000000000000", 404, best="a" * 36)["rc"] == "RequestNotFound"
