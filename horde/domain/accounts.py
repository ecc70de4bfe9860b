"""API keys, user lookup and creation, roles, and kudos movements on a user's balance."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from functools import lru_cache

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from horde.domain import errors, profanity
from horde.models import ANONYMOUS_USER_ID, KudosEvent, User

ANONYMOUS_API_KEY = "0000000000"
API_KEY_LENGTH = 22
USERNAME_MAX = 30
_USERNAME_BAD = re.compile(r"[<>#\x00-\x1f]")

# Lowest balance a movement can leave (spec/behaviour.md §2.1).
FLOOR_ANONYMOUS = -50
FLOOR_PSEUDONYMOUS = 14
FLOOR_OAUTH = 25

_INSERT_EVENT = insert(KudosEvent.__table__)

KUDOS_BUCKETS = ("accumulated", "gifted", "donated", "admin", "received", "recurring", "awarded", "styled")


@dataclass(frozen=True)
class KeyHasher:
    """Keyed hash of API keys: the database never holds a usable key."""

    secret: str

    def hash(self, api_key: str) -> str:
        return hmac.new(self.secret.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def new_api_key() -> str:
    # 16 random bytes, URL-safe base64: 22 characters, what clients expect.
    return secrets.token_urlsafe(16)


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


def find_by_api_key(session: Session, hasher: KeyHasher, api_key: str | None) -> User:
    """The user owning `api_key`, or InvalidAPIKey (missing, malformed or unknown)."""
    if not api_key:
        raise errors.InvalidAPIKey()
    if api_key == ANONYMOUS_API_KEY:
        user = session.get(User, ANONYMOUS_USER_ID)
    elif len(api_key) > 128:
        user = None
    else:
        user = session.scalar(select(User).where(User.api_key_hash == hasher.hash(api_key)))
    if user is None:
        raise errors.InvalidAPIKey()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise errors.UserNotFound(f"User with ID '{user_id}' not found.")
    return user


def find_by_reference(session: Session, reference: str) -> User:
    """A user by id, alias (`name#id`) or unique username, for the CLI."""
    ref = reference.strip()
    if ref.isdigit():
        return get_user(session, int(ref))
    if "#" in ref:
        tail = ref.rsplit("#", 1)[1]
        if tail.isdigit():
            return get_user(session, int(tail))
    matches = session.scalars(select(User).where(User.username == ref)).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise errors.UserNotFound(f"No user named '{ref}'.")
    raise errors.BadRequest(f"{len(matches)} users are named '{ref}': use the alias name#id.")


def clean_username(username: str) -> str:
    """The username trimmed, or the reason it cannot be one (the same rules everywhere)."""
    name = (username or "").strip()
    if not name:
        raise errors.MissingUserName()
    if _USERNAME_BAD.search(name):
        raise errors.InvalidUserName()
    if len(name) > USERNAME_MAX:
        raise errors.TooLongUserName()
    if profanity.is_profane(name):
        raise errors.ProfaneUserName()
    return name


def free_username(session: Session, username: str, user_id: int | None = None) -> str:
    """A clean username that no other user has (case-insensitive).

    The alias name#id is what identifies a user; distinct names just spare people the
    confusion of two "alice"s (docs/compatibility.md)."""
    name = clean_username(username)
    clash = select(User.id).where(func.lower(User.username) == name.lower())
    if user_id is not None:
        clash = clash.where(User.id != user_id)
    if session.scalar(clash.limit(1)) is not None:
        raise errors.UsernameTaken()
    return name


def create_user(
    session: Session,
    hasher: KeyHasher,
    username: str,
    *,
    oauth_id: str | None = None,
    concurrency: int = 30,
    moderator: bool = False,
    trusted: bool = False,
) -> tuple[User, str]:
    """Create a user and return it with its API key, which is shown once and never stored."""
    api_key = new_api_key()
    user = User(
        username=clean_username(username),
        oauth_id=oauth_id or str(uuid.uuid4()),
        pseudonymous=oauth_id is None,
        api_key_hash=hasher.hash(api_key),
        concurrency=concurrency,
        moderator=moderator,
        trusted=trusted or moderator,
    )
    session.add(user)
    session.flush()
    return user, api_key


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
    """Add `amount` (may be negative) to a balance, never below the user's floor.

    One atomic UPDATE (no read-modify-write), plus one appended event; `also` adds more
    column changes to that same UPDATE, as {column name: ("add", n) or ("set", value)}.
    The anonymous account's row is never updated here: its events are folded by a job.
    With `events`, the event is added to that list for `record_events` to insert with
    others in one statement.
    """
    if bucket not in KUDOS_BUCKETS:
        raise ValueError(f"unknown kudos bucket {bucket}")
    amount = round(float(amount), 2)
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


def record_events(session: Session, events: list[dict]) -> None:
    if events:
        session.connection().execute(_INSERT_EVENT, events)


@lru_cache(maxsize=256)
def _balance_statement(bucket: str, also: tuple[tuple[str, str], ...]):
    """UPDATE users for one bucket plus extra columns ("add" a number or "set" a value),
    built once with bind parameters (building SQL per call costs more than running it)."""
    new_balance = User.kudos + bindparam("amount")
    bucket_column = getattr(User, f"kudos_{bucket}")
    values = {
        User.kudos: case((new_balance < bindparam("floor"), bindparam("floor")), else_=new_balance),
        bucket_column: bucket_column + bindparam("amount"),
    }
    for name, how in also:
        column = getattr(User, name)
        values[column] = column + bindparam(f"also_{name}") if how == "add" else bindparam(f"also_{name}")
    return update(User.__table__).where(User.__table__.c.id == bindparam("user_id")).values(values)


def apply_to_balance(session: Session, user_id: int, amount: float, bucket: str, floor: int, also: dict | None = None) -> None:
    """`also` maps column names to ("add", number) or ("set", value)."""
    also = also or {}
    statement = _balance_statement(bucket, tuple(sorted((name, how) for name, (how, _) in also.items())))
    params = {"user_id": user_id, "amount": amount, "floor": floor}
    params.update({f"also_{name}": value for name, (_, value) in also.items()})
    session.connection().execute(statement, params)


def is_admin(user: User, admins: list[str]) -> bool:
    return not user.is_anonymous and user.alias in admins


class CallerCache:
    """API key → user, kept a few seconds per process for the hot generation routes.

    The user is a detached snapshot: fine for flags, limits and the kudos priority snapshot
    (the public horde caches the same lookup for 30 s). Balances always move with atomic SQL,
    never from this copy. Routes that show or change a user read it fresh.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10000):
        import threading

        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def find(self, session: Session, hasher: KeyHasher, api_key: str | None) -> User:
        import time

        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(api_key or "")
        if entry and entry[0] > now:
            return entry[1]
        user = find_by_api_key(session, hasher, api_key)
        session.expunge(user)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[api_key] = (now + self.ttl, user)
        return user

    def forget(self, user_id: int | None = None) -> None:
        with self._lock:
            if user_id is None:
                self._entries.clear()
            else:
                self._entries = {k: v for k, v in self._entries.items() if v[1].id != user_id}
