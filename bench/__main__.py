"""python -m bench [scenario ...]: run benchmark scenarios and print their figures as JSON.

`python -m bench retention [--days 7] [--rate 100]` is a scenario of its own: the database's
size over a simulated week (bench/retention.py). The others: async, pop, loop, check (default: all), slow_fetch (the loop with and
without 20 slow source-image downloads in flight), streams (the loop with and without
1,000 open event streams, and the latency from a change to its event), openai (the loop
with and without 200 OpenAI requests waiting for their results) and ceiling (polling rates as
a share of a bare Flask app's under the same gunicorn settings, bench/ceiling_app.py). Each starts its own server (gunicorn on
a fresh PostgreSQL database, Redis, rate limits off, a requester without a concurrency
limit) unless --url points at one that is already running and --requester/--owners give keys.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

if __name__ == "__main__" and sys.argv[1:2] == ["retention"]:
    # In process, no server and no simulated clients (so no aiohttp): bench/retention.py.
    from bench import retention

    retention.main(sys.argv[2:])
    sys.exit(0)

try:
    import aiohttp  # noqa: F401  (the simulated clients and workers)
except ImportError:
    sys.exit("python -m bench needs aiohttp: run `make bench`, or "
             "`.venv/bin/pip install -c requirements/constraints.txt -e '.[bench]'`")

from bench import filters as bench_filters
from bench import load, scenarios
from bench.slow_fetch import SlowDownloads
from bench.openai_waits import Waiters, park_worker
from bench.streams import Streams, park, probe_latency
from bench.server import BenchServer, CeilingServer

HERE = Path(__file__).resolve().parent


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def report(name: str, samples: load.Samples, wall: float, harness_cpu: float, server_cpu: "CpuUse", **figures) -> dict:
    result = {
        "scenario": name,
        "seconds": round(wall, 1),
        "harness_cpu_cores": round(harness_cpu / wall, 2),
        "server_cpu_cores": round(server_cpu.app / wall, 2),
        "database_cpu_cores": round(server_cpu.services / wall, 2),  # PostgreSQL and Redis
        "latency": {op: load.percentiles(values) for op, values in samples.latencies.items()},
        "counts": samples.counts,
        "errors": samples.errors,
        **figures,
    }
    slow = sorted(samples.extra.get("slow", []), key=lambda call: -call["ms"])
    result["slow_calls"] = len(slow)  # over 50 ms; the ten slowest below, with their wall-clock time
    result["slowest"] = slow[:10]
    print(json.dumps(result, indent=2), flush=True)
    return result


@dataclass
class CpuUse:
    """CPU seconds of the server's processes and of PostgreSQL and Redis."""

    app: float
    services: float

    def __sub__(self, other: "CpuUse") -> "CpuUse":
        return CpuUse(self.app - other.app, self.services - other.services)


def cpu_use(server: BenchServer) -> CpuUse:
    services = subprocess.run(["pgrep", "-x", "postgres|redis-server"], capture_output=True, text=True).stdout.split()
    return CpuUse(load.process_cpu_seconds(server.pids()), load.process_cpu_seconds([int(p) for p in services]))


class Run:
    def __init__(self, args, **env: str):
        self.args = args
        self.kind = args.kind
        self.env = env
        self.server: BenchServer | None = None

    def __enter__(self) -> "Run":
        data = Path(tempfile.mkdtemp(prefix="horde-bench-"))
        os.environ["HORDE_MODE"] = "image" if self.kind == "alchemy" else self.kind
        self.server = BenchServer(self.args.server_workers, self.args.port, data, **self.env).start()
        try:
            return self._prepare(data)
        except BaseException:
            self.server.stop()  # no server left behind on the port
            raise

    def _prepare(self, data: Path) -> "Run":
        if self.args.filters:  # loaded as an operator would; every process compiles them once
            self.server.cli("filters", "import", str(bench_filters.write(self.args.filters, data)))
        self.requester = self.server.user("bench-requester", "--kudos", "1000000000", "--concurrency", "1000000", "--trusted")
        self.owners = [self.server.user(f"bench-owner-{i}", "--trusted", "--kudos", "1000") for i in range(10)]
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def server_cpu(self) -> "CpuUse":
        return cpu_use(self.server)

    def fill(self, depth: int) -> list[str]:
        """Queue `depth` requests (through the API)."""
        per_process = depth // self.args.processes + 1
        params = {"kind": self.kind, "requester": self.requester, "deadline": time.time() + 600, "concurrency": 16,
                  "per_process": per_process}
        samples, _, _ = load.run(scenarios.submit_requests, self.url, self.args.processes, params)
        return samples.extra.get("ids", [])


