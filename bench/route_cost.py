"""What each route of the generation loop costs the server: time, SQL statements, time in SQL.

    python -m bench.route_cost [--kind image|text] [--jobs 300] [--depth 0] [--shared-key]

Runs the loop (async, pop, upload, submit, check) in process through Flask's test client
against a fresh PostgreSQL database and Redis, one request at a time, so the figures are
service times without queueing. Complements the HTTP scenarios of `python -m bench`: when a
scenario is slower than it should be, this shows which route and which statements to look at.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import time
from collections import defaultdict
from urllib.parse import urlsplit

from sqlalchemy import event

from bench.scenarios import (
    RESULT_WEBP,
    TEXT_MODELS,
    image_request,
    kind_paths,
    text_request,
)
from bench.server import REDIS, scratch_app
from horde.modes import Mode


class StatementLog:
    """Counts statements and their time per route, through SQLAlchemy's cursor events."""

    def __init__(self, engines):
        self.route = None
        self.counts: dict[str, list[int]] = defaultdict(list)
        self.sql_ms: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self._count = 0
        self._sql = 0.0
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = (time.perf_counter() - conn.info.pop("started")) * 1000
        self._count += 1
        self._sql += elapsed
        if self.route:
            self.statements[self.route][" ".join(statement.split())[:110]].append(elapsed)

    def start(self, route: str) -> None:
        self.route, self._count, self._sql = route, 0, 0.0

    def stop(self) -> None:
        self.counts[self.route].append(self._count)
        self.sql_ms[self.route].append(self._sql)
        self.route = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["image", "text"], default="image")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--depth", type=int, default=0, help="requests queued (for other models) before the loop")
    parser.add_argument("--statements", action="store_true", help="also list each route's statements")
    parser.add_argument("--profile", metavar="ROUTE", help="print a cProfile of this route's calls")
    parser.add_argument("--shared-key", action="store_true", help="send the requests through a shared key of the requester")
    args = parser.parse_args()

    prefix = f"horde_cost_{args.kind}"
    with scratch_app(prefix, mode=Mode.parse(args.kind), redis_url=REDIS, redis_prefix=f"{prefix}:", rate_limits=False) as app:
        run(app, args)

def run(app, args) -> None:
    from horde.domain.accounts import users

    svc = app.extensions["horde"]
    with svc.db.transaction() as session:
        requester, requester_key = users.create_user(session, svc.hasher, "requester", concurrency=10**9, trusted=True)
        requester.kudos = 10**9
        _, owner_key = users.create_user(session, svc.hasher, "owner", trusted=True)
    engines = [svc.db.engine, svc.db.reader]
    log = StatementLog(engines)
    client = app.test_client()
    paths = kind_paths(args.kind)
    rng = random.Random(5)
    wall: dict[str, list[float]] = defaultdict(list)
    headers = {"apikey": requester_key, "Client-Agent": "route-cost:1:bench"}
    model = "stable_diffusion" if args.kind == "image" else TEXT_MODELS[0]
    if args.kind == "image":
        worker = {"name": "cost-worker", "models": [model], "max_pixels": 1048576, "nsfw": True,
                  "bridge_agent": "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"}
    else:
        worker = {"name": "cost-worker", "models": [model], "max_length": 512, "max_context_length": 4096,
                  "bridge_agent": "KoboldCppEmbedWorker:1:bench"}
    make = image_request if args.kind == "image" else text_request
    if args.shared_key:  # an unlimited key: the requests are the requester's, paid through the key
        created = client.put("/api/v2/sharedkeys", json={"kudos": -1}, headers=headers).get_json()
        headers = {**headers, "apikey": created["id"]}
    for _ in range(args.depth):  # other models' requests: a queue the pop must look past
        body = make(rng)
        body["models"] = ["Deliberate"] if args.kind == "image" else [TEXT_MODELS[1]]
        client.post(paths["async"], json=body, headers=headers)

    profiler = cProfile.Profile()

    def call(route: str, method: str, path: str, **kwargs):
        log.start(route)
        profiling = route == args.profile
        started = time.perf_counter()
        if profiling:
            profiler.enable()
        response = client.open(path, method=method, **kwargs)
        if profiling:
            profiler.disable()
        wall[route].append((time.perf_counter() - started) * 1000)
        log.stop()
        assert response.status_code < 300, (route, response.status_code, response.get_data(as_text=True)[:300])
        return response

    for i in range(args.jobs + 20):
        if i == 20:  # the first jobs warm caches and connections up
            wall.clear(), log.counts.clear(), log.sql_ms.clear(), log.statements.clear()
        body = make(rng)
        body["models"] = [model]
        queued = call("async", "POST", paths["async"], json=body, headers=headers).get_json()
        call("check", "GET", paths["check"] + queued["id"])
        job = call("pop", "POST", paths["pop"], json=worker, headers={"apikey": owner_key}).get_json()
        if args.kind == "image":
            upload = urlsplit(job["r2_uploads"][0])
            call("upload", "PUT", f"{upload.path}?{upload.query}", data=RESULT_WEBP)
            submit = {"id": job["id"], "generation": "R2", "seed": 1, "state": "ok"}
        else:
            submit = {"id": job["id"], "generation": "It was a dark and stormy night.", "state": "ok"}
        call("submit", "POST", paths["submit"], json=submit, headers={"apikey": owner_key})
        call("empty pop", "POST", paths["pop"], json=worker, headers={"apikey": owner_key})
        call("check", "GET", paths["check"] + queued["id"])

    through = ", requests through a shared key" if args.shared_key else ""
    print(f"{args.kind}, {args.jobs} jobs, queue depth {args.depth}{through}: median per call")
    print(f"{'route':<10} {'wall ms':>8} {'SQL ms':>8} {'statements':>10}")
    total = 0.0
    for route in wall:
        ms = statistics.median(wall[route])
        total += ms * (2 if route == "check" else 1)
        print(f"{route:<10} {ms:8.2f} {statistics.median(log.sql_ms[route]):8.2f} {statistics.median(log.counts[route]):10.0f}")
    print(f"one job (async, 2 checks, pop, upload, submit, empty pop): {total:.1f} ms")
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    if args.statements:
        for route, statements in log.statements.items():
            print(f"\n{route}:")
            for sql, times in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
                print(f"  {len(times) / args.jobs:4.1f}x {statistics.median(times):6.3f} ms  {sql}")


if __name__ == "__main__":
    main()
