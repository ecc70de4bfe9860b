"""Oversized and malformed requests against a real gunicorn server answer JSON, whether the
application refuses them (its own limits) or gunicorn does (a little above them)."""

from __future__ import annotations

import json
import socket

import pytest
import requests


def _raw(server, request: bytes) -> tuple[int, dict, dict]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


@pytest.mark.parametrize("length,who", [(5000, "application"), (12000, "gunicorn")])
def test_long_urls_are_json_414(server, length, who):
    response = requests.get(f"{server.url}/api/v2/status/heartbeat?pad={'x' * length}", timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["rc"] == "URITooLong" and response.json()["message"]


@pytest.mark.parametrize("length,who", [(9000, "application"), (20000, "gunicorn")])
def test_large_headers_are_json_431(server, length, who):
    response = requests.get(f"{server.url}/api/v2/status/heartbeat", headers={"X-Padding": "x" * length}, timeout=10)
    assert response.status_code == 431
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["rc"] == "RequestHeaderFieldsTooLarge"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_too_many_headers_are_json(server):
    extra = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, headers, body = _raw(server, f"GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
    assert status == 431 and headers["content-type"] == "application/json" and body["rc"] == "RequestHeaderFieldsTooLarge"


@pytest.mark.parametrize(
    "request_bytes",
    [b"NOT A REQUEST LINE\r\n\r\n", b"GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\nBad\x00Name: v\r\n\r\n",
     b"GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n"],
    ids=["request line", "NUL in a header name", "NUL in a header value"],
)
def test_malformed_requests_are_json_400(server, request_bytes):
    status, headers, body = _raw(server, request_bytes)
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["rc"] in ("BadRequest", "NulByteInPayload") and body["message"]
