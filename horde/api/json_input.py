"""Reading a JSON request body strictly, the same way on every route.

Python's `json` module accepts what JSON does not (`NaN`, `Infinity`, `-Infinity`), turns
`1e400` into infinity, builds integers of any size and recurses once per nesting level (5,000
levels are a crash, not a refusal). Text may hold NUL bytes and unpaired surrogates, which no
database column stores. Every body goes through `loads` below instead; each refusal names the
field and the limit it broke.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from horde.domain import errors

MAX_DEPTH = 32  # the deepest legitimate body (params.loras[i].name) is 4 levels
# Integers a JSON number can carry exactly in every client (2^53 - 1); this also keeps
# every integer inside the database's BIGINT before any per-field range applies.
MAX_INTEGER = 2**53 - 1

# A JSON string (escapes included) or one bracket: strings are skipped whole, in C.
_STRINGS_OR_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class _Refused:
    """`NaN`, `Infinity` or `-Infinity`: reported with its field by `_refuse_first`."""

    def __init__(self, name: str):
        self.reason = f"{name} is not a number: send a finite number"


def _number_problem(value: Any) -> str | None:
    """Why a parsed number is refused (past a double, outside the JSON integer range), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "too large for a number (at most about 1.8e308)"
    if isinstance(value, int) and not -MAX_INTEGER <= value <= MAX_INTEGER:
        return f"{str(value)[:40]} is outside the range of JSON integers (-{MAX_INTEGER} to {MAX_INTEGER})"
    return None


def _check_depth(text: str) -> None:
    # A body with fewer brackets than the limit cannot be nested deeper than it.
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _STRINGS_OR_BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise errors.ValidationFailed(errors={"": f"JSON nested more than {MAX_DEPTH} levels deep"})
        elif token in "]}":
            depth -= 1


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL byte, an unpaired surrogate), or None."""
    if "\x00" in value:
        return "nul"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (\\ud800-\\udfff): send valid Unicode text"
    return None


def refuse_text(field: str, problem: str, where: str = "field") -> errors.HordeError:
    """The 400 for text that `text_problem` found in `field` (of the body, the query, a header...)."""
    if problem == "nul":
        place = f"{where} '{field}'" if field else f"the {where}"
        return errors.NulByteInPayload(f"{errors.NulByteInPayload.message} Found in {place}.")
    return errors.ValidationFailed(errors={field or where: problem})


def _clean(value: Any) -> bool:
    """True when every string (keys too) is storable and every number accepted (fast: no paths)."""
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or text_problem(value) is None)
    if isinstance(value, dict):
        return all(_clean(key) and _clean(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_clean(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return -MAX_INTEGER <= value <= MAX_INTEGER
    return not isinstance(value, _Refused)


def _refuse_first(value: Any, path: str) -> None:
    """Raise the refusal of the first bad string or number, naming its field."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise refuse_text(path, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                raise refuse_text(f"{path}.{key!r}" if path else repr(key), problem)
            _refuse_first(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_first(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, _Refused):
        raise errors.ValidationFailed(errors={path: value.reason})
    elif isinstance(value, (int, float)) and _number_problem(value):
        raise errors.ValidationFailed(errors={path: _number_problem(value)})


def loads(raw: bytes | str) -> Any:
    """The JSON value of a request body, or the 400 that says what is wrong with it."""
    try:
        text = raw.decode(json.detect_encoding(raw)) if isinstance(raw, bytes) else raw
    except (UnicodeDecodeError, LookupError):
        raise errors.MalformedJSON() from None
    _check_depth(text)
    try:
        data = json.loads(text, parse_constant=_Refused)
    except (ValueError, RecursionError):
        raise errors.MalformedJSON() from None
    if not _clean(data):
        _refuse_first(data, "")
    return data
