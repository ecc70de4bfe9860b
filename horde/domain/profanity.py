"""A small, deliberately conservative check for names that would embarrass the horde.

Operators can extend the word list with HORDE_PROFANITY_FILE (one word per line).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

_BUILT_IN = ("fuck", "shit", "cunt", "nigger", "nigga", "faggot", "retard", "whore", "slut", "bitch", "rapist")


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    words = list(_BUILT_IN)
    extra = os.environ.get("HORDE_PROFANITY_FILE")
    if extra:
        with open(extra, encoding="utf-8") as handle:
            words.extend(line.strip().lower() for line in handle if line.strip())
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def is_profane(text: str) -> bool:
    return bool(text) and _pattern().search(text) is not None
