"""Shared cache entries: the cross-process cache when Redis is absent or down (horde.cache_db).

Nothing here is the only copy of anything: an entry can be lost at any time. On
PostgreSQL the table is UNLOGGED (migration 0010) (no WAL, emptied after a crash), which is what a cache wants.
A plain value has `field = ''`; a hash is one row per field under the same key.
"""

from __future__ import annotations

from sqlalchemy import Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base


class CacheEntry(Base):
    __tablename__ = "cache_entries"
    # UNLOGGED on PostgreSQL: the migration (0010) says so.

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    field: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    value: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)  # seconds since the epoch
