"""The one place where errors become HTTP responses: always JSON `{"message", "rc"}`.

The exception classes themselves live in `horde.domain.errors` (domain code raises them
and must not import the web layer); this module maps them, Werkzeug's HTTP errors and
unexpected exceptions to JSON bodies.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from horde.db import is_disconnect
from horde.domain import errors
from horde.modes import Mode, mode_owning_path

log = logging.getLogger(__name__)

# Werkzeug statuses → our rc (those without a horde-specific meaning).
_HTTP_RC = {
    400: errors.BadRequest,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    414: errors.URITooLong,
    429: errors.RateLimited,
    431: errors.RequestHeaderFieldsTooLarge,
}


def json_response(body: dict, status: int, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body) + "\n", status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def mode_not_served(served: Mode, owner: Mode) -> errors.ModeNotServed:
    """A route of the other mode asked of this horde (the native routes and /v1 alike)."""
    return errors.ModeNotServed(
        f"This horde serves {served.description} ({served.value} mode); "
        f"{owner.value} routes such as {request.path} are not available here."
    )


def _from_http(exc: HTTPException, served: Mode) -> errors.HordeError:
    status = exc.code or 500
    if status == 404:
        owner = mode_owning_path(request.path)
        if owner is not None and owner is not served:
            return mode_not_served(served, owner)
        return errors.NotFound()
    if status == 429:
        return errors.RateLimited(f"Rate limit exceeded: {exc.description}")
    if status == 400 and "could not understand" in (exc.description or ""):
        return errors.MalformedJSON()
    cls = _HTTP_RC.get(status)
    if cls is None:
        err = errors.HordeError(exc.description or exc.name)
        err.status, err.rc = status, exc.name.replace(" ", "")
        return err
    return cls(exc.description if status not in (404, 405) else None)


def render(exc: Exception, served: Mode) -> Response:
    headers: dict = {}
    if isinstance(exc, errors.HordeError):
        err = exc
    elif isinstance(exc, HTTPException):
        err = _from_http(exc, served)
        if exc.response is not None:  # e.g. flask-limiter's Retry-After
            headers = {k: v for k, v in exc.response.headers.items() if k.lower() not in ("content-type", "content-length")}
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    elif is_disconnect(exc):
        err = errors.DatabaseUnavailable()
        _log_database_down(exc)
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            exc.horde_logged = True  # type: ignore[attr-defined]
        except AttributeError:
            pass
        err = errors.HordeError()
    if isinstance(err, errors.DatabaseUnavailable):
        headers["Retry-After"] = str(err.retry_after)
    return json_response(err.body(), err.status, headers)


_last_database_log = 0.0


def _log_unrendered(log_exception):
    """flask-restx logs a traceback for every answer of status 500 or more, after `render`
    made it: a 503 `DatabaseUnavailable` during an outage is expected (one line every few
    seconds says so), and `render` already logged every unexpected error. Errors that never
    reached `render` are still logged."""

    def log(exc_info) -> None:
        exc = exc_info[1] if exc_info else None
        if exc is not None and (isinstance(exc, errors.HordeError) or is_disconnect(exc) or getattr(exc, "horde_logged", False)):
            return
        log_exception(exc_info)

    return log


def _log_database_down(exc: Exception) -> None:
    """One line (no traceback) every few seconds while the database is unreachable."""
    global _last_database_log
    now = time.monotonic()
    if now - _last_database_log >= 10:
        _last_database_log = now
        log.warning("database unavailable, answering 503: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def install(app: Flask, api, served: Mode) -> None:
    """Route every error, inside and outside the flask-restx API, to `render`."""

    def handler(exc: Exception):
        return render(exc, served)

    app.register_error_handler(HTTPException, handler)
    app.register_error_handler(Exception, handler)
    app.log_exception = _log_unrendered(app.log_exception)

    @api.errorhandler(Exception)
    def _restx_handler(exc: Exception):
        response = render(exc, served)
        return response.get_json(), response.status_code, dict(response.headers)
