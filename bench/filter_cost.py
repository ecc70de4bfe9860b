"""What prompt filters add to the async route, over HTTP:

    python -m bench.filter_cost [--filters 1000] [--rounds 10] [--per-round 100]

Two servers (one gunicorn process each) on fresh databases, one without filters and one
with `--filters` synthetic filters loaded by `horde filters import`. One client queues image
requests on each in turn, in rounds (A, B, A, B...), one request at a time, so the machine's
drift affects both alike and no queueing is measured. Reported per server: the time in the
application (`Server-Timing`) and the client's wall time, median and mean, for a short
prompt and a long one (60 words: filters cost more on longer prompts); and the difference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench import filters as bench_filters
from bench.server import BenchServer

SHORT = "a painting of a lighthouse number {n}"
LONG = (
    "a highly detailed oil painting of an old stone lighthouse on a rocky coast at dusk, waves crashing, "
    "seagulls, warm light from the lamp, dramatic clouds, cinematic lighting, volumetric fog, by a master "
    "painter, trending, sharp focus, intricate details, golden hour, wide angle, ultra realistic, number {n}"
    "###blurry, lowres, watermark, text"
)


def _app_ms(response: requests.Response) -> float:
    timing = response.headers.get("Server-Timing", "")
    return float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")


def _round(session: requests.Session, server: BenchServer, key: str, prompt: str, count: int, start: int, out: dict) -> None:
    for n in range(start, start + count):
        body = {"prompt": prompt.format(n=n), "models": ["stable_diffusion"], "params": {"steps": 20}}
        began = time.perf_counter()
        answer = session.post(f"{server.url}/api/v2/generate/async", json=body, headers={"apikey": key}, timeout=30)
        wall = (time.perf_counter() - began) * 1000
        if answer.status_code != 202:
            raise RuntimeError(f"async answered {answer.status_code}: {answer.text[:200]}")
        out["app"].append(_app_ms(answer))
        out["wall"].append(wall)


def _summary(samples: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(samples), 3), "mean_ms": round(statistics.fmean(samples), 3), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.filter_cost")
    parser.add_argument("--filters", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--port", type=int, default=7491)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="horde-filter-cost-"))
    servers = {
        "none": BenchServer(1, args.port, data / "none"),
        "filters": BenchServer(1, args.port + 1, data / "filters"),
    }
    try:
        keys = {}
        for name, server in servers.items():
            (data / name).mkdir(parents=True, exist_ok=True)
            server.start()
            keys[name] = server.user(f"cost-{name}", "--kudos", "1000000000", "--concurrency", "1000000", "--trusted")
        servers["filters"].cli("filters", "import", str(bench_filters.write(args.filters, data)))
        results: dict = {"filters": args.filters, "rounds": args.rounds, "per_round": args.per_round}
        for label, prompt in (("short prompt", SHORT), ("long prompt", LONG)):
            samples = {name: {"app": [], "wall": []} for name in servers}
            session = requests.Session()
            for name, server in servers.items():  # warm up: connections, caches, the filters' compilation
                _round(session, server, keys[name], prompt, 20, 0, {"app": [], "wall": []})
            for number in range(args.rounds):
                for name, server in servers.items():
                    _round(session, server, keys[name], prompt, args.per_round, 1000 + number * args.per_round, samples[name])
            figures = {name: {"app": _summary(s["app"]), "wall": _summary(s["wall"])} for name, s in samples.items()}
            figures["added_ms"] = {
                "app_p50": round(figures["filters"]["app"]["p50_ms"] - figures["none"]["app"]["p50_ms"], 3),
                "app_mean": round(figures["filters"]["app"]["mean_ms"] - figures["none"]["app"]["mean_ms"], 3),
                "wall_p50": round(figures["filters"]["wall"]["p50_ms"] - figures["none"]["wall"]["p50_ms"], 3),
            }
            results[label] = figures
        print(json.dumps(results, indent=2))
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
