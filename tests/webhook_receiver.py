"""A local https server that plays a webhook receiver: it records every POST (path, headers,
body) and answers by path: /ok → 200, /flaky → 500 for the first two POSTs then 200,
/fail → always 500, /slow → answers after 5 s. Its certificate comes from a trustme CA that
the server under test is told to trust (HORDE_WEBHOOK_CA_FILE)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-horde-signature", ""), expected)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        receiver: WebhookReceiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with receiver.lock:
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            seen = sum(1 for item in receiver.received if item.path == self.path)
        if self.path.startswith("/slow"):
            receiver.stopping.wait(5)
        status = 200
        if self.path.startswith("/fail") or (self.path.startswith("/flaky") and seen <= 2):
            status = 500
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        try:
            self.wfile.write(b"{}")
        except OSError:
            pass


class WebhookReceiver:
    def __init__(self, ca_dir: Path):
        import trustme

        authority = trustme.CA()
        self.ca_file = ca_dir / "webhook-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_file))
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def posts(self, path_prefix: str = "/") -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.path.startswith(path_prefix)]

    def wait_for(self, path_prefix: str, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.posts(path_prefix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.posts(path_prefix))} POSTs to {path_prefix} after {timeout}s, expected {count}")

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
