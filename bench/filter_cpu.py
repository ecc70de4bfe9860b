"""CPU time of screening one prompt with and without N filters, in process (no HTTP, so a
busy machine inflates it far less than `bench.filter_cost`):

    python -m bench.filter_cpu [--filters 1000] [--iterations 5000]
"""

from __future__ import annotations

import argparse
import json
import time

from bench import filters as bench_filters
from bench.filter_cost import LONG, SHORT
from horde.domain.moderation import prompt_check


def cpu_microseconds(filters: prompt_check.FilterSet, prompt: str, iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        prompt_check.screen(filters, prompt, models=["stable_diffusion"], replacement_filter=True,
                            flagged=False, education=False, moderator=False)
    return round((time.process_time() - start) / iterations * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--filters", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=5000)
    args = parser.parse_args()
    rules = [prompt_check.FilterRule(id=i, regex=f["regex"], filter_type=f["filter_type"], replacement=f["replacement"])
             for i, f in enumerate(bench_filters.synthetic(args.filters))]
    loaded, empty = prompt_check.FilterSet.build(1, rules), prompt_check.FilterSet.build(0, [])
    results = {}
    for name, prompt in (("short prompt", SHORT.format(n=1)), ("long prompt", LONG.format(n=1))):
        none, with_filters = cpu_microseconds(empty, prompt, args.iterations), cpu_microseconds(loaded, prompt, args.iterations)
        results[name] = {"none_us": none, "filters_us": with_filters, "added_us": round(with_filters - none, 1)}
    print(json.dumps({"filters": args.filters, **results}, indent=2))


if __name__ == "__main__":
    main()
