"""The live pages in Chromium: a page of another origin follows a request with EventSource, the
dashboard's figures match the API's after a few jobs (its charts drawn from our own origin,
screenshots on desktop and phone sizes), and the account page shows requests in flight live."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from playwright.sync_api import expect

from tests.imaging import REGEN, webp_bytes

pytestmark = pytest.mark.e2e
ANON = {"apikey": "0000000000"}

OTHER_ORIGIN_PAGE = """<!doctype html><html><body><p id="state">starting</p><script>
window.events = [];
var params = new URLSearchParams(location.search);
var source = new EventSource(params.get("stream"));
["check", "status"].forEach(function (name) {
  source.addEventListener(name, function (event) {
    window.events.push({event: name, id: event.lastEventId, data: JSON.parse(event.data)});
    if (name === "status") { source.close(); document.getElementById("state").textContent = "done"; }
  });
});
source.onerror = function () { document.getElementById("state").textContent = "error"; };
</script></body></html>"""


class _OtherOrigin(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = OTHER_ORIGIN_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def other_origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def worker_key(server):
    from tests import support

    return support.create_user_cli(server.cli_env, "live-worker-owner", "--trusted")[1]


def _pop(server, key: str) -> dict:
    job = requests.post(
        f"{server.url}/api/v2/generate/pop", json={"name": "live-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN},
        headers={"apikey": key}, timeout=10,
    ).json()
    assert job["id"], job
    return job


def _submit(server, key: str, job: dict) -> None:
    assert requests.put(job["r2_upload"], data=webp_bytes(), timeout=10).status_code == 200
    answer = requests.post(
        f"{server.url}/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 5}, headers={"apikey": key}, timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _events(page) -> list:
    return page.evaluate("window.events")


def _wait(condition, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_page_of_another_origin_follows_a_request_with_event_source(page, server, other_origin, worker_key):
    request_id = requests.post(f"{server.url}/api/v2/generate/async", json={"prompt": "cross-origin"}, headers=ANON, timeout=10).json()["id"]
    page.goto(f"{other_origin}/follow.html?stream={server.url}/api/v2/generate/events/{request_id}")
    _wait(lambda: len(_events(page)) >= 1)
    assert _events(page)[0]["event"] == "check" and _events(page)[0]["data"]["waiting"] == 1
    job = _pop(server, worker_key)
    _wait(lambda: any(e["data"].get("processing") == 1 for e in _events(page)))
    _submit(server, worker_key, job)
    expect(page.locator("#state")).to_have_text("done")
    events = _events(page)
    assert [e["event"] for e in events][-1] == "status"
    final = events[-1]["data"]
    assert final["done"] is True and final["finished"] == 1 and final["generations"][0]["id"] == job["id"]
    assert events[-1]["id"] == "status"


def test_the_dashboard_matches_the_api_and_loads_nothing_from_elsewhere(browser, server, worker_key, screenshot):
    for _ in range(3):
        requests.post(f"{server.url}/api/v2/generate/async", json={"prompt": "dashboard"}, headers=ANON, timeout=10)
        _submit(server, worker_key, _pop(server, worker_key))
    waiting = requests.post(f"{server.url}/api/v2/generate/async", json={"prompt": "still queued"}, headers=ANON, timeout=10)
    assert waiting.status_code == 202

    def api_figures() -> dict:
        performance = requests.get(f"{server.url}/api/v2/status/performance", timeout=10).json()
        models = requests.get(f"{server.url}/api/v2/status/models", timeout=10).json()
        totals = requests.get(f"{server.url}/api/v2/stats/img/totals", timeout=10).json()
        return {
            "workers.online": performance["worker_count"], "workers.threads": performance["thread_count"],
            "queue.jobs": int(sum(model["jobs"] for model in models)), "jobs_last_hour": totals["hour"]["images"],
        }

    for name, size in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=size)
        page = context.new_page()
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        page.goto(f"{server.url}/dashboard")
        expect(page.locator("#live-state")).to_have_text("Live, as of")
        _wait(lambda: page.get_attribute("#dashboard", "data-updates"))

        def matches() -> bool:
            expected = api_figures()
            shown = {key: int(float(page.inner_text(f'[data-figure="{key}"]'))) for key in expected}
            return shown == expected and expected["jobs_last_hour"] >= 3 and expected["queue.jobs"] >= 1

        _wait(matches, timeout=90)  # the statistics route's figures are refreshed every minute
        for chart in ("#jobs-chart", "#kudos-chart"):
            canvas = page.locator(f"{chart} canvas")
            expect(canvas).to_have_count(1)
            box = canvas.bounding_box()
            assert box["width"] >= 200 and box["height"] >= 100
            assert box["width"] <= size["width"], "the chart fits the screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"] + 1, "no sideways scrolling"
        assert "stable_diffusion" in page.inner_text("#queue-table")
        screenshot(page, f"dashboard-{name}")
        assert seen and all(url.startswith(server.url) for url in seen), [u for u in seen if not u.startswith(server.url)]
        context.close()
    requests.delete(f"{server.url}/api/v2/generate/status/{waiting.json()['id']}", timeout=10)  # leave an empty queue


def test_the_account_page_shows_requests_in_flight_live(page, server, worker_key):
    page.goto(f"{server.url}/register")
    page.click("#login-oidc")
    page.wait_for_selector("#login")
    page.fill("#login", "live-carol")
    page.click("#allow")
    page.wait_for_url(f"{server.url}/register")
    page.fill("#username", "Live Carol")
    page.click("text=Create my account")
    key = page.inner_text("#api-key").strip()
    page.goto(f"{server.url}/register")
    expect(page.locator("#in-flight-table")).to_contain_text("Nothing in flight")
    assert len(page.inner_text("#webhook-secret-value").strip()) == 64
    _wait(lambda: page.get_attribute("#in-flight", "data-updates"))

    request_id = requests.post(f"{server.url}/api/v2/generate/async", json={"prompt": "mine"}, headers={"apikey": key}, timeout=10).json()["id"]
    row = page.locator(f'tr[data-request="{request_id}"]')
    expect(row).to_have_count(1)  # no reload: pushed by the server
    expect(row.locator("td").nth(2)).to_have_text("1")
    job = _pop(server, worker_key)
    expect(row.locator("td").nth(3)).to_have_text("1")
    _submit(server, worker_key, job)
    expect(row).to_have_count(0)
    expect(page.locator("#in-flight-table")).to_contain_text("Nothing in flight")
