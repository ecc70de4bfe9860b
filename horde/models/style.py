"""Styles (named prompt templates with params and models), their example images, and
collections of styles. `kind` is image or text; each mode's database holds its own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base, BigId, utcnow


class Style(Base):
    __tablename__ = "styles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    info: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    models: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # ",a,b," copies of models and tags: the list filters are a LIKE on both databases.
    models_csv: Mapped[str] = mapped_column(Text, default="")
    tags_csv: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    sharedkey_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("shared_keys.id", ondelete="SET NULL"), index=True)
    use_count: Mapped[int] = mapped_column(BigId, default=0)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_styles_user_kind_name", "user_id", "kind", "name", unique=True),
        Index("ix_styles_kind_name", "kind", "name"),
        Index("ix_styles_kind_public_use", "kind", "public", "use_count"),
    )


class StyleExample(Base):
    __tablename__ = "style_examples"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    style_id: Mapped[str] = mapped_column(String(36), ForeignKey("styles.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(1024))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    info: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    use_count: Mapped[int] = mapped_column(BigId, default=0)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_collections_user_name", "user_id", "name", unique=True),
        Index("ix_collections_name", "name"),
    )


class CollectionStyle(Base):
    __tablename__ = "collection_styles"

    collection_id: Mapped[str] = mapped_column(String(36), ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    style_id: Mapped[str] = mapped_column(String(36), ForeignKey("styles.id", ondelete="CASCADE"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
