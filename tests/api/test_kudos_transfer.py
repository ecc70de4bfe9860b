"""POST /kudos/transfer: every refusal, the effect, idempotency."""

import pytest


def transfer(client, key, expect=200, headers=None, **body):
    response = client.post("/api/v2/kudos/transfer", json=body, headers={"apikey": key, **(headers or {})})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def kudos(client, user_id):
    return client.get(f"/api/v2/users/{user_id}").get_json()


@pytest.fixture
def pair(users):
    alice_id, alice = users.create("alice", kudos=100)
    bob_id, bob = users.create("bob", kudos=50)
    return alice_id, alice, bob_id, bob


def test_transfer_moves_kudos(client, pair):
    alice_id, alice, bob_id, _ = pair
    assert transfer(client, alice, username=f"bob#{bob_id}", amount=30) == {"transferred": 30.0}
    a, b = kudos(client, alice_id), kudos(client, bob_id)
    assert a["kudos"] == 70 and a["kudos_details"]["gifted"] == -30
    assert b["kudos"] == 80 and b["kudos_details"]["received"] == 30


def test_amount_defaults_to_100_and_floats_are_fine(client, pair, users):
    _, alice, bob_id, _ = pair
    _, rich = users.create("rich", kudos=1000)
    assert transfer(client, rich, username=f"bob#{bob_id}")["transferred"] == 100
    assert transfer(client, alice, username=f"bob#{bob_id}", amount=1.0)["transferred"] == 1


@pytest.mark.parametrize(
    "body,rc",
    [
        ({"username": "bob", "amount": 5}, "InvalidTargetUsername"),
        ({"username": "nobody#9999", "amount": 5}, "InvalidTargetUsername"),
        ({"username": "Anonymous#0", "amount": 5}, "KudosTransferToAnon"),
        ({"username": "SELF", "amount": 5}, "KudosTransferToSelf"),
        ({"username": "BOB", "amount": -5}, "NegativeKudosTransfer"),
        ({"username": "BOB", "amount": 0}, "InvalidKudosTransferAmount"),
        ({"username": "BOB", "amount": 87}, "KudosTransferNotEnough"),
    ],
)
def test_refusals_change_nothing(client, pair, body, rc):
    alice_id, alice, bob_id, _ = pair
    body = {k: (v.replace("SELF", f"alice#{alice_id}").replace("BOB", f"bob#{bob_id}") if isinstance(v, str) else v) for k, v in body.items()}
    assert transfer(client, alice, expect=400, **body)["rc"] == rc
    assert kudos(client, alice_id)["kudos"] == 100 and kudos(client, bob_id)["kudos"] == 50


def test_floor_is_kept(client, pair):
    alice_id, alice, bob_id, _ = pair
    transfer(client, alice, username=f"bob#{bob_id}", amount=86)  # 100 - pseudonymous floor 14
    assert kudos(client, alice_id)["kudos"] == 14


def test_anonymous_cannot_send(client, pair):
    _, _, bob_id, _ = pair
    assert transfer(client, "0000000000", expect=400, username=f"bob#{bob_id}", amount=1)["rc"] == "KudosTransferFromAnon"


@pytest.mark.parametrize(
    "flag,side,rc",
    [
        ("flagged", "source", "SourceAccountFlagged"), ("flagged", "target", "TargetAccountFlagged"),
        ("education", "source", "EducationCannotSendKudos"), ("deleted", "source", "DeletedUser"),
        ("deleted", "target", "DeletedUser"), ("suspicion", "source", "FaultWhenKudosSending"),
        ("suspicion", "target", "FaultWhenKudosReceiving"),
    ],
)
def test_account_state_refusals(client, users, flag, side, rc):
    value = 5 if flag == "suspicion" else True
    source_id, source = users.create("source", kudos=100, **({flag: value} if side == "source" else {}))
    target_id, _ = users.create("target", **({flag: value} if side == "target" else {}))
    assert transfer(client, source, expect=400, username=f"target#{target_id}", amount=5)["rc"] == rc


def test_education_recipients_get_donations(client, users, pair):
    alice_id, alice, _, _ = pair
    school_id, _ = users.create("school", education=True)
    transfer(client, alice, username=f"school#{school_id}", amount=10)
    assert kudos(client, alice_id)["kudos_details"]["donated"] == -10


def test_too_fast_back_and_forth(client, pair):
    alice_id, alice, bob_id, bob = pair
    transfer(client, alice, username=f"bob#{bob_id}", amount=5)
    assert transfer(client, bob, expect=400, username=f"alice#{alice_id}", amount=5)["rc"] == "TooFastKudosTransfers"


def test_idempotency_key(client, pair):
    alice_id, alice, bob_id, _ = pair
    key = {"Idempotency-Key": "gift-2026-11-24"}
    transfer(client, alice, headers=key, username=f"bob#{bob_id}", amount=10)
    assert transfer(client, alice, headers=key, username=f"bob#{bob_id}", amount=10) == {"transferred": 10.0}
    assert kudos(client, alice_id)["kudos"] == 90 and kudos(client, bob_id)["kudos"] == 60
    assert transfer(client, alice, expect=400, headers=key, username=f"bob#{bob_id}", amount=11)["rc"] == "IdempotencyKeyConflict"


def test_validation(client, pair):
    _, alice, bob_id, _ = pair
    assert "username" in transfer(client, alice, expect=400, amount=5)["errors"]
    assert "amount" in transfer(client, alice, expect=400, username=f"bob#{bob_id}", amount=1.5)["errors"]
    assert transfer(client, "x" * 22, expect=401, username=f"bob#{bob_id}", amount=1)["rc"] == "InvalidAPIKey"


class TestAward:
    def award(self, client, key, expect=200, **body):
        response = client.post("/api/v2/kudos/award", json=body, headers={"apikey": key})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def test_moderator_and_service_award(self, client, users):
        _, mod = users.create("mod", moderator=True)
        _, service = users.create("bot", service=True)
        target_id, _ = users.create("lucky")
        assert self.award(client, mod, username=f"lucky#{target_id}", amount=500) == {"awarded": 500.0}
        self.award(client, service, username=f"lucky#{target_id}", amount=5)
        details = kudos(client, target_id)
        assert details["kudos"] == 505 and details["kudos_details"]["awarded"] == 505

    def test_refusals(self, client, users):
        _, mod = users.create("mod", moderator=True)
        _, plain = users.create("plain")
        target_id, _ = users.create("lucky")
        assert self.award(client, plain, 403, username=f"lucky#{target_id}")["rc"] == "NotAllowedAwards"
        assert self.award(client, mod, 400, username="Anonymous#0")["rc"] == "KudosAwardToAnon"
        assert self.award(client, mod, 400, username="lucky")["rc"] == "InvalidAwardUsername"
        assert self.award(client, mod, 400, username=f"lucky#{target_id}", amount=0)["rc"] == "InvalidKudosTransferAmount"
        assert kudos(client, target_id)["kudos"] == 0

    def test_flagged_recipient_gets_nothing(self, client, users):
        _, mod = users.create("mod", moderator=True)
        target_id, _ = users.create("shady", flagged=True)
        assert self.award(client, mod, username=f"shady#{target_id}", amount=50) == {"awarded": 50.0}
        assert kudos(client, target_id)["kudos"] == 0