def scenario_async(run: Run) -> dict:
    params = {"kind": run.kind, "requester": run.requester, "deadline": time.time() + run.args.seconds, "concurrency": 16}
    cpu0 = run.server_cpu()
    samples, wall, harness = load.run(scenarios.submit_requests, run.url, run.args.processes, params)
    queued = samples.counts.get("queued", 0)
    return report(f"{run.kind} async submit", samples, wall, harness, run.server_cpu() - cpu0,
                  requests_per_second=round(queued / wall, 1))


POP_WARMUP_SECONDS = 5.0


def scenario_pop(run: Run, depth: int) -> dict:
    run.fill(depth)
    start = time.time()
    params = {
        "kind": run.kind, "requester": run.requester, "owner_keys": run.owners,
        "deadline": start + POP_WARMUP_SECONDS + run.args.seconds, "measure_from_wall": start + POP_WARMUP_SECONDS,
        "workers_per_process": 100 // run.args.processes, "idle_interval": 1.0, "work_seconds": run.args.work_seconds,
        "refill": True,
    }
    cpu0 = run.server_cpu()
    samples, wall, harness = load.run(scenarios.workers, run.url, run.args.processes, params, connections=100)
    pops = len(samples.latencies.get("pop", []))
    return report(f"{run.kind} pop at depth {depth} (100 workers)", samples, wall, harness, run.server_cpu() - cpu0,
                  depth=depth, warmup_seconds=POP_WARMUP_SECONDS,
                  pops_per_second=round(pops / max(wall - POP_WARMUP_SECONDS, 1.0), 1))


