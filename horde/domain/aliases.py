"""User ids as people write them: `name#id` aliases and bare ids.

`str.isdigit()` is true for '²' or '٣', which `int()` then refuses or reads as another number;
and a thousand digits make no id. Ids here are ASCII digits within the database's BIGINT."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def user_id(text: str) -> int | None:
    """The id written as `text` (ASCII digits only), or None."""
    if not ascii_digits(text) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def alias_id(alias: str | None) -> int | None:
    """The id of an alias `name#id` (only the part after the last '#' counts), or None."""
    if not alias or "#" not in alias:
        return None
    return user_id(alias.rsplit("#", 1)[1])
