"""Concurrent transfers with one Idempotency-Key all get the same answer and move kudos once,
on PostgreSQL (rows locked) and on SQLite (the unique key decides)."""

from __future__ import annotations

import threading

from sqlalchemy import text


def test_same_key_at_once_moves_kudos_once(app, users):
    _, payer = users.create("payer", kudos=1000)
    users.create("payee")
    copies, rounds = 6, 4
    for round_number in range(rounds):
        barrier, answers = threading.Barrier(copies), []

        def send():
            client = app.test_client()
            barrier.wait()
            response = client.post(
                "/api/v2/kudos/transfer", json={"username": "payee#2", "amount": 5},
                headers={"apikey": payer, "Idempotency-Key": f"k{round_number}"},
            )
            answers.append((response.status_code, response.get_json()))
            app.extensions["horde"].db.remove()

        threads = [threading.Thread(target=send) for _ in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert answers == [(200, {"transferred": 5.0})] * copies, answers
    with app.extensions["horde"].db.engine.connect() as conn:
        assert conn.execute(text("SELECT kudos FROM users WHERE id = 1")).scalar_one() == 1000 - 5 * rounds
        keyed = conn.execute(text("SELECT count(*) FROM kudos_events WHERE idempotency_key IS NOT NULL")).scalar_one()
    assert keyed == rounds
