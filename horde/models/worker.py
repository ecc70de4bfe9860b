"""Workers: the GPU bridges that pop jobs, their capabilities, counters and state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Unique across all worker types, ignoring case (no look-alikes of someone's worker).
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_lower: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    worker_type: Mapped[str] = mapped_column(String(16))  # image | text | interrogation
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("teams.id", ondelete="SET NULL"), index=True)

    info: Mapped[str | None] = mapped_column(Text)
    ipaddr: Mapped[str | None] = mapped_column(String(64))
    bridge_agent: Mapped[str] = mapped_column(String(1000), default="unknown:0:unknown")
    threads: Mapped[int] = mapped_column(Integer, default=1)
    models: Mapped[list] = mapped_column(JSON, default=list)
    blacklist: Mapped[list] = mapped_column(JSON, default=list)
    softprompts: Mapped[list] = mapped_column(JSON, default=list)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_slow: Mapped[bool] = mapped_column(Boolean, default=False)
    # image
    max_pixels: Mapped[int] = mapped_column(BigId, default=262144)
    allow_img2img: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_painting: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_unsafe_ipaddr: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_post_processing: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_controlnet: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_sdxl_controlnet: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_lora: Mapped[bool] = mapped_column(Boolean, default=False)
    limit_max_steps: Mapped[bool] = mapped_column(Boolean, default=False)
    # text
    max_length: Mapped[int] = mapped_column(Integer, default=512)
    max_context_length: Mapped[int] = mapped_column(Integer, default=2048)
    # interrogation (alchemy): the largest source image it post-processes, in 512x512 tiles
    max_tiles: Mapped[int] = mapped_column(Integer, default=80)

    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    maintenance_msg: Mapped[str | None] = mapped_column(String(300))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    suspicion: Mapped[int] = mapped_column(Integer, default=0)

    kudos_generated: Mapped[float] = mapped_column(Float, default=0.0)
    kudos_uptime: Mapped[float] = mapped_column(Float, default=0.0)
    fulfilments: Mapped[int] = mapped_column(BigId, default=0)
    contributions: Mapped[float] = mapped_column(Float, default=0.0)
    uncompleted_jobs: Mapped[int] = mapped_column(BigId, default=0)
    dropped_jobs: Mapped[int] = mapped_column(Integer, default=0)
    dropped_window_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    uptime: Mapped[int] = mapped_column(BigId, default=0)
    last_reward_uptime: Mapped[int] = mapped_column(BigId, default=0)
    # Things per second, smoothed over recent jobs (None until the first delivery).
    speed: Mapped[float | None] = mapped_column(Float)

    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_check_in: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
