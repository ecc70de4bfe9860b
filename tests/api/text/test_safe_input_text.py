"""Text mode: worker capabilities and request sizes that made no sense (or a 500) are refused,
and nothing changes. PostgreSQL and SQLite."""

from __future__ import annotations

import pytest

from tests.api.state import snapshot
from tests.api.text.conftest import MODEL, VALIDATED


@pytest.fixture
def tworld(text_app, tusers, tloop):
    ids = {}
    ids["owner"], ids["owner_key"] = tusers.create("scribe-owner", trusted=True)
    ids["alice"], ids["alice_key"] = tusers.create("alice", kudos=1000)
    tloop.pop(ids["owner_key"], name="scribe")
    tloop.request(ids["alice_key"], models=["no-such/model"])
    return ids


def _pop(**changes) -> dict:
    body = {"name": "scribe", "models": [MODEL], "bridge_agent": VALIDATED, "max_length": 512, "max_context_length": 4096}
    body.update(changes)
    return body


CASES = [
    ("max_length -1", "/api/v2/generate/text/pop", "owner_key", _pop(max_length=-1), "ValidationError"),
    ("max_context_length -1", "/api/v2/generate/text/pop", "owner_key", _pop(max_context_length=-1), "ValidationError"),
    ("max_context_length past INTEGER", "/api/v2/generate/text/pop", "owner_key", _pop(max_context_length=2**40), "ValidationError"),
    ("max_length past the maximum", "/api/v2/generate/text/pop", "owner_key", _pop(max_length=10**6), "ValidationError"),
    ("a new worker with max_length 0", "/api/v2/generate/text/pop", "owner_key", _pop(name="scribe-two", max_length=0), "ValidationError"),
    ("201 softprompts", "/api/v2/generate/text/pop", "owner_key", _pop(softprompts=["s"] * 201), "ValidationError"),
    ("prompt over 4 MiB", "/api/v2/generate/text/async", "alice_key", {"prompt": "w" * (4 * 1024 * 1024 + 1)}, "InvalidPromptSize"),
    ("10,000 models", "/api/v2/generate/text/async", "alice_key", {"prompt": "x", "models": ["m"] * 10000}, "ValidationError"),
    ("1,001 stop sequences", "/api/v2/generate/text/async", "alice_key",
     {"prompt": "x", "params": {"stop_sequence": [""] * 1001}}, "ValidationError"),
    ("softprompt past its column", "/api/v2/generate/text/async", "alice_key", {"prompt": "x", "softprompt": "s" * 256}, "ValidationError"),
    ("NaN temperature", "/api/v2/generate/text/async", "alice_key", '{"prompt": "x", "params": {"temperature": NaN}}', "ValidationError"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_refused_and_nothing_changed(text_app, tworld, case):
    name, path, key_name, body, rc = case
    before = snapshot(text_app)
    client = text_app.test_client()
    headers = {"apikey": tworld[key_name]}
    if isinstance(body, str):
        response = client.post(path, data=body, headers=headers, content_type="application/json")
    else:
        response = client.post(path, json=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["rc"] == rc
    assert snapshot(text_app) == before
