"""Alchemy ("interrogation"): async, status (and cancel), pop, submit (spec/api.md §3.10-3.13)."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields

from horde.api import streams, validation
from horde.api.image import generate
from horde.api.context import APIKEY_HELP, caller, client_agent, client_ip, requester, services, session
from horde.api.shared_fields import MAX_NAMES, nullable
from horde.db import utcnow
from horde.domain import errors
from horde.domain.queue import alchemy
from horde.domain.workers import checkin

ns = Namespace("interrogate", description="Alchemy: interrogation and post-processing of images", path="/v2")
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
apikey.add_argument("Client-Agent", location="headers", required=False, default="unknown:0:unknown")

form_input = ns.model("ModelInterrogationFormStable", {
    "name": fields.String(required=True, enum=list(alchemy.KNOWN_FORMS), example="caption"),
    "payload": fields.Raw(description="Settings for the worker: an object of strings."),
})
async_input = ns.model("ModelInterrogationInputStable", {
    "forms": fields.List(fields.Nested(form_input), max_items=100),
    "source_image": fields.String(
        required=True, min_length=1,
        description=f"Base64 image or an http(s) URL; at most {alchemy.MAX_TILES} tiles of 512x512.",
    ),
    "slow_workers": fields.Boolean(default=True),
    # `trusted_workers` (boolean, default false) is read but not in this model: horde-sdk's strict
    # AlchemyAsyncRequest, like the public server's document, has no such field.
    "webhook": fields.String(min_length=10, max_length=1024),
})
async_output = ns.model("RequestInterrogationResponse", {"id": fields.String, "message": fields.String})
form_status = ns.model("InterrogationFormStatus", {
    "form": fields.String, "state": fields.String, "result": fields.Raw(description="As the worker sent it; \"R2\" becomes a URL"),
})
status_output = ns.model("InterrogationStatus", {"state": fields.String, "forms": fields.List(fields.Nested(form_status))})
pop_input = ns.model("InterrogationPopInput", {
    "name": fields.String(required=True, min_length=1, max_length=checkin.NAME_MAX),
    "priority_usernames": fields.List(fields.String(max_length=255), max_items=MAX_NAMES),
    "forms": fields.List(fields.String(max_length=100), max_items=checkin.MAX_ALCHEMY_FORMS, example=["caption"]),
    "amount": fields.Integer(min=1, max=20, default=1),
    "bridge_agent": fields.String(max_length=1000, default="unknown:0:unknown"),
    "threads": fields.Integer(min=1, max=100, default=1),
    "max_tiles": fields.Integer(min=1, max=256, default=80),
})
pop_form = ns.model("InterrogationPopFormPayload", {
    "id": fields.String, "form": fields.String,
    "payload": nullable(fields.Raw(description="The form's settings as the requester sent them (strings)")),
    "source_image": fields.String, "r2_upload": nullable(fields.String()),
})
skipped_output = ns.model("NoValidInterrogationsFound", {
    "worker_id": fields.Integer, "untrusted": fields.Integer, "bridge_version": fields.Integer,
})
pop_output = ns.model("InterrogationPopPayload", {
    "forms": nullable(fields.List(fields.Nested(pop_form))), "skipped": fields.Nested(skipped_output, skip_none=True),
})
submitted = generate.M["submitted"]  # the same GenerationSubmitted as image submits
# The submit body is a parser in the public API (no Swagger definition): checked, not documented as a model.
submit_input = ns.model("InterrogationSubmit", {
    "id": fields.String(required=True, max_length=36),
    "result": fields.Raw(required=True),
    "state": fields.String(enum=["ok", "faulted"], default="ok"),
})


@ns.route("/interrogate/async", endpoint="interrogate_async")
class InterrogateAsync(Resource):
    @ns.expect(apikey, async_input)
    @ns.response(202, "Queued", async_output)
    def post(self):
        """Queue an interrogation: forms to run on one image."""
        body = validation.body(async_input)
        if not isinstance(body.get("trusted_workers", False), bool):
            raise errors.ValidationFailed(errors={"trusted_workers": f"{body['trusted_workers']!r:.50} is not of type 'boolean'"})
        who = requester()  # an API key, or a shared key whose owner pays
        interrogation_id = alchemy.request_alchemy(
            session(), services(), who.user, body, ipaddr=client_ip(), client_agent=client_agent(), now=utcnow(),
            sharedkey=who.key,
        )
        return {"id": interrogation_id}, 202


@ns.route("/interrogate/status/<string:interrogation_id>", endpoint="interrogate_status")
class InterrogateStatus(Resource):
    @ns.response(200, "Success", status_output)
    def get(self, interrogation_id: str):
        """Each form's state and result."""
        return alchemy.status(session(), services(), interrogation_id)

    @ns.response(200, "Cancelled; what was finished", status_output)
    def delete(self, interrogation_id: str):
        """Cancel the forms not done (forms at workers are paid for)."""
        return alchemy.cancel(session(), services(), interrogation_id, utcnow())


@ns.route("/interrogate/events/<string:interrogation_id>", endpoint="interrogate_events")
class InterrogateEvents(Resource):
    @ns.response(200, "text/event-stream: `check` events as the forms move, then one `status` event")
    @ns.response(204, "The stream already ended with its `status` event (Last-Event-ID: status)")
    def get(self, interrogation_id: str):
        """Follow an interrogation: Server-Sent Events instead of polling its status."""
        svc = services()
        listened = streams.with_session(svc, lambda db: alchemy.topics(db, interrogation_id))
        return streams.open_stream(
            svc, listened, lambda db: alchemy.check(db, interrogation_id), lambda db: alchemy.status(db, svc, interrogation_id),
        )


@ns.route("/interrogate/pop", endpoint="interrogate_pop")
class InterrogatePop(Resource):
    @ns.expect(apikey, pop_input)
    @ns.response(200, "Forms, or forms null and the reasons forms were skipped", pop_output)
    def post(self):
        """Alchemist check-in: take up to `amount` forms."""
        body = validation.body(pop_input)
        user = caller(recent=True)
        forms, skipped = alchemy.pop_forms(session(), services(), user, body, ipaddr=client_ip(), now=utcnow())
        if not forms:
            return {"forms": None, "skipped": skipped}
        return {
            "forms": [
                {"id": f.id, "form": f.form, "payload": f.payload, "source_image": f.source_image, "r2_upload": f.r2_upload}
                for f in forms
            ],
            "skipped": {},
        }


@ns.route("/interrogate/submit", endpoint="interrogate_submit")
class InterrogateSubmit(Resource):
    @ns.expect(apikey, submit_input)
    @ns.response(200, "Delivered", submitted)
    def post(self):
        """Deliver a form's result: {"id", "result": {form name: value}, "state"}; "R2" after uploading an image."""
        body = validation.body(submit_input)
        user = caller(recent=True)
        return {"reward": alchemy.submit_form(session(), services(), user, body, utcnow())}
