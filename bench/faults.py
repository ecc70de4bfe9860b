"""What a fault costs: the core loop through a real server while Redis stops, PostgreSQL is
cut, or the server is stopped with Ctrl-C (tests/e2e/test_faults.py asserts; this measures).

    python -m bench.faults redis --seconds 30       # Redis stopped for 30 s
    python -m bench.faults postgres --seconds 3     # PostgreSQL unreachable for 3 s
    python -m bench.faults stop --count 15          # Ctrl-C stops of `horde serve`

`--tree /path/to/checkout` runs the server from another checkout (to measure before/after);
the load and the faults stay this one's. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

from tests import support
from tests.faults import CoreLoop, CuttableProxy, PrivateRedis, wait_for


def _users(env: dict) -> dict:
    _, requester = support.create_user_cli(env, "bench-requester", "--kudos", "1000000")
    _, gpu = support.create_user_cli(env, "bench-gpu", "--trusted")
    recipient, _ = support.create_user_cli(env, "bench-recipient")
    return {"requester": requester, "gpu": gpu, "recipient": recipient}


def _summary(loop: CoreLoop, window: tuple[float, float], log: str) -> dict:
    record = loop.record
    during = [c for c in record.calls if window[0] <= c.started < window[1]]
    after = [c for c in record.calls if c.started >= window[1]]
    failed = lambda calls: [c for c in calls if c.status >= 500 or c.status == 0]  # noqa: E731
    return {
        "calls": len(record.calls),
        "calls_during_fault": len(during),
        "failed_during_fault": len(failed(during)),
        "failed_after_recovery": len(failed(after)),
        "failures_by_kind": dict(Counter(f"{c.route} {c.status} {c.rc}".strip() for c in failed(record.calls))),
        "delivered": len(record.delivered),
        "log_lines": log.count("\n"),
        "log_tracebacks": log.count("Traceback"),
    }


def redis_outage(tmp: Path, seconds: float) -> dict:
    redis = PrivateRedis().start()
    env = support.migrated_server_env("bench_faults", tmp)
    env.update({"HORDE_REDIS_URL": redis.url, "HORDE_LOG_LEVEL": "info"})
    users = _users(env)
    server = support.ServerProcess(env, workers=2).start()
    try:
        with CoreLoop(server.url, users["requester"], users["gpu"], users["recipient"]) as loop:
            time.sleep(2)
            down = time.monotonic()
            redis.stop()
            time.sleep(seconds)
            redis.start()
            up = time.monotonic()
            time.sleep(5)
        return {"fault": f"redis stopped {seconds}s", **_summary(loop, (down, up), server.log_path.read_text(errors="replace"))}
    finally:
        server.stop()
        redis.stop()
        support.drop_pg_database(env["HORDE_DATABASE_URL"])


def postgres_cut(tmp: Path, seconds: float) -> dict:
    env = support.migrated_server_env("bench_faults", tmp)
    direct = env["HORDE_DATABASE_URL"]
    proxy = CuttableProxy(("127.0.0.1", 5432)).start()
    env.update({"HORDE_DATABASE_URL": direct.replace(":5432/", f":{proxy.port}/"), "HORDE_LOG_LEVEL": "info"})
    users = _users(env)
    server = support.ServerProcess(env, workers=2).start()
    try:
        with CoreLoop(server.url, users["requester"], users["gpu"], users["recipient"]) as loop:
            time.sleep(2)
            cut = time.monotonic()
            proxy.cut()
            time.sleep(seconds)
            proxy.restore()
            back = time.monotonic()
            time.sleep(5)
        # Idle pooled connections: the loop stopped, every process has connections that
        # died in the cut; each route once per process.
        idle = Counter()
        for path in ("/api/v2/status/performance", "/api/v2/stats/img/totals", "/api/v2/find_user", "/api/v2/users/1"):
            for _ in range(4):
                answer = requests.get(f"{server.url}{path}", headers={"apikey": users["requester"]}, timeout=10)
                idle[answer.status_code] += 1
        figures = _summary(loop, (cut, back), server.log_path.read_text(errors="replace"))
        if os.environ.get("BENCH_FAULTS_LOG"):
            Path(os.environ["BENCH_FAULTS_LOG"]).write_text(server.log_path.read_text(errors="replace"))
        return {"fault": f"postgres cut {seconds}s", **figures, "idle_connections_after": dict(idle)}
    finally:
        server.stop()
        proxy.cut()
        support.drop_pg_database(direct)


def ctrl_c(tmp: Path, count: int) -> dict:
    env = {
        **os.environ, "HORDE_DATA_DIR": str(tmp), "HORDE_SECRET_KEY": "bench-stop", "HORDE_REDIS_URL": "",
        "HORDE_DATABASE_URL": "", "HORDE_MODE": "image", "HORDE_WEB_WORKERS": "2", "HORDE_LOG_LEVEL": "info",
    }
    support.horde_cli("db", "upgrade", env=env)
    times, killed = [], 0
    for n in range(count):
        port = support.free_port()
        log = tmp / f"stop-{n}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "horde.cli", "serve"], env={**env, "HORDE_PORT": str(port), "HORDE_HOST": "127.0.0.1"},
            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/api/v2/status/performance"

        def answers() -> bool:
            try:
                return requests.get(url, timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, timeout=60)
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
        times.append(round(time.monotonic() - started, 2))
        killed += "SIGKILL" in log.read_text(errors="replace")
    return {"fault": f"{count} Ctrl-C stops", "stop_seconds": sorted(times), "workers_killed": killed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fault", choices=["redis", "postgres", "stop"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=15)
    parser.add_argument("--tree", help="run the server from this checkout")
    args = parser.parse_args()
    if args.tree:  # `python -m` puts the working folder first on the path: move there too
        os.environ["PYTHONPATH"] = str(Path(args.tree).resolve())
        os.chdir(args.tree)
    with tempfile.TemporaryDirectory() as tmp:
        if args.fault == "redis":
            result = redis_outage(Path(tmp), args.seconds)
        elif args.fault == "postgres":
            result = postgres_cut(Path(tmp), args.seconds)
        else:
            result = ctrl_c(Path(tmp), args.count)
    print(json.dumps({"tree": args.tree or ".", **result}))


if __name__ == "__main__":
    main()
