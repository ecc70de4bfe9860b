"""One test per matching rule: who gets the job, who does not, and the skipped reason."""

import pytest

from tests.imaging import REGEN, png_b64

OLD_REGEN = "AI Horde Worker reGen:1.0.0:https://github.com/Haidra-Org/horde-worker-reGen"


def expect_skip(loop, key, reason, name="refused-worker", **pop):
    job = loop.pop(key, name=name, **pop)
    assert job["id"] is None, job
    assert job["skipped"].get(reason, 0) >= 1, job["skipped"]
    return job


def expect_job(loop, key, name="able-worker", **pop):
    job = loop.pop(key, name=name, **pop)
    assert job["id"] is not None, job["skipped"]
    return job


@pytest.fixture
def rich(users):
    return users.create("rich", kudos=100000, trusted=True)[1]


def test_models(loop, worker_key):
    loop.request(models=["Deliberate"])
    expect_skip(loop, worker_key, "models", models=["stable_diffusion"])
    expect_job(loop, worker_key, models=["Deliberate", "stable_diffusion"])


def test_any_model_request(loop, worker_key):
    loop.request(models=[])
    assert expect_job(loop, worker_key, models=["Dreamshaper"])["model"] == "Dreamshaper"


def test_max_pixels(loop, worker_key, rich):
    loop.request(rich, params={"width": 1024, "height": 1024})
    expect_skip(loop, worker_key, "max_pixels", max_pixels=512 * 512)
    expect_job(loop, worker_key, max_pixels=1024 * 1024)


def test_nsfw(loop, worker_key):
    loop.request(nsfw=True)
    expect_skip(loop, worker_key, "nsfw", nsfw=False)
    expect_job(loop, worker_key, nsfw=True)


def test_trusted_workers_only(loop, users, worker_key):
    _, untrusted_key = users.create("newcomer")
    loop.request(trusted_workers=True)
    expect_skip(loop, untrusted_key, "untrusted")
    expect_job(loop, worker_key)  # worker_key's owner is trusted


def test_worker_allow_list(loop, worker_key):
    assert loop.pop(worker_key, name="listed-worker")["id"] is None  # registers it; queue empty
    worker_id = loop.client.get("/api/v2/find_user", headers={"apikey": worker_key}).get_json()["worker_ids"][0]
    loop.request(workers=[worker_id])
    expect_skip(loop, worker_key, "worker_id", name="other-worker")
    expect_job(loop, worker_key, name="listed-worker")


def test_worker_deny_list(loop, worker_key):
    loop.pop(worker_key, name="denied-worker")
    worker_id = loop.client.get("/api/v2/find_user", headers={"apikey": worker_key}).get_json()["worker_ids"][0]
    loop.request(workers=[worker_id], worker_blacklist=True)
    expect_skip(loop, worker_key, "worker_id", name="denied-worker")
    expect_job(loop, worker_key, name="other-worker")


def test_img2img_setting(loop, worker_key):
    loop.request(source_image=png_b64())
    expect_skip(loop, worker_key, "img2img", allow_img2img=False)
    expect_job(loop, worker_key, allow_img2img=True)


def test_img2img_needs_a_capable_bridge(loop, worker_key):
    loop.request(source_image=png_b64())
    expect_skip(loop, worker_key, "img2img", bridge_agent="SomeOtherBridge:1.0:x")
    expect_job(loop, worker_key, bridge_agent=REGEN)


def test_painting(loop, worker_key):
    loop.request(source_image=png_b64(mode="RGBA"), source_processing="inpainting")
    expect_skip(loop, worker_key, "painting", allow_painting=False)
    expect_job(loop, worker_key, allow_painting=True)


def test_post_processing_setting(loop, worker_key):
    loop.request(params={"post_processing": ["GFPGAN"]})
    expect_skip(loop, worker_key, "post-processing", allow_post_processing=False)
    expect_job(loop, worker_key)


def test_post_processor_needs_bridge_support(loop, worker_key):
    loop.request(params={"post_processing": ["4xNomos8kSC"]})
    expect_skip(loop, worker_key, "bridge_version", bridge_agent=REGEN)  # reGen 9 predates it
    expect_job(loop, worker_key, bridge_agent="AI Horde Worker reGen:13.0.0:x")


def test_lora(loop, worker_key):
    loop.request(params={"loras": [{"name": "1234"}]})
    expect_skip(loop, worker_key, "lora", allow_lora=False)
    expect_skip(loop, worker_key, "bridge_version", name="old-worker", allow_lora=True, bridge_agent=OLD_REGEN)
    expect_job(loop, worker_key, allow_lora=True)


def test_controlnet(loop, worker_key):
    loop.request(source_image=png_b64(), params={"control_type": "canny"})
    expect_skip(loop, worker_key, "controlnet", allow_controlnet=False)
    expect_job(loop, worker_key, allow_controlnet=True)


def test_hires_fix_needs_bridge_support(loop, worker_key):
    loop.request(params={"hires_fix": True})
    expect_skip(loop, worker_key, "bridge_version", bridge_agent="AI Horde Worker:12.0.0:x")
    expect_job(loop, worker_key)


