"""horde-sdk 0.33.3's own live tests, run unmodified and strict against a server of ours.

The SDK is AGPL: its source distribution is downloaded at test time into `var/horde-sdk/`
(gitignored), never committed. Its test requirements go into `.venv-sdk`. The suite runs with
`TESTS_ONGOING=1` (every SDK model forbids unknown fields), `AI_HORDE_URL` ending in `/api/`, a
22-character development key and simulated workers (tests/simulated_workers.py) for the tests
that wait for a generation. The JUnit report of each run is kept under `test-artifacts/horde-sdk/`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from tests import support

SDK_VERSION = "0.33.3"
CACHE = support.ROOT / "var" / "horde-sdk"
SOURCE = CACHE / f"horde_sdk-{SDK_VERSION}"
ARTIFACTS = support.ROOT / "test-artifacts" / "horde-sdk"
# The SDK's test requirements (the part of its `dev` dependency group the live tests use), pinned
# to the versions of its uv.lock; pytest-timeout is ours.
TEST_REQUIREMENTS = ("pytest==9.1.1", "pytest-asyncio==1.4.0", "pytest-xdist==3.8.0", "pytest-timeout==2.4.0")
# No SDK test waits longer than this for our server (a hung test fails alone, with a report).
TEST_TIMEOUT = 180
RUN_TIMEOUT = 1200  # the longest a mode's whole run may take


@contextmanager
def _cache_lock():
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two test processes may both need it: one downloads
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], timeout: float) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def sdk_source() -> Path:
    """The unpacked sdist, downloaded once; the SDK environment with the test requirements."""
    python = support.SDK_PYTHON
    if not python.exists():
        if support.services_required():
            pytest.fail(f"horde-sdk environment missing at {python}: run `make sdk-env`")
        pytest.skip(f"horde-sdk environment missing at {python} (make sdk-env)")
    with _cache_lock():
        archive = CACHE / f"horde_sdk-{SDK_VERSION}.tar.gz"
        if not archive.exists():
            _run([str(python), "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                  f"horde_sdk=={SDK_VERSION}", "-d", str(CACHE)], timeout=600)
        if not (SOURCE / "tests" / "conftest.py").exists():
            with tarfile.open(archive) as tar:
                tar.extractall(CACHE, filter="data")
        check = subprocess.run([str(python), "-c", "import pytest, pytest_asyncio, xdist, pytest_timeout"], capture_output=True)
        if check.returncode != 0:
            _run([str(python), "-m", "pip", "install", "--quiet", *TEST_REQUIREMENTS], timeout=600)
    return SOURCE


@dataclass
class SuiteRun:
    outcomes: dict[str, str] = field(default_factory=dict)  # "file::test" -> passed / failed / skipped
    messages: dict[str, str] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker_errors: list[str] = field(default_factory=list)

    def merge(self, other: "SuiteRun") -> None:
        self.outcomes.update(other.outcomes)
        self.messages.update(other.messages)
        self.summaries.extend(other.summaries)
        self.seconds += other.seconds

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def failed(self) -> list[str]:
        return sorted(name for name, outcome in self.outcomes.items() if outcome != "passed")


def _parse_junit(path: Path) -> SuiteRun:
    run = SuiteRun()
    for case in ET.parse(path).getroot().iter("testcase"):
        module = next(part for part in case.get("classname", "").split(".") if part.startswith("test_"))
        name = f"{module}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", (child.get("message") or child.text or "")[:2000]
            elif child.tag == "skipped":
                outcome, message = "skipped", child.get("message") or ""
        run.outcomes[name] = outcome
        if message:
            run.messages[name] = message
    return run


def run_suite(base_url: str, api_key: str, files: list[str], label: str, parallel: int = 0, timeout: float = 900) -> SuiteRun:
    """Run the SDK's tests in `files` (paths under its `tests/`) against `base_url`."""
    source = sdk_source()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    junit = ARTIFACTS / f"{label}.xml"
    env = {
        # Not ours: our PYTHONPATH (its tests are a package named `tests` too), pytest-xdist's
        # worker variables, other SDK settings.
        **{k: v for k, v in os.environ.items() if not k.startswith(("AI_HORDE", "HORDE_SDK", "PYTEST", "PYTHONPATH"))},
        "AI_HORDE_URL": f"{base_url}/api/",
        "AI_HORDE_DEV_APIKEY": api_key,
        "HORDE_SDK_RUN_NETWORK_TESTS": "1",
        "TESTS_ONGOING": "1",
        "AI_HORDE_TESTING": "1",
        "LOGFIRE_IGNORE_NO_CONFIG": "1",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [str(support.SDK_PYTHON), "-m", "pytest", *(f"tests/{name}" for name in files), "-p", "no:cacheprovider",
         "-q", "-rfE", "--color=no", f"--timeout={TEST_TIMEOUT}", *(["-n", str(parallel)] if parallel else []),
         f"--junitxml={junit}", "-o", "junit_family=xunit1"],
        cwd=source, env=env, capture_output=True, text=True, timeout=timeout,
    )
    (ARTIFACTS / f"{label}.log").write_text(proc.stdout + proc.stderr)
    if not junit.exists():
        raise AssertionError(f"the SDK's pytest wrote no report ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    run = _parse_junit(junit)
    run.seconds = time.monotonic() - started
    run.summaries = [f"{label}: {line.strip('= ')}" for line in proc.stdout.splitlines()
                     if re.search(r"\b(passed|failed|skipped|error)\b.* in [0-9.]+s", line)][-1:]
    return run


# --- what runs in each mode, and what is expected of each test --------------------------------
API = "ai_horde_api/"
FILES = {
    "image": [f"{API}test_ai_horde_alchemy_api_calls.py", f"{API}test_ai_horde_api_calls.py",
              f"{API}test_ai_horde_generate_api_calls.py", f"{API}test_ai_horde_stats_api_calls.py",
              f"{API}test_ai_horde_status_api_calls.py", f"{API}test_dynamically_validate_against_swagger.py",
              f"{API}test_shared_keys_api_calls.py", f"{API}test_swagger.py"],
    # A text horde serves no image generation or alchemy: the files about those are the image run's.
    "text": [f"{API}test_ai_horde_generate_text_api_calls.py", f"{API}test_ai_horde_stats_api_calls.py",
             f"{API}test_ai_horde_status_api_calls.py", f"{API}test_dynamically_validate_against_swagger.py",
             f"{API}test_shared_keys_api_calls.py", f"{API}test_swagger.py"],
}
# Run first and alone, on the fresh image horde: its own fake worker must find the queue empty
# and take its job before any simulated worker could (the public server's CI runs it this way).
ROUNDTRIP = f"{API}test_ai_worker_roundtrip_api_calls.py"

IMAGE_DOCUMENT = ("needs its own issue: it asks a text horde's Swagger document for the image routes "
                  "(/v2/generate/async, ModelGenerationInputStable); a horde of ours documents the routes it serves")
EVERY_ROUTE = ("needs its own issue: it wants every route horde-sdk knows in one document: both modes, alchemy "
               "(issue 15), shared keys and styles (issue 17), collections, and routes our spec does not have "
               "(/v2/generate/request/{id}, /v2/status/sampler_constraints, /v2/status/style_contract, "
               "/v2/operations/moderation/*), with path parameters named as the SDK names them")

GENERATE = "test_ai_horde_generate_api_calls::"
STATS = "test_ai_horde_stats_api_calls::"
STATUS = "test_ai_horde_status_api_calls::"
SWAGGER = "test_swagger::"
VALIDATE = "test_dynamically_validate_against_swagger::"
COMMON = [
    f"{STATS}test_get_image_stats_models", f"{STATS}test_get_image_stats_models_total",
    f"{STATS}test_get_text_stats_models", f"{STATS}test_get_text_stats_models_total",
    f"{STATUS}test_ai_horde_heartbeat", f"{STATUS}test_horde_performance", f"{STATUS}test_horde_status_models_all",
    f"{STATUS}test_horde_status_models_single_image", f"{STATUS}test_horde_status_models_single_text",
    f"{STATUS}test_news", f"{VALIDATE}test_all_ai_horde_model_defs_in_swagger_from_prod_swagger",
    f"{VALIDATE}test_all_ai_horde_model_fields_match_swagger_from_prod_swagger",
    "test_shared_keys_api_calls::test_check_redis_cache_refreshed_on_shared_key_modified",
    f"{SWAGGER}test_swagger_parser_init", f"{SWAGGER}test_get_swagger_doc",
    f"{SWAGGER}test_extract_all_payload_examples", f"{SWAGGER}test_extract_all_response_examples",
]
IMAGE_ONLY = [
    "test_ai_horde_alchemy_api_calls::test_alchemy_request_cleanup",
    "test_ai_horde_alchemy_api_calls::test_alchemy_request_strip_background",
    *(f"test_ai_horde_api_calls::{name}" for name in (
        "test_AIHordeAPIClient_init", "test_generate_async", "test_workers_all", "test_HordeRequestSession_cleanup",
        "test_HordeRequestSession_async", "test_HordeRequestSession_async_exception_raised")),
    *(f"{GENERATE}{name}" for name in (
        "test_multiple_concurrent_async_requests", "test_simple_client_image_generate",
        "test_simple_client_image_generate_with_post_process",
        "test_simple_client_image_generate_with_post_process_costly_order",
        "test_simple_client_image_generate_with_post_process_fix_costly_order",
        "test_simple_client_image_generate_no_apikey_specified", "test_simple_client_image_generate_loras",
        "test_simple_client_async_image_generate", "test_simple_client_image_generate_multiple_n",
        "test_simple_client_image_generate_multiple_requests", "test_simple_client_alchemy_basic",
        "test_simple_client_async_alchemy_basic_flood", "test_simple_client_async_image_generate_multiple",
        "test_simple_client_async_image_generate_multiple_with_timeout",
        "test_multiple_concurrent_async_requests_cancel_single_task",
        "test_multiple_concurrent_async_requests_cancel_all_tasks", "test_check_image_gen_callback",
        "test_check_image_gen_callback_keyboard_interrupt", "test_check_alchemy_callback",
        "test_bad_image_gen_callback", "test_bad_alchemy_callback", "test_remix")),
    "test_ai_worker_roundtrip_api_calls::test_basic_image_roundtrip",
]
TEXT_ONLY = [
    "test_ai_horde_generate_text_api_calls::test_text_generate",
    "test_ai_horde_generate_text_api_calls::test_text_generate_async",
    "test_ai_horde_generate_text_api_calls::test_text_generate_async_keyboard_interrupt",
]
# Anything not named here must pass. ("skip", why): the SDK itself skips it.
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "image": {
        f"{GENERATE}test_remix": ("skip", "the SDK skips it: 'This test is too slow to run in CI'"),
        f"{VALIDATE}test_all_ai_horde_model_defs_in_swagger_from_prod_swagger": ("xfail", EVERY_ROUTE),
    },
    "text": {
        f"{SWAGGER}test_get_swagger_doc": ("xfail", IMAGE_DOCUMENT),
        f"{VALIDATE}test_all_ai_horde_model_defs_in_swagger_from_prod_swagger": ("xfail", EVERY_ROUTE),
    },
}
TESTS = {"image": COMMON + IMAGE_ONLY, "text": COMMON + TEXT_ONLY}


