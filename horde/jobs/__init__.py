"""Periodic background work, run by one scheduler per horde at a time."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from flask import Flask

from horde.db import utcnow
from horde.domain.queue import maintenance, stats
from horde.domain.queue import webhooks as outbox  # `webhooks` here is the sender submodule (horde.jobs.webhooks)
from horde.domain.status.dashboard import REFRESH_SECONDS, Dashboard
from horde.jobs import retention
from horde.jobs.locks import FileLeaderLock, LeaderLock, PostgresLeaderLock
from horde.jobs.scheduler import PeriodicJob, Scheduler
from horde.jobs.webhooks import WebhookSender
from horde.services import Services

HEARTBEAT_KEY = "scheduler:heartbeat"


def leader_lock(services: Services) -> LeaderLock:
    """The lock lives with the source of truth, Redis or not: a PostgreSQL advisory lock, or
    a file next to a SQLite database. A Redis outage (or its return) can then never make
    two leaders, and the upkeep runs on as long as the database does."""
    settings = services.settings
    if services.db.engine.dialect.name == "postgresql":
        return PostgresLeaderLock(services.db.engine)
    return FileLeaderLock(Path(settings.data_dir) / f"scheduler-{settings.mode.value}.lock")


def periodic_jobs(app: Flask, lock: LeaderLock) -> list[PeriodicJob]:
    services: Services = app.extensions["horde"]

    def heartbeat() -> None:
        services.cache.set(HEARTBEAT_KEY, {"node": lock.node_id, "at": time.time()}, ttl=60)

    def with_session(work):
        def run() -> None:
            session = services.db.session_factory()
            try:
                work(session)
            finally:
                session.close()

        return run

    dashboard = Dashboard()
    return [
        PeriodicJob("heartbeat", 5.0, heartbeat),
        PeriodicJob("dashboard", REFRESH_SECONDS, with_session(lambda s: dashboard.refresh(s, services, utcnow()))),
        PeriodicJob("queue-snapshot", 2.0, with_session(lambda s: maintenance.refresh_snapshots(s, services, utcnow()))),
        PeriodicJob("stale-jobs", 5.0, with_session(lambda s: maintenance.requeue_stale_jobs(s, utcnow()))),
        PeriodicJob("fold-anonymous-kudos", 10.0, with_session(maintenance.fold_anonymous_kudos)),
        PeriodicJob("cache-sweep", 60.0, services.cache.sweep),
        PeriodicJob("queue-statistics", 60.0, with_session(maintenance.refresh_queue_statistics)),
        PeriodicJob(
            "generation-stats", services.settings.stats_seconds,
            with_session(lambda s: stats.refresh_all(s, services.cache, maintenance.served_kinds(services), utcnow())),
        ),
        *(
            PeriodicJob(job.name, job.interval, with_session(lambda s, job=job: retention.run(job, s, services, utcnow())))
            for job in retention.JOBS
        ),
    ]


def build_scheduler(app: Flask, lock: LeaderLock | None = None) -> Scheduler:
    lock = lock or leader_lock(app.extensions["horde"])
    return Scheduler(periodic_jobs(app, lock), lock)


def start_in_background(app: Flask) -> Scheduler:
    WebhookSender(app.extensions["horde"]).start()
    return build_scheduler(app).start()


def run_forever(app: Flask) -> None:
    """The scheduler (periodic jobs, on the leader only) and the webhook sender (on every
    node that runs jobs: its claims keep each delivery to one sender)."""
    scheduler = build_scheduler(app)
    sender = WebhookSender(app.extensions["horde"]).start()

    def _stop(_signum, _frame):
        scheduler._stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        scheduler.run_forever()
    finally:
        sender.stop(timeout=outbox.TIMEOUT + 1.0)
