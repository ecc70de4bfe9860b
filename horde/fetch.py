"""Fetching URLs that clients give us (source images, masks; later webhooks, alchemy sources).

A client-supplied URL must never let a client reach what only the server can reach, nor
hold the server. So every fetch here:

- speaks only http and https, to a name resolved once; the connection goes to the
  address that was checked (no second lookup a DNS rebinding could change), with TLS
  verified and SNI sent for the real host name;
- refuses loopback, private, link-local, multicast, reserved and unspecified addresses,
  IPv4 and IPv6, including IPv4 inside IPv6 (mapped, compatible, 6to4, NAT64);
- follows at most `MAX_REDIRECTS` redirects, each checked like the first URL;
- has a total deadline (resolving, connecting, TLS, headers and body together; a server
  that drips one byte a second is cut off at the deadline), which also ends when the
  process starts to stop (`serving.stop`), and a size cap counted while
  the body streams in;
- runs inside `serving.waiting()`: the process's core slot is given back, so heartbeat,
  check and pop go on being served; at most `concurrency` fetches run at once per process,
  and one more is refused at once (`FetchBusy`) rather than queued.

`allow_private=True` (HORDE_FETCH_ALLOW_PRIVATE, development and tests only) lets private
and loopback addresses through; the pool, deadline, size cap and redirect rules still apply.
The caller must hold no database connection across a fetch.

Interface: `Fetcher.get(url, max_bytes=...)` and `Fetcher.request(method, url, ...)` return a
`Fetched` (final URL, status, headers, body) or raise a `FetchError` subclass; a non-2xx
answer is returned, not raised. Only GET follows redirects (a webhook POST that is
redirected gets the redirect answer back).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urljoin, urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection

from horde import serving

MAX_REDIRECTS = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """A URL that could not be fetched; `str(error)` is safe to show the client."""


class FetchRefused(FetchError):
    """Not a URL we fetch: another scheme, credentials, a non-public address, too many redirects."""


class FetchTimeout(FetchError):
    """The whole fetch did not finish within its deadline."""


class FetchTooLarge(FetchError):
    """The answer is larger than the caller allows."""


class FetchBusy(FetchError):
    """This process is already running as many fetches as it allows."""


class FetchFailed(FetchError):
    """Name not found, connection refused or broken, TLS failure, malformed answer."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# --- which addresses are public ----------------------------------------------------------
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that reach IPv4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    value = int(address)
    if value >> 32 == 0:  # IPv4-compatible (deprecated, still routed by some stacks), and :: / ::1
        return ipaddress.IPv4Address(value)
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (what a client may make us fetch)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    if (
        address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    ):
        return False
    return address.is_global


