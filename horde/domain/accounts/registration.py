"""Getting an account and keeping it: OAuth and pseudonymous registration, renaming, new keys
(spec/behaviour.md §3.1). The web pages call these; the rules are the API's own.

An OAuth user is keyed by the provider's subject id only (`d_`, `g_`, `gh_`, `oidc_` prefixes):
no e-mail address or other personal data is asked for or stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.accounts import apikeys, users
from horde.domain.moderation import horde_modes
from horde.models import User

OAUTH_PREFIXES = {"discord": "d_", "google": "g_", "github": "gh_", "oidc": "oidc_"}


def oauth_id(provider: str, subject: str) -> str:
    subject = str(subject or "").strip()
    if provider not in OAUTH_PREFIXES or not subject:
        raise errors.BadRequest("The login provider did not say who you are.")
    return f"{OAUTH_PREFIXES[provider]}{subject}"[:255]


def find_oauth_user(session: Session, oauth_id: str) -> User | None:
    return session.scalar(select(User).where(User.oauth_id == oauth_id))


def _pseudonymous_refusal(session: Session) -> type[errors.HordeError] | None:
    """Accounts without a login provider are the throwaway kind: closed in raid and invite-only mode."""
    modes = horde_modes.cached(session)
    if modes.raid_mode:
        return errors.RegistrationRaidMode
    if modes.invite_only_mode:
        return errors.RegistrationInviteOnly
    return None


def pseudonymous_open(session: Session) -> bool:
    return _pseudonymous_refusal(session) is None


def register(session: Session, hasher: apikeys.KeyHasher, username: str, oauth_id: str | None = None) -> tuple[User, str]:
    """A new account and its key (shown once). With an `oauth_id` that already has an account,
    that account is renamed and given a new key, as the public horde's form does."""
    if oauth_id is not None:
        existing = find_oauth_user(session, oauth_id)
        if existing is not None:
            existing.username = users.free_username(session, username, existing.id)
            return existing, reset_key(session, hasher, existing)  # one commit for both
    name = users.free_username(session, username)
    refusal = _pseudonymous_refusal(session) if oauth_id is None else None
    if refusal is not None:
        raise refusal()
    user, api_key = users.create_user(session, hasher, name, oauth_id=oauth_id)
    session.commit()
    return user, api_key


def rename(session: Session, user: User, username: str) -> User:
    user.username = users.free_username(session, username, user.id)
    session.commit()
    return user


def reset_key(session: Session, hasher: apikeys.KeyHasher, user: User) -> str:
    """A new API key for `user`; the old one stops working at once."""
    if user.is_anonymous:
        raise errors.AnonForbiddenUserMod()
    api_key = apikeys.new_api_key()
    user.api_key_hash = hasher.hash(api_key)
    session.commit()
    return api_key
