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


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_request() -> None:
    """Runs before every route, so it reads the raw WSGI values and parses nothing it need not."""
    environ = request.environ
    path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    url_bytes = len(environ.get("SCRIPT_NAME", "")) + len(path) + len(query)
    if url_bytes > MAX_URL_BYTES:
        raise errors.URITooLong(f"The URL is {url_bytes} bytes long; at most {MAX_URL_BYTES} are accepted.")
    for key, value in environ.items():
        if key[:5] == "HTTP_" and (len(value) > MAX_HEADER_BYTES or "\x00" in value):
            name = key[5:].replace("_", "-").title()
            if len(value) > MAX_HEADER_BYTES:
                raise errors.RequestHeaderFieldsTooLarge(
                    f"The {name} header is {len(value)} bytes long; at most {MAX_HEADER_BYTES} are accepted."
                )
            raise json_input.refuse_text(name, "nul", "header")
    if "\x00" in path:  # WSGI paths arrive percent-decoded
        raise json_input.refuse_text("", "nul", "path")
    if "%00" in query or "\x00" in query:
        _check_fields(request.args, "query parameter")
    if environ.get("CONTENT_TYPE", "").startswith(_FORMS):
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
