"""gunicorn settings derived from HORDE_* variables (config/gunicorn.conf.py re-exports them)."""

from __future__ import annotations

import multiprocessing
import os
import sys

from horde import gunicorn_errors, secret_key
from horde.settings import Settings, SettingsError

_settings = Settings.from_env()
try:  # before any worker starts: one line instead of a traceback per worker
    _settings = secret_key.resolve(_settings)
except SettingsError as exc:
    sys.exit(f"horde: refusing to start: {exc}")

wsgi_app = "horde.wsgi:app"
bind = f"{_settings.host}:{_settings.port}"
if _settings.web_workers:
    workers = _settings.web_workers
elif _settings.is_sqlite:
    workers = 1  # SQLite takes one writer at a time: one process, several threads
else:
    workers = multiprocessing.cpu_count() * 2
# gunicorn's threaded worker: its sync worker lingers after each response until the client
# closes the connection (up to 2 s), so one slow or busy client stalls a whole process; the
# threaded worker keeps connections alive in a poller. Many threads, but only the core
# slots of horde/serving.py run application code at once (one per process on PostgreSQL:
# the pop's latency was better with more processes than with more threads); the other
# threads wait (slow downloads, event streams, clients waiting for a result) without
# holding the process. See docs/serving.md.
threads = max(_settings.web_threads, _settings.core_slots + 1)
worker_class = "gthread"
timeout = 60
# Workers touch a heartbeat file between requests: keep it in memory, where the touch never
# waits behind a disk that PostgreSQL keeps busy (gunicorn's own advice for containers).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
graceful_timeout = 20
# No control socket: gunicorn's default is one path per home folder, which every `horde
# serve` on the machine would share (the last one started takes it over).
control_socket_disable = True
keepalive = 5
# Clients such as horde-sdk send a `client_agent` header; drop it instead of refusing the request.
header_map = "drop"
# A little above the application's own limits (horde.api.request_guard: 4 KB URLs, 8 KB
# headers), which answer with their JSON refusal; what gunicorn refuses itself is JSON too.
limit_request_line = 8190
limit_request_field_size = 16384
gunicorn_errors.install(limit_request_line, limit_request_field_size)
loglevel = _settings.log_level
accesslog = None
errorlog = "-"


_scheduler = None


def when_ready(server) -> None:
    """Run the scheduler as a process of its own next to the web processes: its periodic
    work (queue snapshots, sweeps) must not take the GIL from a process serving requests.
    Its leader lock makes it wait if another node's scheduler is already working."""
    global _scheduler
    if _settings.run_jobs:
        import subprocess
        import sys

        _scheduler = subprocess.Popen([sys.executable, "-m", "horde.cli", "jobs"])


def child_exit(server, worker) -> None:
    """A web process ended: its live gauges leave the metrics (prometheus-client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _scheduler is not None and _scheduler.poll() is None:
        _scheduler.terminate()
        try:
            _scheduler.wait(10)
        except Exception:
            _scheduler.kill()


# Python's full garbage collections walk every tracked object: the app's modules alone are
# ~200,000, and a full collection paused a web process for 60-280 ms, stalling every
# request queued behind it (the pop's p99). Objects that live as long as the process are
# moved out of the collector's sight (`gc.freeze`): once the app is loaded, and once more
# after its first requests have built what is made lazily (statement and schema caches).
REFREEZE_AFTER_REQUESTS = 500


def _freeze_long_lived() -> None:
    import gc

    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    worker.horde_requests = 0
    _graceful_signals(worker)
    _freeze_long_lived()


def _graceful_signals(worker) -> None:
    """Every stop of a web process is the same graceful one (stop accepting, finish the
    requests in flight, exit), whatever signal asks for it.

    gunicorn's worker answers SIGINT and SIGQUIT by calling sys.exit() from the signal
    handler, in the middle of whatever the main thread was doing. A Ctrl-C sends SIGINT to
    the whole process group and the master then sends SIGQUIT: the second exit landed
    inside the unwinding of the first and the process hung until the master's SIGKILL.
    Here SIGINT is left to the master (it decides, and tells the workers), and SIGQUIT and
    SIGTERM only end the worker's loop; `serving.stopping` cuts waits short (slow
    downloads, clients waiting for results) so the drain takes seconds."""
    import signal

    from horde import serving

    def stop(_signum, _frame) -> None:
        worker.alive = False  # the worker's loop notices within its 1 s poll
        serving.stop()

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.siginterrupt(signal.SIGQUIT, False)


def post_request(worker, req, environ, resp) -> None:
    worker.horde_requests = getattr(worker, "horde_requests", 0) + 1
    if worker.horde_requests == REFREEZE_AFTER_REQUESTS:
        _freeze_long_lived()
