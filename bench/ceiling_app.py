"""The ceiling of the `ceiling` scenario: a bare Flask app answering a check-shaped JSON.

Served by gunicorn with horde's own settings (`-c python:horde.gunicorn_conf`: threaded
worker, same processes, threads, keep-alive, gc freeze and request hooks), so the only
difference from `horde serve` answering `GET /api/v2/generate/check/{id}` is the work the
application does. The body has the image check's fields, order and JSON format (restx's
`json.dumps` with its default separators and a trailing newline): the same 174 bytes as
the check of a queued request. It is built and serialised on every request, as the real
route does; no database, no Redis, no request hooks, no extra headers.

`HORDE_BENCH_CEILING_SLOT=0` leaves out horde's core-slot middleware (horde/serving.py),
which is otherwise part of the serving model measured (one request of a process runs
application code at a time), as in `horde serve`.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response

from horde import serving

app = Flask("horde_bench_ceiling")


@app.get("/api/v2/generate/check/<request_id>")
def check(request_id: str) -> Response:
    body = {
        "finished": 0, "processing": 0, "restarted": 0, "waiting": 1, "done": False, "faulted": False,
        "wait_time": 19660800, "queue_position": 345, "kudos": 0, "is_possible": False,
    }
    return Response(json.dumps(body) + "\n", mimetype="application/json")


if os.environ.get("HORDE_BENCH_CEILING_SLOT", "1") != "0":
    app.wsgi_app = serving.CoreSlotMiddleware(app.wsgi_app)
