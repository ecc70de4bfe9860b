"""The parts one application is wired from, built once by `create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from horde.cache import Cache
from horde.db import Database
from horde.domain.accounts import KeyHasher
from horde.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    hasher: KeyHasher
