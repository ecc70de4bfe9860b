"""Alchemy through the Flask test client, on PostgreSQL and SQLite: every route of
spec/api.md §3.10-3.13 with its error paths, and the rules of behaviour §1.16."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import urllib.parse

import pytest
from sqlalchemy import select

from horde.db import utcnow
from horde.domain.queue import alchemy, maintenance
from horde.models import GenerationRequest, Interrogation, User, Worker
from tests.imaging import REGEN, png_b64, webp_bytes

big_png_b64 = functools.lru_cache(maxsize=4)(png_b64)  # encoding 60 megapixels takes seconds: once per run
ALCHEMIST = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"


class Alchemy:
    def __init__(self, app, client):
        self.app, self.client = app, client

    def request(self, key: str = "0000000000", expect: int | None = 202, forms=("caption",), **body):
        body.setdefault("source_image", png_b64())
        body.setdefault("forms", [{"name": f} if isinstance(f, str) else f for f in forms])
        response = self.client.post("/api/v2/interrogate/async", json=body, headers={"apikey": key})
        if expect is not None:
            assert response.status_code == expect, response.get_json()
        return response.get_json() if expect == 202 else response

    @staticmethod
    def _answer(response, expect: int):
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def pop(self, key: str, name: str = "alchemist", expect: int = 200, **body):
        payload = {"name": name, "forms": ["caption", "nsfw", "interrogation", "RealESRGAN_x4plus"], "bridge_agent": ALCHEMIST}
        payload.update(body)
        return self._answer(self.client.post("/api/v2/interrogate/pop", json=payload, headers={"apikey": key}), expect)

    def submit(self, key: str, form_id: str, result=None, expect: int = 200, **body):
        payload = {"id": form_id, "result": result if result is not None else {"caption": "a small square"}, **body}
        return self._answer(self.client.post("/api/v2/interrogate/submit", json=payload, headers={"apikey": key}), expect)

    def status(self, interrogation_id: str, expect: int = 200):
        return self._answer(self.client.get(f"/api/v2/interrogate/status/{interrogation_id}"), expect)

    def cancel(self, interrogation_id: str):
        return self._answer(self.client.delete(f"/api/v2/interrogate/status/{interrogation_id}"), 200)

    def get(self, url: str):
        parsed = urllib.parse.urlsplit(url)
        return self.client.get(f"{parsed.path}?{parsed.query}")

    def put(self, url: str, data: bytes):
        parsed = urllib.parse.urlsplit(url)
        return self.client.put(f"{parsed.path}?{parsed.query}", data=data)

    def db(self):
        return self.app.extensions["horde"].db.session_factory()


@pytest.fixture
def al(app, client):
    return Alchemy(app, client)


@pytest.fixture
def alchemist(users):
    _, key = users.create("alchemist-owner", trusted=True)
    return key


def test_caption_round_trip(al, alchemist):
    queued = al.request()
    assert set(queued) == {"id"} and len(queued["id"]) == 36
    assert al.status(queued["id"]) == {"state": "waiting", "forms": [{"form": "caption", "state": "waiting"}]}

    popped = al.pop(alchemist)
    assert popped["skipped"] == {} and len(popped["forms"]) == 1
    form = popped["forms"][0]
    assert form["form"] == "caption" and form["payload"] is None and form["r2_upload"] is None
    source = al.get(form["source_image"])
    assert source.status_code == 200 and source.data == base64.b64decode(png_b64())
    assert al.status(queued["id"])["state"] == "processing"

    assert al.submit(alchemist, form["id"], {"caption": "a dark square"}) == {"reward": 1.0}
    assert al.status(queued["id"]) == {
        "state": "done", "forms": [{"form": "caption", "state": "done", "result": {"caption": "a dark square"}}],
    }


def test_post_processor_uploads_and_the_status_links_the_image(al, alchemist):
    queued = al.request(forms=["RealESRGAN_x4plus"], source_image=png_b64(1024, 600))  # 2 x 2 tiles
    form = al.pop(alchemist)["forms"][0]
    assert form["form"] == "RealESRGAN_x4plus" and form["r2_upload"]
    upscaled = webp_bytes(256, 256)
    assert al.put(form["r2_upload"], upscaled).status_code == 200
    assert al.submit(alchemist, form["id"], {"RealESRGAN_x4plus": "R2"}) == {"reward": 12.0}
    done = al.status(queued["id"])["forms"][0]
    assert done["state"] == "done"
    assert al.get(done["result"]["RealESRGAN_x4plus"]).data == upscaled


def test_forms_keep_their_order_duplicates_ignored_and_payloads_reach_the_worker(al, alchemist):
    queued = al.request(forms=["nsfw", {"name": "caption", "payload": {"mode": "short"}}, "nsfw", "caption"])
    assert [f["form"] for f in al.status(queued["id"])["forms"]] == ["nsfw", "caption"]
    popped = al.pop(alchemist, amount=5)["forms"]
    assert [f["form"] for f in popped] == ["nsfw", "caption"]
    assert popped[1]["payload"] == {"mode": "short"}


def test_only_forms_the_alchemist_declared_are_popped(al, alchemist):
    al.request(forms=["interrogation"])
    assert al.pop(alchemist, forms=["caption"])["forms"] is None
    assert al.pop(alchemist, forms=["interrogation"])["forms"][0]["form"] == "interrogation"


def test_an_alchemist_without_forms_does_captions(al, alchemist):
    al.request(forms=["nsfw", "caption"])
    popped = al.pop(alchemist, forms=[], amount=5)["forms"]
    assert [f["form"] for f in popped] == ["caption"]


def test_max_tiles_keeps_large_images_from_small_alchemists(al, alchemist):
    al.request(forms=["GFPGAN"], source_image=png_b64(2048, 2048))  # 16 tiles
    assert al.pop(alchemist, forms=["GFPGAN"], max_tiles=15)["forms"] is None
    assert al.pop(alchemist, forms=["GFPGAN"], max_tiles=16)["forms"][0]["form"] == "GFPGAN"


def test_trusted_workers_requests_skip_untrusted_alchemists(al, users, alchemist):
    _, untrusted = users.create("new-alchemist")
    al.request(trusted_workers=True)
    popped = al.pop(untrusted, name="new-one")
    assert popped == {"forms": None, "skipped": {"untrusted": 1}}
    assert al.pop(alchemist)["forms"][0]["form"] == "caption"


def test_higher_priority_first_then_older(al, users, alchemist):
    _, rich = users.create("rich", kudos=500)
    first = al.request()["id"]
    richer = al.request(rich)["id"]
    third = al.request()["id"]
    order = [al.pop(alchemist)["forms"][0]["id"] for _ in range(3)]
    assert [al.status(i)["state"] for i in (richer, first, third)] == ["processing"] * 3
    # the order the forms went out in: the rich user's, then the anonymous ones by age
    with al.db() as session:
        from horde.models import Job

        by_job = {job.id: job.request_id for job in session.scalars(select(Job))}
        interrogation_of = {r.id: r.interrogation_id for r in session.scalars(select(GenerationRequest))}
    assert [interrogation_of[by_job[j]] for j in order] == [richer, first, third]


def test_slow_alchemists_only_take_forms_that_accept_them(al, alchemist, app):
    al.request(slow_workers=False)
    al.pop(alchemist)  # registers the worker (and takes nothing: there is a form... take it back below)
    with al.db() as session, session.begin():
        session.query(Worker).update({Worker.speed: 0.05})  # 20 s a form
    al.request(slow_workers=False)
    assert al.pop(alchemist)["forms"] is None
    al.request(slow_workers=True)
    assert al.pop(alchemist)["forms"][0]["form"] == "caption"


# --- async: every refusal ----------------------------------------------------------------
def _refused(al, status, rc, key="0000000000", **body):
    response = al.request(key, expect=None, **body)
    assert response.status_code == status and response.get_json()["rc"] == rc, response.get_json()
    with al.db() as session:
        assert session.scalar(select(Interrogation.id)) is None
    return response.get_json()


def test_async_validation_errors(al):
    _refused(al, 400, "ValidationError", forms=["caption"], source_image=None)
    missing = al.client.post("/api/v2/interrogate/async", json={"forms": [{"name": "caption"}]}, headers={"apikey": "0000000000"})
    assert missing.status_code == 400 and "source_image" in missing.get_json()["errors"]
    _refused(al, 400, "ValidationError", forms=["teleport"])
    assert "forms" in _refused(al, 400, "ValidationError", forms=[])["errors"]
    _refused(al, 400, "ValidationError", forms=[{"name": "caption", "payload": {"n": 3}}])
    _refused(al, 400, "ValidationError", forms=[{"name": "caption", "payload": "text"}])
    _refused(al, 400, "ValidationError", webhook="https://x")
    _refused(al, 400, "BadRequest", webhook="http://example.com/hook")
    _refused(al, 400, "ValidationError", slow_workers="yes")
    headerless = al.client.post("/api/v2/interrogate/async", json={"forms": [{"name": "caption"}], "source_image": png_b64()})
    assert headerless.status_code == 400 and "apikey" in headerless.get_json()["errors"]


def test_async_image_errors(al):
    _refused(al, 400, "SourceImageUnreadable", source_image=base64.b64encode(b"not an image").decode())
    _refused(al, 400, "SourceImageUnreadable", source_image="%%%")
    message = _refused(al, 400, "SourceImageResolutionExceeded", source_image=big_png_b64(8192, 8704))["message"]
    assert "272 tiles" in message and "255" in message


def test_async_accepts_the_largest_image_of_255_tiles(al, alchemist):
    queued = al.request(forms=["GFPGAN"], source_image=big_png_b64(512 * 15, 512 * 17))
    form = al.pop(alchemist, forms=["GFPGAN"], max_tiles=256)["forms"][0]
    assert al.submit(alchemist, form["id"], {"GFPGAN": "R2"}, expect=200)["reward"] == 3 * 255
    assert al.status(queued["id"])["state"] == "done"


def test_async_key_errors(al, users):
    _refused(al, 401, "InvalidAPIKey", key="a" * 22)
    user_id, key = users.create("gone")
    with al.db() as session, session.begin():
        session.get(User, user_id).deleted = True
    _refused(al, 403, "DeletedUser", key=key)


def test_async_in_maintenance_is_refused(al, app, users):
    _, admin = users.create("admin")
    assert al.client.put("/api/v2/status/modes", json={"maintenance_mode": True}, headers={"apikey": admin}).status_code == 200
    _refused(al, 400, "MaintenanceMode")


def test_async_from_a_timed_out_ip_is_refused(al, users):
    _, mod = users.create("mod", moderator=True)
    response = al.client.post("/api/v2/operations/ipaddr", json={"ipaddr": "127.0.0.1", "hours": 1}, headers={"apikey": mod})
    assert response.status_code == 200, response.get_json()
    _refused(al, 403, "TimeoutIP")


def test_concurrency_counts_waiting_and_processing_forms(al, users, alchemist):
    _, key = users.create("busy", concurrency=1)  # 10 forms
    al.request(key, forms=["caption", "nsfw", "interrogation", "GFPGAN", "CodeFormers"])
    al.pop(alchemist, forms=["caption", "nsfw"], amount=2)  # two at the worker still count
    al.request(key, forms=["caption", "nsfw", "interrogation", "GFPGAN", "CodeFormers"])
    message = al.request(key, expect=429).get_json()
    assert message["rc"] == "TooManyPrompts" and "(11)" in message["message"] and "(10)" in message["message"]


# --- pop: refusals and skipped -----------------------------------------------------------
def test_pop_refusals(al, users, alchemist):
    assert al.client.post("/api/v2/interrogate/pop", json={"name": "a"}, headers={"apikey": "0000000000"}).get_json()["rc"] == "AnonForbiddenWorker"
    assert al.pop(alchemist, expect=400, name=None)["rc"] == "ValidationError"
    assert al.pop(alchemist, expect=400, max_tiles=257)["rc"] == "ValidationError"
    assert al.pop(alchemist, expect=400, threads=101)["rc"] == "ValidationError"
    assert al.pop(alchemist, expect=400, amount=21)["rc"] == "ValidationError"
    assert al.pop(alchemist, threads=100)["forms"] is None
    image = al.client.post("/api/v2/generate/pop", json={"name": "painter", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                           headers={"apikey": alchemist})
    assert image.status_code == 200
    assert al.pop(alchemist, name="painter", expect=400)["rc"] == "PolymorphicNameConflict"
    _, other = users.create("other", trusted=True)
    assert al.pop(other, expect=403)["rc"] == "WrongCredentials"


def test_an_alchemist_in_maintenance_gets_only_its_owners_forms(al, users, alchemist, client):
    al.request()
    al.pop(alchemist, forms=["nsfw"])  # registers
    with al.db() as session, session.begin():
        session.query(Worker).update({Worker.maintenance: True})
    assert al.pop(alchemist, expect=403)["rc"] == "WorkerMaintenance"
    al.request(alchemist)
    with al.db() as session:
        owner_id = session.scalar(select(User.id).where(User.username == "alchemist-owner"))
    form = al.pop(alchemist)["forms"][0]
    with al.db() as session:
        from horde.models import Job

        assert session.get(GenerationRequest, session.get(Job, form["id"]).request_id).user_id == owner_id


def test_alchemists_are_listed_as_interrogation_workers(al, alchemist, client):
    al.pop(alchemist, forms=["caption", "nsfw"], threads=3)
    listed = client.get("/api/v2/workers?type=interrogation").get_json()
    assert [w["name"] for w in listed] == ["alchemist"]
    assert listed[0]["type"] == "interrogation" and listed[0]["forms"] == ["caption", "nsfw"] and listed[0]["threads"] == 3
    assert client.get("/api/v2/workers?type=image").get_json() == []
    al.request()
    al.request()
    form = al.pop(alchemist)["forms"][0]
    al.submit(alchemist, form["id"])
    with al.db() as session:
        maintenance.refresh_snapshots(session, al.app.extensions["horde"], utcnow())
    performance = client.get("/api/v2/status/performance").get_json()
    assert performance["interrogator_count"] == 1 and performance["interrogator_thread_count"] == 3
    assert performance["queued_forms"] == 1.0 and performance["worker_count"] == 0
    worker = client.get("/api/v2/workers/name/alchemist").get_json()
    assert worker["performance"].endswith("seconds per form") and worker["requests_fulfilled"] == 1


# --- submit -----------------------------------------------------------------------------
def test_submit_errors(al, users, alchemist):
    al.request()
    form = al.pop(alchemist)["forms"][0]
    assert al.submit(alchemist, "0" * 36, expect=404)["rc"] == "InvalidJobID"
    _, other = users.create("other", trusted=True)
    assert al.submit(other, form["id"], expect=403)["rc"] == "WrongCredentials"
    assert al.submit(alchemist, form["id"], "just text", expect=400)["rc"] == "ValidationError"
    assert al.submit(alchemist, form["id"], expect=400, state="exploded")["rc"] == "ValidationError"
    no_result = al.client.post("/api/v2/interrogate/submit", json={"id": form["id"]}, headers={"apikey": alchemist})
    assert no_result.status_code == 400 and "result" in no_result.get_json()["errors"]
    assert al.submit(alchemist, form["id"]) == {"reward": 1.0}
    assert al.submit(alchemist, form["id"], expect=400)["rc"] == "DuplicateGen"
    image_job = al.client.post("/api/v2/generate/async", json={"prompt": "a cat"}, headers={"apikey": "0000000000"})
    assert image_job.status_code == 202
    job = al.client.post("/api/v2/generate/pop", json={"name": "painter", "models": ["stable_diffusion"], "bridge_agent": REGEN},
                         headers={"apikey": alchemist}).get_json()
    assert al.submit(alchemist, job["id"], expect=404)["rc"] == "InvalidJobID"


def test_a_faulted_form_goes_back_and_is_faulted_after_three_aborts(al, alchemist):
    queued = al.request()
    for attempt in range(3):
        form = al.pop(alchemist)["forms"][0]
        assert al.submit(alchemist, form["id"], {}, state="faulted") == {"reward": 0.0}
        expected = "faulted" if attempt == 2 else "waiting"
        assert al.status(queued["id"]) == {"state": expected, "forms": [{"form": "caption", "state": expected}]}
    assert al.pop(alchemist)["forms"] is None
    with al.db() as session:
        worker = session.scalar(select(Worker))
        assert worker.uncompleted_jobs == 3 and worker.dropped_jobs == 3 and not worker.maintenance


def test_a_stale_form_returns_to_the_queue_and_its_late_submit_is_refused(al, alchemist):
    queued = al.request()
    form = al.pop(alchemist)["forms"][0]
    with al.db() as session:
        assert maintenance.requeue_stale_jobs(session, utcnow() + dt.timedelta(seconds=170)) == 0
        assert maintenance.requeue_stale_jobs(session, utcnow() + dt.timedelta(seconds=181)) == 1
    assert al.status(queued["id"])["state"] == "waiting"
    assert al.submit(alchemist, form["id"], expect=400)["rc"] == "AbortedGen"
    again = al.pop(alchemist)["forms"][0]
    assert again["id"] != form["id"] and al.submit(alchemist, again["id"]) == {"reward": 1.0}
    assert al.status(queued["id"])["state"] == "done"
    with al.db() as session:
        assert session.scalar(select(Worker.dropped_jobs)) == 1


def test_alchemists_go_to_maintenance_only_after_a_hundred_drops(al, alchemist):
    from horde.domain.workers import dropped

    al.pop(alchemist)
    with al.db() as session, session.begin():
        worker_id = session.scalar(select(Worker.id))
        for _ in range(100):
            dropped.record_drop(session, worker_id, raid=False, now=utcnow())
        assert not session.get(Worker, worker_id).maintenance
        dropped.record_drop(session, worker_id, raid=False, now=utcnow())
        assert session.get(Worker, worker_id).maintenance


# --- status, cancel, expiry --------------------------------------------------------------
def test_status_of_an_unknown_interrogation(al):
    assert al.status("0" * 36, expect=404)["rc"] == "RequestNotFound"
    assert al.status("nope", expect=404)["rc"] == "RequestNotFound"
    response = al.client.delete(f"/api/v2/interrogate/status/{'0' * 36}")
    assert response.status_code == 404 and response.get_json()["rc"] == "RequestNotFound"


def test_cancel_stops_waiting_forms_and_settles_the_one_at_a_worker(al, alchemist):
    queued = al.request(forms=["caption", "nsfw", "interrogation"])
    first = al.pop(alchemist, forms=["caption"])["forms"][0]
    al.submit(alchemist, first["id"])
    at_worker = al.pop(alchemist, forms=["nsfw"])["forms"][0]
    cancelled = al.cancel(queued["id"])
    assert cancelled == {
        "state": "partial",
        "forms": [
            {"form": "caption", "state": "done", "result": {"caption": "a small square"}},
            {"form": "nsfw", "state": "cancelled"},
            {"form": "interrogation", "state": "cancelled"},
        ],
    }
    assert al.pop(alchemist)["forms"] is None
    assert al.submit(alchemist, at_worker["id"], {"nsfw": False}, expect=400)["rc"] == "DuplicateGen"
    assert al.status(queued["id"]) == cancelled
    with al.db() as session:
        worker = session.scalar(select(Worker))
        assert worker.fulfilments == 2 and worker.kudos_generated == 2.0  # the cancelled form at the worker was paid


def test_state_rules():
    assert alchemy.overall_state(["done", "done"]) == "done"
    assert alchemy.overall_state(["faulted", "faulted"]) == "faulted"
    assert alchemy.overall_state(["done", "faulted", "waiting", "processing"]) == "processing"
    assert alchemy.overall_state(["done", "waiting"]) == "waiting"
    assert alchemy.overall_state(["done", "faulted"]) == "partial"
    assert alchemy.overall_state(["done", "cancelled"]) == "partial"


def test_expiry_deletes_the_interrogation_its_source_and_results(al, alchemist):
    store = al.app.extensions["horde"].store
    before = {p.name for p in store.root.iterdir()}
    queued = al.request(forms=["GFPGAN", "caption"])
    form = al.pop(alchemist, forms=["GFPGAN"])["forms"][0]
    al.put(form["r2_upload"], webp_bytes())
    al.submit(alchemist, form["id"], {"GFPGAN": "R2"})
    stored = {p.name for p in store.root.iterdir()} - before
    assert len(stored) == 2  # the source and the result
    with al.db() as session:
        svc = al.app.extensions["horde"]
        assert alchemy.expire_interrogations(session, svc, utcnow() + dt.timedelta(minutes=19)) == 0
        assert maintenance.expire_requests(session, svc, utcnow() + dt.timedelta(minutes=25)) == 0  # not the forms' business
        assert alchemy.expire_interrogations(session, svc, utcnow() + dt.timedelta(minutes=21)) == 1
    assert al.status(queued["id"], expect=404)["rc"] == "RequestNotFound"
    assert not stored & {p.name for p in store.root.iterdir()}
    with al.db() as session:
        assert session.scalar(select(GenerationRequest.id)) is None


def test_a_pop_keeps_the_interrogation_alive(al, alchemist):
    queued = al.request(forms=["caption", "nsfw"])
    with al.db() as session, session.begin():
        session.query(GenerationRequest).update({GenerationRequest.expiry: utcnow() + dt.timedelta(seconds=5)})
        session.query(Interrogation).update({Interrogation.created: utcnow() - dt.timedelta(minutes=30)})
    al.pop(alchemist, forms=["caption"])  # refreshes that form's expiry to 20 minutes from now
    with al.db() as session:
        assert alchemy.expire_interrogations(session, al.app.extensions["horde"], utcnow() + dt.timedelta(minutes=1)) == 0
    assert [f["state"] for f in al.status(queued["id"])["forms"]] == ["processing", "waiting"]


# --- URL sources and the result cache ----------------------------------------------------
@pytest.fixture
def url_source(app, monkeypatch):
    from horde import fetch
    from tests.fetch_targets import FetchTargets

    monkeypatch.setattr(app.extensions["horde"], "fetcher", fetch.Fetcher(allow_private=True, deadline=2.0, concurrency=2))
    with FetchTargets() as targets:
        yield targets


def test_url_sources_are_passed_to_workers_and_results_are_cached(al, alchemist, url_source, monkeypatch):
    svc = al.app.extensions["horde"]
    ttls = {}
    original_set = svc.cache.set
    monkeypatch.setattr(svc.cache, "set", lambda key, value, ttl=None: (ttls.__setitem__(key, ttl), original_set(key, value, ttl))[1])
    url = url_source.url("/image.png")
    first = al.request(forms=["caption", "GFPGAN"], source_image=url)
    popped = {f["form"]: f for f in al.pop(alchemist, forms=["caption", "GFPGAN"], amount=2)["forms"]}
    assert popped["caption"]["source_image"] == url and popped["GFPGAN"]["source_image"] == url
    fixed = webp_bytes(40, 40, (1, 2, 3))
    parsed = urllib.parse.urlsplit(popped["GFPGAN"]["r2_upload"])
    assert al.client.put(f"{parsed.path}?{parsed.query}", data=fixed).status_code == 200
    al.submit(alchemist, popped["caption"]["id"], {"caption": "remembered"})
    al.submit(alchemist, popped["GFPGAN"]["id"], {"GFPGAN": "R2"})
    assert ttls[f"alchemy:caption:{url}"] == 5 * 24 * 3600 and ttls[f"alchemy:GFPGAN:{url}"] == 90 * 60

    with al.db() as session:
        charged_before = session.scalar(select(User.kudos).where(User.id == 0))
    again = al.request(forms=["caption", "GFPGAN", "nsfw"], source_image=url)
    answer = al.status(again["id"])
    assert answer["state"] == "waiting"
    assert answer["forms"][0] == {"form": "caption", "state": "done", "result": {"caption": "remembered"}}
    assert answer["forms"][1]["state"] == "done" and al.get(answer["forms"][1]["result"]["GFPGAN"]).data == fixed
    assert [f["form"] for f in al.pop(alchemist, forms=["caption", "GFPGAN", "nsfw"], amount=3)["forms"]] == ["nsfw"]
    # the first interrogation's expiry takes its files, not the copy the second one owns
    with al.db() as session:
        session.query(GenerationRequest).filter(GenerationRequest.interrogation_id == first["id"]).update(
            {GenerationRequest.expiry: utcnow() - dt.timedelta(minutes=1)})
        session.query(Interrogation).filter(Interrogation.id == first["id"]).update(
            {Interrogation.created: utcnow() - dt.timedelta(minutes=30)})
        session.commit()
        assert alchemy.expire_interrogations(session, svc, utcnow()) == 1
        assert session.scalar(select(User.kudos).where(User.id == 0)) == charged_before
    assert al.get(al.status(again["id"])["forms"][1]["result"]["GFPGAN"]).data == fixed


def test_url_source_errors(al, url_source):
    _refused(al, 400, "SourceImageUrlInvalid", source_image=url_source.url("/missing.png"))
    _refused(al, 400, "SourceImageSizeExceeded", source_image=url_source.url("/huge"))


def test_a_text_horde_serves_no_alchemy(text_app):
    client = text_app.test_client()
    for method, path in (("post", "/api/v2/interrogate/async"), ("post", "/api/v2/interrogate/pop"),
                         ("get", f"/api/v2/interrogate/status/{'0' * 36}")):
        response = getattr(client, method)(path, json={} if method == "post" else None)
        assert response.status_code == 404 and response.get_json()["rc"] == "ModeNotServed"


def test_a_paused_alchemist_gets_fake_forms_whose_answers_change_nothing(al, users, alchemist):
    _, other = users.create("other-requester")
    queued = al.request(other)
    al.pop(alchemist, forms=["nsfw"])  # registers
    with al.db() as session, session.begin():
        session.query(Worker).update({Worker.paused: True})
    form = al.pop(alchemist)["forms"][0]
    assert al.submit(alchemist, form["id"], {"caption": "made up"}) == {"reward": 0.0}
    assert al.status(queued["id"]) == {"state": "waiting", "forms": [{"form": "caption", "state": "waiting"}]}


def test_trusted_workers_must_be_a_boolean(client, users):
    """Not in the documented model (horde-sdk's strict one has no such field), still checked."""
    _, key = users.create("typed", kudos=100)
    answer = client.post("/api/v2/interrogate/async", headers={"apikey": key},
                         json={"source_image": "https://example.com/a.png", "forms": [{"name": "caption"}], "trusted_workers": "yes"})
    assert answer.status_code == 400 and answer.get_json()["rc"] == "ValidationError", answer.get_json()
    assert "trusted_workers" in answer.get_json()["errors"]
