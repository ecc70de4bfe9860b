"""The text loop through the test client, on PostgreSQL and SQLite."""

import pytest
from sqlalchemy import select

from horde.models import User
from tests.api.text.conftest import MODEL
from tests.api.unchanged import assert_unchanged, snapshot


def test_full_text_loop(tloop, scribe_key):
    queued = tloop.request(params={"max_length": 120, "max_context_length": 1024, "temperature": 0.7}).get_json()
    assert queued["kudos"] > 0  # an honest estimate, not 0
    job = tloop.pop(scribe_key)
    assert job["id"] and job["ids"] == [job["id"]] and job["model"] == MODEL and job["ttl"] == 150
    assert job["payload"]["prompt"] == "Once upon a time" and job["payload"]["max_length"] == 120
    assert job["payload"]["temperature"] == 0.7 and job["payload"]["n"] == 1
    reward = tloop.submit(scribe_key, job["id"], seed=42)["reward"]
    assert reward > 0
    status = tloop.status(queued["id"])
    assert status["done"] and status["finished"] == 1
    generation = status["generations"][0]
    assert generation["text"].startswith("there was") and generation["seed"] == 42 and generation["state"] == "ok"
    assert "id" not in generation and "shared" not in status


def test_two_generations(tloop, scribe_key):
    request_id = tloop.request(params={"n": 2}).get_json()["id"]
    job = tloop.pop(scribe_key, amount=2)
    assert len(job["ids"]) == 2
    for job_id in job["ids"]:
        tloop.submit(scribe_key, job_id)
    assert len(tloop.status(request_id)["generations"]) == 2


def test_cancel(tloop, scribe_key):
    request_id = tloop.request(params={"n": 2}).get_json()["id"]
    job = tloop.pop(scribe_key)
    cancelled = tloop.client.delete(f"/api/v2/generate/text/status/{request_id}").get_json()
    assert cancelled["waiting"] == 1 and cancelled["processing"] == 1
    assert tloop.pop(scribe_key, name="other")["id"] is None
    tloop.submit(scribe_key, job["id"])
    status = tloop.status(request_id)
    assert status["done"] and status["finished"] == 1


def test_dry_run(tloop, scribe_key):
    body = tloop.request(expect=200, dry_run=True, params={"max_length": 200, "n": 2}).get_json()
    assert set(body) == {"kudos"} and body["kudos"] > 0
    assert tloop.pop(scribe_key)["id"] is None


def test_impossible_request_is_flagged(tloop, scribe_key):
    tloop.pop(scribe_key, max_context_length=2048)  # the only worker: 2048 context
    body = tloop.request(params={"max_context_length": 8192, "max_length": 100}).get_json()
    assert "No available workers" in body["message"] and "warnings" not in body
    assert tloop.status(body["id"])["is_possible"] is False
    possible = tloop.request(params={"max_context_length": 1024}).get_json()
    assert "message" not in possible and tloop.status(possible["id"])["is_possible"] is True


def test_image_ids_are_not_text_ids(tloop):
    assert tloop.client.get("/api/v2/generate/check/abc").get_json()["rc"] == "ModeNotServed"
    tloop.status("00000000-0000-0000-0000-000000000000", expect=404)


def test_double_and_faulted_submit(tloop, scribe_key):
    request_id = tloop.request().get_json()["id"]
    job = tloop.pop(scribe_key)
    assert tloop.submit(scribe_key, job["id"], state="faulted")["reward"] == 0
    assert tloop.status(request_id)["waiting"] == 1
    job = tloop.pop(scribe_key)
    tloop.submit(scribe_key, job["id"])
    assert tloop.submit(scribe_key, job["id"], expect=400)["rc"] == "DuplicateGen"


def test_csam_state_is_recorded(tloop, scribe_key):
    request_id = tloop.request().get_json()["id"]
    job = tloop.pop(scribe_key)
    tloop.submit(scribe_key, job["id"], state="csam")
    generation = tloop.status(request_id)["generations"][0]
    assert generation["state"] == "csam" and generation["gen_metadata"] == [{"type": "censorship", "value": "csam"}]


