"""Every rate limit of horde/api/limits.py (spec/api.md §8): its route, what it counts by, its
number and its window, on a clock the test moves (no test waits for a window to pass).

For each limit: `number` calls pass, the next is refused with 429 `RateLimited`; a call
that differs in what the limit counts by (another address, path or key) passes; and once
the window has passed, the same caller passes again. Calls are spaced so the route's
shorter limits never trip first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from horde.api import limits as route_limits
from horde.modes import Mode
from tests.conftest import build_app, make_settings

KEY_A, KEY_B = "a" * 22, "b" * 22
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """Stands in for the limiter storage's `time` module: time moves only when told."""

    def __init__(self):
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@dataclass(frozen=True)
class Limit:
    endpoint: str
    method: str
    path: str
    number: int
    window: float  # seconds
    counts_by: str  # "ip", "ip+path" or "apikey"
    other_path: str | None = None
    spacing: float = 0.0  # seconds between calls, so shorter limits of the route do not trip
    mode: Mode = Mode.IMAGE
    form: bool = False  # a web form (needs its CSRF token)


ID = "00000000-0000-0000-0000-000000000001"
LIMITS = [
    Limit("users_list", "GET", "/api/v2/users", 90, 60, "ip"),
    Limit("user_single", "GET", "/api/v2/users/1", 60, 60, "ip+path", "/api/v2/users/2"),
    Limit("horde_modes", "GET", "/api/v2/status/modes", 30, 60, "ip"),
    Limit("worker_single", "GET", f"/api/v2/workers/{ID}", 30, 60, "ip+path", "/api/v2/workers/other"),
    Limit("teams_list", "GET", "/api/v2/teams", 30, 60, "ip+path"),
    Limit("team_single", "GET", f"/api/v2/teams/{ID}", 30, 60, "ip+path", "/api/v2/teams/other"),
    Limit("kudos_transfer", "POST", "/api/v2/kudos/transfer", 1, 1, "apikey"),
    Limit("kudos_transfer", "POST", "/api/v2/kudos/transfer", 90, 3600, "apikey", spacing=1.001),
    Limit("image_async", "POST", "/api/v2/generate/async", 90, 60, "ip+path", spacing=0.5005),
    Limit("image_async", "POST", "/api/v2/generate/async", 2, 1, "ip+path"),
    Limit("image_async", "POST", "/api/v2/generate/async", 2, 1, "apikey"),
    Limit("image_check", "GET", f"/api/v2/generate/check/{ID}", 10, 1, "ip+path", "/api/v2/generate/check/other"),
    Limit("image_status", "GET", f"/api/v2/generate/status/{ID}", 10, 60, "ip+path", "/api/v2/generate/status/other"),
    Limit("image_pop", "POST", "/api/v2/generate/pop", 60, 1, "ip"),
    Limit("image_rate", "POST", f"/api/v2/generate/rate/{ID}", 5, 60, "ip+path", "/api/v2/generate/rate/other"),
    Limit("image_submit", "POST", "/api/v2/generate/submit", 60, 1, "ip"),
    Limit("interrogate_status", "GET", f"/api/v2/interrogate/status/{ID}", 10, 1, "ip+path", "/api/v2/interrogate/status/other"),
    Limit("interrogate_pop", "POST", "/api/v2/interrogate/pop", 60, 1, "ip"),
    Limit("interrogate_submit", "POST", "/api/v2/interrogate/submit", 60, 1, "ip"),
    Limit("text_async", "POST", "/api/v2/generate/text/async", 90, 60, "ip+path", spacing=0.5005, mode=Mode.TEXT),
    Limit("text_async", "POST", "/api/v2/generate/text/async", 2, 1, "ip+path", mode=Mode.TEXT),
    Limit("text_async", "POST", "/api/v2/generate/text/async", 2, 1, "apikey", mode=Mode.TEXT),
    Limit("text_status", "GET", f"/api/v2/generate/text/status/{ID}", 60, 60, "ip+path", "/api/v2/generate/text/status/x", mode=Mode.TEXT),
    Limit("text_pop", "POST", "/api/v2/generate/text/pop", 60, 1, "ip", mode=Mode.TEXT),
    Limit("text_submit", "POST", "/api/v2/generate/text/submit", 60, 1, "ip", mode=Mode.TEXT),
    Limit("openai.chat_completions", "POST", "/v1/chat/completions", 90, 60, "ip+path", spacing=0.5005, mode=Mode.TEXT),
    Limit("openai.chat_completions", "POST", "/v1/chat/completions", 2, 1, "ip+path", mode=Mode.TEXT),
    Limit("openai.chat_completions", "POST", "/v1/chat/completions", 2, 1, "apikey", mode=Mode.TEXT),
    Limit("openai.completions", "POST", "/v1/completions", 90, 60, "ip+path", spacing=0.5005, mode=Mode.TEXT),
    Limit("openai.completions", "POST", "/v1/completions", 2, 1, "ip+path", mode=Mode.TEXT),
    Limit("openai.completions", "POST", "/v1/completions", 2, 1, "apikey", mode=Mode.TEXT),
    Limit("openai.image_generations", "POST", "/v1/images/generations", 90, 60, "ip+path", spacing=0.5005),
    Limit("openai.image_generations", "POST", "/v1/images/generations", 2, 1, "ip+path"),
    Limit("openai.image_generations", "POST", "/v1/images/generations", 2, 1, "apikey"),
    Limit("sharedkeys", "PUT", "/api/v2/sharedkeys", 5, 60, "ip+path"),
    Limit("styles_image_list", "GET", "/api/v2/styles/image", 90, 60, "ip+path", spacing=0.5005),
    Limit("styles_image_list", "GET", "/api/v2/styles/image", 2, 1, "ip+path"),
    Limit("styles_image_single", "GET", f"/api/v2/styles/image/{ID}", 20, 3600, "ip+path", "/api/v2/styles/image/other", spacing=0.5005),
    Limit("styles_image_single", "GET", f"/api/v2/styles/image/{ID}", 2, 1, "ip+path", "/api/v2/styles/image/other"),
    Limit("styles_image_examples", "POST", f"/api/v2/styles/image/{ID}/example", 90, 60, "ip+path",
          "/api/v2/styles/image/other/example", spacing=0.5005),
    Limit("styles_image_examples", "POST", f"/api/v2/styles/image/{ID}/example", 2, 1, "ip+path", "/api/v2/styles/image/other/example"),
    Limit("styles_text_list", "GET", "/api/v2/styles/text", 20, 3600, "ip+path", spacing=0.5005, mode=Mode.TEXT),
    Limit("styles_text_list", "GET", "/api/v2/styles/text", 2, 1, "ip+path", mode=Mode.TEXT),
    Limit("styles_text_single", "GET", f"/api/v2/styles/text/{ID}", 90, 60, "ip+path", "/api/v2/styles/text/other", spacing=0.5005,
          mode=Mode.TEXT),
    Limit("styles_text_single", "GET", f"/api/v2/styles/text/{ID}", 2, 1, "ip+path", "/api/v2/styles/text/other", mode=Mode.TEXT),
    Limit("collections_list", "GET", "/api/v2/collections", 90, 60, "ip+path", spacing=0.5005),
    Limit("collections_list", "GET", "/api/v2/collections", 2, 1, "ip+path"),
    Limit("collection_single", "GET", f"/api/v2/collections/{ID}", 90, 60, "ip+path", "/api/v2/collections/other", spacing=0.5005),
    Limit("collection_single", "GET", f"/api/v2/collections/{ID}", 2, 1, "ip+path", "/api/v2/collections/other"),
    Limit("web.register", "POST", "/register", 5, 60, "ip", form=True),
    Limit("web.register", "POST", "/register", 30, 3600, "ip", spacing=12.01, form=True),
    Limit("web.reset_key", "POST", "/account/key", 5, 60, "ip", form=True),
    Limit("web.reset_key", "POST", "/account/key", 30, 3600, "ip", spacing=12.01, form=True),
    Limit("web.transfer", "POST", "/transfer", 1, 1, "ip", form=True),
    Limit("web.transfer", "POST", "/transfer", 90, 3600, "ip", spacing=1.001, form=True),
]