def test_sampler_support(loop, worker_key):
    loop.request(params={"sampler_name": "lcm", "steps": 8})
    expect_skip(loop, worker_key, "bridge_version", bridge_agent="AI Horde Worker reGen:2.0.0:x")
    expect_job(loop, worker_key, bridge_agent="AI Horde Worker reGen:3.0.0:x")


def test_r2_needs_bridge_support(loop, worker_key):
    loop.request()
    expect_skip(loop, worker_key, "bridge_version", bridge_agent="unknown:0:unknown")
    loop.request(r2=False)
    expect_job(loop, worker_key, name="unknown-bridge", bridge_agent="unknown:0:unknown")


def test_blacklist(loop, worker_key):
    loop.request(prompt="a Dragon over the sea")
    expect_skip(loop, worker_key, "blacklist", blacklist=["dragon"])
    expect_job(loop, worker_key, blacklist=["unicorn"])


def test_slow_workers(loop, worker_key, app, rich):
    from horde.models import Worker

    loop.pop(worker_key, name="slow-worker")
    with app.extensions["horde"].db.transaction() as session:
        session.query(Worker).filter_by(name="slow-worker").update({"speed": 100_000.0})
    loop.request(rich, slow_workers=False)
    expect_skip(loop, worker_key, "performance", name="slow-worker")
    expect_job(loop, worker_key, name="fast-worker")


def test_extra_slow_workers(loop, worker_key):
    loop.request()
    expect_skip(loop, worker_key, "performance", extra_slow_worker=True)
    loop.request(extra_slow_workers=True)
    job = expect_job(loop, worker_key, name="snail", extra_slow_worker=True)
    assert job["ttl"] >= 450  # three times the minimum


def test_limit_max_steps(loop, worker_key, rich):
    loop.request(rich, params={"steps": 45})
    expect_skip(loop, worker_key, "step_count", limit_max_steps=True)
    expect_job(loop, worker_key, limit_max_steps=False)


def test_require_upfront_kudos(loop, users, worker_key, rich):
    loop.request()  # anonymous: no kudos in hand
    expect_skip(loop, worker_key, "kudos", require_upfront_kudos=True)
    loop.request(rich)
    expect_job(loop, worker_key, require_upfront_kudos=True)


def test_unsafe_ip(loop, worker_key, app):
    from horde.models import GenerationRequest

    request_id = loop.request().get_json()["id"]
    with app.extensions["horde"].db.transaction() as session:
        session.get(GenerationRequest, request_id).safe_ip = False
    expect_skip(loop, worker_key, "unsafe_ip", allow_unsafe_ipaddr=False)
    expect_job(loop, worker_key, allow_unsafe_ipaddr=True)


def test_priority_goes_to_richer_requesters(loop, users, worker_key):
    _, poor = users.create("poor")
    _, rich_key = users.create("richer", kudos=5000)
    poor_id = loop.request(poor).get_json()["id"]
    rich_id = loop.request(rich_key).get_json()["id"]
    first = expect_job(loop, worker_key)
    assert loop.check(rich_id)["processing"] == 1 and loop.check(poor_id)["waiting"] == 1
    assert first["id"]


def test_equal_priority_is_first_come_first_served(loop, worker_key):
    first = loop.request().get_json()["id"]
    loop.request()
    expect_job(loop, worker_key)
    assert loop.check(first)["processing"] == 1


def test_aging_lets_old_requests_overtake(loop, users, worker_key, app):
    """5 priority points per second of waiting: an old poor request beats a new richer one."""
    import datetime as dt

    from horde.domain.queue import engine
    from horde.models import GenerationRequest, QueuedModel

    _, richer = users.create("richer", kudos=300)
    old = loop.request().get_json()["id"]
    with app.extensions["horde"].db.transaction() as session:
        request = session.get(GenerationRequest, old)
        aged = engine.sort_key(request.priority, request.created - dt.timedelta(seconds=120))
        request.sort_key = aged
        session.query(QueuedModel).filter_by(request_id=old).update({"sort_key": aged})
    loop.request(richer)
    expect_job(loop, worker_key)
    assert loop.check(old)["processing"] == 1


def test_owner_requests_come_first_on_own_worker(loop, users, worker_key):
    _, rich_key = users.create("richer", kudos=5000)
    loop.request(rich_key)
    own = loop.request(worker_key).get_json()["id"]
    expect_job(loop, worker_key)
    assert loop.check(own)["processing"] == 1


def test_priority_usernames(loop, users, worker_key):
    friend_id, friend_key = users.create("friend")
    _, rich_key = users.create("richer", kudos=5000)
    loop.request(rich_key)
    friend_request = loop.request(friend_key).get_json()["id"]
    expect_job(loop, worker_key, priority_usernames=[f"friend#{friend_id}"])
    assert loop.check(friend_request)["processing"] == 1


def test_skipped_counts_only_when_idle(loop, worker_key):
    loop.request(models=["Deliberate"])
    loop.request(nsfw=True, models=["Dreamshaper"])
    job = loop.pop(worker_key, models=["stable_diffusion"], nsfw=False)
    assert job["skipped"]["models"] == 2
