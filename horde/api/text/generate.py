"""The text generation loop: async, status (and cancel), pop, submit."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from horde.api import streams, validation
from horde.api.context import APIKEY_HELP, caller, client_ip, services, session
from horde.api.image.generate import queue_and_answer
from horde.api.text.models import build
from horde.db import utcnow
from horde.domain.queue import generation, text_jobs

ns = Namespace("generate_text", description="Text generation", path="/v2")
M = build(ns)
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)


def status_body(db, request_id: str, fields: dict) -> dict:
    generations = generation.text_generations(db, request_id) if fields["finished"] else []
    return {**fields, "generations": generations}


@ns.route("/generate/text/async", endpoint="text_async")
class TextAsync(Resource):
    @ns.expect(apikey, M["input"])
    @ns.response(202, "Queued", M["async"])
    @ns.response(200, "Dry run: the kudos it would cost")
    def post(self):
        """Queue a text request."""
        return queue_and_answer("text", validation.body(M["input"]))


def current_status(db, svc, request_id: str) -> dict:
    return status_body(db, request_id, generation.check(db, svc, request_id, "text", utcnow()))


@ns.route("/generate/text/events/<string:request_id>", endpoint="text_events")
class TextEvents(Resource):
    @ns.response(200, "text/event-stream: `check` events as the request moves, then one `status` event")
    @ns.response(204, "The stream already ended with its `status` event (Last-Event-ID: status)")
    def get(self, request_id: str):
        """Follow a text request: Server-Sent Events instead of polling status."""
        svc = services()
        return streams.open_request_stream(svc, request_id, "text", lambda db: current_status(db, svc, request_id))


@ns.route("/generate/text/status/<string:request_id>", endpoint="text_status")
class TextStatus(Resource):
    @ns.response(200, "Success", M["status"])
    def get(self, request_id: str):
        """Progress of a text request with its finished generations."""
        # The polled route of text clients: the narrow progress read, texts only once there are some.
        return current_status(session(), services(), request_id)

    @ns.response(200, "Cancelled; what was finished", M["status"])
    def delete(self, request_id: str):
        """Cancel a text request."""
        db, svc = session(), services()
        request, fields = generation.cancel(db, svc, request_id, "text", utcnow())
        body = status_body(db, request.id, fields)
        db.commit()
        return body


@ns.route("/generate/text/pop", endpoint="text_pop")
class TextPop(Resource):
    @ns.expect(apikey, M["pop_input"])
    @ns.response(200, "A job, or id null and the reasons requests were skipped", M["pop"])
    def post(self):
        """Text worker check-in: take up to `amount` jobs of one request."""
        body = validation.body(M["pop_input"])
        user = caller(recent=True)
        result = generation.pop_jobs(session(), services(), user, body, "text", ipaddr=client_ip(), now=utcnow())
        popped = result.popped
        if popped is None:
            return {
                "payload": dict(text_jobs.IDLE_PAYLOAD), "id": None, "ids": [], "skipped": result.skipped,
                "softprompt": None, "model": None, "ttl": None, "messages": result.messages, "extra_source_images": None,
            }
        ids = popped.job_ids
        return {
            "payload": text_jobs.payload(popped.request, popped.seed, len(ids)), "id": ids[0], "ids": ids,
            "skipped": {}, "softprompt": popped.request.softprompt, "model": popped.model, "ttl": popped.ttl,
            "messages": result.messages, "extra_source_images": None,
        }


@ns.route("/generate/text/submit", endpoint="text_submit")
class TextSubmit(Resource):
    @ns.expect(apikey, M["submit"])
    @ns.response(200, "Delivered", M["submitted"])
    def post(self):
        """Deliver generated text."""
        body = validation.body(M["submit_body"])
        user = caller(recent=True)
        reward = generation.submit_job(session(), services(), user, body, "text", utcnow())
        return {"reward": reward}
