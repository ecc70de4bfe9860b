"""python -m bench retention [--days 7] [--rate 100]: the database's size over a simulated
week of steady traffic, with the retention jobs (horde/jobs/retention.py) doing their work.

Compressed time: each simulated day's rows are inserted in a few statements
(generate_series, backdated timestamps), then the jobs run as the scheduler would have run
them by the end of that day, and the size is measured. Per delivered job a day holds one
raw statistics row and two kudos events (the requester charged, the owner paid); one job in
twenty has a webhook delivery; 1,000 keyed kudos transfers and 50 worker messages a day.
Requests and jobs live 20 minutes: each day inserts its last 25 minutes of them (what the
expiry job leaves at most; the rest of the day's requests would have been inserted and
deleted the same way, and their space reused), and the expiry job removes what expired.

After the jobs, VACUUM (not FULL) marks the deleted rows' space reusable: what autovacuum does
over a real day, which compressed time does not give it. At the end the books are checked
(every balance = its kudos events + its roll-ups) and the plans of the retention statements,
run on the seeded database, are printed (`--explain`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import time
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import event, text

from bench.server import scratch_app

REQUESTERS, OWNERS, MODELS = 1000, 100, 50
START_KUDOS = 10**9
REQUEST_WINDOW = dt.timedelta(minutes=25)
TRANSFERS_PER_DAY, MESSAGES_PER_DAY, WEBHOOK_EVERY = 1000, 50, 20
TABLES = ("kudos_events", "kudos_rollups", "generation_stats", "stats_daily", "requests", "jobs", "request_models",
          "webhook_deliveries", "worker_messages", "users")


def _columns(conn, table: str) -> list[str]:
    return list(conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"
    ), {"t": table}).scalars())


def clone(conn, table: str, template: str, count: int, params: dict, **overrides: str) -> None:
    """Insert `count` copies of the row matching `template`, each with `overrides` (SQL over
    the series number g): rows as the application writes them, whatever columns it has."""
    columns = _columns(conn, table)
    values = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    conn.execute(text(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table} AS t, generate_series(0, :count - 1) AS g"
        f" WHERE {template}"
    ), {"count": count, **params})


def seed(app) -> dict:
    """Two real users, one real delivered request (the templates), then the crowd."""
    from horde.domain.accounts import ledger, users

    svc = app.extensions["horde"]
    with svc.db.transaction() as session:
        requester, requester_key = users.create_user(session, svc.hasher, "requester", concurrency=10**9, trusted=True)
        ledger.move_kudos(session, requester, START_KUDOS, bucket="admin", reason="admin")
        _, owner_key = users.create_user(session, svc.hasher, "owner", trusted=True)
    client = app.test_client()
    body = {"prompt": "a lighthouse", "models": ["stable_diffusion"], "params": {"steps": 20, "n": 1},
            "webhook": "https://example.com/hook"}
    assert client.post("/api/v2/generate/async", json=body, headers={"apikey": requester_key}).status_code == 202
    worker = {"name": "bench-worker", "models": ["stable_diffusion"], "max_pixels": 1048576,
              "bridge_agent": "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"}
    job = client.post("/api/v2/generate/pop", json=worker, headers={"apikey": owner_key}).get_json()
    upload = urlsplit(job["r2_uploads"][0] if job.get("r2_uploads") else job["r2_upload"])
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 40, 200)).save(image, format="WEBP")
    client.put(f"{upload.path}?{upload.query}", data=image.getvalue())
    submitted = client.post("/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 1, "state": "ok"},
                            headers={"apikey": owner_key})
    assert submitted.status_code == 200, submitted.get_json()
    with svc.db.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT username, id FROM users WHERE username IN ('requester', 'owner')")).all())
        template = {"request": conn.execute(text("SELECT id FROM requests")).scalar_one(), "job": job["id"]}
        first = conn.execute(text("SELECT max(id) + 1 FROM users")).scalar_one()
        for name, count, offset in (("requester", REQUESTERS, 0), ("owner", OWNERS, REQUESTERS)):
            kudos = START_KUDOS if name == "requester" else 0  # and nothing else: their events make the rest
            clone(conn, "users", "t.id = :template", count, {"template": ids[name], "first": first + offset, "k": kudos},
                  id=":first + g", username=f"'{name}' || g", oauth_id=f"'bench-{name}-' || g", api_key_hash="NULL",
                  kudos=":k", kudos_admin=":k", kudos_accumulated="0", kudos_adjustments="0", evaluating_kudos="0")
        conn.execute(text("SELECT setval('users_id_seq', (SELECT max(id) FROM users))"))
        conn.execute(text(  # the crowd's starting kudos, as events (the books must balance)
            "INSERT INTO kudos_events (user_id, amount, bucket, reason, folded, created)"
            " SELECT id, :k, 'admin', 'admin', true, now() AT TIME ZONE 'utc' - interval '30 days'"
            " FROM users WHERE username LIKE 'requester%' AND id <> :r"
        ), {"k": START_KUDOS, "r": ids["requester"]})
        conn.execute(text("UPDATE kudos_events SET created = created - interval '30 days'"))
        conn.execute(text("UPDATE requests SET expiry = expiry + interval '100 years'"))  # the template stays
        conn.execute(text("DELETE FROM generation_stats"))  # the template's: the days bring their own
        conn.execute(text("DELETE FROM webhook_deliveries"))
    requesters = (ids["requester"], first, first + REQUESTERS - 1)
    owners = (ids["owner"], first + REQUESTERS, first + REQUESTERS + OWNERS - 1)
    return {"template": template, "requesters": requesters, "owners": owners, "author": ids["owner"]}


def insert_span(app, world: dict, start: dt.datetime, span: dt.timedelta, rate: float, tag: int, requests: bool) -> None:
    """`span` of traffic at `rate` jobs a second from `start`, timestamps spread over it;
    `tag` makes its ids its own; with `requests`, the span's last 25 minutes of requests."""
    seconds = span.total_seconds()
    jobs = int(rate * seconds)
    step = seconds / jobs
    transfers, notes = max(int(TRANSFERS_PER_DAY * seconds / 86400), 1), max(int(MESSAGES_PER_DAY * seconds / 86400), 1)
    req_first, req_last = world["requesters"][1], world["requesters"][2]
    own_first, own_last = world["owners"][1], world["owners"][2]
    p = {"start": start, "end": start + span, "step": step, "jobs": jobs, "day": tag, "rf": req_first, "rn": req_last - req_first + 1,
         "of": own_first, "on": own_last - own_first + 1}
    at = "CAST(:start AS timestamp) + (g * :step) * interval '1 second'"
    with app.extensions["horde"].db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO generation_stats (kind, model, finished, things, state)"
            f" SELECT 'image', 'model_' || (g % {MODELS}), {at}, 5242880, 'ok' FROM generate_series(0, :jobs - 1) AS g"
        ), p)
        # per job: the requester charged, the owner paid; ids as the application writes them (uuids)
        conn.execute(text(
            "INSERT INTO kudos_events (user_id, amount, bucket, reason, request_id, job_id, folded, created)"
            " SELECT CASE WHEN side = 0 THEN :rf + g % :rn ELSE :of + g % :on END,"
            " CASE WHEN side = 0 THEN -12.35 ELSE 10.5 END, 'accumulated',"
            " CASE WHEN side = 0 THEN 'generation' ELSE 'reward' END,"
            " md5('r' || :day || '-' || g)::uuid::text, md5('j' || :day || '-' || g)::uuid::text, true, "
            f" {at} FROM generate_series(0, :jobs - 1) AS g, (VALUES (0), (1)) AS sides(side)"
        ), p)
        conn.execute(text(  # keyed transfers between requesters
            "INSERT INTO kudos_events (user_id, amount, bucket, reason, other_user_id, idempotency_key, folded, created)"
            " SELECT CASE WHEN side = 0 THEN :rf + g % :rn ELSE :rf + (g + 1) % :rn END,"
            " CASE WHEN side = 0 THEN -5 ELSE 5 END, CASE WHEN side = 0 THEN 'gifted' ELSE 'received' END, 'transfer',"
            " CASE WHEN side = 0 THEN :rf + (g + 1) % :rn ELSE :rf + g % :rn END,"
            " CASE WHEN side = 0 THEN 'gift-' || :day || '-' || g END, true,"
            f" CAST(:start AS timestamp) + (g * {seconds / transfers}) * interval '1 second'"
            f" FROM generate_series(0, {transfers - 1}) AS g, (VALUES (0), (1)) AS sides(side)"
        ), p)
        conn.execute(text(  # the balances move as the events say
            "UPDATE users SET kudos = kudos + s.total, kudos_accumulated = kudos_accumulated + s.accumulated,"
            " kudos_gifted = kudos_gifted + s.gifted, kudos_received = kudos_received + s.received"
            " FROM (SELECT user_id, sum(amount) AS total,"
            "   coalesce(sum(amount) FILTER (WHERE bucket = 'accumulated'), 0) AS accumulated,"
            "   coalesce(sum(amount) FILTER (WHERE bucket = 'gifted'), 0) AS gifted,"
            "   coalesce(sum(amount) FILTER (WHERE bucket = 'received'), 0) AS received"
            "   FROM kudos_events WHERE created >= :start AND created < :end"
            "   AND reason <> 'admin' GROUP BY user_id) AS s WHERE users.id = s.user_id"
        ), p)
        conn.execute(text(
            "INSERT INTO webhook_deliveries (job_id, request_id, kind, user_id, url, kudos, state, attempts, next_attempt,"
            " last_status, created, sent_at)"
            " SELECT md5('w' || :day || '-' || g)::uuid::text, md5('r' || :day || '-' || g)::uuid::text, 'image', :rf,"
            f" 'https://example.com/hook', 10.5, 'sent', 1, {at}, 200, {at}, {at}"
            f" FROM generate_series(0, :jobs / {WEBHOOK_EVERY} - 1) AS g"
        ), {**p, "step": step * WEBHOOK_EVERY})
        conn.execute(text(
            "INSERT INTO worker_messages (id, worker_id, user_id, message, origin, expiry, created)"
            " SELECT md5('m' || :day || '-' || g)::uuid::text, NULL, :author, 'please update your worker', 'bench',"
            f" CAST(:start AS timestamp) + (g * {seconds / notes} + 43200) * interval '1 second',"
            f" CAST(:start AS timestamp) + (g * {seconds / notes}) * interval '1 second'"
            f" FROM generate_series(0, {notes - 1}) AS g"
        ), {**p, "author": world["author"]})
        if not requests:
            return
        # the span's last 25 minutes of requests and jobs, each a copy of the real one
        window = int(rate * REQUEST_WINDOW.total_seconds())
        end = start + span
        w = {**p, "count": window, "wstart": end - REQUEST_WINDOW, "wstep": REQUEST_WINDOW.total_seconds() / window,
             "request": world["template"]["request"], "job": world["template"]["job"]}
        created = "CAST(:wstart AS timestamp) + (g * :wstep) * interval '1 second'"
        rid = "md5('q' || :day || '-' || g)::uuid::text"
        clone(conn, "requests", "t.id = :request", window, w, id=rid, user_id=f"{req_first} + g % {req_last - req_first + 1}",
              created=created, expiry=f"{created} + interval '20 minutes'")
        clone(conn, "jobs", "t.id = :job", window, w, id="md5('k' || :day || '-' || g)::uuid::text", request_id=rid,
              started=created, deadline=f"{created} + interval '150 seconds'", finished_at=created)


