"""Private parts a fault test can break, and a steady core loop to watch while it does.

- `PrivateRedis`: a `redis-server` of our own on a free port, stopped and started at will
  (never the shared 6379).
- `CuttableProxy`: a TCP proxy in front of PostgreSQL; `cut()` closes every connection
  through it and refuses new ones (what a restart looks like to a client), `restore()`
  lets them through again.
- `CoreLoop`: threads that run async → pop → upload → submit → check → status (and a
  transfer and the performance route) against a live server and record every answer.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests import support
from tests.imaging import REGEN, webp_bytes


class PrivateRedis:
    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            support.unavailable("redis-server (the Debian package redis-server)")
        self.port = support.free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to `target`, until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = support.free_port()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> "CuttableProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Close the listener (new connections are refused) and every open connection."""
        if self._listener is not None:
            try:  # wakes the accepting thread (a bare close would leave the socket listening)
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restore(self) -> None:
        self.start()


@dataclass
class Call:
    route: str
    status: int  # 0: no HTTP answer (connection refused or reset)
    started: float
    rc: str = ""
    retry_after: str | None = None


@dataclass
class LoopRecord:
    calls: list[Call] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # request ids answered 202
    delivered: list[str] = field(default_factory=list)  # job ids whose submit answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def server_errors(self, since: float = 0.0, until: float = float("inf")) -> list[Call]:
        return [c for c in self.calls if c.status >= 500 and since <= c.started < until]

    def failures(self, since: float = 0.0, until: float = float("inf")) -> list[Call]:
        return [c for c in self.calls if (c.status >= 500 or c.status == 0) and since <= c.started < until]

    def succeeded(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for c in self.calls if 200 <= c.status < 300 and since <= c.started < until)


class CoreLoop:
    """`threads` clients, each with its own worker name, going round the core loop."""

    def __init__(self, url: str, requester_key: str, worker_key: str, recipient: str, threads: int = 2) -> None:
        self.api = f"{url}/api/v2"
        self.requester_key, self.worker_key, self.recipient = requester_key, worker_key, recipient
        self.record = LoopRecord()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> "CoreLoop":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _call(self, http: requests.Session, route: str, method: str, url: str, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            answer = http.request(method, url, timeout=15, **kwargs)
        except requests.RequestException:
            self.record.add(Call(route, 0, started))
            time.sleep(0.05)
            return None
        rc = ""
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
            rc = (answer.json() or {}).get("rc", "")
        self.record.add(Call(route, answer.status_code, started, rc, answer.headers.get("Retry-After")))
        if answer.status_code >= 500:
            time.sleep(0.05)
        return answer

    def _run(self, n: int) -> None:
        http = requests.Session()
        requester, worker = {"apikey": self.requester_key}, {"apikey": self.worker_key}
        pop_body = {"name": f"fault-worker-{n}", "models": ["stable_diffusion"], "bridge_agent": REGEN}
        image = webp_bytes(color=(n, 9, 9))
        while not self._stop.is_set():
            queued = self._call(http, "async", "POST", f"{self.api}/generate/async", json={"prompt": f"fault {n}"}, headers=requester)
            if queued is not None and queued.status_code == 202:
                with self.record.lock:
                    self.record.queued.append(queued.json()["id"])
            popped = self._call(http, "pop", "POST", f"{self.api}/generate/pop", json=pop_body, headers=worker)
            job = popped.json() if popped is not None and popped.status_code == 200 else {}
            if job.get("id"):
                upload = self._call(http, "upload", "PUT", job["r2_upload"], data=image)
                if upload is not None and upload.status_code == 200:
                    self._submit(http, job["id"], worker)
            if queued is not None and queued.status_code == 202:
                request_id = queued.json()["id"]
                self._call(http, "check", "GET", f"{self.api}/generate/check/{request_id}")
                self._call(http, "status", "GET", f"{self.api}/generate/status/{request_id}")
            self._call(
                http, "transfer", "POST", f"{self.api}/kudos/transfer",
                json={"username": self.recipient, "amount": 1}, headers=requester,
            )
            self._call(http, "performance", "GET", f"{self.api}/status/performance")

    def _submit(self, http: requests.Session, job_id: str, worker: dict) -> None:
        """Submit until the server gives an answer that is not 'try again' (a 503 or no
        answer): a real worker does the same with a result it still holds."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = self._call(
                http, "submit", "POST", f"{self.api}/generate/submit", json={"id": job_id, "generation": "R2", "seed": 1}, headers=worker
            )
            if answer is not None and answer.status_code == 200:
                with self.record.lock:
                    self.record.delivered.append(job_id)
                return
            if answer is not None and answer.status_code < 500:
                return
            time.sleep(0.2)


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def web_worker_pids(master: int) -> list[int]:
    """gunicorn's web processes (not the scheduler process it also starts)."""
    pids = []
    for pid in child_pids(master):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"jobs" not in cmdline:
            pids.append(pid)
    return pids


def wait_for(condition, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()

