"""Countermeasures: prompt filters, IP timeouts (and the IP's suspicion), suspicion records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class PromptFilter(Base):
    """A moderator's regex (RE2 syntax); type 10 and 11 mark youth, 20 sexual content."""

    __tablename__ = "prompt_filters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    regex: Mapped[str] = mapped_column(Text)
    filter_type: Mapped[int] = mapped_column(Integer, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    replacement: Mapped[str] = mapped_column(Text, default="")
    # The moderator who added or last changed it.
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class IPTimeout(Base):
    """One address or CIDR block: its timeout and, for single addresses, its suspicion count.

    The durable copy: every node keeps the live ones in memory and reloads them when the
    version in `horde_state` moves, so a Redis restart loses none."""

    __tablename__ = "ip_timeouts"

    block: Mapped[str] = mapped_column(String(64), primary_key=True)  # canonical network, e.g. 1.2.3.4/32
    expires: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    suspicion: Mapped[int] = mapped_column(Integer, default=0)
    suspicion_expires: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(40), default="moderator")
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Suspicion(Base):
    """One recorded reason to distrust a user (a worker's reasons are mirrored onto its owner)."""

    __tablename__ = "suspicions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    worker_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_suspicions_user_reason", "user_id", "reason"),)