def scenario_loop(run: Run) -> dict:
    warmup = 3.0
    start = time.time()
    params = {
        "kind": run.kind, "requester": run.requester, "owner_keys": run.owners, "deadline": start + warmup + run.args.seconds,
        "measure_from": time.perf_counter() + warmup, "measure_from_wall": start + warmup,
        "concurrency": run.args.loop_clients // run.args.processes,
        "poll_interval": run.args.poll_interval, "workers_per_process": run.args.loop_workers // run.args.processes,
    }
    results: dict = {}

    def clients() -> None:
        results["clients"] = load.run(scenarios.clients_until_done, run.url, max(1, run.args.processes // 2), params)

    cpu0 = run.server_cpu()
    thread = threading.Thread(target=clients)
    thread.start()
    worker_samples, wall, harness_workers = load.run(scenarios.fast_workers, run.url, max(1, run.args.processes // 2), params)
    thread.join()
    client_samples, client_wall, harness_clients = results["clients"]
    client_samples.merge(worker_samples)
    wall = max(wall, client_wall)
    # Jobs delivered inside the measured window (after the warm-up, before the deadline);
    # requests completed counts those started in the window and finished by their clients.
    counts = client_samples.counts
    return report(
        f"{run.kind} full loop", client_samples, wall, harness_workers + harness_clients, run.server_cpu() - cpu0,
        jobs_per_second=round(counts.get("delivered_in_window", 0) / run.args.seconds, 1),
        requests_completed_per_second=round(counts.get("completed_in_window", 0) / run.args.seconds, 1),
        clients=run.args.loop_clients, workers=run.args.loop_workers,
    )


def ids_file(ids: list[str]) -> str:
    """The request ids for bench/check.lua, one a line, in a temporary file."""
    path = Path(tempfile.mkstemp(suffix=".txt")[1])
    path.write_text("\n".join(ids))
    return str(path)


def poll_path(kind: str, route: str = "check") -> str:
    if kind == "text":
        return "/api/v2/generate/text/status/"
    return f"/api/v2/generate/{route}/"


def polled(server_cpu, url: str, path: str, ids: str, seconds: float) -> dict:
    """wrk polling `path` for `seconds`, with the CPU the server used meanwhile (`server_cpu()`)."""
    cpu0 = server_cpu()
    out = load.wrk(url, path, ids, seconds, str(HERE / "check.lua"))
    used = server_cpu() - cpu0
    return {**out, "server_cpu_cores": round(used.app / out["wall"], 2), "database_cpu_cores": round(used.services / out["wall"], 2)}


def scenario_check(run: Run) -> dict:
    out = polled(run.server_cpu, run.url, poll_path(run.kind), ids_file(run.fill(1000)), run.args.seconds)
    result = {
        "scenario": f"{run.kind} {'status' if run.kind == 'text' else 'check'} polling (wrk, 32 connections)",
        "seconds": round(out["wall"], 1), **{k: out[k] for k in ("requests_per_second", "non_2xx", "latency", "harness_cpu_cores",
                                                                   "server_cpu_cores", "database_cpu_cores")},
    }
    print(json.dumps(result, indent=2), flush=True)
    return result


# What each polling route must reach, as a share of the bare app's rate in the same run (issue 18).
CEILING_TARGETS = {"image check": 0.60, "image status": 0.40, "text status": 0.60}


def scenario_ceiling(args) -> dict:
    """The bare Flask app (bench/ceiling_app.py, under `horde serve`'s gunicorn settings) and
    image check, image status and text status polled by wrk, alternated `--ceiling-rounds`
    times in one run on servers that all stay up, each target for `--seconds` a round: the
    rates and each route's ratio to the ceiling's (sums over the rounds)."""
    started_load = os.getloadavg()
    with contextlib.ExitStack() as stack:
        image = stack.enter_context(Run(argparse.Namespace(**{**vars(args), "kind": "image"})))
        text = stack.enter_context(Run(argparse.Namespace(**{**vars(args), "kind": "text", "port": args.port + 1})))
        # The ceiling runs under horde's core slot (docs/serving.md: part of the serving
        # model); the same app without it shows what the slot itself costs.
        servers = {name: CeilingServer(args.server_workers, port, Path(tempfile.mkdtemp(prefix="horde-ceiling-")), core_slot=slot)
                   for name, port, slot in (("ceiling", args.port + 2, True), ("bare app without core slot", args.port + 3, False))}
        for server in servers.values():
            stack.callback(server.stop)
            server.start()
        image_ids, text_ids = ids_file(image.fill(1000)), ids_file(text.fill(1000))
        # name: (server, path, ids); the ceiling answers any id, polled like check.
        targets = {
            "ceiling": (servers["ceiling"], poll_path("image"), image_ids),
            "image check": (image.server, poll_path("image"), image_ids),
            "image status": (image.server, poll_path("image", "status"), image_ids),
            "text status": (text.server, poll_path("text"), text_ids),
            "bare app without core slot": (servers["bare app without core slot"], poll_path("image"), image_ids),
        }
        figures: dict[str, dict] = {}
        for name, (server, path, ids) in targets.items():
            first_id = Path(ids).read_text().split("\n", 1)[0]
            body = requests.get(f"{server.url}{path}{first_id}", timeout=10).content
            # Warm-up: connections, caches and the gc freeze after the first 500 requests.
            load.wrk(server.url, path, ids, 2, str(HERE / "check.lua"))
            figures[name] = {"body_bytes": len(body), "rounds": []}
        for _ in range(args.ceiling_rounds):
            for name, (server, path, ids) in targets.items():
                out = polled(lambda server=server: cpu_use(server), server.url, path, ids, args.seconds)
                per_request = 1000 / max(out["requests"], 1)
                figures[name]["rounds"].append({
                    "requests_per_second": out["requests_per_second"], "non_2xx": out["non_2xx"], "latency": out["latency"],
                    "server_cpu_cores": out["server_cpu_cores"], "database_cpu_cores": out["database_cpu_cores"],
                    "server_cpu_ms_per_request": round(out["server_cpu_cores"] * out["wall"] * per_request, 3),
                    "harness_cpu_cores": out["harness_cpu_cores"],
                })
    ceiling_rate = sum(r["requests_per_second"] for r in figures["ceiling"]["rounds"])
    for name, figure in figures.items():
        figure["ratio_to_ceiling"] = round(sum(r["requests_per_second"] for r in figure["rounds"]) / max(ceiling_rate, 1e-9), 3)
        if name in CEILING_TARGETS:
            figure["target"] = CEILING_TARGETS[name]
            figure["met"] = figure["ratio_to_ceiling"] >= CEILING_TARGETS[name]
    summary = {"scenario": "polling vs a bare Flask app under the same gunicorn settings (wrk, 2 threads, 32 connections)",
               "seconds_per_round": args.seconds, "rounds": args.ceiling_rounds, "server_workers": args.server_workers,
               "load_average_before": [round(x, 2) for x in started_load],
               "load_average_after": [round(x, 2) for x in os.getloadavg()], "targets": figures}
    print(json.dumps(summary, indent=2), flush=True)
    return summary


def scenario_slow_fetch(args) -> dict:
    """The full loop without and with 20 slow source-image downloads in flight, alternated
    twice (the machine is shared: the ratio within one run is the figure)."""
    rounds = []
    for slow in (0, 20, 0, 20):
        # Local URLs stand in for slow hosts: allowed for this benchmark's server only.
        with Run(args, HORDE_FETCH_ALLOW_PRIVATE="1") as run:
            if slow:
                with SlowDownloads(run.url, slow) as downloads:
                    result = scenario_loop(run)
                result["slow_downloads"] = downloads.summary()
            else:
                result = scenario_loop(run)
        rounds.append({"slow_downloads_in_flight": slow, "jobs_per_second": result["jobs_per_second"],
                       "latency": {op: result["latency"].get(op) for op in ("pop", "submit", "check", "async")},
                       "slow_calls": result["slow_calls"], **({"slow": result["slow_downloads"]} if slow else {})})
    quiet = [r["jobs_per_second"] for r in rounds if not r["slow_downloads_in_flight"]]
    loaded = [r["jobs_per_second"] for r in rounds if r["slow_downloads_in_flight"]]
    summary = {"scenario": f"{args.kind} full loop with 20 slow downloads in flight vs none", "rounds": rounds,
               "ratio": round(sum(loaded) / max(sum(quiet), 1e-9), 2)}
    print(json.dumps(summary, indent=2), flush=True)
    return summary


def scenario_streams(args) -> dict:
    """The full loop without and with `--streams` open event streams, alternated ABBA on one
    server (every round with the same thread count; the loop slows through a run as its tables
    grow, and ABBA cancels that drift), and the latency from a change to its event measured
    meanwhile (docs/serving.md)."""
    rounds = []
    with Run(args, HORDE_WEB_THREADS=str(args.stream_threads)) as run:
        watcher = run.server.user("bench-watcher", "--concurrency", "1000000")
        ids = park(run.url, watcher, args.streams)
        for count in (0, args.streams, args.streams, 0):
            latency: dict = {}
            probe = threading.Thread(target=lambda: latency.update(probe_latency(run.url, watcher, args.probes)))
            if count:
                with Streams(run.url, ids[:count]) as streams:
                    client_cpu0 = load.process_cpu_seconds([streams.pid()])
                    probe.start()
                    result = scenario_loop(run)
                    probe.join()
                    held = streams.summary()
                    held["client_cpu_cores"] = round((load.process_cpu_seconds([streams.pid()]) - client_cpu0) / result["seconds"], 2)
            else:
                probe.start()
                result = scenario_loop(run)
                probe.join()
                held = {}
            rounds.append({
                "open_streams": count, "jobs_per_second": result["jobs_per_second"],
                "server_cpu_cores": result["server_cpu_cores"], "database_cpu_cores": result["database_cpu_cores"],
                "latency": {op: result["latency"].get(op) for op in ("pop", "submit", "check", "async")},
                "change_to_event": latency, **({"streams": held} if count else {}),
            })
    return alternated(f"{args.kind} full loop with {args.streams} open event streams vs none", rounds, "open_streams",
                      web_threads=args.stream_threads, server_workers=args.server_workers)


def alternated(name: str, rounds: list[dict], loaded_by: str, **figures) -> dict:
    """The summary of rounds alternating without and with a load (`loaded_by` > 0): the ratio
    of the loop's jobs per second with the load to without it, within one run."""
    quiet = [r["jobs_per_second"] for r in rounds if not r[loaded_by]]
    loaded = [r["jobs_per_second"] for r in rounds if r[loaded_by]]
    summary = {"scenario": name, "rounds": rounds, "ratio": round(sum(loaded) / max(sum(quiet), 1e-9), 2), **figures}
    print(json.dumps(summary, indent=2), flush=True)
    return summary


def _waiting_requests(database_url: str, username: str) -> int:
    """A user's requests still queued and not cancelled (read from the database: the horde's
    own figures are refreshed every minute)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM requests r JOIN users u ON u.id = r.user_id "
                "WHERE u.username = :name AND r.n > 0 AND NOT r.cancelled"
            ), {"name": username}).scalar())
    finally:
        engine.dispose()


OPENAI_CLIENT = "bench-openai-client"


def scenario_openai(args) -> dict:
    """The full loop without and with `--waiters` OpenAI requests waiting for their results,
    alternated twice on one server (docs/serving.md, "OpenAI requests")."""
    rounds = []
    env = {"HORDE_WEB_THREADS": str(args.openai_threads), "HORDE_OPENAI_WAIT_SECONDS": "3600"}
    with Run(args, **env) as run:
        watcher = run.server.user(OPENAI_CLIENT, "--concurrency", "1000000")
        park_worker(run.url, run.owners[0], run.kind)
        # ABBA: the loop slows through a run on one server (its tables grow), so the order
        # none, with, with, none keeps a steady drift out of the ratio.
        for count in (0, args.waiters, args.waiters, 0):
            if count:
                with Waiters(run.url, watcher, run.kind, count) as waiters:
                    client_cpu0 = load.process_cpu_seconds([waiters.pid()])
                    before = waiters.summary()
                    before["queued"] = _waiting_requests(run.server.database_url, OPENAI_CLIENT)
                    result = scenario_loop(run)
                    held = {**waiters.summary(), "still_waiting_at_start": before["still_waiting"], "queued_at_start": before["queued"]}
                    held["client_cpu_cores"] = round((load.process_cpu_seconds([waiters.pid()]) - client_cpu0) / result["seconds"], 2)
                time.sleep(3)  # the server notices the hang-ups and cancels the requests
                held["queued_after_hang_up"] = _waiting_requests(run.server.database_url, OPENAI_CLIENT)
            else:
                result = scenario_loop(run)
                held = {}
            rounds.append({
                "waiting_openai_requests": count, "jobs_per_second": result["jobs_per_second"],
                "server_cpu_cores": result["server_cpu_cores"], "database_cpu_cores": result["database_cpu_cores"],
                "latency": {op: result["latency"].get(op) for op in ("pop", "submit", "check", "async")},
                **({"waiters": held} if count else {}),
            })
    return alternated(f"{args.kind} full loop with {args.waiters} waiting OpenAI requests vs none", rounds,
                      "waiting_openai_requests", web_threads=args.openai_threads, server_workers=args.server_workers)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("scenarios", nargs="*", default=["async", "pop", "loop", "check"])
    parser.add_argument("--kind", choices=["image", "text", "alchemy"], default="image", help="alchemy: pop and async only")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--processes", type=int, default=4, help="load generator processes")
    parser.add_argument("--server-workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--port", type=int, default=7391)
    parser.add_argument("--depths", default="1000,10000")
    parser.add_argument("--work-seconds", type=float, default=3.0, help="simulated generation time per job (pop scenario)")
    # Each client waits a poll interval between checks: too few leave the server idle (64
    # capped the scenario near 100 jobs/s), too many crowd the workers' calls with checks
    # (on 2026-11-25: 96 clients 140 jobs/s, 128 154, 192 123).
    parser.add_argument("--loop-clients", type=int, default=128)
    parser.add_argument("--poll-interval", type=float, default=0.25, help="seconds between a loop client's checks (horde-sdk: 4)")
    parser.add_argument("--loop-workers", type=int, default=32)
    parser.add_argument("--filters", type=int, default=0, help="prompt filters loaded before the scenario (none by default)")
    parser.add_argument("--streams", type=int, default=1000, help="open event streams (streams scenario)")
    parser.add_argument("--stream-threads", type=int, default=600, help="HORDE_WEB_THREADS of the streams scenario's server")
    parser.add_argument("--probes", type=int, default=20, help="change-to-event latency samples per round (streams)")
    parser.add_argument("--waiters", type=int, default=200, help="OpenAI requests waiting at once (openai scenario)")
    parser.add_argument("--openai-threads", type=int, default=128, help="HORDE_WEB_THREADS of the openai scenario's server")
    parser.add_argument("--ceiling-rounds", type=int, default=2, help="rounds of the ceiling scenario (each polls every target)")
    parser.add_argument("--output", default=str(HERE / "results"))
    args = parser.parse_args()
    if {"check", "ceiling"} & set(args.scenarios) and shutil.which("wrk") is None:
        parser.error("the check scenario drives wrk, which is not installed (Debian: apt-get install wrk); "
                     "leave `check` out to run the others")
    results = {"machine": machine(), "kind": args.kind, "filters": args.filters, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "results": []}
    Path(args.output).mkdir(parents=True, exist_ok=True)
    target = Path(args.output) / f"{args.kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for name in args.scenarios:
        if name == "pop":
            for depth in (int(d) for d in args.depths.split(",")):
                with Run(args) as run:
                    results["results"].append(scenario_pop(run, depth))
        elif name == "slow_fetch":
            results["results"].append(scenario_slow_fetch(args))
        elif name == "streams":
            results["results"].append(scenario_streams(args))
        elif name == "openai":
            results["results"].append(scenario_openai(args))
        elif name == "ceiling":
            results["results"].append(scenario_ceiling(args))
        else:
            with Run(args) as run:
                results["results"].append({"async": scenario_async, "loop": scenario_loop, "check": scenario_check}[name](run))
        target.write_text(json.dumps(results, indent=2))  # after each scenario: a later failure loses nothing
    print(f"results written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
