"""The ledger's bounds with exact balances (spec/behaviour.md §2.1; docs/compatibility.md,
"Floor adjustments"): what the floor adds and the ceiling cuts off is recorded, so a balance
is always the sum of its events plus its adjustments; movements outside ±10^12 are refused;
a transfer that would pass the ceiling moves nothing.

Expected figures are worked out here: floors 14 (pseudonymous) and 25 (OAuth), ceiling 10^12.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from horde.domain import errors
from horde.domain.accounts import ledger
from horde.models import KudosEvent, User

CEILING = 10**12


def books(app, user_id: int) -> dict:
    with app.extensions["horde"].db.session_factory() as session:
        user = session.get(User, user_id)
        events = session.scalar(select(func.coalesce(func.sum(KudosEvent.amount), 0.0)).where(KudosEvent.user_id == user_id))
        return {
            "kudos": user.kudos, "adjustments": user.kudos_adjustments, "events": events,
            "accumulated": user.kudos_accumulated, "admin": user.kudos_admin, "received": user.kudos_received,
        }


def move(app, user_id: int, amount: float, bucket: str = "accumulated") -> None:
    with app.extensions["horde"].db.transaction() as session:
        user = session.get(User, user_id)
        ledger.move_kudos(session, user, amount, bucket=bucket, reason="generation")


def approx(value: float, abs: float = 1e-9):
    return pytest.approx(value, abs=abs)


@pytest.mark.parametrize("pseudonymous,floor", [(True, 14), (False, 25)], ids=["pseudonymous", "OAuth"])
def test_what_the_floor_adds_is_recorded(app, users, pseudonymous, floor):
    user_id, _ = users.create("poor", pseudonymous=pseudonymous)  # 0 kudos
    move(app, user_id, -1)  # a request's tax: 0 - 1 is below the floor
    assert books(app, user_id) == {
        "kudos": floor, "adjustments": approx(floor + 1), "events": approx(-1), "accumulated": approx(-1), "admin": 0,
        "received": 0,
    }
    move(app, user_id, -37.04)  # a delivered job's burn: still at the floor
    assert books(app, user_id) == {
        "kudos": floor, "adjustments": approx(floor + 1 + 37.04), "events": approx(-38.04), "accumulated": approx(-38.04),
        "admin": 0, "received": 0,
    }
    move(app, user_id, 100, bucket="received")  # above the floor: nothing more is added
    assert books(app, user_id) == {
        "kudos": approx(floor + 100), "adjustments": approx(floor + 38.04), "events": approx(61.96),
        "accumulated": approx(-38.04), "admin": 0, "received": approx(100),
    }


def test_a_movement_that_ends_exactly_on_the_floor_adds_nothing(app, users):
    user_id, _ = users.create("exact", kudos=40, pseudonymous=True)
    move(app, user_id, -26)  # 40 - 26 = 14, the pseudonymous floor
    state = books(app, user_id)
    assert (state["kudos"], state["adjustments"], state["events"]) == (approx(14), approx(0), approx(14))


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_earned_kudos_past_the_ceiling_are_cut_off_and_recorded(app, users, trusted):
    user_id, _ = users.create("rich", kudos=CEILING - 10, trusted=trusted)
    move(app, user_id, 32.44)  # 22.44 past the ceiling
    state = books(app, user_id)
    assert state["kudos"] == CEILING
    assert state["adjustments"] == approx(-22.44, abs=1e-3)  # 10^12 is exact to about 1e-4 in a double
    assert state["accumulated"] == approx(32.44) and state["admin"] == CEILING - 10
    assert state["kudos"] == approx(state["events"] + state["adjustments"], abs=1e-3)


def test_a_movement_of_exactly_the_ceiling_is_allowed_and_one_cent_more_is_not(app, users):
    user_id, _ = users.create("fresh", pseudonymous=False)
    move(app, user_id, CEILING, bucket="admin")
    assert books(app, user_id)["kudos"] == CEILING
    move(app, user_id, -CEILING, bucket="admin")  # down to the floor of 25 (an OAuth user)
    state = books(app, user_id)
    assert (state["kudos"], state["adjustments"], state["events"]) == (25, approx(25), approx(0))
    message = "A kudos movement is a number between -1,000,000,000,000 and 1,000,000,000,000."
    for amount in (CEILING + 0.01, -CEILING - 0.01, math.nan, math.inf):
        with pytest.raises(errors.InvalidKudosAmount) as refused:
            move(app, user_id, amount, bucket="admin")
        assert refused.value.message == message
    assert books(app, user_id) == state  # nothing moved, nothing recorded


def test_an_unknown_bucket_is_refused(app, users):
    user_id, _ = users.create("someone", kudos=30)
    with pytest.raises(ValueError, match="^unknown kudos bucket styling$"):
        move(app, user_id, 5, bucket="styling")
    assert books(app, user_id)["kudos"] == 30


def test_a_transfer_may_fill_the_balance_to_the_ceiling_and_not_past_it(app, users):
    source_id, source = users.create("giver", kudos=1000)
    target_id, _ = users.create("saver", kudos=CEILING - 100)

    def send(amount: float):
        return app.test_client().post(
            "/api/v2/kudos/transfer", json={"username": f"saver#{target_id}", "amount": amount}, headers={"apikey": source},
        )

    answer = send(100)  # exactly the room left
    assert answer.status_code == 200, answer.get_json()
    assert books(app, target_id)["kudos"] == CEILING and books(app, target_id)["adjustments"] == approx(0, abs=1e-3)
    assert books(app, source_id)["kudos"] == 900
    refused = send(1)
    assert (refused.status_code, refused.get_json()["rc"]) == (400, "KudosAboveMaximum")
    assert books(app, target_id)["kudos"] == CEILING and books(app, source_id)["kudos"] == 900


def test_an_admin_change_is_kept_to_the_cent(app, users):
    """PUT /users/{id} takes any number of kudos; the ledger keeps cents (§2.1)."""
    admin_id, admin = users.create("admin")
    assert admin_id == 1  # the test settings' only admin is admin#1
    target_id, _ = users.create("target", kudos=100)
    answer = app.test_client().put(f"/api/v2/users/{target_id}", json={"kudos": 12.345678}, headers={"apikey": admin})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["new_kudos"] == 112.35
    state = books(app, target_id)
    assert (state["kudos"], state["admin"], state["events"]) == (approx(112.35), approx(112.35), approx(112.35))


def test_the_room_below_the_ceiling(app, users):
    empty_id, _ = users.create("empty", pseudonymous=False)  # 0 kudos: all of the ceiling is room
    full_id, _ = users.create("nearly-full", kudos=CEILING - 100)
    with app.extensions["horde"].db.session_factory() as session:
        assert ledger.room_below_ceiling(session, empty_id) == CEILING
        assert ledger.room_below_ceiling(session, full_id) == 100


def test_an_unknown_column_change_is_refused(app, users):
    user_id, _ = users.create("someone", kudos=30)
    with app.extensions["horde"].db.session_factory() as session:
        with pytest.raises(ValueError, match="^unknown change 'times' of fulfilled_image$"):
            ledger.apply_to_balance(session, user_id, 1.0, "accumulated", 14, {"fulfilled_image": ("times", 2)})


def test_holds_take_what_is_available_and_releases_give_back_exactly(app, users):
    """§2.8: available = balance - floor - holds; a hold is all or nothing, on one user;
    a release gives back what it names, down to 0 and never below."""
    from horde.models import ANONYMOUS_USER_ID

    oauth_id, _ = users.create("oauth", kudos=125, pseudonymous=False)  # floor 25: 100 available
    pseudo_id, _ = users.create("pseudo", kudos=114)  # floor 14: 100 available
    db = app.extensions["horde"].db

    def held() -> tuple[float, float]:
        with db.session_factory() as session:
            return session.get(User, oauth_id).kudos_reserved, session.get(User, pseudo_id).kudos_reserved

    with db.transaction() as session:
        assert ledger.hold(session, oauth_id, 100.01) is False
        assert ledger.hold(session, oauth_id, 100) is True  # exactly what is available
        assert ledger.hold(session, oauth_id, 0.01) is False  # nothing left
        assert ledger.hold(session, pseudo_id, 60) is True
        assert ledger.hold(session, ANONYMOUS_USER_ID, 1) is False  # the anonymous account holds nothing
    assert held() == (100, 60)
    with db.transaction() as session:
        ledger.release(session, oauth_id, 0.5)
        ledger.release(session, pseudo_id, 59)
    assert held() == (approx(99.5), approx(1))
    with db.transaction() as session:
        ledger.release(session, oauth_id, 200)  # more than held: down to 0
        ledger.release(session, pseudo_id, 1)
    assert held() == (0, 0)
    assert (books(app, oauth_id)["kudos"], books(app, pseudo_id)["kudos"]) == (125, 114)  # holds move no kudos
