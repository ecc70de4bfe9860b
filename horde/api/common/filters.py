"""The moderators' prompt filters: GET/PUT/POST /filters, GET /filters/regex, GET/PATCH/DELETE /filters/{id}."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, commit_rule_change, services, session
from horde.domain import errors
from horde.domain.moderation import prompt_filters, roles

ns = Namespace("filters", description="Prompt filters (moderators)", path="/v2")
filter_details = ns.model(
    "FilterDetails",
    {
        "id": fields.String(description="The filter's id."),
        "regex": fields.String(description="An RE2 regex, matched case-insensitively."),
        "filter_type": fields.Integer(min=10, max=29, description="10 and 11: youth; 20: sexual content."),
        "description": fields.String,
        "replacement": fields.String(default="", description="What the replacement filter puts instead (type 10)."),
        "user": fields.String(description="The moderator who added or last changed it."),
    },
)
put_input = ns.model(
    "PutNewFilter",
    {
        "regex": fields.String(required=True, min_length=1),
        "filter_type": fields.Integer(required=True, min=10, max=29),
        "description": fields.String,
        "replacement": fields.String(default=""),
    },
)
patch_input = ns.model(
    "PatchExistingFilter",
    {
        "regex": fields.String(min_length=1),
        "filter_type": fields.Integer(min=10, max=29),
        "description": fields.String,
        "replacement": fields.String,
    },
)
prompt_input = ns.model(
    "FilterPromptInput",
    {"prompt": fields.String(required=True), "filter_type": fields.Integer(min=10, max=29)},
)
suspicion_model = ns.model(
    "FilterPromptSuspicion",
    {"suspicion": fields.String(description="0, 1 or 2: 2 is refused."), "matches": fields.List(fields.String)},
)
regex_model = ns.model("FilterRegex", {"filter_type": fields.Integer, "regex": fields.String})
simple = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
list_query = apikey.copy()
list_query.add_argument("filter_type", type=int, location="args", help="Only this type (10-29).")
list_query.add_argument("contains", location="args", help="Only filters whose regex or description contains this.")
type_query = apikey.copy()
type_query.add_argument("filter_type", type=int, location="args", help="Only this type (10-29).")


def _moderator():
    return roles.require_moderator(caller())


@ns.route("/filters", endpoint="filters")
class Filters(Resource):
    @ns.expect(list_query)
    @ns.response(200, "Success", [filter_details])
    def get(self):
        """Every filter, or those of one type or containing a text."""
        _moderator()
        db = session()
        rows = prompt_filters.listing(db, validation.query_int("filter_type", None), request.args.get("contains"))
        return [marshal(prompt_filters.details(db, row), filter_details, skip_none=True) for row in rows]

    @ns.expect(apikey, put_input)
    @ns.response(200, "The filter (an identical one is returned unchanged)", filter_details)
    def put(self):
        """Add a filter."""
        body = validation.body(put_input)
        actor = _moderator()
        db = session()
        row = prompt_filters.add(db, actor, body["regex"], body["filter_type"], body.get("description"), body.get("replacement"))
        commit_rule_change(db)
        return marshal(prompt_filters.details(db, row), filter_details)

    @ns.expect(apikey, prompt_input)
    @ns.response(200, "How suspicious the prompt is, and what matched", suspicion_model)
    def post(self):
        """Test a prompt against the filters (suspicion 2 is refused on generate)."""
        body = validation.json_body()
        _moderator()
        prompt, filter_type = body.get("prompt"), body.get("filter_type")
        if not isinstance(prompt, str):
            raise errors.ValidationFailed(errors={"prompt": "Missing required parameter in the JSON body"})
        if filter_type is not None and not isinstance(filter_type, int):
            raise errors.ValidationFailed(errors={"filter_type": f"{filter_type!r} is not of type 'integer'"})
        svc = services()
        return prompt_filters.test_prompt(svc.rules.filters(svc.db, svc.cache), prompt, filter_type)


@ns.route("/filters/regex", endpoint="filters_regex")
class FilterRegex(Resource):
    @ns.expect(type_query)
    @ns.response(200, "Success", [regex_model])
    def get(self):
        """The combined regex of each type, as requests are matched against it."""
        _moderator()
        return prompt_filters.combined_regexes(session(), validation.query_int("filter_type", None))


@ns.route("/filters/<string:filter_id>", endpoint="filter_single")
class FilterSingle(Resource):
    @ns.expect(apikey)
    @ns.response(200, "Success", filter_details)
    def get(self, filter_id: str):
        """One filter."""
        _moderator()
        db = session()
        return marshal(prompt_filters.details(db, prompt_filters.get(db, filter_id)), filter_details, skip_none=True)

    @ns.expect(apikey, patch_input)
    @ns.response(200, "Changed", filter_details)
    def patch(self, filter_id: str):
        """Change a filter's regex, type, description or replacement."""
        body = validation.body(patch_input)
        actor = _moderator()
        db = session()
        row = prompt_filters.modify(db, actor, prompt_filters.get(db, filter_id), body)
        commit_rule_change(db)
        return marshal(prompt_filters.details(db, row), filter_details)

    @ns.expect(apikey)
    @ns.response(200, "Deleted", simple)
    def delete(self, filter_id: str):
        """Delete a filter."""
        _moderator()
        db = session()
        prompt_filters.delete(db, prompt_filters.get(db, filter_id))
        commit_rule_change(db)
        return {"message": "OK"}
