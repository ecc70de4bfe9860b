"""Slow and huge source-image URLs against a real gunicorn server: every one is refused within
the fetch deadline, and meanwhile heartbeat, check and pop answer as quickly as usual.

Before horde/fetch.py, six URLs answering a byte a second stopped a four-process server
for a minute (issue 21)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests import support
from tests.fetch_targets import FetchTargets
from tests.imaging import REGEN, png_b64

DEADLINE = 3.0
SLOW_REQUESTS = 20


@pytest.fixture(scope="module")
def slow_url_server(tmp_path_factory):
    env = support.migrated_server_env(
        "horde_slow_urls", tmp_path_factory.mktemp("slow-urls"),
        HORDE_FETCH_ALLOW_PRIVATE="1", HORDE_FETCH_DEADLINE=str(DEADLINE),
    )
    server = support.ServerProcess(env, workers=2, extra_args=("--no-jobs",)).start()
    yield server, env
    server.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def _timed(call) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def test_twenty_slow_urls_do_not_slow_heartbeat_check_or_pop(slow_url_server):
    server, env = slow_url_server
    _, worker_key = support.create_user_cli(env, "gpu-owner", "--trusted")
    api = f"{server.url}/api/v2"
    queued = requests.post(f"{api}/generate/async", json={"prompt": "a quiet harbour", "source_image": png_b64()},
                           headers={"apikey": "0000000000"}, timeout=10)
    assert queued.status_code == 202, queued.text
    request_id = queued.json()["id"]
    pop_body = {"name": "idle-worker", "models": ["SDXL 1.0"], "bridge_agent": REGEN}
    probes = {
        "heartbeat": lambda: requests.get(f"{api}/status/heartbeat", timeout=30),
        "check": lambda: requests.get(f"{api}/generate/check/{request_id}", timeout=30),
        "pop": lambda: requests.post(f"{api}/generate/pop", json=pop_body, headers={"apikey": worker_key}, timeout=30),
    }

    def probe_round() -> dict[str, float]:
        times = {}
        for name, call in probes.items():
            elapsed, response = _timed(call)
            assert response.status_code == 200, (name, response.text)
            times[name] = elapsed
        return times

    usual = [probe_round() for _ in range(15)]

    with FetchTargets(drip_interval=1.0, drip_limit=30) as targets:
        paths = ["/drip", "/drip-headers", "/huge-unsized", "/huge"] * (SLOW_REQUESTS // 4)
        loaded: list[dict[str, float]] = []

        def slow_request(path: str) -> tuple[float, int, str]:
            elapsed, response = _timed(lambda: requests.post(
                f"{api}/generate/async", json={"prompt": "from a slow URL", "source_image": targets.url(path)},
                headers={"apikey": "0000000000"}, timeout=60,
            ))
            return elapsed, response.status_code, response.json().get("rc")

        with ThreadPoolExecutor(max_workers=SLOW_REQUESTS) as pool:
            answers = [pool.submit(slow_request, path) for path in paths]
            wait_until = time.monotonic() + 10
            while targets.connections < 4:  # the slow fetches are under way
                assert time.monotonic() < wait_until, "the server never fetched the URLs"
                time.sleep(0.02)
            started = time.monotonic()
            while time.monotonic() - started < DEADLINE - 0.5:
                loaded.append(probe_round())
            outcomes = [answer.result() for answer in answers]

    for elapsed, status, rc in outcomes:
        assert (status, rc) in ((400, "SourceImageUrlInvalid"), (400, "SourceImageSizeExceeded"), (503, "SourceImageFetchBusy"))
        assert elapsed < DEADLINE + 2.0, outcomes
    assert sum(1 for _, _, rc in outcomes if rc == "SourceImageUrlInvalid") >= 4  # drips ran into the deadline
    assert len(loaded) >= 3
    for name in probes:
        before = statistics.median(r[name] for r in usual)
        during = [r[name] for r in loaded]
        # "Usual" on a shared two-core machine: a few milliseconds; a stalled process
        # shows up as seconds (before the fix, a minute).
        assert statistics.median(during) < max(5 * before, 0.1), (name, before, during)
        assert max(during) < 1.0, (name, before, during)
