"""Users: identity, roles and flags, kudos balance and its detail buckets, counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow

ANONYMOUS_USER_ID = 0


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100))
    # g_/d_/gh_/oidc_ prefixed provider subject, a UUID for pseudonymous users, "anon".
    oauth_id: Mapped[str] = mapped_column(String(255), unique=True)
    # Keyed hash of the API key; NULL for the anonymous user (its key is public).
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    kudos: Mapped[float] = mapped_column(Float, default=0.0)
    evaluating_kudos: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_accumulated: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_gifted: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_donated: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_admin: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_received: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_recurring: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_awarded: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_styled: Mapped[float] = mapped_column(Float, default=0.0)
    # What the floor added and the ceiling cut off (horde.domain.accounts.ledger): with it,
    # a balance is always the sum of its kudos events.
    kudos_adjustments: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # Kudos held for work at workers (an alchemy form popped by a `require_upfront_kudos`
    # alchemist): not spendable until the work is settled or ends (behaviour §2.8).
    kudos_reserved: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    usage_megapixelsteps: Mapped[float] = mapped_column(Float, default=0.0)
    usage_tokens: Mapped[int] = mapped_column(BigId, default=0)
    contributed_megapixelsteps: Mapped[float] = mapped_column(Float, default=0.0)
    contributed_tokens: Mapped[int] = mapped_column(BigId, default=0)
    fulfilled_image: Mapped[int] = mapped_column(BigId, default=0)
    fulfilled_text: Mapped[int] = mapped_column(BigId, default=0)
    fulfilled_interrogation: Mapped[int] = mapped_column(BigId, default=0)
    requested_image: Mapped[int] = mapped_column(BigId, default=0)
    requested_text: Mapped[int] = mapped_column(BigId, default=0)
    requested_interrogation: Mapped[int] = mapped_column(BigId, default=0)
    # Requests of other users that used one of this user's styles.
    styled_image: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    styled_text: Mapped[int] = mapped_column(BigId, default=0, server_default="0")

    concurrency: Mapped[int] = mapped_column(Integer, default=30)
    worker_invited: Mapped[int] = mapped_column(Integer, default=0)
    usage_multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    monthly_kudos: Mapped[int] = mapped_column(Integer, default=0)
    monthly_kudos_last_received: Mapped[dt.datetime | None] = mapped_column(DateTime)
    suspicion: Mapped[int] = mapped_column(Integer, default=0)

    moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    customizer: Mapped[bool] = mapped_column(Boolean, default=False)
    vpn: Mapped[bool] = mapped_column(Boolean, default=False)
    special: Mapped[bool] = mapped_column(Boolean, default=False)
    service: Mapped[bool] = mapped_column(Boolean, default=False)
    education: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    public_workers: Mapped[bool] = mapped_column(Boolean, default=False)
    pseudonymous: Mapped[bool] = mapped_column(Boolean, default=False)

    contact: Mapped[str | None] = mapped_column(String(500))
    admin_comment: Mapped[str | None] = mapped_column(Text)
    proxy_passkey: Mapped[str | None] = mapped_column(String(64))
    # Key of the X-Horde-Signature HMAC on this user's webhooks (shown on the account page).
    webhook_secret: Mapped[str | None] = mapped_column(String(64))

    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_active: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def alias(self) -> str:
        return f"{self.username}#{self.id}"

    @property
    def is_anonymous(self) -> bool:
        return self.id == ANONYMOUS_USER_ID


# Registration refuses a name another user has, whatever its case.
Index("ix_users_username_lower", func.lower(User.username))
