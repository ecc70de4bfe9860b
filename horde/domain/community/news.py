"""News items shown by GET /status/news, newest first."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def news() -> list[dict]:
    items = json.loads(resources.files("horde.data").joinpath("news.json").read_text())
    return sorted(items, key=lambda item: item["date_published"], reverse=True)
