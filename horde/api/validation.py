"""Request bodies: parse JSON, validate against the route's flask-restx model.

The model is the same one Swagger documents. Its JSON schema is compiled once (flask-restx
would rebuild a validator per request) and errors come back as
`{"message": "Input payload validation failed", "rc": ..., "errors": {field: detail}}`.
"""

from __future__ import annotations

from flask import request
from flask_restx import Model, fields
from jsonschema import Draft4Validator

from horde.api import json_input
from horde.domain import errors

_validators: dict[int, Draft4Validator] = {}


def _nested_models(model: Model, found: dict[str, Model]) -> None:
    for field in model.values():
        inner = field
        while isinstance(inner, fields.List):
            inner = inner.container
        if isinstance(inner, fields.Nested):
            nested = inner.nested
            if nested.name not in found:
                found[nested.name] = nested
                _nested_models(nested, found)


def _validator(model: Model) -> Draft4Validator:
    key = id(model)
    validator = _validators.get(key)
    if validator is None:
        nested: dict[str, Model] = {}
        _nested_models(model, nested)
        schema = dict(model.__schema__)
        schema["type"] = "object"
        schema["definitions"] = {name: m.__schema__ for name, m in nested.items()}
        validator = Draft4Validator(schema)
        _validators[key] = validator
    return validator


def json_body() -> dict:
    """The request's JSON object ({} for an empty body), read strictly (`json_input`)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    data = json_input.loads(raw)
    if not isinstance(data, dict):
        raise errors.ValidationFailed(errors={"": "The request body must be a JSON object."})
    return data


def body(model: Model) -> dict:
    """The JSON body, validated against `model` (unknown extra keys are allowed)."""
    return checked(model, json_body())


def checked(model: Model, data: dict) -> dict:
    """`data` validated against `model` (a body built by the server, e.g. from an OpenAI one)."""
    found: dict[str, str] = {}
    for error in _validator(model).iter_errors(data):
        path = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}" if path else missing
        found.setdefault(path, _detail(error))
    if found:
        raise errors.ValidationFailed(errors=found)
    return data


# jsonschema's messages quote the whole value, which may be a megabyte: say the size instead.
_SIZES = {
    "maxLength": lambda e: f"{len(e.instance):,} characters; at most {e.validator_value:,} are allowed",
    "minLength": lambda e: f"{len(e.instance):,} characters; at least {e.validator_value:,} are needed",
    "maxItems": lambda e: f"{len(e.instance):,} items; at most {e.validator_value:,} are allowed",
    "minItems": lambda e: f"{len(e.instance):,} items; at least {e.validator_value:,} are needed",
}
MAX_DETAIL = 300


def _detail(error) -> str:
    sized = _SIZES.get(error.validator)
    if sized is not None:
        return sized(error)
    message = error.message
    return message if len(message) <= MAX_DETAIL else f"{message[:MAX_DETAIL]}..."


def missing_header(name: str, help_text: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(errors={name: f"{help_text} Missing required parameter in the HTTP headers"})


def query_int(name: str, default: int | None, *, minimum: int = -json_input.MAX_INTEGER,
              maximum: int = json_input.MAX_INTEGER) -> int | None:
    """An integer query parameter within [minimum, maximum]; absent: `default`. An empty
    value is not a number, and one out of range is refused, not clamped."""
    value = request.args.get(name)
    if value is None:
        return default
    text = value.strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise errors.ValidationFailed(errors={name: f"{value[:40]!r} is not an integer"})
    number = int(text)
    if not minimum <= number <= maximum:
        raise errors.ValidationFailed(errors={name: f"{number} is outside the allowed range {minimum} to {maximum}"})
    return number