def _number_and_window(text: str) -> tuple[int, float]:
    number, _per, unit = text.split()
    return int(number), {"second": 1, "minute": 60, "hour": 3600}[unit]


def test_the_table_here_is_the_table_served():
    """Every limit of horde/api/limits.py has a case above, and no case is made up."""
    served = sorted(
        (endpoint, *_number_and_window(limit), {
            route_limits.ip_key: "ip", route_limits.ip_method_path_key: "ip+path", route_limits.apikey_method_path_key: "apikey",
        }[key])
        for endpoint, entries in route_limits.ROUTE_LIMITS.items() for limit, key, *_ in entries
    )
    tested = sorted((c.endpoint, c.number, c.window, c.counts_by) for c in LIMITS)
    assert tested == served


@pytest.fixture(scope="module")
def limited_apps(tmp_path_factory):
    built = {}

    def get(mode: Mode):
        if mode not in built:
            built[mode] = build_app(make_settings(tmp_path_factory.mktemp(f"limits-{mode.value}"), rate_limits=True, mode=mode))
        return built[mode]

    yield get
    for app in built.values():
        app.extensions["horde"].db.dispose()


def test_every_limited_route_exists(limited_apps):
    """A limit whose route was renamed would silently limit nothing."""
    registered = set()
    for mode in (Mode.IMAGE, Mode.TEXT):
        registered |= set(limited_apps(mode).view_functions)
    named = set(route_limits.ROUTE_LIMITS) | set(route_limits.EXEMPT)
    missing = {name for name in named if name not in registered and f"api.{name}" not in registered}
    assert not missing, f"limits name routes that do not exist: {sorted(missing)}"


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(route_limits, "time", fake)  # the clock of the limits' storage
    return fake


