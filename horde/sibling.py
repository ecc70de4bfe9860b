"""The sibling horde: the other mode's server, when an operator runs both.

A horde of ours serves one kind (image or text), each with its own database. The public AI
Horde answers both kinds at one address, and clients ask it cross-kind questions: the text
models online from an image horde, the image statistics from a text one. With
HORDE_SIBLING_URL set to the other mode's server, such read-only questions are answered from
the sibling's own answer to the same public route, so the pair behaves as one horde for them.

The sibling is configured by the operator (often on a private network), so the fetch may go
to private addresses, but it keeps the fetcher's other limits: a short total deadline, a size
cap, a few at a time, and the process's core slot given back while it waits. Answers are
cached for a few seconds (they are what a client would poll anyway), and a sibling that is
down answers nothing: the caller falls back to what a lone horde says (an empty list), and
the outage is logged once per cache period rather than per request.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from horde.cache import Cache
from horde.fetch import FetchError, Fetcher

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
DEADLINE_SECONDS = 3.0
MAX_BYTES = 4 * 1024 * 1024
# Sent on every question to the sibling; a horde asked with it never asks its own sibling, so two
# hordes misconfigured as each other's sibling in the same mode cannot ask each other in a loop.
HEADER = "X-Horde-Sibling"
_MISSING = {"sibling": "unreachable"}  # cached marker: one failed fetch per period, not one per request


class SiblingHorde:
    """Read-only client of the sibling's public API (GET routes under /api/v2)."""

    def __init__(self, base_url: str, cache: Cache, fetcher: Fetcher):
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self.fetcher = fetcher

    def get(self, route: str, **params: str) -> Any | None:
        """The sibling's JSON answer to GET /api{route}, or None when it has none to give
        (unreachable, slow, or not a 200)."""
        query = urlencode(sorted((k, v) for k, v in params.items() if v is not None))
        url = f"{self.base_url}/api{route}" + (f"?{query}" if query else "")
        key = f"sibling:{url}"
        cached = self.cache.get(key)
        if cached is not None:
            return None if cached == _MISSING else cached
        answer = self._fetch(url)
        self.cache.set(key, _MISSING if answer is None else answer, CACHE_SECONDS)
        return answer

    def _fetch(self, url: str) -> Any | None:
        try:
            fetched = self.fetcher.get(url, max_bytes=MAX_BYTES, headers={"Accept": "application/json", HEADER: "1"}, deadline=DEADLINE_SECONDS)
        except FetchError as error:
            log.warning("sibling horde %s: %s", url, error)
            return None
        if fetched.status != 200:
            log.warning("sibling horde %s answered %s", url, fetched.status)
            return None
        try:
            return json.loads(fetched.body)
        except ValueError:
            log.warning("sibling horde %s answered something that is not JSON", url)
            return None


def make_sibling(settings, cache: Cache) -> SiblingHorde | None:
    if not settings.sibling_url:
        return None
    from horde import __version__

    # Its own small pool: a slow sibling must not take the permits of client-URL fetches.
    fetcher = Fetcher(allow_private=True, concurrency=2, deadline=DEADLINE_SECONDS, user_agent=f"Horde/{__version__} (sibling)")
    return SiblingHorde(settings.sibling_url, cache, fetcher)
