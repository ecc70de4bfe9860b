"""The alchemy pop's service time at a queue depth, in process (no HTTP, no gunicorn), and the
image pop's measured the same way in the same run (the machine's speed varies, the ratio less).

    python -m bench.alchemy_pop_cost 1000 10000 [--pops 300]

A fresh PostgreSQL database is filled with `depth` waiting forms (one per interrogation, of
10 form names and mixed sizes); 20 alchemists (3 forms each, mixed max_tiles, half of them
untrusted) take turns popping one form through the Flask test client, deliver it, and a new
form replaces it so the depth holds. Reports the pop route's p50 / p99 (its whole service
time in the application: check-in, candidate walk, claim, answer). The full HTTP scenario is
`python -m bench pop --kind alchemy`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid

from bench.scenarios import ALCHEMY_FORMS, IMAGE_MODELS, REGEN, image_request
from bench.server import scratch_app
from horde.db import utcnow
from horde.domain.accounts import users
from horde.domain.queue import alchemy, engine, image_requests
from horde.models import Interrogation, User


def _queue_images(session, user, rng: random.Random, count: int) -> None:
    for _ in range(count):
        new = image_requests.build(image_request(rng), user_trusted=True, user_special=False, user_education=False)
        engine.enqueue(session, user, new, request_id=str(uuid.uuid4()), worker_ids=[], worker_blacklist=False,
                       ipaddr="127.0.0.1", client_agent="bench", webhook=None, proxied_account=None, downgraded=False,
                       now=utcnow())


def _queue_forms(session, user, rng: random.Random, count: int) -> None:
    for _ in range(count):
        tiles = rng.choice([1, 2, 4, 16])
        interrogation = Interrogation(id=str(uuid.uuid4()), user_id=user.id, source_url="https://example.com/source.png",
                                      width=512, height=512 * tiles, tiles=tiles, created=utcnow())
        session.add(interrogation)
        session.flush()
        engine.enqueue(session, user, alchemy._form_request(rng.choice(ALCHEMY_FORMS), None, interrogation, None),
                       request_id=str(uuid.uuid4()), worker_ids=[], worker_blacklist=False, ipaddr="127.0.0.1",
                       client_agent="bench", webhook=None, proxied_account=None, downgraded=False, now=utcnow(), charge=False)


KINDS = {
    # kind: (fill, pop path, a worker's declaration, submit body of a popped answer)
    "alchemy": (
        _queue_forms, "/api/v2/interrogate/pop",
        lambda rng, i: {"name": f"alchemist-{i}", "forms": rng.sample(ALCHEMY_FORMS, 3), "max_tiles": rng.choice([4, 16, 80]),
                        "bridge_agent": REGEN, "amount": 1},
        lambda answer: [("/api/v2/interrogate/submit", {"id": f["id"], "result": {f["form"]: "x"}}) for f in answer["forms"] or []],
    ),
    "image": (
        _queue_images, "/api/v2/generate/pop",
        lambda rng, i: {"name": f"painter-{i}", "models": rng.sample(IMAGE_MODELS, 3), "bridge_agent": REGEN,
                        "max_pixels": rng.choice([512 * 512, 768 * 768, 1024 * 1024]), "amount": 1},
        lambda answer: [("/api/v2/generate/submit", {"id": answer["id"], "generation": "R2", "seed": 1})] if answer["id"] else [],
    ),
}


def measure(kind: str, depth: int, pops: int) -> dict:
    fill, pop_path, declaration, deliveries = KINDS[kind]
    rng = random.Random(depth)
    with scratch_app("horde_alchemy_cost", rate_limits=False, run_jobs=False) as app:
        svc = app.extensions["horde"]
        with svc.db.transaction() as session:
            requester, _ = users.create_user(session, svc.hasher, "requester", concurrency=10**9)
            requester.trusted = True
            keys = []
            for index in range(20):
                owner, key = users.create_user(session, svc.hasher, f"alchemist-owner-{index}")
                owner.trusted = index % 2 == 0
                keys.append(key)
            fill(session, requester, rng, depth)
        with svc.db.session_factory() as session:
            from sqlalchemy import text

            session.execute(text("ANALYZE"))
            session.commit()
        client = app.test_client()
        profiles = [declaration(rng, i) for i in range(20)]
        times, cpu, empty = [], [], 0
        for number in range(pops):
            worker = number % 20
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = client.post(pop_path, json=profiles[worker], headers={"apikey": keys[worker]}).get_json()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            delivered = deliveries(answer)
            if not delivered:
                empty += 1
                continue
            for path, body in delivered:
                client.post(path, json=body, headers={"apikey": keys[worker]})
            with svc.db.transaction() as session:
                fill(session, session.get(User, requester.id), rng, len(delivered))
        ordered = sorted(times[20:])  # the first round registers the workers
        return {
            "kind": kind, "depth": depth, "pops": len(ordered), "empty": empty,
            "app_cpu_p50_ms": round(statistics.median(cpu[20:]), 2),
            "p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
            "max_ms": round(ordered[-1], 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.alchemy_pop_cost")
    parser.add_argument("depths", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--pops", type=int, default=300)
    parser.add_argument("--kinds", default="alchemy,image")
    args = parser.parse_args()
    for depth in args.depths:
        for kind in args.kinds.split(","):
            print(json.dumps(measure(kind, depth, args.pops)), flush=True)


if __name__ == "__main__":
    main()