def run_jobs(app, now: dt.datetime) -> dict[str, float]:
    """What the scheduler would have run by `now`: the statistics roll-up, then every
    retention job until it has nothing left; seconds and rows per job."""
    from horde.domain.queue import maintenance, stats
    from horde.jobs import retention

    svc = app.extensions["horde"]
    figures: dict[str, float] = {}
    with svc.db.session_factory() as session:
        started, rolled = time.monotonic(), 0
        while folded := stats.roll_up(session, "image"):
            rolled += folded
        maintenance.fold_anonymous_kudos(session)
        figures["roll-up-stats"] = rolled
        figures["roll-up-stats seconds"] = round(time.monotonic() - started, 1)
        for job in retention.JOBS:
            started = time.monotonic()
            figures[job.name] = retention.run(job, session, svc, now, budget=float("inf"))
            figures[f"{job.name} seconds"] = round(time.monotonic() - started, 1)
    return figures


def vacuum(app) -> None:
    """What autovacuum does after each big change: the deleted rows' space becomes reusable."""
    with app.extensions["horde"].db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))


def measure(app) -> dict:
    engine = app.extensions["horde"].db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        sizes = {t: round(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one() / 2**20, 1) for t in TABLES}
        indexes = {t: round(conn.execute(text(f"SELECT pg_indexes_size('{t}')")).scalar_one() / 2**20, 1) for t in TABLES[:3]}
        rows = {t: int(conn.execute(text(f"SELECT reltuples FROM pg_class WHERE relname = '{t}'")).scalar_one()) for t in TABLES}
        database = round(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20, 1)
    return {"database_mb": database, "table_mb": sizes, "index_mb": indexes, "rows": rows}


