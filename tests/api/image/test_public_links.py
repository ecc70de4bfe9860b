"""Links we hand out (upload, download, service info) reach the server from where the client is.

With HORDE_PUBLIC_URL unset and the server listening on every address (Docker, a LAN), links
name the host the request came to, never the wildcard listen address; X-Forwarded-Host and
-Proto count only through HORDE_TRUSTED_PROXIES."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_settings, reset_database
from tests.imaging import REGEN, webp_bytes


@pytest.fixture(scope="module")
def make_app(tmp_path_factory):
    built = []

    def make(**overrides):
        app = build_app(make_settings(tmp_path_factory.mktemp("links"), host="0.0.0.0", **overrides))
        reset_database(app)
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["horde"].db.dispose()


def _pop(app, **headers):
    from horde.domain.accounts import users

    svc = app.extensions["horde"]
    with svc.db.transaction() as session:
        owner, key = users.create_user(session, svc.hasher, f"owner{len(headers)}{id(headers)}")
        owner.trusted = True
    client = app.test_client()
    queued = client.post("/api/v2/generate/async", json={"prompt": "links"}, headers={"apikey": "0000000000", **headers})
    assert queued.status_code == 202
    job = client.post(
        "/api/v2/generate/pop", json={"name": f"links-{id(headers)}", "models": ["stable_diffusion"], "bridge_agent": REGEN},
        headers={"apikey": key, **headers},
    ).get_json()
    return client, key, queued.get_json()["id"], job


def test_links_name_the_host_the_worker_used(make_app):
    app = make_app()
    lan = {"Host": "192.168.1.20:7001"}
    client, key, request_id, job = _pop(app, **lan)
    assert job["r2_upload"].startswith("http://192.168.1.20:7001/api/v2/results/upload/")
    assert "0.0.0.0" not in job["r2_upload"]
    # The link works (the test client ignores the host; the path and signature are what count).
    image = webp_bytes(color=(1, 2, 3))
    upload_path = job["r2_upload"].split("192.168.1.20:7001", 1)[1]
    assert client.put(upload_path, data=image).status_code == 200
    assert client.post("/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 3}, headers={"apikey": key}).status_code == 200
    # The client that checks from elsewhere gets a download link on its own host.
    status = client.get(f"/api/v2/generate/status/{request_id}", headers={"Host": "horde.lan"}).get_json()
    assert status["generations"][0]["img"].startswith("http://horde.lan/api/v2/results/download/")
    info = client.get("/.well-known/serviceinfo", headers={"Host": "horde.lan:8080"}).get_json()
    assert info["api"]["aihorde"]["base_url"] == "http://horde.lan:8080/api/v2"


def test_forwarded_host_counts_only_through_trusted_proxies(make_app):
    forwarded = {"Host": "10.0.0.5:7001", "X-Forwarded-Host": "horde.example.org", "X-Forwarded-Proto": "https"}
    _, _, _, untrusted = _pop(make_app(), **forwarded)
    assert untrusted["r2_upload"].startswith("http://10.0.0.5:7001/api/v2/results/upload/")
    _, _, _, trusted = _pop(make_app(trusted_proxies=1), **forwarded)
    assert trusted["r2_upload"].startswith("https://horde.example.org/api/v2/results/upload/")


def test_a_public_url_wins_over_the_request(make_app):
    _, _, _, job = _pop(make_app(public_url="https://horde.example.org"), Host="192.168.1.20:7001")
    assert job["r2_upload"].startswith("https://horde.example.org/api/v2/results/upload/")


def test_without_a_request_links_never_name_a_wildcard_address():
    from horde.settings import Settings

    assert Settings(host="0.0.0.0", port=7001).effective_public_url == "http://127.0.0.1:7001"
    assert Settings(host="::", port=7001).effective_public_url == "http://127.0.0.1:7001"
    assert Settings(host="10.1.2.3", port=80).effective_public_url == "http://10.1.2.3:80"
