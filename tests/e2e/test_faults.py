"""The whole under faults: a Redis or PostgreSQL outage costs no more than the outage.

Each test runs the core loop (async, pop, upload, submit, check, status, a transfer and the
performance route; tests/faults.py) through a real gunicorn server while it breaks a
private part: its own redis-server, a TCP proxy in front of PostgreSQL that it cuts, one
web process or the whole server killed with SIGKILL. Then the books are read straight
from the database: every request answered 202 is still there, every submit answered 200
is a finished job, and no job was paid twice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from tests import support
from tests.faults import CoreLoop, CuttableProxy, PrivateRedis, child_pids, wait_for, web_worker_pids
from tests.fetch_targets import FetchTargets
from tests.imaging import REGEN, webp_bytes

OUTAGE_SECONDS = 8


@pytest.fixture(scope="module")
def horde_db(tmp_path_factory):
    """One migrated database for the module, with its three users."""
    env = support.migrated_server_env("horde_faults", tmp_path_factory.mktemp("faults"))
    keys = {}
    for name, flags in (("requester", ("--kudos", "1000000")), ("gpu", ("--trusted",)), ("recipient", ())):
        alias, key = create_user(env, f"fault-{name}", *flags)
        keys[name] = key
        keys[f"{name}_alias"] = alias
    yield env, keys
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def create_user(env: dict, username: str, *flags: str) -> tuple[str, str]:
    """`horde user create` in this process (one application import instead of one per user)."""
    from click.testing import CliRunner

    from horde.cli import main

    result = CliRunner().invoke(main, ["user", "create", "--username", username, *flags], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.split("created ", 1)[1].split()[0], result.output.split("api key: ", 1)[1].split()[0]


def core_loop(server: support.ServerProcess, keys: dict) -> CoreLoop:
    return CoreLoop(server.url, keys["requester"], keys["gpu"], keys["recipient_alias"])


def assert_books(database_url: str, loop: CoreLoop) -> None:
    """Nothing lost, nothing paid twice."""
    record = loop.record
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            present = set(conn.execute(text("SELECT id FROM requests")).scalars())
            lost = [rid for rid in record.queued if rid not in present]
            assert not lost, f"{len(lost)} requests answered 202 are gone"
            done = set(conn.execute(text("SELECT id FROM jobs WHERE state = 'ok'")).scalars())
            missing = [jid for jid in record.delivered if jid not in done]
            assert not missing, f"{len(missing)} jobs answered 200 on submit are not finished"
            paid_twice = conn.execute(
                text(
                    "SELECT job_id, reason, count(*) FROM kudos_events WHERE job_id IS NOT NULL"
                    " GROUP BY job_id, reason HAVING count(*) > 1"
                )
            ).all()
            assert paid_twice == []
            twice_done = conn.execute(
                text("SELECT request_id FROM jobs WHERE state = 'ok' GROUP BY request_id HAVING count(*) > 1")
            ).all()
            assert twice_done == []  # every request asked for one image
    finally:
        engine.dispose()


def describe(calls) -> str:
    return ", ".join(f"{c.route}:{c.status}:{c.rc}" for c in calls[:10])


def figures(name: str, record, window: tuple[float, float]) -> None:
    """The closing note's figures (visible with -s)."""
    during = [c for c in record.calls if window[0] <= c.started < window[1]]
    print(
        f"\n{name}: {len(record.calls)} calls, {len(during)} during the fault, {len(record.failures())} failed "
        f"({len(record.server_errors())} 5xx: {sorted({(c.status, c.rc) for c in record.server_errors()})}), "
        f"{len(record.delivered)} jobs delivered"
    )


def server_log(server: support.ServerProcess) -> str:
    return server.log_path.read_text(errors="replace")


# --- Redis ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_horde(horde_db):
    env, keys = horde_db
    redis = PrivateRedis().start()
    server = support.ServerProcess({**env, "HORDE_REDIS_URL": redis.url, "HORDE_LOG_LEVEL": "info"}, workers=2).start()
    yield env, keys, redis, server
    server.stop()
    redis.stop()


