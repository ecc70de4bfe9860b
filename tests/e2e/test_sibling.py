"""An image horde and a text horde run as each other's sibling (HORDE_SIBLING_URL): each answers
the cross-kind questions of the public API (the other kind's live models, one model of the other
kind, the other kind's statistics) with its sibling's answer; a sibling that is down costs a
bounded wait and an empty answer, never an error; two hordes never ask each other in a loop."""

from __future__ import annotations

import time

import pytest
import requests

from tests import support
from tests.api.text.conftest import MODEL as TEXT_MODEL
from tests.api.text.conftest import VALIDATED
from tests.imaging import REGEN

pytestmark = pytest.mark.e2e

IMAGE_MODEL = "stable_diffusion"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    ports = {"image": support.free_port(), "text": support.free_port()}
    while ports["text"] == ports["image"]:
        ports["text"] = support.free_port()
    servers = {}
    for mode, other in (("image", "text"), ("text", "image")):
        env = support.migrated_server_env(
            f"horde_sibling_{mode}", tmp_path_factory.mktemp(f"sibling-{mode}"), HORDE_MODE=mode,
            HORDE_SIBLING_URL=f"http://127.0.0.1:{ports[other]}", HORDE_STATS_SECONDS="1",
        )
        servers[mode] = support.ServerProcess(env, workers=1, port=ports[mode]).start()
        _, servers[mode].owner = support.create_user_cli(env, f"{mode}-owner", "--trusted")
    # One worker online on each: its model is live.
    popped = [
        requests.post(f"{servers['image'].url}/api/v2/generate/pop", timeout=30, headers={"apikey": servers["image"].owner},
                      json={"name": "sibling painter", "models": [IMAGE_MODEL], "bridge_agent": REGEN}),
        requests.post(f"{servers['text'].url}/api/v2/generate/text/pop", timeout=30, headers={"apikey": servers["text"].owner},
                      json={"name": "sibling scribe", "models": [TEXT_MODEL], "bridge_agent": VALIDATED}),
    ]
    assert [p.status_code for p in popped] == [200, 200], [p.text for p in popped]
    yield servers
    for server in servers.values():
        server.stop()
        support.drop_pg_database(server.env["HORDE_DATABASE_URL"])


def _get(server, route: str, **params):
    answer = requests.get(f"{server.url}/api{route}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _names(entries: list[dict]) -> list[str]:
    return sorted(entry["name"] for entry in entries)


def test_each_horde_lists_the_other_kinds_live_models_from_its_sibling(pair):
    image, text = pair["image"], pair["text"]
    assert _names(_get(image, "/v2/status/models", type="text")) == [TEXT_MODEL]
    assert _get(image, "/v2/status/models", type="text") == _get(text, "/v2/status/models", type="text")
    assert _names(_get(text, "/v2/status/models", type="image")) == [IMAGE_MODEL]
    assert all(entry["type"] == "image" for entry in _get(text, "/v2/status/models", type="image"))
    # Filters of the route apply to the sibling's list too.
    assert _get(image, "/v2/status/models", type="text", min_count=5) == []
    # Its own kind stays its own.
    assert _names(_get(image, "/v2/status/models")) == [IMAGE_MODEL]


def test_one_model_of_the_other_kind_is_found_through_the_sibling(pair):
    image, text = pair["image"], pair["text"]
    found = _get(image, f"/v2/status/models/{TEXT_MODEL}")
    assert [entry["name"] for entry in found] == [TEXT_MODEL] and found[0]["type"] == "text"
    assert _names(_get(text, f"/v2/status/models/{IMAGE_MODEL}")) == [IMAGE_MODEL]
    assert _get(image, "/v2/status/models/no-such-model") == []


def test_the_other_kinds_statistics_are_the_siblings(pair):
    image, text = pair["image"], pair["text"]
    for route in ("/v2/stats/img/totals", "/v2/stats/img/models"):
        assert _get(text, route) == _get(image, route)
    for route in ("/v2/stats/text/totals", "/v2/stats/text/models"):
        assert _get(image, route) == _get(text, route)


def test_a_question_from_a_sibling_is_never_passed_on(pair):
    """Two hordes set up as each other's sibling in the same mode must not ask each other forever:
    a question that comes from a sibling is answered from what this horde has."""
    answer = requests.get(f"{pair['image'].url}/api/v2/status/models", params={"type": "text"},
                          headers={"X-Horde-Sibling": "1"}, timeout=30)
    assert answer.status_code == 200 and answer.json() == []


def test_a_sibling_that_is_down_costs_a_bounded_wait_and_an_empty_answer(pair):
    pair["text"].stop()
    deadline = time.monotonic() + 20  # the sibling's last answer is kept for a few seconds
    while True:
        started = time.monotonic()
        answer = requests.get(f"{pair['image'].url}/api/v2/status/models", params={"type": "text"}, timeout=30)
        assert answer.status_code == 200
        assert time.monotonic() - started < 5  # the sibling's deadline is 3 s
        if answer.json() == []:
            break
        assert time.monotonic() < deadline, answer.json()
        time.sleep(0.5)
    # Its own kind is served as before.
    assert _names(_get(pair["image"], "/v2/status/models")) == [IMAGE_MODEL]
