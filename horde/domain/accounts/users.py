"""Users: lookup, names and creation; details at their three privilege levels, the user list, moderator edits."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.db import utcnow
from horde.domain import aliases, errors, profanity
from horde.domain.accounts import apikeys, deletion, ledger
from horde.domain.moderation import roles, suspicion
from horde.models import GenerationRequest, User, Worker

USERNAME_MAX = 30
_USERNAME_BAD = re.compile(r"[<>#\x00-\x1f]")

PUBLIC, SELF, MODERATOR = 0, 1, 2
USERS_PAGE_SIZE = 25
MAX_PAGE = 10000
MAX_MONTHLY_KUDOS = 10**8  # what one user can be paid each month, at most
MAX_WORKER_INVITED = 10000


def get_user(session: Session, user_id: int) -> User:
    """A user by id; wiped accounts are gone for every lookup."""
    user = session.get(User, user_id)
    if user is None or deletion.is_wiped(user):
        raise errors.UserNotFound(f"User with ID '{user_id}' not found.")
    return user


def find_by_reference(session: Session, reference: str) -> User:
    """A user by id, alias (`name#id`) or unique username, for the CLI."""
    ref = reference.strip()
    user_id = aliases.user_id(ref) if "#" not in ref else aliases.alias_id(ref)
    if user_id is not None:
        return get_user(session, user_id)
    matches = session.scalars(select(User).where(func.lower(User.username) == ref.lower())).all()
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
    hasher: apikeys.KeyHasher,
    username: str,
    *,
    oauth_id: str | None = None,
    concurrency: int = 30,
    moderator: bool = False,
    trusted: bool = False,
) -> tuple[User, str]:
    """Create a user and return it with its API key, which is shown once and never stored."""
    api_key = apikeys.new_api_key()
    user = User(
        username=free_username(session, username),
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


def privilege_for(viewer: User | None, target: User) -> int:
    if viewer is None:
        return PUBLIC
    if viewer.moderator:
        return MODERATOR
    if viewer.id == target.id:
        return SELF
    return PUBLIC


def _records(user: User) -> dict:
    return {
        "usage": {"megapixelsteps": round(user.usage_megapixelsteps, 2), "tokens": int(user.usage_tokens)},
        "contribution": {
            "megapixelsteps": round(user.contributed_megapixelsteps, 2),
            "tokens": int(user.contributed_tokens),
        },
        "fulfillment": {
            "image": user.fulfilled_image,
            "text": user.fulfilled_text,
            "interrogation": user.fulfilled_interrogation,
        },
        "request": {
            "image": user.requested_image,
            "text": user.requested_text,
            "interrogation": user.requested_interrogation,
        },
        "style": {"image": 0, "text": 0, "interrogation": 0},
    }


def details(session: Session, user: User, privilege: int) -> dict[str, Any]:
    """What `GET /users/{id}` and `/find_user` show at `privilege` (spec/api.md §5.1)."""
    worker_ids = list(session.scalars(select(Worker.id).where(Worker.owner_id == user.id).order_by(Worker.created)))
    data: dict[str, Any] = {
        "username": user.alias,
        "id": user.id,
        "kudos": round(user.kudos, 2),
        "kudos_details": {b: round(getattr(user, f"kudos_{b}"), 2) for b in ledger.KUDOS_BUCKETS},
        "records": _records(user),
        "usage": {"megapixelsteps": None, "requests": None},
        "contributions": {"megapixelsteps": None, "fulfillments": None},
        "concurrency": user.concurrency,
        "worker_invited": user.worker_invited,
        "moderator": user.moderator,
        "trusted": user.trusted,
        "flagged": user.flagged,
        "service": user.service,
        "education": user.education,
        "customizer": user.customizer,
        "deleted": user.deleted,
        "pseudonymous": user.pseudonymous,
        "worker_count": len(worker_ids),
        "account_age": int((utcnow() - user.created).total_seconds()),
        "styles": [],
    }
    if user.public_workers or privilege >= SELF:
        data["worker_ids"] = worker_ids
    if privilege >= SELF:
        data["sharedkey_ids"] = []
        data["contact"] = user.contact
        data["vpn"] = user.vpn
        data["special"] = user.special
        data["active_generations"] = active_generations(session, user)
    if privilege >= MODERATOR:
        data["evaluating_kudos"] = round(user.evaluating_kudos, 2)
        data["monthly_kudos"] = {
            "amount": user.monthly_kudos,
            "last_received": user.monthly_kudos_last_received,
        }
        data["suspicious"] = user.suspicion
        data["admin_comment"] = user.admin_comment
        data["proxy_passkey"] = user.proxy_passkey
    return data


def active_generations(session: Session, user: User) -> dict[str, list[str]]:
    if user.is_anonymous:
        return {}
    rows = session.execute(
        select(GenerationRequest.kind, GenerationRequest.id).where(
            GenerationRequest.user_id == user.id,
            GenerationRequest.faulted.is_(False),
            GenerationRequest.cancelled.is_(False),
            GenerationRequest.finished < GenerationRequest.jobs,
        )
    ).all()
    result: dict[str, list[str]] = {}
    for kind, request_id in rows:
        result.setdefault(kind, []).append(request_id)
    return result


def list_page(session: Session, page: int, sort: str) -> list[User]:
    page = max(page, 1)
    if page > MAX_PAGE:
        return []
    order = (User.created.asc(), User.id.asc()) if sort == "age" else (User.kudos.desc(), User.id.asc())
    query = (
        select(User)
        .where(User.deleted.is_(False))
        .order_by(*order)
        .offset((page - 1) * USERS_PAGE_SIZE)
        .limit(USERS_PAGE_SIZE)
    )
    return list(session.scalars(query))


# Fields of PUT /users/{id} and who may set them (spec/api.md §6.1).
ADMIN_FIELDS = ("kudos", "monthly_kudos", "usage_multiplier", "moderator")
MODERATOR_FIELDS = (
    "concurrency",
    "worker_invited",
    "trusted",
    "flagged",
    "customizer",
    "vpn",
    "service",
    "special",
    "education",
    "reset_suspicion",
    "admin_comment",
)
SELF_FIELDS = ("public_workers", "username", "contact", "generate_proxy_passkey", "undelete")


def modify(session: Session, actor: User, target: User, changes: dict[str, Any], admins: list[str]) -> dict:
    """Apply the fields of PUT /users/{id} that `actor` may set; echo what changed."""
    if actor.is_anonymous:
        raise errors.AnonForbiddenUserMod()
    is_admin = roles.is_admin(actor, admins)
    is_mod = actor.moderator or is_admin
    is_self = actor.id == target.id
    present = {k: v for k, v in changes.items() if v is not None and k != "filtered"}
    for name in present:
        if name in ADMIN_FIELDS and not is_admin:
            raise errors.NotAdmin()
        if name in MODERATOR_FIELDS and not is_mod:
            raise errors.NotModerator()
        if name in SELF_FIELDS and not (is_self or is_mod):
            raise errors.NotModerator("Only the user themselves or a moderator can change this.")
    return apply_changes(session, target, present, actor_id=actor.id)


def apply_changes(session: Session, target: User, present: dict[str, Any], actor_id: int | None = None) -> dict:
    """Set the fields of `present` (no None values), whoever may: `modify` checks the caller
    first; the operator's CLI (`horde user set`) may set them all."""
    result: dict[str, Any] = {}
    if "kudos" in present:
        if present["kudos"] > 0 and ledger.room_below_ceiling(session, target.id) < present["kudos"]:
            raise errors.KudosAboveMaximum()
        ledger.move_kudos(session, target, present["kudos"], bucket="admin", reason="admin", other_user_id=actor_id)
        session.refresh(target)
        result["new_kudos"] = round(target.kudos, 2)
    if "monthly_kudos" in present:
        target.monthly_kudos = min(max(0, target.monthly_kudos + int(present["monthly_kudos"])), MAX_MONTHLY_KUDOS)
        result["monthly_kudos"] = target.monthly_kudos
    for flag in ("usage_multiplier", "concurrency", "worker_invited", "customizer", "vpn", "service", "special", "flagged"):
        if flag in present:
            setattr(target, flag, present[flag])
            result[flag] = present[flag]
    if "moderator" in present:
        target.moderator = present["moderator"]
        if target.moderator:
            target.trusted = True
        result["moderator"] = target.moderator
    if "trusted" in present:
        target.trusted = present["trusted"]
        result["trusted"] = target.trusted
    if "education" in present:
        target.education = present["education"]
        result["education"] = target.education
        if "concurrency" not in present:
            if target.education:
                target.concurrency = 200
            elif target.concurrency == 200:
                target.concurrency = 30
            result["concurrency"] = target.concurrency
    if present.get("reset_suspicion"):
        suspicion.reset(session, target)
        result["new_suspicion"] = 0
    if "admin_comment" in present:
        target.admin_comment = present["admin_comment"]
        result["admin_comment"] = target.admin_comment
    if "public_workers" in present:
        target.public_workers = present["public_workers"]
        result["public_workers"] = target.public_workers
    if "username" in present:
        target.username = free_username(session, present["username"], target.id)
        result["username"] = target.alias
    if "contact" in present:
        target.contact = present["contact"]
        result["contact"] = target.contact
    if present.get("generate_proxy_passkey"):
        if not target.service:
            raise errors.NonServiceForbidden()
        target.proxy_passkey = secrets.token_urlsafe(12)[:16]
        result["proxy_passkey"] = target.proxy_passkey
    if present.get("undelete"):
        if not target.deleted:
            raise errors.UserNotDeleted()
        target.deleted = False
        result["undeleted"] = True
    if not result:
        raise errors.NoUserModSelected()
    session.flush()
    return result
