"""POST /kudos/transfer."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, services, session
from horde.domain import errors, events
from horde.domain.accounts import ledger, transfers

ns = Namespace("kudos", description="Kudos transfers", path="/v2")
transfer_input = ns.model(
    "KudosTransferInput",
    {
        "username": fields.String(required=True, description="The recipient's alias, name#id"),
        "amount": fields.Integer(default=100, min=1, max=ledger.MAX_AMOUNT, description="Whole kudos, more than 0"),
    },
)
transferred = ns.model("KudosTransferred", {"transferred": fields.Float})
headers = ns.parser()
headers.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
headers.add_argument("Idempotency-Key", location="headers", required=False, help="Repeating a transfer with the same key moves kudos once")


def _amount(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise errors.ValidationFailed(errors={"amount": f"{value!r} is not a whole number"})
    return int(value)


@ns.route("/kudos/transfer", endpoint="kudos_transfer")
class KudosTransfer(Resource):
    @ns.expect(headers, transfer_input)
    @ns.response(200, "Transferred", transferred)
    def post(self):
        """Give some of your kudos to another user."""
        body = validation.json_body()
        if not isinstance(body.get("username"), str):
            raise errors.ValidationFailed(errors={"username": "Missing required parameter in the JSON body"})
        amount = _amount(body.get("amount", 100))
        source = caller()
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            raise errors.ValidationFailed(errors={"Idempotency-Key": "at most 255 characters"})
        moved = transfers.transfer(session(), services().cache, source, body["username"], amount, key)
        events.emit(events.KUDOS_TRANSFERRED, float(moved))
        return {"transferred": float(moved)}


award_input = ns.model(
    "KudosAwardInput",
    {"username": fields.String(required=True), "amount": fields.Integer(default=100, min=1, max=ledger.MAX_AMOUNT)},
)
awarded = ns.model("KudosAwarded", {"awarded": fields.Float})


@ns.route("/kudos/award", endpoint="kudos_award")
class KudosAward(Resource):
    @ns.expect(headers, award_input)
    @ns.response(200, "Awarded", awarded)
    def post(self):
        """Award kudos to a user (moderators and service accounts)."""
        body = validation.json_body()
        if not isinstance(body.get("username"), str):
            raise errors.ValidationFailed(errors={"username": "Missing required parameter in the JSON body"})
        amount = _amount(body.get("amount", 100))
        actor = caller()
        moved = transfers.award(session(), actor, body["username"], amount, services().settings.admins)
        return {"awarded": float(moved)}
