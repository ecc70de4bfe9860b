"""Kudos events: every movement of kudos, appended, never updated.

A user's balance equals the sum of their events. Events of ordinary users are applied to
the balance in the same transaction (`folded` true); events of the anonymous account are
appended unfolded and a background job folds them, so no request updates that hot row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class KudosEvent(Base):
    __tablename__ = "kudos_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    amount: Mapped[float] = mapped_column(Float)
    # Detail bucket: accumulated, gifted, donated, admin, received, recurring, awarded, styled.
    bucket: Mapped[str] = mapped_column(String(20))
    # Why: generation, reward, tax, transfer, award, admin, uptime, floor, escrow...
    reason: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(36))
    job_id: Mapped[str | None] = mapped_column(String(36))
    other_user_id: Mapped[int | None] = mapped_column(BigId)
    folded: Mapped[bool] = mapped_column(Boolean, default=True)
    # A client's Idempotency-Key on a transfer: a repeat is answered without moving kudos again.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_kudos_events_user_created", "user_id", "created"),
        # The folding job reads only what is left to fold.
        Index("ix_kudos_events_unfolded", "user_id", postgresql_where=text("NOT folded"), sqlite_where=text("folded = 0")),
        Index("uq_kudos_events_idempotency", "user_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL"), sqlite_where=text("idempotency_key IS NOT NULL")),
    )


class KudosRollup(Base):
    """Kudos events past their retention, summed per user, detail bucket and reason.

    With the events still kept they make the same ledger: a balance is its applied events,
    plus its roll-ups, plus `users.kudos_adjustments`.
    """

    __tablename__ = "kudos_rollups"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(BigId, default=0)  # how many events were rolled into it