def test_a_redis_outage_costs_no_request(redis_horde):
    env, keys, redis, server = redis_horde
    ready = requests.get(f"{server.url}/api/v2/status/ready", timeout=10).json()
    assert ready["ready"] is True and ready["redis"] == {"configured": True, "ok": True, "serving_from": "redis"}
    with core_loop(server, keys) as loop:
        time.sleep(1.5)
        down_at = time.monotonic()
        redis.stop()
        time.sleep(OUTAGE_SECONDS)
        during = requests.get(f"{server.url}/api/v2/status/ready", timeout=10)
        heartbeat = requests.get(f"{server.url}/api/v2/status/heartbeat", timeout=10).json()
        redis.start()
        up_at = time.monotonic()
        back = wait_for(
            lambda: requests.get(f"{server.url}/api/v2/status/ready", timeout=10).json()["redis"]["serving_from"] == "redis",
            timeout=10,
        )
        time.sleep(1.5)
    record = loop.record
    figures("redis outage", record, (down_at, up_at))
    assert record.server_errors() == [], describe(record.server_errors())
    assert record.failures() == [], describe(record.failures())
    # The loop went on during the outage: every route answered, each many times.
    for route in ("async", "pop", "upload", "submit", "check", "status", "transfer", "performance"):
        assert sum(1 for c in record.calls if c.route == route and down_at + 1 <= c.started < up_at and c.status < 400) >= 3, route
    # Readiness says what happened; the heartbeat stays OK (the core loop works).
    assert during.status_code == 200
    assert during.json()["degraded"] is True and during.json()["redis"]["ok"] is False
    assert heartbeat["message"] == "OK"
    assert back, "readiness did not report Redis back within 10 s of its return"
    assert_books(env["HORDE_DATABASE_URL"], loop)
    log = server_log(server)
    # One line when it went and one when it came back, per process (2 web + the scheduler),
    # never a traceback per tick.
    assert 1 <= log.count("Redis unreachable") <= 3, log[-3000:]
    assert 1 <= log.count("Redis is back") <= 3, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


# --- PostgreSQL ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proxied_horde(horde_db):
    """A horde without Redis whose every database connection goes through a proxy we cut."""
    env, keys = horde_db
    direct = env["HORDE_DATABASE_URL"]
    proxy = CuttableProxy(("127.0.0.1", 5432)).start()
    proxied = {**env, "HORDE_REDIS_URL": "", "HORDE_DATABASE_URL": direct.replace(":5432/", f":{proxy.port}/")}
    server = support.ServerProcess(proxied, workers=2).start()
    yield proxied, keys, direct, proxy, server
    server.stop()
    proxy.cut()


def test_a_database_outage_costs_only_the_outage(proxied_horde):
    env, keys, direct, proxy, server = proxied_horde
    with core_loop(server, keys) as loop:
        time.sleep(1.5)
        cut_at = time.monotonic()
        proxy.cut()
        time.sleep(1.0)
        probe_started = time.monotonic()
        heartbeat = requests.get(f"{server.url}/api/v2/status/heartbeat", timeout=10)
        ready = requests.get(f"{server.url}/api/v2/status/ready", timeout=10)
        during = requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": keys["requester"]}, timeout=10)
        probe_seconds = time.monotonic() - probe_started
        time.sleep(2.0)
        proxy.restore()
        restored_at = time.monotonic()
        # Service is back within seconds: twenty answers in a row (the machine may be slow).
        recovered = wait_for(lambda: loop.record.succeeded(since=restored_at) >= 20, timeout=20)
    record = loop.record
    assert recovered, f"{record.succeeded(since=restored_at)} calls succeeded in the 20 s after the database came back"
    figures("database cut", record, (cut_at, restored_at))
    # While cut: quick JSON 503s that say so, and nothing else went wrong.
    assert heartbeat.json()["message"] == "DOWN"
    assert ready.status_code == 503 and ready.json()["rc"] == "NotReady" and ready.json()["database"]["ok"] is False
    assert during.status_code == 503 and during.json()["rc"] == "DatabaseUnavailable" and during.headers["Retry-After"]
    assert probe_seconds < 5
    errors = record.server_errors()
    assert all(c.status == 503 and c.rc == "DatabaseUnavailable" and c.retry_after for c in errors), describe(errors)
    assert all(cut_at - 1 <= c.started < restored_at for c in errors), describe(errors)
    assert [c for c in record.calls if c.status == 0] == []
    # Once the database is back, no request fails (pre-ping drops the dead connections).
    assert record.failures(since=restored_at) == [], describe(record.failures(since=restored_at))
    assert_books(direct, loop)
    # One line every few seconds while it is down, not a traceback per request or tick.
    assert "Traceback" not in server_log(server), server_log(server)[-3000:]
    # A restart while nobody asks anything: the pooled connections die idle, and the first
    # request of each process after it must not be the one that finds out.
    for path in ("/api/v2/status/performance", "/api/v2/find_user"):  # connections in both pools
        for _ in range(4):
            requests.get(f"{server.url}{path}", headers={"apikey": keys["requester"]}, timeout=10)
    proxy.cut()
    time.sleep(0.5)
    proxy.restore()
    time.sleep(1.5)  # longer than the idle time after which a pooled connection is pinged
    for path in ("/api/v2/status/performance", "/api/v2/stats/img/totals", "/api/v2/find_user"):
        for _ in range(4):  # each of the two processes, twice
            answer = requests.get(f"{server.url}{path}", headers={"apikey": keys["requester"]}, timeout=10)
            assert answer.status_code == 200, (path, answer.status_code, answer.text)


