"""Races through a real gunicorn server (two processes): each contested thing happens exactly once.

Kudos from spec/behaviour.md §2 for the default request (512x512, 30 steps, SD 1.5):
price K = 0.1232 x 30 + ratio x 0.1232 x 30 x 8.75 = 6.50, burn K + 1 = 7.50, tax 1, and
a reGen 9 worker earns K x 0.9 = 5.85.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests import support
from tests.imaging import REGEN, webp_bytes

K, BURN, TAX, EARNED = 6.5, 7.5, 1.0, 5.85
ROUNDS = 8


def at_once(*calls):
    """Run the calls on threads released together; return their results in order."""
    gate = threading.Barrier(len(calls))

    def run(call):
        gate.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


class Api:
    def __init__(self, url: str):
        self.url = f"{url}/api/v2"
        self.http = requests.Session()

    def request(self, key: str, **body) -> str:
        answer = requests.post(f"{self.url}/generate/async", json={"prompt": "a race", **body}, headers={"apikey": key}, timeout=30)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    def pop(self, key: str, name: str) -> dict:
        body = {"name": name, "models": ["stable_diffusion"], "bridge_agent": REGEN, "max_pixels": 262144}
        answer = requests.post(f"{self.url}/generate/pop", json=body, headers={"apikey": key}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def submit(self, key: str, job_id: str) -> requests.Response:
        return requests.post(f"{self.url}/generate/submit", json={"id": job_id, "generation": "R2", "seed": 1}, headers={"apikey": key}, timeout=30)

    def kudos(self, key: str) -> float:
        return requests.get(f"{self.url}/find_user", headers={"apikey": key}, timeout=30).json()["kudos"]

    def transfer(self, key: str, alias: str, amount: int) -> requests.Response:
        return requests.post(f"{self.url}/kudos/transfer", json={"username": alias, "amount": amount}, headers={"apikey": key}, timeout=30)


@pytest.fixture
def api(server):
    return Api(server.url)


def test_two_workers_popping_one_request_at_once_get_it_once(api, e2e_env):
    _, first_owner = support.create_user_cli(e2e_env, "pop-race-a", "--trusted")
    _, second_owner = support.create_user_cli(e2e_env, "pop-race-b", "--trusted")
    for round_ in range(ROUNDS):
        request_id = api.request("0000000000")
        answers = at_once(lambda: api.pop(first_owner, "racer-a"), lambda: api.pop(second_owner, "racer-b"))
        taken = [a for a in answers if a["id"]]
        assert len(taken) == 1, (round_, answers)
        check = requests.get(f"{api.url}/generate/check/{request_id}", timeout=30).json()
        assert check["processing"] == 1 and check["waiting"] == 0, check
        # Leave nothing behind: on a slow machine the scheduler would put the job back in the
        # queue, and a later test's pop would take it instead of that test's own request.
        assert requests.delete(f"{api.url}/generate/status/{request_id}", timeout=30).status_code == 200


def test_one_job_submitted_twice_at_once_is_paid_once(api, e2e_env):
    _, requester = support.create_user_cli(e2e_env, "submit-race-payer", "--kudos", "500")
    _, owner = support.create_user_cli(e2e_env, "submit-race-owner", "--trusted", "--kudos", "100")  # above its floor
    owner_start, requester_start = api.kudos(owner), api.kudos(requester)
    for round_ in range(ROUNDS):
        api.request(requester)
        job = api.pop(owner, "submit-racer")
        upload = requests.put(job["r2_upload"], data=webp_bytes(), timeout=30)
        assert upload.status_code == 200
        answers = at_once(lambda: api.submit(owner, job["id"]), lambda: api.submit(owner, job["id"]))
        outcomes = sorted((a.status_code, a.json().get("rc"), a.json().get("reward")) for a in answers)
        assert outcomes == [(200, None, K), (400, "DuplicateGen", None)], (round_, outcomes)
    assert api.kudos(owner) == pytest.approx(owner_start + ROUNDS * EARNED, abs=1e-6)
    assert api.kudos(requester) == pytest.approx(requester_start - ROUNDS * (TAX + BURN), abs=1e-6)


def test_transfers_racing_generation_charges_lose_no_update(api, e2e_env):
    """The requester pays for deliveries while it sends kudos away, all at once: every
    movement lands, in whatever order."""
    _, payer = support.create_user_cli(e2e_env, "charge-race-payer", "--kudos", "1000")
    friend_alias, friend = support.create_user_cli(e2e_env, "charge-race-friend", "--kudos", "100")  # above its floor
    _, owner = support.create_user_cli(e2e_env, "charge-race-owner", "--trusted")
    payer_start, friend_start = api.kudos(payer), api.kudos(friend)
    jobs = []
    for index in range(ROUNDS):
        api.request(payer)
        job = api.pop(owner, f"charge-racer-{index}")
        assert requests.put(job["r2_upload"], data=webp_bytes(), timeout=30).status_code == 200
        jobs.append(job["id"])
    calls = []
    for index, job_id in enumerate(jobs):
        calls.append(lambda job_id=job_id: api.submit(owner, job_id))
        calls.append(lambda index=index: api.transfer(payer, friend_alias, 10 + index))
    answers = at_once(*calls)
    assert [a.status_code for a in answers] == [200] * len(calls), [a.text for a in answers if a.status_code != 200]
    sent = sum(10 + index for index in range(ROUNDS))
    assert api.kudos(payer) == pytest.approx(payer_start - ROUNDS * TAX - ROUNDS * BURN - sent, abs=1e-6)
    assert api.kudos(friend) == pytest.approx(friend_start + sent, abs=1e-6)


def test_a_transfer_and_a_charge_racing_for_the_last_kudos(api, e2e_env):
    """26 kudos above a floor of 14 (40 in all): a transfer of 30 and a charge of 7.50 race.
    Either the transfer goes first (40 - 30 = 10, then the charge takes the balance to the
    floor: 14) or the charge does (32.50 left, 18.50 available: the transfer is refused)."""
    payer_alias, payer = support.create_user_cli(e2e_env, "last-kudos-payer", "--kudos", "41")
    friend_alias, friend = support.create_user_cli(e2e_env, "last-kudos-friend")
    _, owner = support.create_user_cli(e2e_env, "last-kudos-owner", "--trusted")
    api.request(payer)  # the tax: 41 - 1 = 40
    assert api.kudos(payer) == pytest.approx(40)
    job = api.pop(owner, "last-kudos-racer")
    assert requests.put(job["r2_upload"], data=webp_bytes(), timeout=30).status_code == 200
    charge, transfer = at_once(lambda: api.submit(owner, job["id"]), lambda: api.transfer(payer, friend_alias, 30))
    assert charge.status_code == 200
    balance = api.kudos(payer)
    if transfer.status_code == 200:
        assert balance == pytest.approx(14)  # 40 - 30 - 7.50 is below the floor: held at 14
    else:
        assert transfer.json()["rc"] == "KudosTransferNotEnough"
        assert balance == pytest.approx(40 - BURN)