def system_resolver(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# --- one fetch's deadline --------------------------------------------------------------
class _Deadline:
    """The end of one fetch: when it passes, the connection's socket is shut down, which
    ends any read or TLS handshake blocked on it (a per-read timeout never would)."""

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        with _live_lock:
            _live.add(self)
        if serving.stopping.is_set():  # the process is stopping: no new fetch starts
            self._expire()
        self._timer.start()

    def remaining(self) -> float:
        return 0.0 if self.expired else max(self.at - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor: TLS takes over (detaches) the original socket object,
        # but shutting down any descriptor of a connection shuts down the connection.
        watched = sock.dup()
        with self._lock:
            self._sockets.append(watched)
            expired = self.expired
        if expired:
            _shutdown(watched)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with _live_lock:
            _live.discard(self)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


_live: "weakref.WeakSet[_Deadline]" = weakref.WeakSet()  # the fetches running in this process
_live_lock = threading.Lock()


def _expire_all() -> None:
    """The process is stopping (serving.stop): every fetch ends now, as at its deadline,
    so a stop is never held by a slow download."""
    with _live_lock:
        running = list(_live)
    for deadline in running:
        deadline._expire()


serving.on_stop(_expire_all)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _WatchedConnection(HTTPConnection):
    deadline: _Deadline

    def _new_conn(self) -> socket.socket:  # urllib3 2.x: the one place a socket is made
        sock = super()._new_conn()
        self.deadline.watch(sock)
        return sock


class _WatchedTLSConnection(HTTPSConnection):
    deadline: _Deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.deadline.watch(sock)
        return sock


# --- the fetcher ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # as written (lower case, no brackets)
    port: int
    target: str  # path and query
    host_header: str


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused("Only http and https URLs are fetched.")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with credentials are not fetched.")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchRefused("The URL has no host.")
    default = 443 if scheme == "https" else 80
    port = port or default
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, target, host_header)


class Fetcher:
    """Fetches client-supplied URLs safely (see the module's docstring). One per process."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        concurrency: int = 4,
        deadline: float = 10.0,
        user_agent: str = "Horde",
        resolver: Resolver = system_resolver,
        ca_certs: str | None = None,
    ):
        self.allow_private = allow_private
        self.deadline = deadline
        self.user_agent = user_agent
        self.resolver = resolver
        self.ca_certs = ca_certs  # None: the system's trust store
        self._permits = threading.BoundedSemaphore(max(1, concurrency))

    def has_room(self) -> bool:
        """Whether a fetch could start now: lets a caller refuse before doing other work
        (a hint only; another thread may take the room first, and `request` still checks)."""
        if not self._permits.acquire(blocking=False):
            return False
        self._permits.release()
        return True

    def address_allowed(self, address: IPAddress) -> bool:
        return self.allow_private or is_public(address)

    def get(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None, deadline: float | None = None) -> Fetched:
        return self.request("GET", url, max_bytes=max_bytes, headers=headers, deadline=deadline)

    def request(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> Fetched:
        """One request, redirects (GET only) included, within one deadline and one permit."""
        if not self._permits.acquire(blocking=False):
            raise FetchBusy("The server is fetching too many URLs at once; try again shortly.")
        clock = _Deadline(self.deadline if deadline is None else deadline)
        resolving = threading.Event()
        resolving.set()
        try:
            with serving.waiting():
                return self._follow(method, url, body, headers or {}, max_bytes, clock, resolving)
        finally:
            clock.close()
            self._release_after(resolving)

    def _release_after(self, resolving: threading.Event) -> None:
        """The permit goes back when the last thread of the fetch is done: a name lookup
        that outlived the deadline keeps it, so lookups can never pile up."""
        if resolving.is_set():
            self._permits.release()
            return

        def release_later() -> None:
            resolving.wait()
            self._permits.release()

        threading.Thread(target=release_later, name="horde-fetch-release", daemon=True).start()

    def _follow(self, method, url, body, headers, max_bytes, clock: _Deadline, resolving: threading.Event) -> Fetched:
        for _hop in range(MAX_REDIRECTS + 1):
            target = _parse(url)
            address = self._resolve(target, clock, resolving)
            status, answer_headers, content = self._exchange(method, target, address, body, headers, max_bytes, clock)
            location = answer_headers.get("location")
            if method != "GET" or status not in REDIRECT_STATUSES or not location:
                return Fetched(url=url, status=status, headers=answer_headers, body=content)
            url = urljoin(url, location)
        raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")

    def _resolve(self, target: _Target, clock: _Deadline, resolving: threading.Event) -> str:
        """The one address to connect to, checked. Looked up on a thread of its own so the
        deadline bounds it too (the system resolver has no timeout of ours)."""
        try:
            literal = ipaddress.ip_address(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            found: dict = {}
            resolving.clear()

            def lookup() -> None:
                try:
                    found["addresses"] = self.resolver(target.host, target.port)
                except (OSError, UnicodeError) as exc:
                    found["error"] = exc
                finally:
                    resolving.set()

            threading.Thread(target=lookup, name="horde-fetch-resolve", daemon=True).start()
            while not resolving.wait(min(clock.remaining(), 0.25)):
                if clock.remaining() <= 0:  # the deadline passed, or the process is stopping
                    raise FetchTimeout("The URL's host name did not resolve in time.")
            if "error" in found or not found.get("addresses"):
                raise FetchFailed("The URL's host name does not resolve.")
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found["addresses"]]
        refused = [a for a in addresses if not self.address_allowed(a)]
        if refused:
            raise FetchRefused("The URL points to an address this server does not fetch from.")
        return str(addresses[0])

    def _exchange(self, method, target: _Target, address: str, body, headers, max_bytes, clock: _Deadline):
        if clock.expired or clock.remaining() <= 0:
            raise FetchTimeout("The URL did not answer in time.")
        if target.scheme == "https":
            connection = _WatchedTLSConnection(
                address, target.port, timeout=clock.remaining(), server_hostname=target.host,
                assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=self.ca_certs,
            )
        else:
            connection = _WatchedConnection(address, target.port, timeout=clock.remaining())
        connection.deadline = clock
        sent = {
            "Host": target.host_header, "User-Agent": self.user_agent, "Accept-Encoding": "identity",
            "Connection": "close", **headers,
        }
        try:
            connection.request(method, target.target, body=body, headers=sent, preload_content=False, decode_content=False)
            response = connection.getresponse()
            answer_headers = {k.lower(): v for k, v in response.headers.items()}
            declared = answer_headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchTooLarge(f"The answer is larger than {max_bytes} bytes.")
            content = bytearray()
            for chunk in response.stream(CHUNK, decode_content=False):
                content += chunk
                if len(content) > max_bytes:
                    raise FetchTooLarge(f"The answer is larger than {max_bytes} bytes.")
            if clock.expired:  # cut off at the deadline: what came is not the whole answer
                raise FetchTimeout("The URL did not answer in time.")
            return response.status, answer_headers, bytes(content)
        except FetchError:
            raise
        except Exception as exc:  # socket, TLS, protocol: all "could not fetch"
            if clock.expired:
                raise FetchTimeout("The URL did not answer in time.") from None
            raise FetchFailed("The URL could not be fetched.") from exc
        finally:
            connection.close()
