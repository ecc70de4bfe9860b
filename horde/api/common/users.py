"""GET /find_user, GET /users, GET and PUT /users/{id}."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.shared_fields import nullable
from horde.api.context import APIKEY_HELP, caller, services, session
from horde.db import utcnow
from horde.domain import aliases, errors
from horde.domain.accounts import deletion, ledger, users

ns = Namespace("users", description="Users and their API keys", path="/v2")

kudos_details = ns.model(
    "UserKudosDetails",
    {b: fields.Float(default=0) for b in ledger.KUDOS_BUCKETS},
)
_things = ns.model("UserThingRecords", {"megapixelsteps": fields.Float(default=0), "tokens": fields.Integer(default=0)})
_per_type = ns.model(
    "UserAmountRecords",
    {"image": fields.Integer(default=0), "text": fields.Integer(default=0), "interrogation": fields.Integer(default=0)},
)
records = ns.model(
    "UserRecords",
    {
        "usage": fields.Nested(_things),
        "contribution": fields.Nested(_things),
        "fulfillment": fields.Nested(_per_type),
        "request": fields.Nested(_per_type),
        "style": fields.Nested(_per_type),
    },
)
# Old counters, always null (the records replace them): documented as such.
usage = ns.model("UsageDetails", {"megapixelsteps": nullable(fields.Float()), "requests": nullable(fields.Integer())})
contributions = ns.model(
    "ContributionsDetails", {"megapixelsteps": nullable(fields.Float()), "fulfillments": nullable(fields.Integer())}
)
monthly = ns.model(
    "MonthlyKudos",
    {"amount": fields.Integer, "last_received": nullable(fields.DateTime(dt_format="rfc822"))},
)
active = ns.model(
    "UserActiveGenerations",
    {"text": fields.List(fields.String), "image": fields.List(fields.String), "alchemy": fields.List(fields.String)},
)
style_lite = ns.model("ResponseModelStylesUser", {"name": fields.String, "id": fields.String, "type": fields.String})
user_details = ns.model(
    "UserDetails",
    {
        "username": fields.String(description="The user's unique username (name#id)."),
        "id": fields.Integer,
        "kudos": fields.Float,
        "evaluating_kudos": nullable(fields.Float()),
        "concurrency": fields.Integer,
        "worker_invited": fields.Integer,
        "moderator": fields.Boolean,
        "kudos_details": fields.Nested(kudos_details),
        "worker_count": fields.Integer,
        "worker_ids": nullable(fields.List(fields.String)),
        "sharedkey_ids": nullable(fields.List(fields.String)),
        "active_generations": nullable(fields.Nested(active, skip_none=True, allow_null=True)),
        "monthly_kudos": nullable(fields.Nested(monthly, allow_null=True)),
        "trusted": fields.Boolean,
        "flagged": fields.Boolean,
        "vpn": nullable(fields.Boolean()),
        "service": fields.Boolean,
        "education": fields.Boolean,
        "customizer": fields.Boolean,
        "special": nullable(fields.Boolean()),
        "pseudonymous": fields.Boolean,
        "suspicious": nullable(fields.Integer()),
        "contact": nullable(fields.String()),
        "admin_comment": nullable(fields.String()),
        "account_age": fields.Integer,
        "deleted": fields.Boolean,
        "usage": fields.Nested(usage),
        "contributions": fields.Nested(contributions),
        "records": fields.Nested(records),
        "styles": fields.List(fields.Nested(style_lite)),
    },
)
modify_user_input = ns.model(
    "ModifyUserInput",
    {
        "kudos": fields.Float(
            min=-ledger.MAX_AMOUNT, max=ledger.MAX_AMOUNT,
            description="Kudos to add (or remove, if negative). Admins only. The balance stays between the "
            f"user's floor and {ledger.MAX_BALANCE:,}.",
        ),
        "concurrency": fields.Integer(min=0, max=500),
        "usage_multiplier": fields.Float(min=0.1, max=10),
        "worker_invited": fields.Integer(min=0, max=users.MAX_WORKER_INVITED),
        "moderator": fields.Boolean,
        "public_workers": fields.Boolean,
        "monthly_kudos": fields.Integer(
            min=-users.MAX_MONTHLY_KUDOS, max=users.MAX_MONTHLY_KUDOS,
            description=f"Added to the monthly amount, which stays between 0 and {users.MAX_MONTHLY_KUDOS:,}.",
        ),
        "username": fields.String(min_length=3, max_length=100),
        "trusted": fields.Boolean,
        "flagged": fields.Boolean,
        "customizer": fields.Boolean,
        "vpn": fields.Boolean,
        "service": fields.Boolean,
        "education": fields.Boolean,
        "special": fields.Boolean,
        "filtered": fields.Boolean,
        "reset_suspicion": fields.Boolean,
        "contact": fields.String(min_length=5, max_length=500),
        "admin_comment": fields.String(min_length=5, max_length=500),
        "generate_proxy_passkey": fields.Boolean,
        "undelete": fields.Boolean,
    },
)
modify_user = ns.model(
    "ModifyUser",
    {
        "username": fields.String,
        "new_kudos": fields.Float,
        "concurrency": fields.Integer,
        "usage_multiplier": fields.Float,
        "worker_invited": fields.Integer,
        "moderator": fields.Boolean,
        "public_workers": fields.Boolean,
        "monthly_kudos": fields.Integer,
        "trusted": fields.Boolean,
        "flagged": fields.Boolean,
        "customizer": fields.Boolean,
        "vpn": fields.Boolean,
        "service": fields.Boolean,
        "education": fields.Boolean,
        "special": fields.Boolean,
        "new_suspicion": fields.Integer,
        "contact": fields.String,
        "admin_comment": fields.String,
        "proxy_passkey": fields.String,
        "undeleted": fields.Boolean,
    },
)

simple = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
apikey_header = ns.parser()
apikey_header.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
optional_apikey = ns.parser()
optional_apikey.add_argument("apikey", location="headers", required=False, help=APIKEY_HELP)
list_query = ns.parser()
list_query.add_argument("page", type=int, location="args", default=1, help=f"1 or more; past {users.MAX_PAGE} the list is empty")
list_query.add_argument("sort", type=str, location="args", default="kudos", help="kudos (default) or age")


def _render(data: dict) -> dict:
    rendered = marshal(data, user_details, skip_none=True)
    # A service account's passkey, for moderators only. Not in the shared model: horde-sdk's
    # strict UserDetails does not know the key, so no one else ever receives it.
    if data.get("proxy_passkey"):
        rendered["proxy_passkey"] = data["proxy_passkey"]
    return rendered


def _user_id(raw: str) -> int:
    number = aliases.user_id(raw)
    if number is None:
        raise errors.UserNotFound(
            f"User ID '{raw[:40]}' is not a number. Use the numeric part of the alias (name#id)."
        )
    return number


@ns.route("/find_user", endpoint="find_user")
class FindUser(Resource):
    @ns.expect(apikey_header)
    @ns.response(200, "Success", user_details)
    @ns.response(404, "User not found")
    def get(self):
        """Who owns this API key?"""
        api_key = request.headers.get("apikey")
        try:
            user = caller(required=False)
        except errors.InvalidAPIKey:
            raise errors.UserNotFound(f"User with api_key '{api_key}' not found.") from None
        if user is None:
            raise errors.InvalidAPIKey()
        return _render(users.details(session(), user, users.SELF))


@ns.route("/users", endpoint="users_list")
class UserList(Resource):
    @ns.expect(list_query)
    @ns.response(200, "Success", [user_details])
    def get(self):
        """A page of users (25 per page), richest first or oldest first."""
        page = validation.query_int("page", 1)  # spec: below 1 is 1, past MAX_PAGE an empty list
        sort = request.args.get("sort", "kudos")
        db = session()
        return [marshal(users.details(db, u, users.PUBLIC), user_details) for u in users.list_page(db, page, sort)]


@ns.route("/users/<string:user_id>", endpoint="user_single")
class UserSingle(Resource):
    @ns.expect(optional_apikey)
    @ns.response(200, "Success", user_details)
    @ns.response(404, "User not found")
    def get(self, user_id: str):
        """One user's details; more with their own key or a moderator's."""
        db = session()
        target = users.get_user(db, _user_id(user_id))
        viewer = caller(required=False)
        data = users.details(db, target, users.privilege_for(viewer, target))
        return _render(data)

    @ns.expect(apikey_header, modify_user_input)
    @ns.response(200, "Success", modify_user)
    def put(self, user_id: str):
        """Change a user: admins, moderators or the user themselves, per field."""
        changes = validation.body(modify_user_input)
        actor = caller()
        db = session()
        target = users.get_user(db, _user_id(user_id))
        result = users.modify(db, actor, target, changes, services().settings.admins)
        db.commit()
        services().callers.forget(target.id)
        return marshal(result, modify_user, skip_none=True)

    @ns.expect(apikey_header)
    @ns.response(200, "Deleted (or, deleted before and inactive for 30 days, wiped)", simple)
    def delete(self, user_id: str):
        """Delete an account: the user themselves or a moderator. Undo with `undelete`."""
        actor = caller()
        db = session()
        target = users.get_user(db, _user_id(user_id))
        deletion.delete_user(db, actor, target, utcnow())
        db.commit()
        services().callers.forget(target.id)
        return {"message": "OK"}
