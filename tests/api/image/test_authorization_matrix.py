"""Every mutating route, tried by the anonymous user, another user, the owner and a moderator.

Refusals answer the expected status and rc, and change nothing (a probe of the resource
reads the same before and after)."""

import pytest

ROLES = ("anon", "other", "owner", "mod")


@pytest.fixture
def world(loop, users):
    owner_id, owner = users.create("owner", trusted=True, kudos=100)
    other_id, other = users.create("other", kudos=100)
    _, mod = users.create("mod", moderator=True, kudos=100)
    loop.pop(owner, name="matrix-gpu")
    client = loop.client
    worker_id = client.get("/api/v2/workers/name/matrix-gpu").get_json()["id"]
    team_id = client.post("/api/v2/teams", json={"name": "Matrix Team"}, headers={"apikey": owner}).get_json()["id"]
    message_id = client.post("/api/v2/workers/messages", json={"worker_id": worker_id, "message": "note"}, headers={"apikey": owner}).get_json()["id"]
    keys = {"anon": "0000000000", "other": other, "owner": owner, "mod": mod}
    return {"keys": keys, "owner_id": owner_id, "other_id": other_id, "worker_id": worker_id, "team_id": team_id, "message_id": message_id}


# Fields that move with the clock alone (a second can tick between the two reads).
CLOCK_FIELDS = ("account_age", "uptime")


def mod_get(client, world, path):
    answer = client.get(path, headers={"apikey": world["keys"]["mod"]}).get_json()
    if isinstance(answer, dict):
        return {k: v for k, v in answer.items() if k not in CLOCK_FIELDS}
    return answer


# route: (method, path template, body, probe path, expected {role: (status, rc or None)})
MATRIX = {
    "modify user": ("put", "/api/v2/users/{owner_id}", {"contact": "owner@example.org"}, "/api/v2/users/{owner_id}",
                    {"anon": (403, "AnonForbiddenUserMod"), "other": (403, "NotModerator"), "owner": (200, None), "mod": (200, None)}),
    "modify worker": ("put", "/api/v2/workers/{worker_id}", {"info": "new info"}, "/api/v2/workers/{worker_id}",
                      {"anon": (403, "AnonForbiddenWorker"), "other": (403, "NotOwner"), "owner": (200, None), "mod": (200, None)}),
    "pause worker": ("put", "/api/v2/workers/{worker_id}", {"paused": True}, "/api/v2/workers/{worker_id}",
                     {"anon": (403, "AnonForbiddenWorker"), "other": (403, "NotModerator"), "owner": (403, "NotModerator"), "mod": (200, None)}),
    "delete worker": ("delete", "/api/v2/workers/{worker_id}", None, "/api/v2/workers",
                      {"anon": (403, "AnonForbiddenWorker"), "other": (403, "NotOwner"), "owner": (200, None), "mod": (200, None)}),
    "create team": ("post", "/api/v2/teams", {"name": "Another Team"}, "/api/v2/teams",
                    {"anon": (403, "AnonForbidden"), "other": (403, "UntrustedTeamCreation"), "owner": (200, None), "mod": (200, None)}),
    "modify team": ("patch", "/api/v2/teams/{team_id}", {"info": "changed info"}, "/api/v2/teams",
                    {"anon": (403, "AnonForbidden"), "other": (403, "NotOwner"), "owner": (200, None), "mod": (200, None)}),
    "delete team": ("delete", "/api/v2/teams/{team_id}", None, "/api/v2/teams",
                    {"anon": (403, "AnonForbidden"), "other": (403, "NotOwner"), "owner": (200, None), "mod": (200, None)}),
    "horde modes": ("put", "/api/v2/status/modes", {"raid_mode": True}, "/api/v2/status/modes",
                    {"anon": (403, "NotModerator"), "other": (403, "NotModerator"), "owner": (403, "NotModerator"), "mod": (200, None)}),
    "award kudos": ("post", "/api/v2/kudos/award", {"username": "other#{other_id}", "amount": 5}, "/api/v2/users/{other_id}",
                    {"anon": (403, "NotAllowedAwards"), "other": (403, "NotAllowedAwards"), "owner": (403, "NotAllowedAwards"), "mod": (200, None)}),
    "send message": ("post", "/api/v2/workers/messages", {"worker_id": "{worker_id}", "message": "hi"}, "/api/v2/workers/messages?user_id={owner_id}",
                     {"anon": (403, "AnonForbidden"), "other": (403, "MessagesOnlyOwnWorkers"), "owner": (200, None), "mod": (200, None)}),
    "delete message": ("delete", "/api/v2/workers/messages/{message_id}", None, "/api/v2/workers/messages?user_id={owner_id}",
                       {"anon": (403, "NotOwner"), "other": (403, "NotOwner"), "owner": (200, None), "mod": (200, None)}),
}


def fill(template, world):
    if isinstance(template, dict):
        return {k: fill(v, world) for k, v in template.items()}
    if isinstance(template, str):
        return template.format(**world)
    return template


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_matrix(loop, world, route, role):
    method, path, body, probe, expected = MATRIX[route]
    path, probe, body = fill(path, world), fill(probe, world), fill(body, world)
    before = mod_get(loop.client, world, probe)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(loop.client, method)(path, headers={"apikey": world["keys"][role]}, **kwargs)
    status, rc = expected[role]
    assert response.status_code == status, (route, role, response.get_json())
    if rc is not None:
        assert response.get_json()["rc"] == rc
        assert mod_get(loop.client, world, probe) == before, "a refused change changed something"
    else:
        assert mod_get(loop.client, world, probe) != before, "an allowed change changed nothing"
