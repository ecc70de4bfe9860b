"""Fields the image and text models share (the public API repeats them in each)."""

from __future__ import annotations

from flask_restx import fields

from horde.domain.workers import checkin

# Lengths of lists no rule of the domain bounds with a return code of its own.
MAX_REQUEST_MODELS = 100  # models one request may name
MAX_REQUEST_WORKERS = 20  # worker ids one request may list (the first 5 are used)
MAX_WORKER_MODELS = 1000  # models one pop may declare (the first 300 or 200 are kept)
MAX_NAMES = 100  # priority usernames of a pop


def nullable(field: fields.Raw) -> fields.Raw:
    """A response field that can be null, documented so (Swagger 2.0 `x-nullable`)."""
    plain = field.schema
    field.schema = lambda: {**plain(), "x-nullable": True}
    return field


def request_lists(model_example: str) -> dict:
    """`models` and `workers` of a new request, image or text."""
    return {
        "workers": fields.List(fields.String(max_length=36), max_items=MAX_REQUEST_WORKERS),
        "models": fields.List(
            fields.String(max_length=255), max_items=MAX_REQUEST_MODELS, example=[model_example],
            description="Omitted: stable_diffusion (image). Empty list: any model.",
        ),
        "proxied_account": fields.String(max_length=255),
    }


def check_fields() -> dict:
    return {
        "finished": fields.Integer, "processing": fields.Integer, "restarted": fields.Integer,
        "waiting": fields.Integer, "done": fields.Boolean, "faulted": fields.Boolean, "wait_time": fields.Integer,
        "queue_position": fields.Integer, "kudos": fields.Float, "is_possible": fields.Boolean,
    }


def pop_input_fields(model_example: str) -> dict:
    return {
        "name": fields.String(required=True, min_length=1, max_length=checkin.NAME_MAX, example="My GPU"),
        "priority_usernames": fields.List(fields.String(max_length=255), max_items=MAX_NAMES),
        "nsfw": fields.Boolean(default=True),
        "models": fields.List(fields.String(min_length=3, max_length=255), max_items=MAX_WORKER_MODELS, example=[model_example]),
        "bridge_agent": fields.String(max_length=1000, default="unknown:0:unknown"),
        "threads": fields.Integer(min=1, max=50, default=1),
        "require_upfront_kudos": fields.Boolean(default=False),
        "amount": fields.Integer(min=1, max=20, default=1),
        "extra_slow_worker": fields.Boolean(default=False),
    }


def pop_message_fields() -> dict:
    return {"id": fields.String, "message": fields.String, "origin": fields.String, "expiry": fields.String}