MODES = ("image", "text")


def cases() -> list:
    """One pytest parameter per SDK test and mode; the expected failures carry a strict xfail
    naming why, so each one fails our suite as soon as it starts passing."""
    params = []
    for mode in MODES:
        for name in TESTS[mode]:
            kind, reason = EXPECTED[mode].get(name, ("pass", ""))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if kind == "xfail" else []
            params.append(pytest.param(mode, name, marks=marks, id=f"{mode}-{name.split('::')[1]}"))
    return params


def check_outcome(run: "SuiteRun", mode: str, name: str) -> None:
    outcome = run.outcomes.get(name)
    assert outcome is not None, f"{name} did not run (see {ARTIFACTS})"
    kind, reason = EXPECTED[mode].get(name, ("pass", ""))
    wanted = "skipped" if kind == "skip" else "passed"
    assert outcome == wanted, f"{name}: {outcome}\n{run.messages.get(name, '')}"


@dataclass
class SiblingPair:
    """The image and the text run's hordes, each other's sibling."""

    ports: dict[str, int]
    ready: dict[str, threading.Event] = field(default_factory=lambda: {m: threading.Event() for m in MODES})
    done: dict[str, threading.Event] = field(default_factory=lambda: {m: threading.Event() for m in MODES})

    @staticmethod
    def other(mode: str) -> str:
        return "text" if mode == "image" else "image"

    def wait_until_ready(self, mode: str, timeout: float = 600) -> None:
        """This mode's workers are online; wait for the sibling's (its live models are asked for)."""
        self.ready[mode].set()
        self.ready[self.other(mode)].wait(timeout)

    def finished(self, mode: str, timeout: float = RUN_TIMEOUT) -> None:
        """This mode's suite is done (or failed); keep serving the sibling until its suite is."""
        self.ready[mode].set()  # a run that failed early must not hold the other one
        self.done[mode].set()
        self.done[self.other(mode)].wait(timeout)


