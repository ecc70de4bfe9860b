"""gunicorn's own refusals as JSON `{"message", "rc"}`, like every other error of ours.

gunicorn answers a request it cannot parse (a request line or header over its limits, a
malformed header) before the application runs, with a small HTML page. `install` makes its
error writer (`gunicorn.util.write_error`, which every worker calls for these) write JSON
instead, with the CORS header browser clients need to read it.
"""

from __future__ import annotations

import json

# gunicorn's status -> our rc (the same ones the application uses).
RC_BY_STATUS = {
    400: "BadRequest",
    403: "Forbidden",
    414: "URITooLong",
    417: "ExpectationFailed",
    431: "RequestHeaderFieldsTooLarge",
    500: "InternalServerError",
    501: "NotImplemented",
}


def response_bytes(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"message": message or reason, "rc": RC_BY_STATUS.get(status, reason.replace(" ", ""))}) + "\n"
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Access-Control-Allow-Origin: *\r\nContent-Length: {len(body.encode())}\r\n\r\n"
    )
    return head.encode("latin-1") + body.encode()


def install(limit_request_line: int, limit_request_field_size: int) -> None:
    from gunicorn import util

    def write_json_error(sock, status_int, reason, mesg):
        if status_int == 414:
            mesg = f"The request line is longer than {limit_request_line} bytes."
        elif status_int == 431:
            mesg = f"A request header is longer than {limit_request_field_size} bytes, or there are too many headers."
        util.write_nonblock(sock, response_bytes(status_int, reason, mesg))

    util.write_error = write_json_error
