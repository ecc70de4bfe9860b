"""GET /workers, /workers/{id}, /workers/name/{name}; PUT and DELETE /workers/{id}."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.shared_fields import nullable
from horde.api.context import APIKEY_HELP, caller, session
from horde.db import utcnow
from horde.domain import errors
from horde.domain.workers import worker_admin

ns = Namespace("workers", description="GPU workers", path="/v2")
team_lite = ns.model("TeamDetailsLite", {"name": nullable(fields.String()), "id": nullable(fields.String())})
kudos_details = ns.model("WorkerKudosDetails", {"generated": fields.Float, "uptime": fields.Integer})
worker_details = ns.model(
    "WorkerDetails",
    {
        "type": fields.String(enum=["image", "text", "interrogation"]), "name": fields.String, "id": fields.String,
        "online": fields.Boolean, "requests_fulfilled": fields.Integer, "kudos_rewards": fields.Float,
        "kudos_details": fields.Nested(kudos_details), "performance": fields.String, "threads": fields.Integer,
        "uptime": fields.Integer, "maintenance_mode": fields.Boolean, "paused": fields.Boolean, "info": fields.String,
        "nsfw": fields.Boolean, "owner": fields.String, "ipaddr": fields.String, "trusted": fields.Boolean,
        "flagged": fields.Boolean, "suspicious": fields.Integer, "uncompleted_jobs": fields.Integer,
        "models": fields.List(fields.String), "team": fields.Nested(team_lite), "contact": fields.String,
        "bridge_agent": fields.String, "max_pixels": fields.Integer, "megapixelsteps_generated": fields.Integer,
        "img2img": fields.Boolean, "painting": fields.Boolean, "post-processing": fields.Boolean,
        "lora": fields.Boolean, "controlnet": fields.Boolean, "sdxl_controlnet": fields.Boolean,
        "max_length": fields.Integer, "max_context_length": fields.Integer, "forms": fields.List(fields.String),
        "messages": fields.List(fields.Raw),
    },
)
modify_input = ns.model(
    "ModifyWorkerInput",
    {
        "maintenance": fields.Boolean, "maintenance_msg": fields.String(max_length=worker_admin.MAINTENANCE_MSG_MAX),
        "paused": fields.Boolean, "info": fields.String(max_length=worker_admin.INFO_MAX),
        "name": fields.String(min_length=worker_admin.NAME_MIN, max_length=worker_admin.NAME_MAX),
        "team": fields.String(max_length=36),
    },
)
modify_output = ns.model(
    "ModifyWorker",
    {"maintenance": fields.Boolean, "paused": fields.Boolean, "info": fields.String, "name": fields.String, "team": fields.String},
)
deleted = ns.model("DeletedWorker", {"deleted_id": fields.String, "deleted_name": fields.String})
optional_apikey = ns.parser()
optional_apikey.add_argument("apikey", location="headers", required=False, help=APIKEY_HELP)
list_query = optional_apikey.copy()
list_query.add_argument("type", location="args", help="image, text or interrogation")
list_query.add_argument("name", location="args", help="exact worker name (case-insensitive)")
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)


def _privileged() -> bool:
    return worker_admin.privileged(caller(required=False))


def _render(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


@ns.route("/workers", endpoint="workers_list")
class WorkerList(Resource):
    @ns.expect(list_query)
    @ns.response(200, "Workers seen in the last five minutes", [worker_details])
    def get(self):
        """The online workers (all types, or one type, or one name)."""
        kind = request.args.get("type") or None
        if kind not in (None, "image", "text", "interrogation"):
            raise errors.BadRequest("type must be 'image', 'text' or 'interrogation'.")
        rows = worker_admin.online(session(), utcnow(), kind=kind, name=request.args.get("name"), privileged=_privileged())
        return [_render(row) for row in rows]


@ns.route("/workers/<string:worker_id>", endpoint="worker_single")
class WorkerSingle(Resource):
    @ns.expect(optional_apikey)
    @ns.response(200, "Success", worker_details)
    def get(self, worker_id: str):
        """One worker, online or not."""
        db = session()
        worker = worker_admin.find(db, worker_id=worker_id)
        return _render(worker_admin.single(db, worker, privileged=_privileged(), now=utcnow()))

    @ns.expect(apikey, modify_input)
    @ns.response(200, "What changed", modify_output)
    def put(self, worker_id: str):
        """Maintenance, info, name, team (owner or moderator); paused (moderator)."""
        changes = validation.body(modify_input)
        actor = caller()
        db = session()
        result = worker_admin.modify(db, actor, worker_admin.find(db, worker_id=worker_id), changes)
        db.commit()
        return marshal(result, modify_output, skip_none=True)

    @ns.expect(apikey)
    @ns.response(200, "Deleted", deleted)
    def delete(self, worker_id: str):
        """Delete a worker (owner or moderator)."""
        actor = caller()
        db = session()
        result = worker_admin.delete(db, actor, worker_admin.find(db, worker_id=worker_id))
        db.commit()
        return result


@ns.route("/workers/name/<string:worker_name>", endpoint="worker_by_name")
class WorkerByName(Resource):
    @ns.expect(optional_apikey)
    @ns.response(200, "Success", worker_details)
    def get(self, worker_name: str):
        """One worker by its exact name."""
        db = session()
        worker = worker_admin.find(db, name=worker_name)
        return _render(worker_admin.single(db, worker, privileged=_privileged(), now=utcnow()))