class Caller:
    def __init__(self, app, case: Limit, clock: Clock):
        self.app, self.case, self.clock = app, case, clock
        self.clients: dict[str, object] = {}

    def call(self, ip: str, apikey: str = KEY_A, path: str | None = None) -> int:
        client = self.clients.setdefault(ip, self.app.test_client())
        environ = {"REMOTE_ADDR": ip}
        path = path or self.case.path
        if self.case.form:
            page = client.get("/register", environ_base=environ).get_data(as_text=True)
            response = client.post(path, data={"csrf_token": CSRF_FIELD.search(page).group(1)}, environ_base=environ)
        else:
            response = client.open(path, method=self.case.method, json={}, headers={"apikey": apikey}, environ_base=environ)
        if response.status_code == 429 and response.is_json:
            body = response.get_json()  # the OpenAI routes (/v1) answer in OpenAI's error shape
            assert (body["error"]["code"] if self.case.path.startswith("/v1/") else body["rc"]) == "RateLimited"
        return response.status_code


@pytest.mark.parametrize("case", LIMITS, ids=[f"{c.endpoint} {c.number}/{c.window:g}s by {c.counts_by}" for c in LIMITS])
def test_the_limit(limited_apps, clock, case):
    app = limited_apps(case.mode)
    app.extensions["horde_limiter"].reset()
    caller = Caller(app, case, clock)
    by_key = case.counts_by == "apikey"

    # A limit by key sees one key used from many addresses; a limit by address sees one
    # address use many keys: neither can be counting by the other.
    def ip(i: int) -> str:
        return f"10.1.{i // 200}.{i % 200 + 1}" if by_key else "10.0.0.1"

    def key(i: int) -> str:
        return KEY_A if by_key else f"{i:022d}"

    for i in range(case.number):
        assert caller.call(ip(i), key(i)) != 429, f"call {i + 1} of {case.number} was refused"
        clock.now += case.spacing
    assert caller.call(ip(case.number), key(case.number)) == 429, f"call {case.number + 1} was not refused"

    if case.counts_by == "apikey":
        assert caller.call("10.9.9.9", apikey=KEY_B) != 429  # another key (from a fresh address)
        assert caller.call("10.9.9.10", apikey=KEY_A) == 429  # the same key from yet another address
    else:
        if case.other_path:
            assert caller.call("10.0.0.1", key(case.number + 1), path=case.other_path) != 429  # same address, another path
        assert caller.call("10.9.9.11", key(case.number + 2)) != 429  # another address (its own count)

    clock.now += case.window + 0.01
    assert caller.call(ip(case.number), key(case.number + 3)) != 429, "the window passed but the caller is still refused"


def test_the_default_limit_and_the_exempt_routes(limited_apps, clock):
    app = limited_apps(Mode.IMAGE)
    app.extensions["horde_limiter"].reset()
    client = app.test_client()
    answers = [client.get("/api/v2/status/performance").status_code for _ in range(91)]
    assert answers[:90] == [200] * 90 and answers[90] == 429  # 90 a minute for any other route
    assert all(client.get("/api/v2/status/heartbeat").status_code == 200 for _ in range(150))
    for path in ("/api/v2/results/download/x.webp", "/api/v2/results/upload/x.webp"):
        assert 429 not in {client.open(path, method="GET" if "download" in path else "PUT").status_code for _ in range(100)}
