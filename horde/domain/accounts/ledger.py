"""Kudos movements on a user's balance: atomic updates, appended events, floors (spec/behaviour.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.models import ANONYMOUS_USER_ID, KudosEvent, User

# Lowest balance a movement can leave (spec/behaviour.md §2.1).
FLOOR_ANONYMOUS = -50
FLOOR_PSEUDONYMOUS = 14
FLOOR_OAUTH = 25
# Highest balance, whatever the route: kudos stay exact to the cent (1e12 x 100 < 2^53) and
# the queue priority taken from them stays a 64-bit integer. Movements a person asks for
# (transfers, awards, admin changes) are at most MAX_AMOUNT each and refused when they would
# pass the ceiling; earned kudos past it are cut off, and what the floor added or the ceiling
# cut off is recorded in `users.kudos_adjustments`, so balances always add up.
MAX_BALANCE = 10**12
MAX_AMOUNT = 10**10

_INSERT_EVENT = insert(KudosEvent.__table__)

KUDOS_BUCKETS = ("accumulated", "gifted", "donated", "admin", "received", "recurring", "awarded", "styled")


@dataclass(frozen=True)
class Account:
    """What settling kudos needs to know about a user, read without loading the whole row."""

    id: int
    trusted: bool
    pseudonymous: bool
    usage_multiplier: float

    @property
    def is_anonymous(self) -> bool:
        return self.id == ANONYMOUS_USER_ID


ACCOUNT_COLUMNS = ("id", "trusted", "pseudonymous", "usage_multiplier")  # Account's fields, in order


def kudos_floor(user: User | Account) -> int:
    if user.id == ANONYMOUS_USER_ID:
        return FLOOR_ANONYMOUS
    return FLOOR_PSEUDONYMOUS if user.pseudonymous else FLOOR_OAUTH


def move_kudos(
    session: Session,
    user: User | Account,
    amount: float,
    *,
    bucket: str,
    reason: str,
    request_id: str | None = None,
    job_id: str | None = None,
    other_user_id: int | None = None,
    also: dict | None = None,
    events: list[dict] | None = None,
) -> None:
    """Add `amount` (may be negative) to a balance, never below the user's floor nor above
    MAX_BALANCE (the difference is added to `kudos_adjustments`).

    One atomic UPDATE (no read-modify-write), plus one appended event; `also` adds more
    column changes to that same UPDATE, as {column name: ("add", n) or ("set", value)}.
    The anonymous account's row is never updated here: its events are folded by a job.
    With `events`, the event is added to that list for `record_events` to insert with
    others in one statement.
    """
    if bucket not in KUDOS_BUCKETS:
        raise ValueError(f"unknown kudos bucket {bucket}")
    amount = round(float(amount), 2)
    if not -MAX_BALANCE <= amount <= MAX_BALANCE:  # also false for NaN, whichever route it came from
        raise errors.InvalidKudosAmount(f"A kudos movement is a number between -{MAX_BALANCE:,} and {MAX_BALANCE:,}.")
    anonymous = user.id == ANONYMOUS_USER_ID
    event = dict(
        user_id=user.id, amount=amount, bucket=bucket, reason=reason, request_id=request_id, job_id=job_id,
        other_user_id=other_user_id, folded=not anonymous,
    )
    if events is None:
        record_events(session, [event])
    else:
        events.append(event)
    if anonymous:
        return
    apply_to_balance(session, user.id, amount, bucket, kudos_floor(user), also)


def room_below_ceiling(session: Session, user_id: int) -> float:
    """How many kudos `user_id` can still receive (read in the caller's transaction)."""
    balance = session.scalar(select(User.kudos).where(User.id == user_id)) or 0.0
    return MAX_BALANCE - balance


def record_events(session: Session, events: list[dict]) -> None:
    if events:
        session.connection().execute(_INSERT_EVENT, events)


def _build_balance_statement(bucket: str, also: tuple[tuple[str, str], ...]):
    """UPDATE users for one bucket plus extra columns ("add" a number or "set" a value),
    built once with bind parameters (building SQL per call costs more than running it)."""
    new_balance = User.kudos + bindparam("amount")
    bucket_column = getattr(User, f"kudos_{bucket}")
    # Every SET reads the row as it was, so both columns see the same new balance.
    below, above = new_balance < bindparam("floor"), new_balance > MAX_BALANCE
    values = {
        User.kudos: case((below, bindparam("floor")), (above, MAX_BALANCE), else_=new_balance),
        User.kudos_adjustments: User.kudos_adjustments
        + case((below, bindparam("floor") - new_balance), (above, MAX_BALANCE - new_balance), else_=0),
        bucket_column: bucket_column + bindparam("amount"),
    }
    for name, how in also:
        column = getattr(User, name)
        if how == "add":
            values[column] = column + bindparam(f"also_{name}")
        elif how == "set":
            values[column] = bindparam(f"also_{name}")
        else:
            raise ValueError(f"unknown change {how!r} of {name}")
    return update(User.__table__).where(User.__table__.c.id == bindparam("user_id")).values(values)


# Cached by wrapping rather than decorating: a mutation-testing run (make mutation) must see the builder.
_balance_statement = lru_cache(maxsize=256)(_build_balance_statement)


def apply_to_balance(session: Session, user_id: int, amount: float, bucket: str, floor: int, also: dict | None = None) -> None:
    """`also` maps column names to ("add", number) or ("set", value)."""
    also = also or {}
    statement = _balance_statement(bucket, tuple(sorted((name, how) for name, (how, _) in also.items())))
    params = {"user_id": user_id, "amount": amount, "floor": floor}
    params.update({f"also_{name}": value for name, (_, value) in also.items()})
    session.connection().execute(statement, params)




# --- holds (behaviour §2.8): kudos set aside for work at a worker --------------------------
def sql_available():
    """A user's spendable kudos as SQL: the balance above the floor (a balance at or under
    zero counts as it is), less what is held for work in progress."""
    floor = case(
        (User.id == ANONYMOUS_USER_ID, FLOOR_ANONYMOUS), (User.pseudonymous, FLOOR_PSEUDONYMOUS), else_=FLOOR_OAUTH
    )
    return case((User.kudos > 0, User.kudos - floor), else_=User.kudos) - User.kudos_reserved


def hold(session: Session, user_id: int, amount: float) -> bool:
    """Set `amount` aside if the user has it available (one atomic UPDATE); False if not."""
    if user_id == ANONYMOUS_USER_ID:
        return False  # the anonymous account's row is never updated per request
    statement = (
        update(User).where(User.id == user_id, sql_available() >= amount)
        .values(kudos_reserved=User.kudos_reserved + amount).execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount == 1


def release(session: Session, user_id: int, amount: float) -> None:
    """Give back a hold (the work ended without a debit, or the debit was made)."""
    if amount <= 0:
        return
    left = User.kudos_reserved - amount
    session.execute(
        update(User).where(User.id == user_id).values(kudos_reserved=case((left < 0.005, 0.0), else_=left))
        .execution_options(synchronize_session=False)
    )
