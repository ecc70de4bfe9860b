"""Interrogations ("alchemy"): one source image and the forms asked of it.

Each form is queued as a `GenerationRequest` of kind "interrogation" (one job, the form's
name as its model) that points here through `requests.interrogation_id`, so forms go
through the same queue, pop, submit and settlement as image and text jobs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class Interrogation(Base):
    __tablename__ = "interrogations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    # A URL source is kept as the client's URL; a base64 source is stored under `source_key`.
    source_url: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str | None] = mapped_column(String(100))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    tiles: Mapped[int] = mapped_column(Integer, default=0)
    trusted_workers: Mapped[bool] = mapped_column(Boolean, default=False)
    slow_workers: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook: Mapped[str | None] = mapped_column(String(1024))
    ipaddr: Mapped[str | None] = mapped_column(String(64))
    client_agent: Mapped[str | None] = mapped_column(String(1000))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    # The cleaner reads interrogations old enough to have expired, oldest first.
    __table_args__ = (Index("ix_interrogations_created", "created"),)