# --- one run per mode --------------------------------------------------------------------------
IMAGE_MODEL = "Deliberate"  # what the SDK's tests ask for
TEXT_MODEL = "koboldcpp/LLaMA2-13B-Psyfighter2"
# A simulated GPU takes 3 s per image of a batch: one image is ready by the SDK's second poll
# (4 s), while a batch of three is not done within the 7 s one test gives it to stay unfinished.
SECONDS_PER_IMAGE = 3.0
# The SDK's image tests mostly wait for polls: several run at once (each process of the SDK's
# pytest imports it for seconds, so the short text run stays in one).
PARALLEL = {"image": 3, "text": 0}


def _wait_for_month_statistics(base_url: str, deadline: float = 60) -> None:
    """The roundtrip's image in the month's statistics (the SDK's stats test compares them)."""
    import requests

    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if requests.get(f"{base_url}/api/v2/stats/img/models", timeout=10).json().get("month"):
            return
        time.sleep(0.5)
    raise AssertionError("the roundtrip's image never reached the month's statistics")


def run_mode(mode: str, data_dir: Path, pair: "SiblingPair | None" = None) -> SuiteRun:
    """A fresh gunicorn horde of this mode on PostgreSQL (image: without Redis, so statistics
    must agree across processes through the database; text: with Redis), rate limits off.
    With a pair, the two modes' hordes are each other's sibling (HORDE_SIBLING_URL), as one
    horde serving both kinds: each suite starts once both have workers online, and each horde
    stays up until both suites are done."""
    from tests.simulated_workers import SimulatedWorker

    sdk_source()
    extra = {"HORDE_MODE": mode, "HORDE_STATS_SECONDS": "1"}
    if mode == "image":
        extra["HORDE_REDIS_URL"] = ""
    if pair is not None:
        extra["HORDE_SIBLING_URL"] = f"http://127.0.0.1:{pair.ports[pair.other(mode)]}"
    env = support.migrated_server_env(f"horde_sdk_{mode}", data_dir, **extra)
    server = support.ServerProcess(env, workers=2, port=pair.ports[mode] if pair else None)
    workers: list[SimulatedWorker] = []
    total = SuiteRun()
    try:
        server.start()
        _, developer = support.create_user_cli(env, "sdk-developer", "--kudos", "1000000", "--concurrency", "500")
        _, owner = support.create_user_cli(env, "simulated-gpus", "--trusted")
        if mode == "image":
            total.merge(run_suite(server.url, developer, [ROUNDTRIP], f"{mode}-roundtrip"))
            _wait_for_month_statistics(server.url)
            workers = [SimulatedWorker(server.url, owner, "image", f"simulated-gpu-{i}", [IMAGE_MODEL], SECONDS_PER_IMAGE)
                       for i in range(4)]
            workers.append(SimulatedWorker(server.url, owner, "alchemy", "simulated-alchemist", [], 1.0))
        else:
            workers = [SimulatedWorker(server.url, owner, "text", f"simulated-scribe-{i}", [TEXT_MODEL], 1.0)
                       for i in range(2)]
        for worker in workers:
            worker.start()
        if pair is not None:
            pair.wait_until_ready(mode)
        total.merge(run_suite(server.url, developer, FILES[mode], mode, parallel=PARALLEL[mode]))
    finally:
        if pair is not None:
            pair.finished(mode)
        for worker in workers:
            worker.stop()
        server.stop()
        support.drop_pg_database(env["HORDE_DATABASE_URL"])
    total.worker_errors = [f"{w.worker_name}: {e}" for w in workers for e in w.errors]
    _write_summary(mode, total)
    return total


