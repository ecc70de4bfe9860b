"""Shared keys: a slice of a user's kudos lent out under a key of its own (a UUID)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class SharedKey(Base):
    __tablename__ = "shared_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    kudos: Mapped[float] = mapped_column(Float, default=5000.0)  # budget left; -1 = unlimited
    utilized: Mapped[float] = mapped_column(Float, default=0.0)
    expiry: Mapped[dt.datetime | None] = mapped_column(DateTime)  # None: never
    max_image_pixels: Mapped[int] = mapped_column(Integer, default=-1)
    max_image_steps: Mapped[int] = mapped_column(Integer, default=-1)
    max_text_tokens: Mapped[int] = mapped_column(Integer, default=-1)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
