"""A synthetic list of prompt filters for `python -m bench --filters N`: regexes shaped like
a public horde's (word stems, alternations, character classes), of types 10, 11 and 20, on
made-up words, so every request is matched against all of them and none refuses it."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path


def _word(rng: random.Random) -> str:
    return "q" + "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 8)))


def synthetic(count: int, seed: int = 16) -> list[dict]:
    rng = random.Random(seed)
    filters = []
    for number in range(count):
        word = _word(rng)
        shape = number % 3
        if shape == 0:
            regex = rf"\b{word}\w*"
        elif shape == 1:
            regex = rf"{word[:3]}[a-z]{{0,3}}{word[3:]}"
        else:
            regex = rf"\b(?:{word}|{_word(rng)})s?\b"
        filters.append({"regex": regex, "filter_type": (10, 11, 20)[number % 3], "description": f"bench {number}",
                        "replacement": "adult" if number % 3 == 0 else ""})
    return filters


def write(count: int, folder: Path) -> Path:
    path = folder / f"filters-{count}.json"
    path.write_text(json.dumps(synthetic(count)))
    return path
