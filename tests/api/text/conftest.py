"""Helpers to drive the text loop through the Flask test client."""

from __future__ import annotations

import pytest

from tests.conftest import Users

VALIDATED = "KoboldCppEmbedWorker:1.0:https://github.com/LostRuins/koboldcpp"
MODEL = "koboldcpp/LLaMA2-13B-Psyfighter2"


class TextLoop:
    def __init__(self, client):
        self.client = client

    def request(self, key: str = "0000000000", expect: int | None = 202, **body):
        body.setdefault("prompt", "Once upon a time")
        body.setdefault("models", [MODEL])
        response = self.client.post("/api/v2/generate/text/async", json=body, headers={"apikey": key})
        if expect is not None:
            assert response.status_code == expect, response.get_json()
        return response

    def pop(self, key: str, name: str = "scribe", expect: int = 200, **body):
        payload = {"name": name, "models": [MODEL], "bridge_agent": VALIDATED, "max_length": 512, "max_context_length": 4096}
        payload.update(body)
        response = self.client.post("/api/v2/generate/text/pop", json=payload, headers={"apikey": key})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def submit(self, key: str, job_id: str, expect: int = 200, **body):
        payload = {"id": job_id, "generation": "there was a lighthouse keeper who loved the sea.", "state": "ok"}
        payload.update(body)
        response = self.client.post("/api/v2/generate/text/submit", json=payload, headers={"apikey": key})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def status(self, request_id: str, expect: int = 200):
        response = self.client.get(f"/api/v2/generate/text/status/{request_id}")
        assert response.status_code == expect, response.get_json()
        return response.get_json()


@pytest.fixture
def text_client(text_app):
    return text_app.test_client()


@pytest.fixture
def tusers(text_app):
    return Users(text_app)


@pytest.fixture
def tloop(text_client):
    return TextLoop(text_client)


@pytest.fixture
def scribe_key(tusers):
    return tusers.create("scribe-owner", trusted=True, kudos=100)[1]
