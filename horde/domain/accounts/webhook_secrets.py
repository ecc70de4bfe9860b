"""Each user's webhook secret: the key of the `X-Horde-Signature` HMAC on their webhooks.

Made when first needed (the account page, or the first delivery) and shown on the account
page, where it can be replaced. A receiver recomputes HMAC-SHA256 of the raw body with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from horde.models import User

SIGNATURE_HEADER = "X-Horde-Signature"


def secret_of(session: Session, user_id: int) -> str:
    """The user's secret, made now if they have none (two callers at once agree on one)."""
    found = session.scalar(select(User.webhook_secret).where(User.id == user_id))
    if found:
        return found
    session.execute(
        update(User).where(User.id == user_id, User.webhook_secret.is_(None)).values(webhook_secret=secrets.token_hex(32))
        .execution_options(synchronize_session=False)
    )
    return session.scalar(select(User.webhook_secret).where(User.id == user_id).execution_options(populate_existing=True))


def replace(session: Session, user_id: int) -> str:
    """A new secret: signatures made with the old one no longer verify."""
    secret = secrets.token_hex(32)
    session.execute(
        update(User).where(User.id == user_id).values(webhook_secret=secret).execution_options(synchronize_session=False)
    )
    return secret


def signature(secret: str, body: bytes) -> str:
    """The header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
