"""PUT /sharedkeys, GET/PATCH/DELETE /sharedkeys/{id}."""

from __future__ import annotations

from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, session
from horde.db import utcnow
from horde.domain.accounts import sharedkeys
from horde.models import User

ns = Namespace("sharedkeys", description="Shared keys: part of your kudos under a key of its own", path="/v2")
_limits = {
    name: fields.Integer(min=low, max=high, default=default, description="-1: no limit" if low == -1 else None)
    for name, (default, low, high) in sharedkeys.FIELDS.items()
}
_limits["expiry"].description = "Days from now until the key expires; -1: never"
key_input = ns.model(
    "SharedKeyInput",
    {**_limits, "name": fields.String(min_length=sharedkeys.NAME_MIN, max_length=sharedkeys.NAME_MAX)},
)
key_details = ns.model(
    "SharedKeyDetails",
    {
        "id": fields.String, "username": fields.String(description="The owner's alias"), "name": fields.String,
        "kudos": fields.Integer(description="Kudos left; -1: unlimited"),
        "expiry": fields.String(description="When the key expires (RFC 822); absent: never", example="Tue, 02 Jan 2024 03:04:05 -0000"),
        "utilized": fields.Integer,
        "max_image_pixels": fields.Integer, "max_image_steps": fields.Integer, "max_text_tokens": fields.Integer,
    },
)
simple = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)


def render(db, key) -> dict:
    owner = db.get(User, key.user_id)
    return marshal(sharedkeys.details(key, owner.alias if owner else ""), key_details, skip_none=True)


@ns.route("/sharedkeys", endpoint="sharedkeys")
class SharedKeys(Resource):
    @ns.expect(apikey, key_input)
    @ns.response(200, "Created", key_details)
    def put(self):
        """Create a shared key (registered users; 3 each, 10 trusted)."""
        settings = sharedkeys.parse_settings(validation.json_body(), creating=True)
        owner = caller()
        db = session()
        key = sharedkeys.create(db, owner, settings, utcnow())
        db.commit()
        return render(db, key)


@ns.route("/sharedkeys/<string:sharedkey_id>", endpoint="sharedkey_single")
class SharedKeySingle(Resource):
    @ns.response(200, "Success", key_details)
    @ns.response(401, "No such shared key")
    def get(self, sharedkey_id: str):
        """A shared key's settings and what it has spent."""
        db = session()
        return render(db, sharedkeys.get(db, sharedkey_id))

    @ns.expect(apikey, key_input)
    @ns.response(200, "Changed", key_details)
    def patch(self, sharedkey_id: str):
        """Change a shared key (its owner). `expiry: -1` removes the expiry."""
        settings = sharedkeys.parse_settings(validation.json_body(), creating=False)
        actor = caller()
        db = session()
        key = sharedkeys.modify(db, actor, sharedkeys.get(db, sharedkey_id), settings, utcnow())
        db.commit()
        return render(db, key)

    @ns.expect(apikey)
    @ns.response(200, "Deleted", simple)
    def delete(self, sharedkey_id: str):
        """Delete a shared key (its owner): it stops working at once, on every node."""
        actor = caller()
        db = session()
        sharedkeys.delete_key(db, actor, sharedkeys.get(db, sharedkey_id))
        db.commit()
        return {"message": "OK"}
