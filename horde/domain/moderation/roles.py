"""Who may do what: the horde's roles beyond moderator and trusted flags (admins come from settings)."""

from __future__ import annotations

from horde.domain import errors
from horde.models import User


def is_admin(user: User, admins: list[str]) -> bool:
    return not user.is_anonymous and user.alias in admins


def require_moderator(user: User) -> User:
    """The filter and operations routes and the moderator page: moderators only."""
    if not user.moderator:
        raise errors.NotModerator()
    return user