@pytest.mark.parametrize(
    "status,rc,field,body",
    [
        (400, "MissingPrompt", None, {"prompt": ""}),
        (400, "ValidationError", "params.max_length", {"params": {"max_length": 15}}),
        (400, "ValidationError", "params.max_context_length", {"params": {"max_context_length": 79}}),
        (400, "ValidationError", "params.n", {"params": {"n": 21}}),
        (400, "ValidationError", "params.temperature", {"params": {"temperature": 6}}),
        (400, "ValidationError", "params.top_k", {"params": {"top_k": 201}}),
        (400, "ValidationError", "params.top_p", {"params": {"top_p": 0}}),
        (400, "TokenOverflow", None, {"params": {"max_length": 512, "max_context_length": 256}}),
        (400, "MissingFullSamplerOrder", None, {"params": {"sampler_order": [0, 1, 2]}}),
        (400, "TooManyStopSequences", None, {"params": {"stop_sequence": [str(i) for i in range(129)]}}),
        (400, "ExcessiveStopSequence", None, {"params": {"stop_sequence": ["x" * 1001, "y" * 1000]}}),
        (400, "InvalidExtraSourceImages.", None, {"extra_source_images": [{"image": "abc"}]}),
        (400, "RequiresTrust", None, {"disable_batching": True, "params": {"n": 2}}),
        (400, "BadRequest", None, {"webhook": "http://example.org/hook"}),
        (404, "WorkerNotFound", None, {"workers": ["00000000-0000-0000-0000-000000000000"]}),
    ],
)
def test_validation_errors(text_app, tloop, status, rc, field, body):
    before = snapshot(text_app)
    response = tloop.request(expect=None, **body)
    payload = response.get_json()
    assert response.status_code == status and payload["rc"] == rc, payload
    if field:
        assert field in payload["errors"]
    assert_unchanged(text_app, before)


def test_prompt_is_required(tloop):
    response = tloop.client.post("/api/v2/generate/text/async", json={}, headers={"apikey": "0000000000"})
    assert response.status_code == 400 and "prompt" in response.get_json()["errors"]


def test_upfront_kudos_for_long_generations(text_app, tloop, tusers):
    _, poor = tusers.create("poor")
    before = snapshot(text_app)
    assert tloop.request(poor, expect=403, params={"max_length": 1024, "max_context_length": 4096}).get_json()["rc"] == "KudosUpfront"
    assert_unchanged(text_app, before)
    tloop.request(poor, params={"max_length": 1024, "max_context_length": 4096}, allow_downgrade=True)


def test_kudos_after_delivery_and_cancel(text_app, tloop, tusers):
    requester_id, requester = tusers.create("requester", kudos=100)
    owner_id, owner = tusers.create("owner", trusted=True, kudos=100)
    request_id = tloop.request(requester, params={"n": 2}).get_json()["id"]
    job = tloop.pop(owner)
    tloop.client.delete(f"/api/v2/generate/text/status/{request_id}")
    reward = tloop.submit(owner, job["id"])["reward"]
    with text_app.extensions["horde"].db.session_factory() as session:
        balances = {u.id: u.kudos for u in session.scalars(select(User))}
    assert balances[owner_id] == pytest.approx(100 + reward)
    assert balances[requester_id] == pytest.approx(100 - 1 - (reward + 1))  # the request tax, then the job
    assert 100 + 100 - balances[owner_id] - balances[requester_id] == pytest.approx(2)  # the horde took 1 + 1


