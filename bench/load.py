"""Load generation over several processes (one Python process saturates a core quickly).

Each process runs an asyncio loop with an aiohttp session and returns raw latencies; the
parent merges them and reports throughput, percentiles and the harness's own CPU use.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def record(self, op: str, seconds: float) -> None:
        self.latencies.setdefault(op, []).append(seconds)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def merge(self, other: "Samples") -> None:
        for op, values in other.latencies.items():
            self.latencies.setdefault(op, []).extend(values)
        for what, n in other.counts.items():
            self.counts[what] = self.counts.get(what, 0) + n
        for what, n in other.errors.items():
            self.errors[what] = self.errors.get(what, 0) + n
        for key, value in other.extra.items():
            self.extra.setdefault(key, []).extend(value if isinstance(value, list) else [value])


SLOW_SECONDS = 0.05


class Client:
    """A timed HTTP client over one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base: str, samples: Samples):
        self.session, self.base, self.samples = session, base, samples

    async def call(self, op: str, method: str, path: str, **kwargs) -> tuple[int, dict | None]:
        url = path if path.startswith("http") else f"{self.base}{path}"
        start = time.perf_counter()
        try:
            async with self.session.request(method, url, **kwargs) as response:
                body = await response.json(content_type=None) if response.content_type == "application/json" else None
                status = response.status
                timing = response.headers.get("Server-Timing", "")
        except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
            self.samples.error(f"{op}:{type(exc).__name__}")
            return 0, None
        elapsed = time.perf_counter() - start
        self.samples.record(op, elapsed)
        app = float(timing[8:]) / 1000 if timing.startswith("app;dur=") else None
        if app is not None:  # the part of the wait spent in the application
            self.samples.record(f"{op}@app", app)
        if elapsed > SLOW_SECONDS:  # kept with their time, to tell a stall from a slow route
            self.samples.extra.setdefault("slow", []).append(
                {"at": round(time.time(), 3), "op": op, "ms": round(elapsed * 1000, 1),
                 "app_ms": None if app is None else round(app * 1000, 1)}
            )
        if status >= 400:
            self.samples.error(f"{op}:{status}:{(body or {}).get('rc')}")
        return status, body


Scenario = Callable[[Client, int, dict], Awaitable[None]]


def _connect_timing(samples: Samples) -> aiohttp.TraceConfig:
    """Time spent opening TCP connections, reported as its own operation ("tcp_connect"):
    a server that closes every connection makes clients pay this on every request."""
    trace = aiohttp.TraceConfig()

    async def start(_session, context, _params):
        context.connect_started = time.perf_counter()

    async def end(_session, context, _params):
        samples.record("tcp_connect", time.perf_counter() - context.connect_started)

    trace.on_connection_create_start.append(start)
    trace.on_connection_create_end.append(end)
    return trace


def _process(scenario: Scenario, base: str, index: int, params: dict, connections: int, out) -> None:
    async def main() -> Samples:
        samples = Samples()
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60), trace_configs=[_connect_timing(samples)]
        ) as session:
            await scenario(Client(session, base, samples), index, params)
        return samples

    out.put(asyncio.run(main()))


def run(scenario: Scenario, base: str, processes: int, params: dict, connections: int = 64) -> tuple[Samples, float, float]:
    """Run `scenario` in `processes` processes; returns samples, wall seconds, harness CPU seconds."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = [ctx.Process(target=_process, args=(scenario, base, i, params, connections, out)) for i in range(processes)]
    for proc in procs:
        proc.start()
    merged = Samples()
    for _ in procs:
        merged.merge(out.get())
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return merged, wall, cpu


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.50), 2), "p90_ms": round(pick(0.90), 2), "p99_ms": round(pick(0.99), 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2), "n": len(ordered)}


def process_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of live processes (the server's), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields_ = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields_[11]) + int(fields_[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def wrk(url: str, path: str, ids_file: str, seconds: float, script: str) -> dict:
    """`wrk -t 2 -c 32` for `seconds` on `path` + a random id of `ids_file` (bench/check.lua):
    requests per second, non-2xx answers, latency percentiles, and wrk's own CPU (the harness)."""
    import subprocess

    env = {**os.environ, "HORDE_BENCH_IDS": ids_file, "HORDE_BENCH_PATH": path}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", "32", "-d", f"{int(seconds)}s", "--latency", "-s", script, url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    harness = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "requests_per_second": float(out.split("Requests/sec:")[1].split()[0]),
        "requests": int(out.split(" requests in ")[0].split()[-1]),
        "non_2xx": int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in out else 0,
        "latency": {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip().startswith(("50%", "90%", "99%"))},
        "harness_cpu_cores": round(harness / wall, 2),
    }
