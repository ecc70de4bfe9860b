"""X-Forwarded-For is believed only through HORDE_TRUSTED_PROXIES hops (default none): per-IP
rate limits, the IPs recorded with requests and the IPs of workers use the result."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import Users, build_app, make_settings, reset_database
from tests.imaging import REGEN
from tests.web.conftest import Browserless


@pytest.fixture(params=[0, 1], ids=["no-proxy", "one-proxy"])
def proxied_app(request, tmp_path):
    app = build_app(make_settings(tmp_path, rate_limits=True, trusted_proxies=request.param))
    reset_database(app)
    yield app
    app.extensions["horde"].db.dispose()


def _register_from(page: Browserless, forwarded_for: str, number: int):
    token = page.csrf()
    return page.client.post(
        "/register", data={"username": f"user{number}", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_a_client_cannot_pick_its_address_to_pass_the_limit(proxied_app):
    page = Browserless(proxied_app)
    statuses = [_register_from(page, f"198.51.100.{i}", i).status_code for i in range(8)]
    if proxied_app.extensions["horde"].settings.trusted_proxies == 0:
        assert statuses == [200] * 5 + [429] * 3  # 5 a minute per address: the header changes nothing
    else:
        assert statuses == [200] * 8  # eight addresses, as the trusted proxy says


def test_the_trusted_proxy_limits_one_address(tmp_path):
    app = build_app(make_settings(tmp_path, rate_limits=True, trusted_proxies=1))
    reset_database(app)
    page = Browserless(app)
    statuses = [_register_from(page, "198.51.100.7", i).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    app.extensions["horde"].db.dispose()


def test_recorded_ips_come_from_trusted_hops_only(proxied_app):
    users = Users(proxied_app)
    _, owner_key = users.create("gpu-owner", trusted=True)
    client = proxied_app.test_client()
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    popped = client.post(
        "/api/v2/generate/pop", json={"name": "proxied-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN},
        headers={"apikey": owner_key, **spoofed},
    )
    assert popped.status_code == 200, popped.get_json()
    queued = client.post("/api/v2/generate/async", json={"prompt": "a lighthouse"}, headers={"apikey": owner_key, **spoofed})
    assert queued.status_code == 202, queued.get_json()
    expected = "203.0.113.9" if proxied_app.extensions["horde"].settings.trusted_proxies else "127.0.0.1"
    with proxied_app.extensions["horde"].db.engine.connect() as conn:
        assert conn.execute(text("SELECT ipaddr FROM workers")).scalar_one() == expected
        assert conn.execute(text("SELECT ipaddr FROM requests")).scalar_one() == expected
