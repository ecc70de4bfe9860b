"""The alchemy loop end to end: gunicorn on PostgreSQL and Redis, horde-sdk 0.33.3 strict as
the client and as the alchemist (spec/api.md §3.10-3.13, behaviour §1.16).

Kudos expected (behaviour §1.16, §2.4): caption 1, nsfw 1, RealESRGAN_x4plus on a 600x500
image (2 tiles) 3 x 2 = 6; the requester pays each form's price + 2 (slow workers, the
default): 3 + 3 + 8 = 14. The alchemist's owner is trusted: all of it to the balance (both
start with 100, above the balance floor).
"""

import datetime as dt

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from horde.db import utcnow
from horde.domain.queue import maintenance
from tests import support


def test_alchemy_loop_with_horde_sdk(server, e2e_env):
    _, owner = support.create_user_cli(e2e_env, "alchemist-owner", "--trusted", "--kudos", "100")
    _, client = support.create_user_cli(e2e_env, "alchemy-client", "--kudos", "100")
    result = support.run_sdk(
        server.url, "alchemy_loop.py", api_key=owner, phase="loop", worker_name="sdk-alchemist", client_key=client,
    )

    assert result["idle"] == {"forms": None, "skipped": {}}
    loop = result["loop"]
    assert loop["waiting_state"] == "waiting" and loop["popped"] == ["RealESRGAN_x4plus", "caption", "nsfw"]
    assert loop["r2_only_for"] == ["RealESRGAN_x4plus"] and loop["source_is_url"]
    assert loop["rewards"] == {"caption": 1.0, "nsfw": 1.0, "RealESRGAN_x4plus": 6.0}
    assert loop["state"] == "done" and loop["captions"] == ["a blue rectangle"] and loop["nsfw"] == [False]
    assert loop["upscaler"] == "RealESRGAN_x4plus" and loop["download_status"] == 200 and loop["download_size"] == [300, 250]
    assert loop["kudos_after"]["client"] == loop["kudos_before"]["client"] - 14
    assert loop["kudos_after"]["worker"] == loop["kudos_before"]["worker"] + 8
    assert loop["duplicate_rc"] == "DuplicateGen"

    assert result["simple_client"] == {"state": "done", "captions": ["a blue rectangle"]}

    cancel = result["cancel"]
    assert cancel["state"] == "partial" and cancel["forms"] == {"caption": "cancelled", "nsfw": "cancelled"}
    assert cancel["late_rc"] == "DuplicateGen" and cancel["nothing_left"]
    # the caption at the alchemist when cancelled is paid (1) and charged (1 + 2); the waiting nsfw costs nothing
    assert cancel["kudos_after"]["client"] == cancel["kudos_before"]["client"] - 3
    assert cancel["kudos_after"]["worker"] == cancel["kudos_before"]["worker"] + 1

    # refusals of the async route reach the SDK with their rc
    assert result["errors"] == {
        "unreadable": "SourceImageUnreadable", "too_many_tiles": "SourceImageResolutionExceeded", "bad_key": "InvalidAPIKey",
        "http_webhook": "BadRequest", "unknown_status": "RequestNotFound",
    }


def test_a_stale_form_is_requeued_for_the_next_alchemist(server, e2e_env):
    _, owner = support.create_user_cli(e2e_env, "stale-alchemist-owner", "--trusted")
    taken = support.run_sdk(server.url, "alchemy_loop.py", api_key=owner, phase="stale-take", worker_name="sdk-stale")
    # The scheduler's stale-job sweep, run with a clock past the form's 3-minute TTL.
    engine = create_engine(e2e_env["HORDE_DATABASE_URL"])
    with Session(engine) as session:
        assert maintenance.requeue_stale_jobs(session, utcnow() + dt.timedelta(seconds=181)) == 1
    engine.dispose()
    again = support.run_sdk(server.url, "alchemy_loop.py", api_key=owner, phase="stale-retake", worker_name="sdk-stale",
                            old_form_id=taken["form_id"], request_id=taken["request_id"])
    assert again["new_form_id"] != taken["form_id"]
    assert again["late_rc"] == "AbortedGen" and again["reward"] == 1.0 and again["state"] == "done"
