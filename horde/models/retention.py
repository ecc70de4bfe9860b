"""How far a retention job has read an append-only table (by id), so each run starts where
the last one stopped instead of walking past what it already removed."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId


class RetentionCursor(Base):
    __tablename__ = "retention_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigId, default=0)
