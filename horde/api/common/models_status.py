"""GET /status/models and /status/models/{name}."""

from __future__ import annotations

from urllib.parse import unquote

from flask import request
from flask_restx import Namespace, Resource, fields

from horde.api import validation
from horde.api.context import services, session, sibling_answer
from horde.db import utcnow
from horde.domain import errors
from horde.domain.status import model_status

ns = Namespace("models", description="Models served by the online workers", path="/v2")
active_model = ns.model(
    "ActiveModel",
    {
        "name": fields.String, "count": fields.Integer(description="Worker threads serving it"),
        "performance": fields.Float, "queued": fields.Float, "jobs": fields.Float, "eta": fields.Integer,
        "type": fields.String(enum=["image", "text"]),
    },
)
query = ns.parser()
query.add_argument("type", location="args", default="image", help="image or text")
query.add_argument("min_count", type=int, location="args")
query.add_argument("max_count", type=int, location="args")
query.add_argument("model_state", location="args", default="all", help="known, custom or all")


def _entries(kind: str) -> list[dict]:
    svc = services()
    if kind != svc.settings.mode.value:
        # This horde serves the other kind: its sibling's models, if it has a sibling.
        answer = sibling_answer(kind, "/v2/status/models", type=kind, model_state="all")
        return answer if isinstance(answer, list) else []
    return model_status.listing(session(), svc, kind, utcnow())


@ns.route("/status/models", endpoint="models_list")
class Models(Resource):
    @ns.expect(query)
    @ns.response(200, "Success", [active_model])
    def get(self):
        """Models of the online workers, with threads, queue and ETA."""
        kind = request.args.get("type") or "image"
        state = request.args.get("model_state") or "all"
        if kind not in ("image", "text"):
            raise errors.BadRequest("type must be 'image' or 'text'.")
        if state not in ("known", "custom", "all"):
            raise errors.BadRequest("model_state must be 'known', 'custom' or 'all'.")
        min_count = validation.query_int("min_count", None)
        max_count = validation.query_int("max_count", None)
        return model_status.select_models(_entries(kind), kind, state=state, min_count=min_count, max_count=max_count)


@ns.route("/status/models/<path:model_name>", endpoint="models_single")
class SingleModel(Resource):
    @ns.response(200, "Success (an empty list when nobody serves it)", [active_model])
    def get(self, model_name: str):
        """One model's entry. A name whose slash is encoded twice (`a%252Fb`, as horde-sdk sends
        it so that no proxy turns it into a path separator) is found too."""
        kind = services().settings.mode.value
        names = {model_name, unquote(model_name)}
        found = [entry for entry in _entries(kind) if entry["name"] in names]
        if not found:  # perhaps a model of the sibling's kind
            other = "text" if kind == "image" else "image"
            found = [entry for entry in _entries(other) if entry.get("name") in names]
        return found
