"""GET/POST /workers/messages, GET/DELETE /workers/messages/{id}."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, services, session
from horde.db import utcnow
from horde.domain.workers import messages

ns = Namespace("worker_messages", description="Messages to workers", path="/v2")
# The public server names both the body of a new message and the answers "ResponseModelMessage";
# horde-sdk models that name with the body's four fields, so the answer has a name of its own.
message_model = ns.model(
    "ResponseModelMessageDetails",
    {
        "id": fields.String, "worker_id": fields.String, "user_id": fields.String, "message": fields.String,
        "origin": fields.String, "expiry": fields.String(description="RFC 822"), "created": fields.String(description="RFC 822"),
    },
)
message_input = ns.model(
    "ResponseModelMessage",
    {
        "worker_id": fields.String(min_length=36, max_length=36, description="Omit (moderators) to message every worker"),
        "message": fields.String(required=True, min_length=1, max_length=10240),
        "origin": fields.String(min_length=1, max_length=255, description="Moderators only"),
        "expiry": fields.Integer(min=1, description=f"Hours (default 12); more than {messages.MAX_HOURS} count as {messages.MAX_HOURS}"),
    },
)
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
list_query = apikey.copy()
list_query.add_argument("user_id", location="args")
list_query.add_argument("worker_id", location="args")
list_query.add_argument("validity", location="args", default="active", help="active, expired or all")
list_query.add_argument("page", type=int, location="args", default=1, help=f"1 to {messages.MAX_PAGE}")


@ns.route("/workers/messages", endpoint="worker_messages")
class MessageList(Resource):
    @ns.expect(list_query)
    @ns.response(200, "Success", [message_model])
    def get(self):
        """Messages to your workers (moderators: any user's), with the broadcasts."""
        viewer = caller()
        user_id = validation.query_int("user_id", None, minimum=0)
        return messages.listing(
            session(), viewer, user_id=user_id, worker_id=request.args.get("worker_id"),
            validity=request.args.get("validity") or "active", page=validation.query_int("page", 1, minimum=1, maximum=messages.MAX_PAGE), now=utcnow(),
        )

    @ns.expect(apikey, message_input)
    @ns.response(200, "Created", message_model)
    def post(self):
        """Send a message to one of your workers (moderators: any worker, or all)."""
        body = validation.body(message_input)
        author = caller()
        db = session()
        message = messages.create(db, author, body, utcnow())
        db.commit()
        if message.worker_id:  # its pop answers show it at once; broadcasts within 10 s
            services().cache.delete(f"messages:{message.worker_id}")
        return messages.view(message)


@ns.route("/workers/messages/<string:message_id>", endpoint="worker_message")
class MessageSingle(Resource):
    @ns.response(200, "Success", message_model)
    def get(self, message_id: str):
        """One message."""
        return messages.view(messages.get(session(), message_id))

    @ns.expect(apikey)
    def delete(self, message_id: str):
        """Delete a message (its author or a moderator)."""
        actor = caller()
        db = session()
        message = messages.get(db, message_id)
        worker_id = message.worker_id
        messages.delete(db, actor, message)
        db.commit()
        if worker_id:
            services().cache.delete(f"messages:{worker_id}")
        return {"message": "OK"}
