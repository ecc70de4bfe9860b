"""Jobs ("processing generations"): one unit of work handed to a worker."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow

# Job states. "processing" until the worker submits or the TTL passes.
PROCESSING = "processing"
OK = "ok"
CENSORED = "censored"
CSAM = "csam"
FAULTED = "faulted"
CANCELLED = "cancelled"
DONE_STATES = (OK, CENSORED, CSAM)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("workers.id", ondelete="SET NULL"), index=True)
    worker_name: Mapped[str] = mapped_column(String(100))
    worker_owner_id: Mapped[int | None] = mapped_column(BigId)
    model: Mapped[str] = mapped_column(String(255), default="")
    seed: Mapped[int] = mapped_column(BigId, default=0)
    state: Mapped[str] = mapped_column(String(16), default=PROCESSING)
    fake: Mapped[bool] = mapped_column(Boolean, default=False)
    censored: Mapped[bool] = mapped_column(Boolean, default=False)
    generation: Mapped[str | None] = mapped_column(Text)  # text, or "R2" for a stored image
    gen_metadata: Mapped[list] = mapped_column(JSON, default=list)
    reward: Mapped[float] = mapped_column(Float, default=0.0)
    reserved: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")  # the requester's hold for it
    things: Mapped[float] = mapped_column(Float, default=0.0)
    started: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        # The stale-job sweep reads only jobs still at workers.
        Index(
            "ix_jobs_processing_deadline",
            "deadline",
            postgresql_where=text("state = 'processing'"),
            sqlite_where=text("state = 'processing'"),
        ),
    )
