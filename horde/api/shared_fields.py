"""Fields the image and text models share (the public API repeats them in each)."""

from __future__ import annotations

from flask_restx import fields


def check_fields() -> dict:
    return {
        "finished": fields.Integer, "processing": fields.Integer, "restarted": fields.Integer,
        "waiting": fields.Integer, "done": fields.Boolean, "faulted": fields.Boolean, "wait_time": fields.Integer,
        "queue_position": fields.Integer, "kudos": fields.Float, "is_possible": fields.Boolean,
    }


def pop_input_fields() -> dict:
    return {
        "name": fields.String(required=True),
        "priority_usernames": fields.List(fields.String),
        "nsfw": fields.Boolean(default=True),
        "models": fields.List(fields.String(min_length=3, max_length=255)),
        "bridge_agent": fields.String(max_length=1000, default="unknown:0:unknown"),
        "threads": fields.Integer(min=1, max=50, default=1),
        "require_upfront_kudos": fields.Boolean(default=False),
        "amount": fields.Integer(min=1, max=20, default=1),
        "extra_slow_worker": fields.Boolean(default=False),
    }


def pop_message_fields() -> dict:
    return {"id": fields.String, "message": fields.String, "origin": fields.String, "expiry": fields.String}
