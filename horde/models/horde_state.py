"""The single row of horde-wide state: operating modes, and the versions of the moderation rules.

A change to the prompt filters or the IP timeouts moves its version in the same transaction;
every node polls the versions and reloads what moved (horde.domain.moderation.live_rules)."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer
from sqlalchemy.orm import Mapped, mapped_column

from horde.db import Base

HORDE_STATE_ID = 1


class HordeState(Base):
    __tablename__ = "horde_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    maintenance_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    invite_only_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    raid_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    filters_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ip_timeouts_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