def check_books(app) -> float:
    """The largest difference, over all users, between a balance and its events + roll-ups."""
    with app.extensions["horde"].db.engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT coalesce(max(abs(u.kudos - u.kudos_adjustments - coalesce(e.s, 0) - coalesce(r.s, 0))), 0) FROM users u"
            " LEFT JOIN (SELECT user_id, sum(amount) s FROM kudos_events WHERE folded GROUP BY user_id) e ON e.user_id = u.id"
            " LEFT JOIN (SELECT user_id, sum(amount) s FROM kudos_rollups GROUP BY user_id) r ON r.user_id = u.id"
        )).scalar_one())


def explain(app, now: dt.datetime) -> list[dict]:
    """Every statement one more run of the retention jobs makes, with its plan on this data."""
    from horde.jobs import retention

    svc = app.extensions["horde"]
    seen: dict[str, tuple] = {}

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("DELETE", "SELECT", "UPDATE", "WITH")) and not executemany:
            seen.setdefault(" ".join(statement.split()), (statement, parameters))

    event.listen(svc.db.engine, "before_cursor_execute", note)
    try:
        with svc.db.session_factory() as session:
            for job in retention.JOBS:
                retention.run(job, session, svc, now, budget=0.0)
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", note)
    plans = []
    with svc.db.engine.connect() as conn:
        for statement, parameters in seen.values():
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
            plans.append({"statement": " ".join(statement.split())[:160], "plan": rows})
        conn.rollback()
    return plans


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench retention")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--rate", type=float, default=100.0, help="delivered jobs a second")
    parser.add_argument("--runs-per-day", type=int, default=4, help="retention runs per simulated day (the scheduler: every minute)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the retention statements at the end")
    args = parser.parse_args(argv)
    report: dict = {"scenario": "retention", "days": args.days, "rate": args.rate, "runs_per_day": args.runs_per_day,
                    "per_day": []}
    span = dt.timedelta(days=1) / args.runs_per_day
    with scratch_app("horde_retention", rate_limits=False, run_jobs=False) as app:
        world = seed(app)
        vacuum(app)
        report["seeded"] = measure(app)
        print(json.dumps({"day": 0, **report["seeded"]}), flush=True)
        today = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        first = today - dt.timedelta(days=args.days)
        for day in range(args.days):
            inserting = pruning = vacuuming = 0.0
            jobs: dict[str, float] = {}
            for run in range(args.runs_per_day):
                start = first + dt.timedelta(days=day) + run * span
                last = run == args.runs_per_day - 1
                began = time.monotonic()
                insert_span(app, world, start, span, args.rate, day * args.runs_per_day + run, requests=last)
                inserted = time.monotonic()
                if args.explain and last and day == args.days - 1:  # the plans on a full database
                    report["plans"] = explain(app, start + span)
                    inserted = time.monotonic()
                for name, value in run_jobs(app, start + span).items():
                    jobs[name] = round(jobs.get(name, 0) + value, 1)
                pruned = time.monotonic()
                vacuum(app)
                inserting, pruning = inserting + inserted - began, pruning + pruned - inserted
                vacuuming += time.monotonic() - pruned
            sizes = measure(app)
            line = {"day": day + 1, **sizes, "jobs": jobs, "insert_seconds": round(inserting, 1),
                    "retention_seconds": round(pruning, 1), "vacuum_seconds": round(vacuuming, 1)}
            report["per_day"].append(line)
            print(json.dumps(line), flush=True)
        report["books_off_by"] = check_books(app)
        for plan in report.get("plans", []):
            print(plan["statement"], *("    " + row for row in plan["plan"]), sep="\n")
    summary = [(line["day"], line["database_mb"]) for line in report["per_day"]]
    print(json.dumps({"database_mb_per_day": summary, "books_off_by": report["books_off_by"]}), flush=True)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
