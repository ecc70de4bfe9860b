"""`horde serve` in production: gunicorn with horde.gunicorn_conf (or HORDE_GUNICORN_CONFIG)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from horde.settings import Settings


def run(settings: Settings) -> None:
    # The config module reads HORDE_* from the environment: pass command-line choices on.
    os.environ.update(
        {
            "HORDE_MODE": settings.mode.value,
            "HORDE_HOST": settings.host,
            "HORDE_PORT": str(settings.port),
            "HORDE_RUN_JOBS": "true" if settings.run_jobs else "false",
            "HORDE_ENV": settings.environment,
        }
    )
    if settings.web_workers:
        os.environ["HORDE_WEB_WORKERS"] = str(settings.web_workers)
    # Prometheus metrics of every process of this node (web workers and the scheduler) are
    # summed from files in one folder, emptied at each start (horde/metrics.py).
    metrics_dir = Path(settings.data_dir).resolve() / f"metrics-{settings.port}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    config = os.environ.get("HORDE_GUNICORN_CONFIG", "python:horde.gunicorn_conf")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", config, "horde.wsgi:app"])
