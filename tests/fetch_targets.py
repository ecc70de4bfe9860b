"""Local HTTP(S) servers that play the URLs clients make the server fetch.

`FetchTargets` answers on one loopback address and port:
  /image.png            a small PNG
  /drip                 headers, then one byte every `drip_interval` seconds (a slow URL)
  /slow-image.png       the PNG in two halves, `drip_interval` seconds apart (slow but fine)
  /drip-headers         the status line and headers themselves, one byte at a time
  /huge                 6 MB with a Content-Length
  /huge-unsized         6 MB without one (the size is only known while reading)
  /redirect?to=URL      302 to URL
  /hops/N               a chain of N redirects ending at /image.png
  /status/N             an empty answer with that status
It counts accepted connections (`connections`), so a test can prove a refused URL was
never connected to, and records the Host headers and TLS server names it saw. Every slow
answer ends by itself after `drip_limit` seconds, or when the server stops.
"""

from __future__ import annotations

import io
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image

HUGE_BYTES = 6 * 1024 * 1024


def png_bytes(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        request = super().get_request()
        with self.targets.lock:
            self.targets.connections += 1
        return request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # answers end when the connection closes
    server: _Server

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        targets = self.server.targets
        with targets.lock:
            targets.hosts.append(self.headers.get("Host", ""))
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/image.png":
            self._send(200, targets.image, "image/png")
        elif path == "/slow-image.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(targets.image)))
            self.end_headers()
            half = len(targets.image) // 2
            if self._write(targets.image[:half]):
                targets.stopping.wait(targets.drip_interval)
                self._write(targets.image[half:])
        elif path == "/drip":
            self._drip_body(targets)
        elif path == "/drip-headers":
            self._drip_raw(targets, b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\nX-Padding: " + b"x" * 10_000)
        elif path == "/huge":
            self._send(200, b"\0" * HUGE_BYTES, "image/png")
        elif path == "/huge-unsized":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            block = b"\0" * 65536
            for _ in range(HUGE_BYTES // len(block)):
                if not self._write(block):
                    return
        elif path == "/redirect":
            self._redirect(parse_qs(parts.query)["to"][0])
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            self._redirect(f"/hops/{left - 1}" if left > 1 else "/image.png")
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"", "text/plain")
        else:
            self._send(404, b"", "text/plain")

    do_POST = do_GET

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:  # the fetcher hung up: what a deadline or a size cap does
            return False

    def _drip_body(self, targets: "FetchTargets") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(5 * 1024 * 1024))
        self.end_headers()
        self._drip_raw(targets, b"\x89" * 1_000_000)

    def _drip_raw(self, targets: "FetchTargets", data: bytes) -> None:
        ends = time.monotonic() + targets.drip_limit
        for byte in data:
            if targets.stopping.is_set() or time.monotonic() > ends or not self._write(bytes([byte])):
                return
            targets.stopping.wait(targets.drip_interval)


class FetchTargets:
    def __init__(
        self, host: str = "127.0.0.1", *, drip_interval: float = 1.0, drip_limit: float = 60.0,
        tls: ssl.SSLContext | None = None,
    ):
        self.host = host
        self.drip_interval = drip_interval
        self.drip_limit = drip_limit
        self.image = png_bytes()
        self.lock = threading.Lock()
        self.connections = 0
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        self.stopping = threading.Event()
        self._server = _Server((host, 0), _Handler)
        self._server.targets = self
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = self._record_sni
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fetch-targets", daemon=True)

    def _record_sni(self, _sock, server_name, _context) -> None:
        with self.lock:
            self.server_names.append(server_name)

    def start(self) -> "FetchTargets":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def __enter__(self) -> "FetchTargets":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
