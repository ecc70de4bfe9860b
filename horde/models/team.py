"""Teams that workers can join; their contribution totals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Names are unique case-insensitively; the lowered copy carries the unique index.
    name_lower: Mapped[str] = mapped_column(String(100), unique=True)
    info: Mapped[str | None] = mapped_column(Text)
    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kudos: Mapped[float] = mapped_column(Float, default=0.0)
    contributions: Mapped[float] = mapped_column(Float, default=0.0)
    fulfilments: Mapped[int] = mapped_column(BigId, default=0)
    uptime: Mapped[int] = mapped_column(BigId, default=0)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
