"""GET/POST /teams, GET/PATCH/DELETE /teams/{id}."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, session
from horde.db import utcnow
from horde.domain.community import teams

ns = Namespace("teams", description="Teams of workers", path="/v2")
worker_lite = ns.model("WorkerDetailsLite", {"type": fields.String, "name": fields.String, "id": fields.String, "online": fields.Boolean})
model_lite = ns.model("ActiveModelLite", {"name": fields.String, "count": fields.Integer})
team_details = ns.model(
    "TeamDetails",
    {
        "id": fields.String, "name": fields.String, "info": fields.String, "requests_fulfilled": fields.Integer,
        "kudos": fields.Float, "uptime": fields.Integer, "creator": fields.String, "worker_count": fields.Integer,
        "workers": fields.List(fields.Nested(worker_lite)), "models": fields.List(fields.Nested(model_lite)),
    },
)
create_input = ns.model(
    "CreateTeamInput",
    {"name": fields.String(required=True, min_length=3, max_length=100), "info": fields.String(min_length=3, max_length=1000)},
)
modify_input = ns.model(
    "ModifyTeamInput",
    {"name": fields.String(min_length=3, max_length=100), "info": fields.String(min_length=3, max_length=1000)},
)
modify_output = ns.model("ModifyTeam", {"id": fields.String, "name": fields.String, "info": fields.String})
deleted = ns.model("DeletedTeam", {"deleted_id": fields.String, "deleted_name": fields.String})
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
optional_apikey = ns.parser()
optional_apikey.add_argument("apikey", location="headers", required=False, help="If given, a moderator's")


def _render(data: dict) -> dict:
    return marshal(data, team_details, skip_none=True)


@ns.route("/teams", endpoint="teams_list")
class TeamList(Resource):
    @ns.response(200, "Success", [team_details])
    def get(self):
        """Every team."""
        return [_render(t) for t in teams.all_teams(session(), utcnow())]

    @ns.expect(apikey, create_input)
    @ns.response(200, "Created", modify_output)
    def post(self):
        """Create a team (trusted users)."""
        body = validation.body(create_input)
        actor = caller()
        db = session()
        team = teams.create(db, actor, body["name"], body.get("info"))
        db.commit()
        return marshal({"id": team.id, "name": team.name, "info": team.info}, modify_output, skip_none=True)


@ns.route("/teams/<string:team_id>", endpoint="team_single")
class TeamSingle(Resource):
    @ns.expect(optional_apikey)
    @ns.response(200, "Success", team_details)
    def get(self, team_id: str):
        """One team. A key, if sent, must be a moderator's (as on the public horde)."""
        teams.check_viewer(caller(required=False))
        db = session()
        return _render(teams.details(db, teams.get(db, team_id), utcnow()))

    @ns.expect(apikey, modify_input)
    @ns.response(200, "Changed", modify_output)
    def patch(self, team_id: str):
        """Rename or re-describe a team (creator or moderator)."""
        body = validation.body(modify_input)
        actor = caller()
        db = session()
        result = teams.modify(db, actor, teams.get(db, team_id), body.get("name"), body.get("info"))
        db.commit()
        return marshal(result, modify_output, skip_none=True)

    @ns.expect(apikey)
    @ns.response(200, "Deleted", deleted)
    def delete(self, team_id: str):
        """Delete a team; its workers leave it (creator or moderator)."""
        actor = caller()
        db = session()
        result = teams.delete(db, actor, teams.get(db, team_id))
        db.commit()
        return result
