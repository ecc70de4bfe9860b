"""The moderators' IP operations: timeouts of addresses and CIDR blocks, and of workers' IPs."""

from __future__ import annotations

import datetime as dt

from flask_restx import Namespace, Resource, fields

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, commit_rule_change, session
from horde.db import utcnow
from horde.domain.moderation import ip_timeouts, roles
from horde.domain.workers import ip_blocks

ns = Namespace("operations", description="IP timeouts (moderators)", path="/v2")
ip_timeout = ns.model(
    "IPTimeout",
    {
        "ipaddr": fields.String(description="The address or CIDR block in timeout.", example="203.0.113.7/32"),
        "seconds": fields.Integer(description="Seconds left."),
    },
)
add_input = ns.model(
    "AddTimeoutIPInput",
    {
        "ipaddr": fields.String(required=True, min_length=7, max_length=40, description="An IP address or a CIDR block."),
        "hours": fields.Integer(required=True, min=1, max=720),
    },
)
delete_input = ns.model(
    "DeleteTimeoutIPInput", {"ipaddr": fields.String(required=True, min_length=7, max_length=40)}
)
worker_input = ns.model(
    "AddWorkerTimeout", {"days": fields.Integer(required=True, min=1, max=ip_blocks.MAX_DAYS)}
)
simple = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)


def _moderator():
    return roles.require_moderator(caller())


@ns.route("/operations/ipaddr", endpoint="ip_timeouts")
class IPTimeouts(Resource):
    @ns.expect(apikey)
    @ns.response(200, "Success", [ip_timeout])
    def get(self):
        """Every address and block in timeout, with the seconds left."""
        _moderator()
        return ip_timeouts.listing(session(), utcnow())

    @ns.expect(apikey, add_input)
    @ns.response(200, "Done", simple)
    def post(self):
        """Put an address or a CIDR block in timeout for some hours."""
        body = validation.body(add_input)
        _moderator()
        db = session()
        net = ip_timeouts.network(body["ipaddr"])
        ip_timeouts.time_out(db, net, dt.timedelta(hours=body["hours"]), "moderator", utcnow())
        return commit_rule_change(db)

    @ns.expect(apikey, delete_input)
    @ns.response(200, "Done", simple)
    def delete(self):
        """End the timeout of an address or block (and forget the address's suspicion)."""
        body = validation.body(delete_input)
        _moderator()
        db = session()
        ip_timeouts.lift(db, ip_timeouts.network(body["ipaddr"]))
        return commit_rule_change(db)


@ns.route("/operations/ipaddr/<path:ipaddr>", endpoint="ip_timeout_single")
class IPTimeoutSingle(Resource):
    @ns.expect(apikey)
    @ns.response(200, "Success", [ip_timeout])
    def get(self, ipaddr: str):
        """The timeouts covering an address: its own, and the blocks it is in."""
        _moderator()
        return ip_timeouts.matching(session(), ipaddr, utcnow())


@ns.route("/operations/block_worker_ipaddr/<string:worker_id>", endpoint="worker_ip_block")
class WorkerIPBlock(Resource):
    @ns.expect(apikey, worker_input)
    @ns.response(200, "Done", simple)
    def put(self, worker_id: str):
        """Time out a worker's IP address (IPv6: its /64) for some days."""
        body = validation.body(worker_input)
        _moderator()
        db = session()
        ip_blocks.block(db, worker_id, body["days"], utcnow())
        return commit_rule_change(db)

    @ns.expect(apikey)
    @ns.response(200, "Done", simple)
    def delete(self, worker_id: str):
        """Lift the timeout of a worker's IP address."""
        _moderator()
        db = session()
        ip_blocks.unblock(db, worker_id)
        return commit_rule_change(db)
