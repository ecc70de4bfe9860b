"""gunicorn settings derived from HORDE_* variables (config/gunicorn.conf.py re-exports them)."""

from __future__ import annotations

import multiprocessing

from horde.settings import Settings

_settings = Settings.from_env()

wsgi_app = "horde.wsgi:app"
bind = f"{_settings.host}:{_settings.port}"
if _settings.web_workers:
    workers = _settings.web_workers
elif _settings.is_sqlite:
    workers = 1  # SQLite takes one writer at a time: one process, several threads
else:
    workers = multiprocessing.cpu_count() * 2
threads = 8 if _settings.is_sqlite else 1
worker_class = "gthread" if threads > 1 else "sync"
timeout = 60
graceful_timeout = 20
keepalive = 5
# Clients such as horde-sdk send a `client_agent` header; drop it instead of refusing the request.
header_map = "drop"
loglevel = _settings.log_level
accesslog = None
errorlog = "-"


def post_worker_init(worker) -> None:
    """Every web process may run the scheduler; its leader lock lets one do the work."""
    if _settings.run_jobs:
        from horde.jobs import start_in_background

        start_in_background(worker.wsgi)
