"""Generation statistics: raw rows appended at delivery, and the roll-ups built from them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId


class GenerationStat(Base):
    """One delivered job, kept after its request expires (insert only: no hot row)."""

    __tablename__ = "generation_stats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(255))
    finished: Mapped[dt.datetime] = mapped_column(DateTime)
    things: Mapped[float] = mapped_column(Float)  # image: width x height x steps; text: tokens asked for
    state: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_generation_stats_kind_finished", "kind", "finished"),)


class DailyStat(Base):
    __tablename__ = "stats_daily"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigId, default=0)
    things: Mapped[float] = mapped_column(Float, default=0.0)


class TotalStat(Base):
    __tablename__ = "stats_totals"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(BigId, default=0)
    things: Mapped[float] = mapped_column(Float, default=0.0)


class StatsCursor(Base):
    """The last raw row folded into the roll-ups, per kind."""

    __tablename__ = "stats_cursor"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigId, default=0)