# --- killed processes ----------------------------------------------------------------------
def test_a_killed_web_process_is_replaced_and_loses_nothing(proxied_horde):
    env, keys, direct, proxy, server = proxied_horde
    with core_loop(server, keys) as loop:
        time.sleep(1.5)
        before = web_worker_pids(server.proc.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        killed_at = time.monotonic()
        replaced = wait_for(lambda: len(set(web_worker_pids(server.proc.pid)) - set(before)) == 1, timeout=15)
        recovered = wait_for(lambda: loop.record.succeeded(since=killed_at + 1) >= 20, timeout=20)
    record = loop.record
    assert recovered, f"{record.succeeded(since=killed_at + 1)} calls succeeded in the 20 s after the kill"
    figures("killed web process", record, (killed_at, killed_at + 1))
    assert replaced, "gunicorn did not replace the killed process"
    assert record.server_errors() == [], describe(record.server_errors())
    # Only calls the killed process was answering can fail (the connection drops).
    assert all(killed_at - 1 <= c.started < killed_at + 1 for c in record.failures()), describe(record.failures())
    assert_books(direct, loop)


def deliver(api: str, worker: str) -> str | None:
    """Pop one job and deliver it; its id, or None when there was nothing to do."""
    pop = {"name": "kill9-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN}
    job = requests.post(f"{api}/generate/pop", json=pop, headers={"apikey": worker}, timeout=10).json()
    if not job.get("id"):
        return None
    assert requests.put(job["r2_upload"], data=webp_bytes(), timeout=10).status_code == 200
    answer = requests.post(
        f"{api}/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 1}, headers={"apikey": worker}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return job["id"]


def test_a_killed_server_restarts_with_its_queue_and_pays_once(proxied_horde):
    """Last in the module: it kills the module's server."""
    env, keys, direct, proxy, server = proxied_horde
    requester, worker = keys["requester"], keys["gpu"]
    api = f"{server.url}/api/v2"
    while deliver(api, worker):  # what earlier tests left in the queue
        pass
    pop = {"name": "kill9-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN}
    ids = [
        requests.post(f"{api}/generate/async", json={"prompt": f"kill {n}"}, headers={"apikey": requester}, timeout=10).json()["id"]
        for n in range(4)
    ]
    in_flight = [requests.post(f"{api}/generate/pop", json=pop, headers={"apikey": worker}, timeout=10).json()["id"] for _ in range(2)]
    assert all(in_flight)
    for pid in [server.proc.pid, *child_pids(server.proc.pid)]:  # the master, its web processes, the scheduler
        os.kill(pid, signal.SIGKILL)
    server.proc.wait(10)
    database = create_engine(direct)
    restarted = support.ServerProcess(env, workers=2).start()
    try:
        api = f"{restarted.url}/api/v2"
        for request_id in ids:  # the queue is intact
            assert requests.get(f"{api}/generate/check/{request_id}", timeout=10).status_code == 200
        # The abandoned jobs: their TTL passes (we move their deadline), the scheduler puts
        # them back in the queue, and a worker delivers all four requests.
        with database.begin() as conn:
            conn.execute(
                text("UPDATE jobs SET deadline = :past WHERE state = 'processing'"),
                {"past": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)},
            )
        delivered = []

        def all_done() -> bool:
            job_id = deliver(api, worker)
            if job_id:
                delivered.append(job_id)
            return all(requests.get(f"{api}/generate/check/{rid}", timeout=10).json()["done"] for rid in ids)

        assert wait_for(all_done, timeout=40, interval=0.5), f"{len(delivered)} delivered"
        for job_id in in_flight:  # an abandoned job can no longer be submitted, nor paid
            late = requests.post(
                f"{api}/generate/submit", json={"id": job_id, "generation": "R2", "seed": 1}, headers={"apikey": worker}, timeout=10
            )
            assert 400 <= late.status_code < 500, late.text
        with database.connect() as conn:
            paid = dict(
                conn.execute(
                    text("SELECT job_id, count(*) FROM kudos_events WHERE job_id IS NOT NULL AND amount > 0 GROUP BY job_id")
                ).all()
            )
            done = conn.execute(text("SELECT request_id FROM jobs WHERE state = 'ok' AND request_id = ANY(:ids)"), {"ids": ids}).scalars().all()
        assert sorted(done) == sorted(ids)
        assert all(paid.get(job_id) == 1 for job_id in delivered)
        assert not set(paid) & set(in_flight)
    finally:
        restarted.stop()
        database.dispose()


def requests_possible(url: str) -> bool:
    try:
        requests.get(f"{url}/api/v2/status/heartbeat", timeout=1)
        return True
    except requests.RequestException:
        return False


# --- stopping ----------------------------------------------------------------------------------
STOP_LIMIT = 8.0  # seconds from Ctrl-C to the last process gone
INSTANCES, ROUNDS = 4, 5  # twenty stops, four instances side by side each time


def start_serve(env: dict, port: int, log_path) -> subprocess.Popen:
    """`horde serve` as a terminal starts it: the leader of its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "horde.cli", "serve", "--workers", "2"],
        env={**os.environ, **env, "HORDE_PORT": str(port), "HORDE_HOST": "127.0.0.1"},
        stdout=open(log_path, "a"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def test_ctrl_c_stops_every_instance_quickly_twenty_times(tmp_path):
    """Four instances side by side, stopped together with Ctrl-C, five times. The first of
    each round is downloading a source image that drips one byte a second: the download
    ends when the stop begins, and its client gets an answer."""
    env = {
        "HORDE_DATA_DIR": str(tmp_path), "HORDE_SECRET_KEY": "stop-secret", "HORDE_RATE_LIMITS": "false",
        "HORDE_MODE": "image", "HORDE_REDIS_URL": "", "HORDE_DATABASE_URL": "", "HORDE_LOG_LEVEL": "info",
        "HORDE_WEB_WORKERS": "1", "HOME": str(tmp_path / "home"), "XDG_RUNTIME_DIR": "",
        "HORDE_FETCH_ALLOW_PRIVATE": "true", "HORDE_FETCH_DEADLINE": "120",
    }
    support.horde_cli("db", "upgrade", env=env)
    times, answers = [], []
    with FetchTargets(drip_interval=1.0, drip_limit=600) as targets:
        for round_ in range(ROUNDS):
            ports = [support.free_port() for _ in range(INSTANCES)]
            logs = [tmp_path / f"serve-{round_}-{n}.log" for n in range(INSTANCES)]
            # The first instance runs the scheduler process too; the others share its database
            # (and would only wait for its leader lock), so they go without.
            procs = [start_serve({**env, "HORDE_RUN_JOBS": "true" if n == 0 else "false"}, port, log)
                     for n, (port, log) in enumerate(zip(ports, logs))]
            try:
                for port, proc, log in zip(ports, procs, logs):
                    assert wait_for(lambda: proc.poll() is None and requests_possible(f"http://127.0.0.1:{port}"), timeout=60), \
                        log.read_text()
                connections = targets.connections
                downloading = threading.Thread(target=lambda: answers.append(slow_request(ports[0], targets)), daemon=True)
                downloading.start()
                assert wait_for(lambda: targets.connections > connections, timeout=20), "the download did not start"
                groups = [os.getpgid(proc.pid) for proc in procs]
                started = time.monotonic()
                for group in groups:
                    os.killpg(group, signal.SIGINT)  # what Ctrl-C in a terminal does
                for proc in procs:
                    proc.wait(STOP_LIMIT + 25)
                    times.append(time.monotonic() - started)
                for group in groups:  # nothing of the instance is left behind
                    assert wait_for(lambda: not _group_alive(group), timeout=5), f"processes of group {group} remain"
                downloading.join(10)
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGKILL)
            for log in logs:
                text_ = log.read_text(errors="replace")
                assert "SIGKILL" not in text_ and "Traceback" not in text_, text_[-3000:]
    print(f"\nstop times: max {max(times):.2f}s, median {sorted(times)[len(times) // 2]:.2f}s; answers {answers}")
    assert len(times) == INSTANCES * ROUNDS
    assert max(times) < STOP_LIMIT, sorted(times)
    # The client downloading during each stop was answered (JSON), not dropped.
    assert len(answers) == ROUNDS and all(status == 400 for status, _ in answers), answers
    # No control socket shared through the home folder (gunicorn's default place for one).
    assert not (tmp_path / "home" / ".gunicorn").exists()


def slow_request(port: int, targets: FetchTargets) -> tuple[int, str]:
    answer = requests.post(
        f"http://127.0.0.1:{port}/api/v2/generate/async",
        json={"prompt": "from a slow URL", "source_image": targets.url("/drip")},
        headers={"apikey": "0000000000"}, timeout=60,
    )
    return answer.status_code, answer.json().get("rc", "")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
