"""Property-based fuzzing of our own API description: schemathesis reads /api/swagger.json of a
live gunicorn server (PostgreSQL, Redis, rate limits off) and sends generated requests, valid and
invalid, with the anonymous key, a funded user's key and a worker owner's key, in both modes.

Every answer must be below 500 and match the documented schema of its status. The run is bounded
by a number of examples per operation and a fixed seed (the same requests every run); its
figures (calls made, failures) are printed and kept in test-artifacts/fuzzing/<mode>-<key>.figures.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests import support
from tests.api.text.conftest import MODEL, VALIDATED
from tests.imaging import REGEN

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("HORDE_FUZZ_EXAMPLES", "8"))  # per operation and phase
SEED = int(os.environ.get("HORDE_FUZZ_SEED", "11"))
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
REPORTS = support.ROOT / "test-artifacts" / "fuzzing"
WORKER = {"image": ("/api/v2/generate/pop", ["stable_diffusion"], REGEN), "text": ("/api/v2/generate/text/pop", [MODEL], VALIDATED)}


@pytest.fixture(scope="module", params=["image", "text"])
def fuzzed_server(request, tmp_path_factory):
    mode = request.param
    env = support.migrated_server_env(f"horde_fuzz_{mode}", tmp_path_factory.mktemp(f"fuzz-{mode}"), HORDE_MODE=mode)
    server = support.ServerProcess(env, workers=2).start()
    _, funded = support.create_user_cli(env, "funded", "--kudos", "1000000")
    _, owner = support.create_user_cli(env, "owner", "--trusted", "--kudos", "1000")
    path, models, agent = WORKER[mode]
    popped = requests.post(
        f"{server.url}{path}", json={"name": "fuzzed worker", "models": models, "bridge_agent": agent},
        headers={"apikey": owner}, timeout=30,
    )
    assert popped.status_code == 200, popped.text
    server.mode, server.keys = mode, {"anonymous": "0000000000", "funded": funded, "worker": owner}
    yield server
    server.stop()
    support.drop_pg_database(env["HORDE_DATABASE_URL"])


def _schemathesis(server, key: str, report: Path) -> dict:
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{server.url}/api/swagger.json",
        "--header", f"apikey: {key}", "--checks", CHECKS, "--phases", PHASES,
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--no-shrink", "--workers", "1",
        # Event streams stay open while a request lives: their own tests cover them (test_event_streams).
        "--exclude-path-regex", "/events/",
        "--request-timeout", "30", "--report", "json,har", "--report-json-path", str(report.with_suffix(".json")),
        "--report-har-path", str(report.with_suffix(".har")), "--output-truncate", "true",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=report.parent)
    report.with_suffix(".txt").write_text(proc.stdout + proc.stderr)
    summary = json.loads(report.with_suffix(".json").read_text())
    calls = len(json.loads(report.with_suffix(".har").read_text())["log"]["entries"])
    return {"summary": summary, "calls": calls, "output": proc.stdout[-6000:]}


@pytest.mark.parametrize("who", ["anonymous", "funded", "worker"])
def test_no_5xx_and_answers_match_the_schema(fuzzed_server, who):
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{fuzzed_server.mode}-{who}"
    result = _schemathesis(fuzzed_server, fuzzed_server.keys[who], report)
    summary = result["summary"]
    cases = summary["test_cases"]
    figures = {
        "mode": fuzzed_server.mode, "key": who, "operations": summary["operations"]["tested"],
        "test_cases": cases["generated"], "calls": result["calls"], "failures": cases["unique_failures"],
        "errors": len(summary["errors"]),
    }
    print(json.dumps(figures))
    report.with_suffix(".figures.json").write_text(json.dumps(figures) + "\n")
    assert summary["complete"], result["output"]
    assert summary["operations"]["tested"] >= 20
    assert result["calls"] >= 500, figures  # the run really exercised the server
    assert not summary["errors"], result["output"]
    assert cases["unique_failures"] == 0, result["output"]