class TestTextMatching:
    def test_model(self, tloop, scribe_key):
        tloop.request(models=["Qwen2.5-7B-Instruct"])
        job = tloop.pop(scribe_key)
        assert job["id"] is None and job["skipped"]["models"] == 1
        assert tloop.pop(scribe_key, name="qwen", models=["Qwen2.5-7B-Instruct"])["id"]

    def test_max_length(self, tloop, scribe_key):
        tloop.request(params={"max_length": 400, "max_context_length": 2048})
        assert tloop.pop(scribe_key, max_length=256)["skipped"]["max_length"] == 1
        assert tloop.pop(scribe_key, name="long", max_length=512)["id"]

    def test_max_context_length(self, tloop, scribe_key):
        tloop.request(params={"max_context_length": 4096})
        assert tloop.pop(scribe_key, max_context_length=2048)["skipped"]["max_context_length"] == 1
        assert tloop.pop(scribe_key, name="wide", max_context_length=8192)["id"]

    def test_validated_backends(self, tloop, scribe_key):
        tloop.request(validated_backends=True)
        assert tloop.pop(scribe_key, bridge_agent="my-own-server:1:x")["skipped"]["bridge_version"] == 1
        assert tloop.pop(scribe_key, name="kcpp")["id"]

    def test_trusted_workers(self, tloop, tusers, scribe_key):
        _, newcomer = tusers.create("newcomer")
        tloop.request(trusted_workers=True)
        assert tloop.pop(newcomer, name="untrusted-scribe")["skipped"]["untrusted"] == 1
        assert tloop.pop(scribe_key)["id"]

    def test_worker_list(self, tloop, scribe_key):
        tloop.pop(scribe_key, name="chosen")
        worker_id = tloop.client.get("/api/v2/find_user", headers={"apikey": scribe_key}).get_json()["worker_ids"][0]
        tloop.request(workers=[worker_id])
        assert tloop.pop(scribe_key, name="not-chosen")["skipped"]["worker_id"] == 1
        assert tloop.pop(scribe_key, name="chosen")["id"]

    def test_softprompt(self, tloop, scribe_key):
        tloop.request(softprompt="pirates")
        assert tloop.pop(scribe_key)["skipped"]["matching_softprompt"] == 1
        job = tloop.pop(scribe_key, name="pirate-scribe", softprompts=["pirates"])
        assert job["id"] and job["softprompt"] == "pirates"

    def test_blacklist(self, tloop, scribe_key):
        tloop.request(prompt="A tale of dragons")
        assert tloop.pop(scribe_key, blacklist=["dragon"])["skipped"]["blacklist"] == 1

    def test_text_name_cannot_be_an_image_worker(self, tloop, scribe_key, text_app):
        from horde.models import Worker

        tloop.pop(scribe_key, name="scribe")
        with text_app.extensions["horde"].db.transaction() as session:
            session.query(Worker).filter_by(name="scribe").update({"worker_type": "image"})
        assert tloop.pop(scribe_key, name="scribe", expect=400)["rc"] == "PolymorphicNameConflict"


def test_text_stats(text_app, tloop, scribe_key):
    from horde.db import utcnow
    from horde.domain.queue import stats

    for _ in range(2):
        request_id = tloop.request(params={"max_length": 100}).get_json()["id"]
        tloop.submit(scribe_key, tloop.pop(scribe_key)["id"])
    svc = text_app.extensions["horde"]
    with svc.db.session_factory() as session:
        stats.refresh(session, svc.cache, "text", utcnow())
    totals = tloop.client.get("/api/v2/stats/text/totals").get_json()
    assert totals["minute"] == {"requests": 2, "tokens": 200} and totals["total"] == {"requests": 2, "tokens": 200}
    models = tloop.client.get("/api/v2/stats/text/models").get_json()
    assert models["day"] == {MODEL: 2} and models["total"] == {MODEL: 2}
    assert request_id
    # the image statistics are served on a text horde too, empty
    image_totals = tloop.client.get("/api/v2/stats/img/totals")
    assert image_totals.status_code == 200 and image_totals.get_json()["total"] == {"images": 0, "ps": 0}
    for state in ("known", "custom", "all"):
        assert tloop.client.get(f"/api/v2/stats/img/models?model_state={state}").get_json() == {"day": {}, "month": {}, "total": {}}


def test_one_model_status_finds_a_name_whose_slash_is_encoded_twice(text_app, tloop, scribe_key):
    from urllib.parse import quote

    tloop.pop(scribe_key)
    text_app.extensions["horde"].live.clear()
    text_app.extensions["horde"].cache.delete("models:text")
    twice = quote(quote(MODEL, safe=""), safe="")  # what horde-sdk sends: koboldcpp%252FLLaMA2...
    assert [m["name"] for m in tloop.client.get(f"/api/v2/status/models/{twice}").get_json()] == [MODEL]
    assert [m["type"] for m in tloop.client.get(f"/api/v2/status/models/{MODEL}").get_json()] == ["text"]
    assert tloop.client.get("/api/v2/status/models/koboldcpp%252FNobody").get_json() == []


def test_a_seed_that_is_not_a_number_is_refused(tloop, scribe_key):
    """The document leaves `seed` out of SubmitInputKobold (as horde-sdk's model does); the body
    is still checked with it."""
    request_id = tloop.request().get_json()["id"]
    job = tloop.pop(scribe_key)
    body = tloop.submit(scribe_key, job["id"], expect=400, seed="forty-two")
    assert body["rc"] == "ValidationError" and "seed" in body["errors"]
    assert tloop.status(request_id)["processing"] == 1