def _write_summary(mode: str, run: SuiteRun) -> None:
    lines = [f"horde-sdk {SDK_VERSION} live tests, {mode} mode: {run.counts()} in {run.seconds:.0f} s",
             *(f"  SDK summary: {line}" for line in run.summaries)]
    for name in run.failed():
        kind, reason = EXPECTED[mode].get(name, ("pass", ""))
        lines.append(f"  {run.outcomes[name]:8} {name}" + (f"  [expected: {reason}]" if reason else "  [UNEXPECTED]"))
    lines += [f"  worker error: {error}" for error in run.worker_errors]
    (ARTIFACTS / f"summary-{mode}.txt").write_text("\n".join(lines) + "\n")


# --- in the background, while the rest of the suite runs ------------------------------------
# The SDK's tests mostly wait (they poll every 4 s), so both modes run in threads from the start
# of the session: under pytest-xdist in the controller process, as soon as a node has collected
# tests/e2e/test_sdk_suite.py (tests/conftest.py), otherwise in the test process at its first
# use. The test module, collected last, reads the results.
RUN_ENV = "HORDE_SDK_SUITE_RUN"
RESULT_WAIT = 1800
_threads: list[threading.Thread] = []
_started = threading.Lock()


def run_id() -> str:
    return os.environ.setdefault(RUN_ENV, f"{os.getpid()}-{time.time_ns()}")


