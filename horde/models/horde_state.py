"""The single row of horde-wide operating modes (maintenance, invite-only, raid)."""

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
