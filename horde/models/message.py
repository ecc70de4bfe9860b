"""Messages to workers (or, with no worker, to every worker) shown in their pop answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class WorkerMessage(Base):
    __tablename__ = "worker_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    worker_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))  # the author
    message: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(255))
    expiry: Mapped[dt.datetime] = mapped_column(DateTime)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_worker_messages_worker_expiry", "worker_id", "expiry"),
        Index("ix_worker_messages_expiry", "expiry"),  # the pruning of long-expired messages
    )
