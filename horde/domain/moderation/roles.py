"""Who may do what: the horde's roles beyond moderator and trusted flags (admins come from settings)."""

from __future__ import annotations

from horde.models import User


def is_admin(user: User, admins: list[str]) -> bool:
    return not user.is_anonymous and user.alias in admins
