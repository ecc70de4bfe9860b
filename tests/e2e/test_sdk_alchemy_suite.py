"""horde-sdk 0.33.3's own alchemy tests, unmodified and strict, against a gunicorn server with a
simulated alchemist: `test_alchemy_request_cleanup`, `test_simple_client_alchemy_basic` and
`test_check_alchemy_callback`.

The SDK's test suite ships in its source distribution (AGPL: never vendored). Point
HORDE_SDK_SOURCE at an unpacked horde-sdk 0.33.3 sdist to run this (the SDK-suite issue
downloads it at test time); without it the test is skipped with one line.
"""

import io
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests import support

SDK_TESTS = (
    "tests/ai_horde_api/test_ai_horde_alchemy_api_calls.py::test_alchemy_request_cleanup",
    "tests/ai_horde_api/test_ai_horde_generate_api_calls.py::TestAIHordeGenerate::test_simple_client_alchemy_basic",
    "tests/ai_horde_api/test_ai_horde_generate_api_calls.py::TestAIHordeGenerate::test_check_alchemy_callback",
)
FORMS = ["caption", "nsfw", "interrogation", "strip_background", "RealESRGAN_x2plus", "RealESRGAN_x4plus"]
ALCHEMIST = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"


def _small_webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (5, 90, 5)).save(out, format="WEBP")
    return out.getvalue()


def run_alchemist(base: str, key: str, stop: threading.Event, done: list) -> None:
    """Pop every form there is and answer it as an alchemist would, until told to stop."""
    image = _small_webp()
    answers = {
        "caption": "a test image", "nsfw": False,
        "interrogation": {"tags": [], "sites": [], "artists": [], "flavors": [], "mediums": [], "movements": [], "techniques": []},
    }
    while not stop.is_set():
        popped = requests.post(f"{base}/api/v2/interrogate/pop", headers={"apikey": key}, timeout=10, json={
            "name": "sdk-suite-alchemist", "forms": FORMS, "amount": 5, "bridge_agent": ALCHEMIST, "max_tiles": 64,
        }).json()
        for form in popped.get("forms") or []:
            name = form["form"]
            if form.get("r2_upload"):
                requests.put(form["r2_upload"], data=image, timeout=10)
                result = {name: "R2"}
            else:
                result = {name: answers[name]}
            requests.post(f"{base}/api/v2/interrogate/submit", headers={"apikey": key}, timeout=10,
                          json={"id": form["id"], "result": result})
            done.append(name)
        if not popped.get("forms"):
            time.sleep(0.5)


def test_horde_sdks_own_alchemy_tests_pass(server, e2e_env):
    source = os.environ.get("HORDE_SDK_SOURCE")
    if not source or not (Path(source) / "tests" / "ai_horde_api").is_dir():
        pytest.skip("HORDE_SDK_SOURCE (an unpacked horde-sdk 0.33.3 sdist) is not set")
    if not support.SDK_PYTHON.exists():
        pytest.skip(f"horde-sdk environment missing at {support.SDK_PYTHON}")
    _, key = support.create_user_cli(e2e_env, "sdk-suite-alchemist", "--trusted", "--kudos", "1000")
    stop, done = threading.Event(), []
    alchemist = threading.Thread(target=run_alchemist, args=(server.url, key, stop, done), daemon=True)
    alchemist.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AI_HORDE", "HORDE_SDK"))},
        "AI_HORDE_URL": f"{server.url}/api/", "AI_HORDE_DEV_URL": f"{server.url}/api/", "AI_HORDE_DEV_APIKEY": key,
        "HORDE_SDK_RUN_NETWORK_TESTS": "1", "TESTS_ONGOING": "1", "AI_HORDE_TESTING": "1", "LOGFIRE_IGNORE_NO_CONFIG": "1",
    }
    try:
        proc = subprocess.run(
            [str(support.SDK_PYTHON), "-m", "pytest", "-p", "no:cacheprovider", "-q", *SDK_TESTS],
            cwd=source, env=env, capture_output=True, text=True, timeout=600,
        )
    finally:
        stop.set()
        alchemist.join(15)
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "3 passed" in proc.stdout, proc.stdout[-2000:]
    assert {"caption", "RealESRGAN_x4plus"} <= set(done)  # the simple clients' forms went through the alchemist