def _result_path(mode: str) -> Path:
    return ARTIFACTS / f"result-{run_id()}-{mode}.json"


def _run_and_record(mode: str, pair: SiblingPair) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix=f"horde-sdk-suite-{mode}-"))
    try:
        record = {"run": asdict(run_mode(mode, data_dir, pair))}
    except pytest.skip.Exception as exc:
        record = {"skip": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - reported by the test that reads it
        record = {"fail": f"{type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    partial = _result_path(mode).with_suffix(".partial")
    partial.write_text(json.dumps(record))
    partial.replace(_result_path(mode))


def start_in_background() -> None:
    """Start both modes once per session (a marker file tells the test processes)."""
    with _started:
        if _threads:
            return
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("result-*"):  # earlier sessions' results
            old.unlink(missing_ok=True)
        ports: set[int] = set()
        while len(ports) < len(MODES):
            ports.add(support.free_port())
        pair = SiblingPair(dict(zip(MODES, sorted(ports))))
        for mode in MODES:
            _result_path(mode).with_suffix(".started").write_text(str(os.getpid()))
            thread = threading.Thread(target=_run_and_record, args=(mode, pair), name=f"horde-sdk-{mode}", daemon=True)
            thread.start()
            _threads.append(thread)


def wait_for_background(timeout: float = RESULT_WAIT) -> None:
    for thread in _threads:
        thread.join(timeout)


def results(mode: str) -> SuiteRun:
    """This mode's run: started by the controller process, or here now."""
    if not _result_path(mode).with_suffix(".started").exists():
        start_in_background()
    deadline = time.monotonic() + RESULT_WAIT
    path = _result_path(mode)
    while not path.exists():
        assert time.monotonic() < deadline, f"no result of the {mode} run after {RESULT_WAIT} s"
        time.sleep(1)
    record = json.loads(path.read_text())
    if "skip" in record:
        pytest.skip(record["skip"])
    if "fail" in record:
        pytest.fail(f"the {mode} run did not finish: {record['fail']}")
    return SuiteRun(**record["run"])
