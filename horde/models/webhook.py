"""The webhook outbox: one row per delivered job whose request has a webhook, written in the
delivery's own transaction and sent later, off the request path, by the webhook sender."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)  # one delivery per job, whoever queues it
    request_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(1024))
    kudos: Mapped[float] = mapped_column(Float, default=0.0)  # the job's reward
    state: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)  # a sender is on it until then
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due", "next_attempt",
            postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_deliveries_created", "created"),  # the pruning of old sent and failed ones
    )
