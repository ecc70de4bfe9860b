"""The image generation loop: async, check, status (and cancel), pop, submit."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from horde.api import streams, validation
from horde.api.context import (
    APIKEY_HELP,
    caller,
    client_agent,
    client_ip,
    require_apikey,
    requester,
    services,
    session,
)
from horde.api.image.models import build
from horde.db import utcnow
from horde.domain.community import ratings, styles
from horde.domain.queue import generation, image_jobs, image_requests, text_requests
from horde.storage import result_key

ns = Namespace("generate", description="Image generation", path="/v2")
M = build(ns)
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
apikey.add_argument("Client-Agent", location="headers", required=False, default="unknown:0:unknown")


def _build(kind: str, body: dict, user):
    if kind == "image":
        return image_requests.build(body, user_trusted=user.trusted, user_special=user.special, user_education=user.education)
    return text_requests.build(body, user_trusted=user.trusted)


def queue(kind: str, body: dict) -> generation.Queued:
    """Queue (or price) a validated request of either kind as the public horde does: the style
    first (it may carry the shared key that pays), then the payer, then the request. The
    native async routes and the OpenAI routes both come here."""
    require_apikey()
    db = session()
    style = styles.apply(db, kind, body)
    who = requester(style.sharedkey_id if style else None, bool(body.get("allow_downgrade")))
    return generation.request_generation(
        db, services(), who.user, _build(kind, body, who.user), body, ipaddr=client_ip(), client_agent=client_agent(),
        now=utcnow(), sharedkey=who.key, style=style, downgraded=who.downgraded,
    )


def queue_and_answer(kind: str, body: dict):
    """The async routes' answer: the id and the price (or only the price, for a dry run)."""
    result = queue(kind, body)
    if result.dry_run:
        return {"kudos": result.kudos}, 200
    body = {"id": result.request_id, "kudos": result.kudos}
    if result.message:
        body["message"] = result.message
    if result.warnings:
        body["warnings"] = result.warnings
    return body, 202


@ns.route("/generate/async", endpoint="image_async")
class ImageAsync(Resource):
    @ns.expect(apikey, M["input"])
    @ns.response(202, "Queued", M["async"])
    @ns.response(200, "Dry run: the kudos it would cost")
    def post(self):
        """Queue an image request."""
        return queue_and_answer("image", validation.body(M["input"]))


@ns.route("/generate/check/<string:request_id>", endpoint="image_check")
class ImageCheck(Resource):
    @ns.response(200, "Success", M["check"])
    def get(self, request_id: str):
        """Progress of a request, without images (cheap: poll this)."""
        return generation.check(
            session(), services(), request_id, "image", utcnow(), client_agent=client_agent(), ipaddr=client_ip()
        )


def status_body(db, svc, request_id: str) -> dict:
    request, fields = generation.status(db, svc, request_id, "image", utcnow())
    return {**fields, "generations": generation.image_generations(db, svc, request), "shared": request.shared}


@ns.route("/generate/events/<string:request_id>", endpoint="image_events")
class ImageEvents(Resource):
    @ns.response(200, "text/event-stream: `check` events as the request moves, then one `status` event")
    @ns.response(204, "The stream already ended with its `status` event (Last-Event-ID: status)")
    def get(self, request_id: str):
        """Follow a request: Server-Sent Events instead of polling check and status."""
        svc = services()
        return streams.open_request_stream(svc, request_id, "image", lambda db: status_body(db, svc, request_id))


@ns.route("/generate/status/<string:request_id>", endpoint="image_status")
class ImageStatus(Resource):
    @ns.response(200, "Success", M["status"])
    def get(self, request_id: str):
        """Progress of a request with its finished images."""
        return status_body(session(), services(), request_id)

    @ns.response(200, "Cancelled; what was finished", M["status"])
    def delete(self, request_id: str):
        """Cancel a request: no more jobs are handed out; finished images are returned."""
        db, svc = session(), services()
        request, fields = generation.cancel(db, svc, request_id, "image", utcnow())
        images = generation.image_generations(db, svc, request)
        db.commit()
        return {**fields, "generations": images, "shared": request.shared}


@ns.route("/generate/pop", endpoint="image_pop")
class ImagePop(Resource):
    @ns.expect(apikey, M["pop_input"])
    @ns.response(200, "A job, or id null and the reasons requests were skipped", M["pop"])
    def post(self):
        """Worker check-in: take up to `amount` jobs of one request."""
        body = validation.body(M["pop_input"])
        user = caller(recent=True)
        svc = services()
        result = generation.pop_jobs(session(), svc, user, body, "image", ipaddr=client_ip(), now=utcnow())
        popped = result.popped
        if popped is None:
            return {
                "payload": dict(image_jobs.IDLE_PAYLOAD), "id": None, "ids": [], "skipped": result.skipped,
                "model": None, "source_image": None, "source_processing": "img2img", "source_mask": None,
                "extra_source_images": None, "r2_upload": None, "r2_uploads": None, "ttl": None, "messages": result.messages,
            }
        ids = popped.job_ids
        uploads = [svc.store.upload_url(result_key(job_id)) for job_id in ids]
        request = popped.request
        return {
            "payload": image_jobs.payload(request, popped.seed, len(ids)),
            "id": ids[0], "ids": ids, "skipped": {}, "model": popped.model,
            "source_image": result.source_urls.get("source_image"),
            "source_processing": request.source_processing or "img2img",
            "source_mask": result.source_urls.get("source_mask"),
            "extra_source_images": result.source_urls.get("extra_source_images"),
            "r2_upload": uploads[0], "r2_uploads": uploads, "ttl": popped.ttl, "messages": result.messages,
        }


@ns.route("/generate/submit", endpoint="image_submit")
class ImageSubmit(Resource):
    @ns.expect(apikey, M["submit"])
    @ns.response(200, "Delivered", M["submitted"])
    def post(self):
        """Deliver a finished image ("R2" after uploading it, or base64)."""
        body = validation.body(M["submit"])
        user = caller(recent=True)
        reward = generation.submit_job(session(), services(), user, body, "image", utcnow())
        return {"reward": reward}


@ns.route("/generate/rate/<string:request_id>", endpoint="image_rate")
class ImageRate(Resource):
    @ns.expect(M["aesthetics"])
    @ns.response(200, "Kudos earned by the requester", M["submitted"])
    def post(self, request_id: str):
        """Rate the images of a finished request sent with `shared: true`."""
        body = validation.body(M["aesthetics"])
        reward = ratings.rate(session(), request_id, body.get("best"), list(body.get("ratings") or []))
        return {"reward": reward}
