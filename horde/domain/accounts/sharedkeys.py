"""Shared keys (spec/api.md §6.2, behaviour §3.5): a user lends part of their kudos under a key
of its own, a UUID that is accepted in place of an API key for generation.

`resolve` is the one place a generation route (image, text, alchemy) turns its `apikey`
header into the account that pays: a shared key is read with its owner in one indexed
statement and never cached, so a deleted or expired key is refused at once on every node.
Costs are charged to the owner's balance as usual and, by `charge`, to the key's budget.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, func, select, update
from sqlalchemy.orm import Session

from horde.db import rfc822
from horde.domain import errors
from horde.domain.accounts import apikeys
from horde.models import SharedKey, Style, User

UNLIMITED = -1
MAX_KUDOS = 50_000_000
MAX_IMAGE_PIXELS = 4_194_304
MAX_IMAGE_STEPS = 500
MAX_TEXT_TOKENS = 500
MAX_EXPIRY_DAYS = 36500
NAME_MIN, NAME_MAX = 3, 255
KEYS_PER_USER, KEYS_PER_TRUSTED, KEYS_PER_EDUCATION = 3, 10, 1000
# field -> (default on creation, lowest, highest)
FIELDS: dict[str, tuple[int, int, int]] = {
    "kudos": (5000, UNLIMITED, MAX_KUDOS),
    "expiry": (-1, -1, MAX_EXPIRY_DAYS),
    "max_image_pixels": (UNLIMITED, UNLIMITED, MAX_IMAGE_PIXELS),
    "max_image_steps": (UNLIMITED, UNLIMITED, MAX_IMAGE_STEPS),
    "max_text_tokens": (UNLIMITED, UNLIMITED, MAX_TEXT_TOKENS),
}
NOT_FOUND = "No user matching sent Shared Key."


def is_shared_key_id(value: str | None) -> bool:
    """Shared keys are canonical UUIDs; registered API keys are 22 characters."""
    if not value or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


# --- the key's settings -----------------------------------------------------------------
def parse_settings(body: dict, *, creating: bool) -> dict[str, Any]:
    """The settings of PUT/PATCH /sharedkeys, checked (the public horde does not check them)."""
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, (default, low, high) in FIELDS.items():
        value = body.get(name, default if creating else None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems[name] = f"{value!r} is not a whole number from {low} to {high:,}"
            continue
        found[name] = value
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str) or not NAME_MIN <= len(name.strip()) <= NAME_MAX:
            problems["name"] = f"a name is {NAME_MIN} to {NAME_MAX} characters"
        else:
            found["name"] = name.strip()
    if problems:
        raise errors.ValidationFailed(errors=problems)
    return found


def _apply(key: SharedKey, settings: dict[str, Any], now: dt.datetime) -> None:
    for name, value in settings.items():
        if name == "expiry":
            key.expiry = None if value == -1 else now + dt.timedelta(days=value)
        else:
            setattr(key, name, value)


def key_limit(user: User) -> int:
    if user.education:
        return KEYS_PER_EDUCATION
    return KEYS_PER_TRUSTED if user.trusted else KEYS_PER_USER


def create(session: Session, owner: User, settings: dict[str, Any], now: dt.datetime) -> SharedKey:
    if owner.is_anonymous:
        raise errors.AnonForbidden("Anonymous users cannot create shared keys.")
    if owner.deleted:
        raise errors.DeletedUser()
    owned = session.scalar(select(func.count()).select_from(SharedKey).where(SharedKey.user_id == owner.id)) or 0
    if owned >= key_limit(owner):
        raise errors.Forbidden(f"You cannot have more than {key_limit(owner)} shared keys.")
    key = SharedKey(id=str(uuid.uuid4()), user_id=owner.id, name="", utilized=0.0, created=now)
    _apply(key, settings, now)
    session.add(key)
    session.flush()
    return key


def get(session: Session, key_id: str) -> SharedKey:
    key = session.get(SharedKey, key_id.lower()) if is_shared_key_id(key_id) else None
    if key is None:
        raise errors.InvalidAPIKey(NOT_FOUND)
    return key


def _check_owner(actor: User, key: SharedKey) -> None:
    if actor.id != key.user_id:
        raise errors.Forbidden("This shared key belongs to another user.")


def modify(session: Session, actor: User, key: SharedKey, settings: dict[str, Any], now: dt.datetime) -> SharedKey:
    _check_owner(actor, key)
    if not settings:
        raise errors.NoSharedKeyModSelected()
    _apply(key, settings, now)
    session.flush()
    return key


def delete_key(session: Session, actor: User, key: SharedKey) -> None:
    _check_owner(actor, key)
    session.execute(delete(SharedKey).where(SharedKey.id == key.id))
    session.flush()


def ids_of(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(SharedKey.id).where(SharedKey.user_id == user_id).order_by(SharedKey.created)))


def details(key: SharedKey, owner_alias: str) -> dict[str, Any]:
    """`SharedKeyDetails` (spec/api.md §5.5)."""
    return {
        "id": key.id, "username": owner_alias, "name": key.name or "",
        "kudos": UNLIMITED if key.kudos < 0 else int(key.kudos), "expiry": rfc822(key.expiry) if key.expiry else None, "utilized": int(key.utilized),
        "max_image_pixels": key.max_image_pixels, "max_image_steps": key.max_image_steps, "max_text_tokens": key.max_text_tokens,
    }


def is_expired(key: SharedKey, now: dt.datetime) -> bool:
    return key.expiry is not None and key.expiry <= now


def is_empty(key: SharedKey) -> bool:
    return key.kudos != UNLIMITED and key.kudos <= 0


# --- who pays for a generation ----------------------------------------------------------
@dataclass
class Requester:
    """The account a generation request is charged to, and the shared key it came through."""

    user: User
    key: SharedKey | None = None
    downgraded: bool = False  # an empty shared key fell back to anonymous, at low priority


# The key, its owner and whether styles use it: one statement, primary-key and index reads.
_KEY_WITH_OWNER = (
    select(SharedKey, User, exists().where(Style.sharedkey_id == SharedKey.id).label("assigned"))
    .join(User, User.id == SharedKey.user_id)
    .where(SharedKey.id == bindparam("key_id"))
)


def _load(session: Session, key_id: str) -> tuple[SharedKey, User, bool] | None:
    row = session.execute(_KEY_WITH_OWNER, {"key_id": key_id.lower()}).first()
    return None if row is None else (row[0], row[1], bool(row[2]))


def resolve(
    session: Session,
    hasher: apikeys.KeyHasher,
    callers: apikeys.CallerCache,
    api_key: str | None,
    now: dt.datetime,
    *,
    style_key_id: str | None = None,
    allow_downgrade: bool = False,
) -> Requester:
    """The payer of a generation request (behaviour §1.3 step 4).

    A style that carries a usable shared key pays through it (its limits do not apply to
    that style's requests). Otherwise a shared key sent as `apikey` must exist, not be
    expired nor be reserved for styles, and have kudos left; an empty one falls back to
    the anonymous account at low priority with `allow_downgrade`. Any other key is an API key.
    """
    if style_key_id:
        found = _load(session, style_key_id)
        if found is not None:
            key, owner, _ = found
            if not is_expired(key, now) and not is_empty(key):
                if (api_key or "").lower() != key.id:  # the sender still needs a valid key of their own
                    _sender(session, hasher, callers, api_key, now, allow_downgrade)
                return Requester(owner, key)
    return _sender(session, hasher, callers, api_key, now, allow_downgrade)


def _sender(
    session: Session, hasher: apikeys.KeyHasher, callers: apikeys.CallerCache, api_key: str | None, now: dt.datetime,
    allow_downgrade: bool,
) -> Requester:
    if not is_shared_key_id(api_key):
        return Requester(callers.find(session, hasher, api_key))
    found = _load(session, api_key)
    if found is None:
        raise errors.InvalidAPIKey(NOT_FOUND)
    key, owner, assigned = found
    if is_expired(key, now):
        raise errors.SharedKeyExpired()
    if assigned:
        raise errors.SharedKeyAssignedStyles()
    if is_empty(key):
        if allow_downgrade:
            return Requester(callers.find(session, hasher, apikeys.ANONYMOUS_API_KEY), downgraded=True)
        raise errors.SharedKeyEmpty()
    return Requester(owner, key)


def find_owner(session: Session, api_key: str) -> tuple[User, SharedKey]:
    """`/find_user` with a shared key: its owner (unknown: InvalidAPIKey)."""
    found = _load(session, api_key)
    if found is None:
        raise errors.InvalidAPIKey(NOT_FOUND)
    return found[1], found[0]


def check_request(key: SharedKey, *, pixels: int = 0, steps: int = 0, tokens: int = 0) -> None:
    """The key's per-request maxima (not applied to the requests of the style it is assigned to)."""
    limits = (
        ("max_image_pixels", pixels, "pixels (width x height)"),
        ("max_image_steps", steps, "steps"),
        ("max_text_tokens", tokens, "tokens (max_length)"),
    )
    for name, value, what in limits:
        limit = getattr(key, name)
        if limit != UNLIMITED and value > limit:
            raise errors.BadRequest(f"This shared key allows at most {limit:,} {what} per request; this one asks for {value:,}.")


def check_budget(key: SharedKey, required: float, allow_downgrade: bool) -> bool:
    """A finite key must hold what the request will cost; returns True if it was downgraded instead."""
    if key.kudos == UNLIMITED or required <= key.kudos:
        return False
    if allow_downgrade:
        return True
    raise errors.SharedKeyInsufficientKudos(
        f"This request needs {required:g} kudos and the shared key has {max(key.kudos, 0):g} left."
    )


_K = SharedKey.__table__


@lru_cache(maxsize=1)
def _charge_statement():
    left = _K.c.kudos - bindparam("amount")
    return update(_K).where(_K.c.id == bindparam("key_id")).values(
        kudos=case((_K.c.kudos == UNLIMITED, _K.c.kudos), (left < 0, 0), else_=left),
        utilized=_K.c.utilized + bindparam("amount"),
    )


def charge(session: Session, key_id: str, amount: float) -> None:
    """What a request through the key cost, drawn from its budget (never below 0) and counted."""
    if amount:
        session.connection().execute(_charge_statement(), {"key_id": key_id, "amount": round(float(amount), 2)})


def credit(session: Session, key: SharedKey, amount: int) -> None:
    """Kudos transferred to a key grow its budget (an unlimited key stays unlimited)."""
    session.execute(
        update(SharedKey).where(SharedKey.id == key.id, SharedKey.kudos != UNLIMITED)
        .values(kudos=SharedKey.kudos + amount).execution_options(synchronize_session=False)
    )


