"""Many parallel transfers between a few users: no balance under its floor, the total exact."""

import random
from concurrent.futures import ThreadPoolExecutor

import requests

from tests import support

USERS = 5
START = 100
FLOOR = 14  # pseudonymous accounts
TRANSFERS = 300


def test_parallel_transfers_conserve_kudos(server, e2e_env):
    people = [support.create_user_cli(e2e_env, f"payer{i}", "--kudos", str(START)) for i in range(USERS)]
    rng = random.Random(11)
    plan = []
    for _ in range(TRANSFERS):
        source, target = rng.sample(people, 2)
        plan.append((source[1], target[0], rng.randint(1, 40)))

    def send(item):
        key, alias, amount = item
        response = requests.post(
            f"{server.url}/api/v2/kudos/transfer", json={"username": alias, "amount": amount}, headers={"apikey": key}, timeout=30
        )
        return response.status_code, response.json().get("rc")

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(send, plan))
    statuses = {status for status, _ in outcomes}
    assert statuses <= {200, 400}, outcomes
    refusals = {rc for status, rc in outcomes if status == 400}
    assert refusals <= {"KudosTransferNotEnough", "TooFastKudosTransfers"}, refusals
    assert sum(1 for status, _ in outcomes if status == 200) > 10

    balances = [
        requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["kudos"] for _, key in people
    ]
    assert sum(balances) == USERS * START  # exactly: nothing created, nothing lost
    assert min(balances) >= FLOOR


def test_concurrent_transfers_with_one_idempotency_key_move_kudos_once(server, e2e_env):
    """Each round sends one transfer eight times at once with the same key: every answer is
    the same 200, and the kudos move once (the losers used to get a 500)."""
    (_, payer_key), (payee, _) = (support.create_user_cli(e2e_env, name, "--kudos", "1000") for name in ("keyed", "payee"))
    rounds, copies = 6, 8

    def send(key):
        response = requests.post(
            f"{server.url}/api/v2/kudos/transfer", json={"username": payee, "amount": 7},
            headers={"apikey": payer_key, "Idempotency-Key": key}, timeout=30,
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=copies) as pool:
        for round_number in range(rounds):
            answers = list(pool.map(send, [f"same-key-{round_number}"] * copies))
            assert answers == [(200, {"transferred": 7.0})] * copies, answers
    balance = requests.get(f"{server.url}/api/v2/find_user", headers={"apikey": payer_key}, timeout=10).json()["kudos"]
    assert balance == 1000 - 7 * rounds
