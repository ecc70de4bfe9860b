"""A database that cannot be reached: quick JSON 503s, a heartbeat that says DOWN, and a
readiness route that says why (the fault tests in tests/e2e/test_faults.py cut a live one)."""

from __future__ import annotations

import time

import pytest

from horde.app import create_app
from tests import support
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    """An application whose PostgreSQL refuses connections (nothing listens on its port)."""
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{support.free_port()}/horde"
    app = create_app(make_settings(tmp_path_factory.mktemp("down"), url))
    yield app.test_client()
    app.extensions["horde"].db.dispose()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v2/find_user"),
        ("get", "/api/v2/status/performance"),
        ("get", "/api/v2/generate/check/4b1c3e0c-6a8d-4e0e-9f6e-3d1f0b7f2a11"),
        ("post", "/api/v2/generate/async"),
        ("get", "/api/v2/users/1"),
    ],
)
def test_requests_get_a_quick_json_503(unreachable, method, path):
    started = time.monotonic()
    answer = getattr(unreachable, method)(path, headers={"apikey": "0000000000"}, json={"prompt": "x"} if method == "post" else None)
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.get_json()["rc"] == "DatabaseUnavailable" and answer.get_json()["message"]
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert time.monotonic() - started < 5  # refused at once, never a hang


def test_heartbeat_says_down_and_readiness_says_why(unreachable):
    assert unreachable.get("/api/v2/status/heartbeat").get_json()["message"] == "DOWN"
    ready = unreachable.get("/api/v2/status/ready")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    body = ready.get_json()
    assert body["ready"] is False and body["rc"] == "NotReady" and "database unreachable" in body["message"]
    assert body["database"] == {"ok": False, "backend": "postgresql"}


def test_readiness_of_a_working_horde(client):
    body = client.get("/api/v2/status/ready").get_json()
    assert body["ready"] is True and body["reasons"] == [] and body["degraded"] is False
    assert body["database"]["ok"] is True and body["storage"] == {"ok": True, "backend": "local"}
    assert body["redis"] == {"configured": False, "ok": None, "serving_from": "database"}
