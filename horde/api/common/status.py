"""GET /status/heartbeat, GET /status/ready, GET and PUT /status/modes, GET /status/news."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields, marshal

from horde import __version__
from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, services, session
from horde.db import utcnow
from horde.domain import errors
from horde.domain.community import news
from horde.domain.moderation import horde_modes
from horde.domain.status import performance, readiness

ns = Namespace("status", description="How the horde is doing", path="/v2")

heartbeat_model = ns.model(
    "Heartbeat",
    {
        "message": fields.String(example="OK", description="OK, or DOWN when the database is unreachable"),
        "version": fields.String,
    },
)
modes_model = ns.model(
    "HordeModes",
    {
        "maintenance_mode": fields.Boolean,
        "invite_only_mode": fields.Boolean,
        "raid_mode": fields.Boolean(description="Shown to moderators only."),
    },
)
modes_input = ns.model(
    "HordeModesInput",
    {
        "maintenance_mode": fields.Boolean(description="Admins only."),
        "invite_only_mode": fields.Boolean(description="Moderators only."),
        "raid_mode": fields.Boolean(description="Moderators only."),
    },
)
newspiece = ns.model(
    "Newspiece",
    {
        "date_published": fields.String,
        "newspiece": fields.String,
        "importance": fields.String,
        "tags": fields.List(fields.String),
        "title": fields.String,
        "more_info_urls": fields.List(fields.String),
    },
)
performance_model = ns.model(
    "HordePerformance",
    {
        "queued_requests": fields.Integer, "queued_text_requests": fields.Integer, "worker_count": fields.Integer,
        "thread_count": fields.Integer, "text_worker_count": fields.Integer, "text_thread_count": fields.Integer,
        "interrogator_count": fields.Integer, "interrogator_thread_count": fields.Integer,
        "queued_megapixelsteps": fields.Float, "past_minute_megapixelsteps": fields.Float,
        "queued_tokens": fields.Float, "past_minute_tokens": fields.Float, "queued_forms": fields.Float,
    },
)
optional_apikey = ns.parser()
optional_apikey.add_argument("apikey", location="headers", required=False, help=APIKEY_HELP)
apikey_header = ns.parser()
apikey_header.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)


@ns.route("/status/heartbeat", endpoint="heartbeat")
class Heartbeat(Resource):
    @ns.response(200, "Success", heartbeat_model)
    def get(self):
        """Is this node alive, and can it reach its database?"""
        # Only the keys horde-sdk's strict model knows (docs/compatibility.md).
        return {"message": "OK" if services().db.ping() else "DOWN", "version": __version__}


ready_model = ns.model(
    "Readiness",
    {
        "ready": fields.Boolean(description="Can this node serve the core loop now?"),
        "degraded": fields.Boolean(description="Redis is configured but unreachable: serving from fallbacks"),
        "reasons": fields.List(fields.String, description="What makes the node unready"),
        "database": fields.Raw(description="ok, backend"),
        "redis": fields.Raw(description="configured, ok (null when not configured), serving_from"),
        "storage": fields.Raw(description="ok, backend"),
        "message": fields.String(description="Only when not ready"),
        "rc": fields.String(description="NotReady, only when not ready"),
    },
)


@ns.route("/status/ready", endpoint="readiness")
class Ready(Resource):
    @ns.response(200, "Ready", ready_model)
    @ns.response(503, "Not ready", ready_model)
    def get(self):
        """Readiness for load balancers: each dependency, and 503 when the core loop cannot be served."""
        report = readiness.check(services())
        if report["ready"]:
            return report, 200
        return {**report, "message": "Not ready: " + "; ".join(report["reasons"]), "rc": "NotReady"}, 503, {"Retry-After": "5"}


@ns.route("/status/modes", endpoint="horde_modes")
class Modes(Resource):
    @ns.expect(optional_apikey)
    @ns.response(200, "Success", modes_model)
    def get(self):
        """Maintenance and invite-only modes (and raid mode, for moderators)."""
        viewer = caller(required=False)
        horde_modes.check_viewer(viewer)
        return marshal(horde_modes.view(horde_modes.current(session()), viewer), modes_model, skip_none=True)

    @ns.expect(apikey_header, modes_input)
    @ns.response(200, "Success", modes_model)
    def put(self):
        """Switch modes: maintenance needs an admin, the others a moderator."""
        changes = validation.json_body()
        data = {k: changes.get(k) for k in ("maintenance_mode", "invite_only_mode", "raid_mode")}
        for key, value in data.items():
            if value is not None and not isinstance(value, bool):
                raise errors.ValidationFailed(errors={key: f"{value!r} is not of type 'boolean'"})
        actor = caller()
        db = session()
        result = horde_modes.change(db, actor, services().settings.admins, data)
        db.commit()
        return marshal(result, modes_model, skip_none=True)


@ns.route("/status/news", endpoint="news")
class News(Resource):
    @ns.response(200, "Success", [newspiece])
    def get(self):
        """News about this horde, newest first."""
        return news.news()


@ns.route("/status/performance", endpoint="performance")
class Performance(Resource):
    @ns.response(200, "Success", performance_model)
    def get(self):
        """Queued work, online workers and the last minute's throughput."""
        return performance.performance(session(), services(), utcnow())
