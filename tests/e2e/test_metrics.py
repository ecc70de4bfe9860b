"""/metrics of a real gunicorn node (two web processes and the scheduler: prometheus-client's
multiprocess mode), parsed by prometheus-client's own parser after a generation loop; and the
access log's request ids."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import support
from tests.imaging import REGEN, webp_bytes


def scrape(server) -> dict[tuple[str, tuple], float]:
    answer = requests.get(f"{server.url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def node(e2e_env):
    proc = support.ServerProcess(e2e_env, workers=2).start()
    yield proc
    proc.stop()


def test_requests_of_every_process_are_counted_once(node):
    before = scrape(node)
    for _ in range(20):  # a new connection each: both web processes answer some
        assert requests.get(f"{node.url}/api/v2/status/heartbeat", headers={"Connection": "close"}, timeout=10).status_code == 200
    after = scrape(node)
    labels = {"method": "GET", "route": "/api/v2/status/heartbeat", "status": "200"}
    assert value(after, "horde_http_requests_total", **labels) - value(before, "horde_http_requests_total", **labels) == 20
    route = {"route": "/api/v2/status/heartbeat"}
    assert value(after, "horde_http_request_duration_seconds_count", **route) - value(before, "horde_http_request_duration_seconds_count", **route) == 20


def test_a_loop_shows_in_the_counters_and_gauges(node, e2e_env):
    _, key = support.create_user_cli(e2e_env, "metrics-owner", "--trusted")
    before = scrape(node)
    anon = {"apikey": "0000000000"}
    for prompt in ("delivered", "faulted"):
        assert requests.post(f"{node.url}/api/v2/generate/async", json={"prompt": prompt}, headers=anon, timeout=10).status_code == 202
    pop = {"name": "metrics-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN}
    first = requests.post(f"{node.url}/api/v2/generate/pop", json=pop, headers={"apikey": key}, timeout=10).json()
    assert requests.put(first["r2_upload"], data=webp_bytes(), timeout=10).status_code == 200
    delivered = requests.post(
        f"{node.url}/api/v2/generate/submit", json={"id": first["id"], "generation": "R2", "seed": 1}, headers={"apikey": key}, timeout=10,
    )
    reward = delivered.json()["reward"]
    second = requests.post(f"{node.url}/api/v2/generate/pop", json=pop, headers={"apikey": key}, timeout=10).json()
    faulted = requests.post(
        f"{node.url}/api/v2/generate/submit", json={"id": second["id"], "generation": "R2", "state": "faulted", "seed": 2}, headers={"apikey": key},
        timeout=10,
    )
    assert faulted.status_code == 200, (second, faulted.text)
    # One more waits for a model nobody serves.
    waiting = {"prompt": "waits", "models": ["Deliberate"]}
    assert requests.post(f"{node.url}/api/v2/generate/async", json=waiting, headers=anon, timeout=10).status_code == 202
    after = scrape(node)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("horde_jobs_popped_total", kind="image") == 2
    assert grew("horde_jobs_delivered_total", kind="image") == 1
    assert grew("horde_jobs_faulted_total", kind="image") == 1
    assert grew("horde_kudos_rewarded_total", kind="image") == pytest.approx(reward)
    assert grew("horde_http_request_duration_seconds_count", route="/api/v2/generate/pop") == 2
    assert value(after, "horde_queue_depth", model="Deliberate") == 1
    assert value(after, "horde_workers_online", type="image") >= 1
    # Counted even before anything happened: a dashboard has a line from the start.
    assert ("horde_jobs_expired_total", ()) in after and ("horde_requests_expired_total", ()) in after


def test_the_access_log_carries_the_request_id(node):
    answer = requests.get(f"{node.url}/api/v2/status/heartbeat", headers={"X-Request-Id": "trace-4711"}, timeout=10)
    assert answer.headers["X-Request-Id"] == "trace-4711"
    generated = requests.get(f"{node.url}/api/v2/status/heartbeat", timeout=10).headers["X-Request-Id"]
    assert len(generated) == 32 and generated != "trace-4711"
    # A request id we would not log as it is is replaced.
    assert requests.get(f"{node.url}/api/v2/status/heartbeat", headers={"X-Request-Id": "a b"}, timeout=10).headers["X-Request-Id"] != "a b"
    support_log = node.log_path.read_text()
    line = next(line for line in support_log.splitlines() if "trace-4711" in line)
    assert '"GET /api/v2/status/heartbeat" 200 trace-4711' in line and line.endswith("ms")


def test_the_grafana_dashboard_asks_for_metrics_that_exist(node):
    """config/grafana-dashboard.json: every metric its queries name is one /metrics serves."""
    import json
    import re

    dashboard = json.loads((support.ROOT / "config" / "grafana-dashboard.json").read_text())
    asked = {
        name for panel in dashboard["panels"] for target in panel["targets"] for name in re.findall(r"horde_\w+", target["expr"])
    }
    text = requests.get(f"{node.url}/metrics", timeout=10).text
    served = set()
    for family in text_string_to_metric_families(text):  # named even before it has a sample
        served |= {family.name, *(f"{family.name}_{suffix}" for suffix in ("total", "bucket", "count", "sum"))}
    assert asked and asked <= served, asked - served
