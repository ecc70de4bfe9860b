"""What every request must be before any route sees it: the limits no route has to repeat.

- URL (path and query) at most `MAX_URL_BYTES`, each header at most `MAX_HEADER_BYTES`
  (gunicorn's own limits sit a little above these, and its refusals are JSON as well:
  `horde.gunicorn_errors`);
- no NUL byte in the path, the query, a header or a form field;
- JSON bodies read strictly (`json_input`), also where a route calls `request.get_json()`.

A route adds its own limits in its flask-restx model (DEVELOPERS.md, "Input limits").
"""

from __future__ import annotations

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from horde.api import json_input
from horde.domain import errors

MAX_URL_BYTES = 4096
MAX_HEADER_BYTES = 8192


class StrictJSONProvider(DefaultJSONProvider):
    """`request.get_json()` refuses what `json_input` refuses (NaN, depth, bad text)."""

    def loads(self, s, **kwargs):
        return json_input.loads(s)


def check_request() -> None:
    environ = request.environ
    url_bytes = len(environ.get("SCRIPT_NAME", "")) + len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    if url_bytes > MAX_URL_BYTES:
        raise errors.URITooLong(f"The URL is {url_bytes} bytes long; at most {MAX_URL_BYTES} are accepted.")
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            name = key[5:].replace("_", "-").title()
            if len(value) > MAX_HEADER_BYTES:
                raise errors.RequestHeaderFieldsTooLarge(
                    f"The {name} header is {len(value)} bytes long; at most {MAX_HEADER_BYTES} are accepted."
                )
            if "\x00" in value:
                raise json_input.refuse_text(name, "nul", "header")
    if "\x00" in request.path:
        raise json_input.refuse_text("", "nul", "path")
    _check_fields(request.args, "query parameter")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_fields(request.form, "form field")


def _check_fields(values, what: str) -> None:
    for key, value in values.items(multi=True):
        for text in (key, value):
            problem = json_input.text_problem(text)
            if problem:
                raise json_input.refuse_text(key[:40], problem, what)


def install(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
