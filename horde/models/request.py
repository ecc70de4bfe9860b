"""Generation requests ("waiting prompts") and the per-model queue index.

Matching data lives in plain columns so the pop's candidate query filters with row checks,
never JSON parsing. `sort_key` folds kudos priority and priority aging into one number:
priority + 5 points per second of age (the public horde adds 50 every 10 s), stored as
`priority - 5 * created_epoch`, so ordering by it never needs rewriting rows as they age.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class GenerationRequest(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | text | interrogation
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    prompt: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # normalised worker payload
    models: Mapped[list] = mapped_column(JSON, default=list)
    workers: Mapped[list] = mapped_column(JSON, default=list)
    # ",id1,id2," (at most 5 ids): the allow- or deny-list, matchable with LIKE
    workers_csv: Mapped[str] = mapped_column(String(200), default="")
    worker_blacklist: Mapped[bool] = mapped_column(Boolean, default=False)

    n: Mapped[int] = mapped_column(Integer)  # jobs still to hand out
    jobs: Mapped[int] = mapped_column(Integer)  # jobs asked for
    finished: Mapped[int] = mapped_column(Integer, default=0)
    processing: Mapped[int] = mapped_column(Integer, default=0)
    restarted: Mapped[int] = mapped_column(Integer, default=0)
    faulted: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    priority: Mapped[int] = mapped_column(BigId, default=0)
    sort_key: Mapped[float] = mapped_column(Float)
    kudos: Mapped[float] = mapped_column(Float, default=0.0)  # price of one job
    consumed_kudos: Mapped[float] = mapped_column(Float, default=0.0)
    things: Mapped[float] = mapped_column(Float, default=0.0)  # pixelsteps or tokens per job

    # matching columns
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    pixels: Mapped[int] = mapped_column(BigId, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    max_length: Mapped[int] = mapped_column(Integer, default=0)
    max_context_length: Mapped[int] = mapped_column(Integer, default=0)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=True)
    censor_nsfw: Mapped[bool] = mapped_column(Boolean, default=True)
    trusted_workers: Mapped[bool] = mapped_column(Boolean, default=False)
    validated_backends: Mapped[bool] = mapped_column(Boolean, default=False)
    slow_workers: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_slow_workers: Mapped[bool] = mapped_column(Boolean, default=False)
    safe_ip: Mapped[bool] = mapped_column(Boolean, default=True)
    r2: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    disable_batching: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bridge capabilities this request needs (bits of horde.domain.bridges.CAPABILITY_BITS),
    # and the worker settings it needs (allow_img2img, allow_painting...) as plain flags.
    needs_mask: Mapped[int] = mapped_column(BigId, default=0)
    step_cap: Mapped[int] = mapped_column(Integer, default=30)  # for limit_max_steps workers
    karras: Mapped[bool] = mapped_column(Boolean, default=True)
    has_source_image: Mapped[bool] = mapped_column(Boolean, default=False)
    painting: Mapped[bool] = mapped_column(Boolean, default=False)
    has_post_processing: Mapped[bool] = mapped_column(Boolean, default=False)
    has_loras: Mapped[bool] = mapped_column(Boolean, default=False)
    has_controlnet: Mapped[bool] = mapped_column(Boolean, default=False)
    sdxl_controlnet: Mapped[bool] = mapped_column(Boolean, default=False)
    extra_source_images: Mapped[int] = mapped_column(Integer, default=0)
    sampler_name: Mapped[str | None] = mapped_column(String(40))
    source_processing: Mapped[str | None] = mapped_column(String(20))
    softprompt: Mapped[str | None] = mapped_column(String(255))
    # The shared key the request came through: its budget pays along with its owner.
    shared_key_id: Mapped[str | None] = mapped_column(String(36))

    ipaddr: Mapped[str | None] = mapped_column(String(64))
    client_agent: Mapped[str | None] = mapped_column(String(1000))
    webhook: Mapped[str | None] = mapped_column(String(1024))
    proxied_account: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)  # other accepted fields, kept as sent
    # alchemy: the interrogation a form belongs to, and its source image's size in 512x512 tiles
    interrogation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("interrogations.id", ondelete="CASCADE"), index=True
    )
    tiles: Mapped[int] = mapped_column(Integer, default=0)

    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expiry: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (
        # The live queue: only requests with jobs left to hand out.
        Index(
            "ix_requests_queue",
            "kind",
            sort_key.desc(),
            "created",
            postgresql_where=text("n > 0 AND active AND NOT faulted"),
            sqlite_where=text("n > 0 AND active AND NOT faulted"),
        ),
        Index(
            "ix_requests_user_queue",
            "user_id",
            "kind",
            postgresql_where=text("n > 0 AND active AND NOT faulted"),
            sqlite_where=text("n > 0 AND active AND NOT faulted"),
        ),
        Index("ix_requests_expiry", "expiry"),
        # A user's requests in flight (their account page).
        Index(
            "ix_requests_user_in_flight",
            "user_id",
            postgresql_where=text("(n > 0 OR processing > 0) AND NOT faulted AND NOT cancelled"),
            sqlite_where=text("(n > 0 OR processing > 0) AND NOT faulted AND NOT cancelled"),
        ),
    )


class QueuedModel(Base):
    """One row per (queued request, requested model); '' stands for "any model".

    Rows exist only while the request has jobs to hand out, so a pop reads, per model it
    serves, the head of that model's queue through the primary-key-like index below.
    """

    __tablename__ = "request_models"

    request_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    sort_key: Mapped[float] = mapped_column(Float)
    created: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_request_models_head", "kind", "model", sort_key.desc(), "created"),)
