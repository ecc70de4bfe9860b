"""Prometheus metrics at /metrics and the access log.

Under `horde serve` every process (the gunicorn workers and the scheduler) writes its counters
to files in PROMETHEUS_MULTIPROC_DIR, which gunicorn_app sets before any process starts
(prometheus-client's multiprocess mode); a scrape of any web process sums them all. Figures
that live in the database (queue depth per model, workers online) are read at scrape time.

Counters come from the domain's events (horde.domain.events) and from the request hooks:
requests and their latency per route (the route's rule, never the raw path, so ids do not
make new series).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from horde.db import utcnow
from horde.domain import events
from horde.domain.status import gauges
from horde.settings import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter("horde_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("horde_http_request_duration_seconds", "Time in the application per request", ["route"], buckets=LATENCY_BUCKETS)
EVENT_COUNTERS = {
    events.JOBS_POPPED: Counter("horde_jobs_popped", "Jobs handed to workers", ["kind"]),
    events.JOBS_DELIVERED: Counter("horde_jobs_delivered", "Jobs delivered by workers", ["kind"]),
    events.JOBS_FAULTED: Counter("horde_jobs_faulted", "Jobs a worker reported as faulted", ["kind"]),
    events.JOBS_TIMED_OUT: Counter("horde_jobs_expired", "Jobs whose worker went silent past their TTL (requeued)", []),
    events.REQUESTS_EXPIRED: Counter("horde_requests_expired", "Requests removed past their expiry", []),
    events.KUDOS_REWARDED: Counter("horde_kudos_rewarded", "Kudos earned by delivered jobs", ["kind"]),
    events.KUDOS_TRANSFERRED: Counter("horde_kudos_transferred", "Kudos transferred between users", []),
}

KIND_EVENTS = (events.JOBS_POPPED, events.JOBS_DELIVERED, events.JOBS_FAULTED, events.KUDOS_REWARDED)

access = logging.getLogger("horde.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _count(name: str, amount: float, labels: dict) -> None:
    counter = EVENT_COUNTERS.get(name)
    if counter is not None and amount > 0:
        (counter.labels(**labels) if labels else counter).inc(amount)


class DatabaseGauges:
    """Queue depth per model and workers online, read when scraped."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        services = self.app.extensions["horde"]
        kind = "text" if services.settings.mode.value == "text" else "image"
        depth = GaugeMetricFamily("horde_queue_depth", "Requests waiting for a worker, per requested model ('' = any)", labels=["model"])
        online = GaugeMetricFamily("horde_workers_online", "Workers seen in the last five minutes, per type", labels=["type"])
        session = services.db.session_factory()
        try:
            for model, count in sorted(gauges.queue_depth_by_model(session, kind).items()):
                depth.add_metric([model], count)
            for worker_type, count in sorted(gauges.workers_online(session, utcnow()).items()):
                online.add_metric([worker_type], count)
        finally:
            session.close()
        yield depth
        yield online


def _access_handler(settings: Settings) -> None:
    if settings.access_log == "off" or access.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def install(app: Flask, settings: Settings) -> None:
    events.listen(_count)
    for name in KIND_EVENTS:  # at 0 from the start: a dashboard has its line before the first job
        EVENT_COUNTERS[name].labels(kind=settings.mode.value)
    _access_handler(settings)
    json_lines = settings.access_log == "json"
    log_access = settings.access_log != "off"

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _measure(response):
        started = g.get("started")
        spent = time.perf_counter() - started if started is not None else 0.0
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(spent)
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        if log_access:
            if json_lines:
                access.info(json.dumps({
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "request_id": request_id, "ip": request.remote_addr,
                    "method": request.method, "path": request.path, "route": route, "status": response.status_code,
                    "bytes": response.calculate_content_length(), "app_ms": round(spent * 1000, 2),
                }))
            else:
                access.info(
                    '%s %s "%s %s" %s %s %.2fms', time.strftime("%Y-%m-%dT%H:%M:%S%z"), request.remote_addr,
                    request.method, request.path, response.status_code, request_id, spent * 1000,
                )
        return response

    database_gauges = DatabaseGauges(app)

    @app.get("/metrics")
    def metrics():
        if os.environ.get(MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        live = CollectorRegistry()
        live.register(database_gauges)
        return Response(generate_latest(registry) + generate_latest(live), mimetype=CONTENT_TYPE_LATEST)
