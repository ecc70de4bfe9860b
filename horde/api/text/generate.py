"""The text generation loop: async, status (and cancel), pop, submit."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, client_ip, services, session
from horde.api.image.generate import queue_and_answer
from horde.api.text.models import build
from horde.db import utcnow
from horde.domain.queue import generation, text_jobs, text_requests

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
        body = validation.body(M["input"])
        user = caller(recent=True)
        return queue_and_answer(user, text_requests.build(body, user_trusted=user.trusted), body)


@ns.route("/generate/text/status/<string:request_id>", endpoint="text_status")
class TextStatus(Resource):
    @ns.response(200, "Success", M["status"])
    def get(self, request_id: str):
        """Progress of a text request with its finished generations."""
        # The polled route of text clients: the narrow progress read, texts only once there are some.
        db = session()
        fields = generation.check(db, services(), request_id, "text", utcnow())
        return status_body(db, request_id, fields)

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
