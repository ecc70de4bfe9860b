"""The image loop end to end: gunicorn on PostgreSQL and Redis, horde-sdk 0.33.3 strict."""

from tests import support


def test_image_loop_with_horde_sdk(server, e2e_env):
    _, key = support.create_user_cli(e2e_env, "gpu-owner", "--trusted")
    result = support.run_sdk(server.url, "image_loop.py", api_key=key, worker_name="sdk-worker")

    assert result["idle"]["ids"] == []
    single = result["single"]
    assert single["put_status"] == 200 and single["r2_upload"].startswith(server.url)
    assert single["payload_seed"].isdigit() and single["model"] == "stable_diffusion"
    assert single["reward"] > 0 and single["done"] and single["finished"] == 1
    assert single["seed"] == "1312" and single["censored"] is False
    assert single["download_matches"] and single["download_type"] == "image/webp"

    assert result["batch"] == {"ids": 4, "n_iter": 4, "finished": 4, "seeds": ["500", "501", "502", "503"]}

    cancel = result["cancel"]
    assert cancel["waiting_before"] == 2 and cancel["processing_before"] == 1
    assert cancel["done_after"] and cancel["late_reward"] > 0 and cancel["finished"] == 1

    assert result["dry_run"]["kudos"] > 0
    assert result["simple_client"] == {"generations": 1, "seed": "4242", "size": [64, 64]}
    assert isinstance(result["stats"]["total_images"], int) and isinstance(result["stats"]["models_total"], dict)


def test_worker_routes_with_horde_sdk(server, e2e_env):
    _, key = support.create_user_cli(e2e_env, "sdk-worker-owner", "--trusted")
    result = support.run_sdk(server.url, "worker_routes.py", api_key=key, worker_name="sdk-routes-worker")
    assert result["by_name"]["models"] == ["stable_diffusion"] and result["by_name"]["type"].endswith("image")
    assert result["by_name"]["performance"] == "No requests fulfilled yet"
    assert result["modified"] == {"maintenance": False, "info": "an SDK worker"}
    assert result["by_id_info"] == "an SDK worker"
    assert "sdk-routes-worker" in result["listing"]["all"] and "sdk-routes-worker" in result["listing"]["image"]
    assert result["listing"]["text"] == []
    assert result["missing_rc"] == "WorkerNotFound"
    assert result["pop_messages"] == ["hello worker"]
    teams = result["teams"]
    assert teams["created"] == "SDK Team" and teams["changed_info"] == "changed" and "SDK Team" in teams["listed"]
    assert teams["one_creator"].startswith("sdk-worker-owner#") and teams["deleted"] == "SDK Team"


def test_kudos_and_moderator_view_with_horde_sdk(server, e2e_env):
    import requests

    from tests.imaging import REGEN

    _, payer = support.create_user_cli(e2e_env, "sdk-payer", "--kudos", "200")
    recipient, _ = support.create_user_cli(e2e_env, "sdk-recipient")
    _, mod = support.create_user_cli(e2e_env, "sdk-mod", "--moderator")
    owner_alias, owner = support.create_user_cli(e2e_env, "sdk-viewed-owner", "--trusted")
    requests.post(f"{server.url}/api/v2/generate/pop", json={"name": "sdk-viewed", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                  headers={"apikey": owner}, timeout=10)
    worker_id = requests.get(f"{server.url}/api/v2/workers/name/sdk-viewed", timeout=10).json()["id"]
    result = support.run_sdk(server.url, "kudos_and_views.py", api_key=payer, recipient=recipient, mod_key=mod, worker_id=worker_id)
    assert result["transferred"] == 25 and result["too_much_rc"] == "KudosTransferNotEnough" and result["awarded"] == 7
    assert result["moderator_view"] == {"owner": owner_alias, "paused": False, "has_ip": True}
    details = requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": payer}, timeout=10).json()
    assert details["kudos"] == 175
