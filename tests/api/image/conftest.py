"""Helpers to drive the image loop through the Flask test client."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.imaging import REGEN, webp_bytes


class Loop:
    def __init__(self, client, users):
        self.client = client
        self.users = users

    def request(self, key: str = "0000000000", expect: int | None = 202, **body):
        body.setdefault("prompt", "a lighthouse at dusk")
        response = self.client.post("/api/v2/generate/async", json=body, headers={"apikey": key})
        if expect is not None:
            assert response.status_code == expect, response.get_json()
        return response

    def pop(self, key: str, name: str = "worker-one", expect: int = 200, **body):
        payload = {"name": name, "models": ["stable_diffusion"], "bridge_agent": REGEN, "max_pixels": 1048576}
        payload.update(body)
        response = self.client.post("/api/v2/generate/pop", json=payload, headers={"apikey": key})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def upload(self, url: str, data: bytes | None = None, expect: int = 200):
        parsed = urllib.parse.urlsplit(url)
        response = self.client.put(f"{parsed.path}?{parsed.query}", data=data if data is not None else webp_bytes())
        assert response.status_code == expect, response.get_json()
        return response

    def submit(self, key: str, job_id: str, expect: int = 200, **body):
        payload = {"id": job_id, "generation": "R2", "seed": 1312, "state": "ok"}
        payload.update(body)
        response = self.client.post("/api/v2/generate/submit", json=payload, headers={"apikey": key})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def check(self, request_id: str):
        response = self.client.get(f"/api/v2/generate/check/{request_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def status(self, request_id: str):
        response = self.client.get(f"/api/v2/generate/status/{request_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def loop(client, users):
    return Loop(client, users)


@pytest.fixture
def worker_key(users):
    _, key = users.create("gpu-owner", trusted=True)
    return key
