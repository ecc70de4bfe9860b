"""The text loop end to end: a text-mode gunicorn server on PostgreSQL and Redis, horde-sdk strict."""

import pytest

from tests import support


@pytest.fixture(scope="module")
def text_server(e2e_env):
    url = support.create_pg_database("horde_e2e_text")
    env = {**e2e_env, "HORDE_MODE": "text", "HORDE_DATABASE_URL": url, "HORDE_REDIS_PREFIX": e2e_env["HORDE_REDIS_PREFIX"] + "text:"}
    support.horde_cli("db", "upgrade", env=env)
    server = support.ServerProcess(env, workers=2).start()
    yield server, env
    server.stop()
    support.drop_pg_database(url)


def test_text_loop_with_horde_sdk(text_server):
    server, env = text_server
    _, key = support.create_user_cli(env, "scribe-owner", "--trusted")
    result = support.run_sdk(server.url, "text_loop.py", api_key=key, worker_name="sdk-scribe")
    assert result["idle_ids"] == []
    single = result["single"]
    assert single["kudos"] > 0 and single["model"] == "koboldcpp/LLaMA2-13B-Psyfighter2"
    assert single["payload_prompt"] == "Once upon a time" and single["reward"] > 0
    assert single["done"] and single["text"] == "there lived a keeper of lighthouses." and single["state"].endswith("ok")
    assert result["n2"] == {"ids": 2, "generations": 2}
    assert result["cancel"] == {"processing_before": 2, "done_after": True}
    assert result["dry_run"] > 0
    assert "No available workers" in result["impossible"]["message"] and result["impossible"]["is_possible"] is False
    assert result["simple_client"] == ["the end."]
    assert result["stats"]["has_total"] and isinstance(result["stats"]["models"], dict)


def test_image_routes_are_not_served_in_text_mode(text_server):
    import requests

    server, _ = text_server
    response = requests.post(f"{server.url}/api/v2/generate/async", json={"prompt": "x"}, headers={"apikey": "0000000000"}, timeout=5)
    assert response.status_code == 404 and response.json()["rc"] == "ModeNotServed"
