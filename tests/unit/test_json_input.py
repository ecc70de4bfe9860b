"""Strict JSON bodies: what Python's json module would let through is refused, naming the field."""

from __future__ import annotations

import pytest

from horde.api import json_input
from horde.domain import errors


@pytest.mark.parametrize(
    "body,field,words",
    [
        ('{"a": NaN}', "a", "NaN is not a number"),
        ('{"a": [1, {"b": -Infinity}]}', "a.1.b", "-Infinity is not a number"),
        ('{"a": Infinity}', "a", "Infinity is not a number"),
        ('{"a": 1e400}', "a", "too large"),
        ('{"a": -1e999}', "a", "too large"),
        ('{"a": 9007199254740992}', "a", "outside the range"),
        ('{"a": -100000000000000000000}', "a", "outside the range"),
        ('{"p": {"q": "\\ud800"}}', "p.q", "unpaired surrogate"),
        ('{"p": "\\udfff tail"}', "p", "unpaired surrogate"),
        ('{"\\ud83d": 1}', "'\\ud83d'", "unpaired surrogate"),
        ('{"d": ' + "[" * 33 + "]" * 33 + "}", "", "32 levels"),
    ],
)
def test_refused_with_the_field_named(body, field, words):
    with pytest.raises(errors.ValidationFailed) as caught:
        json_input.loads(body.encode())
    assert caught.value.errors is not None
    (name, detail), = caught.value.errors.items()
    assert name == field and words in detail


@pytest.mark.parametrize("body", ['{"a": "x\\u0000y"}', '{"a\\u0000": 1}', '["\\u0000"]'])
def test_nul_bytes_are_refused(body):
    with pytest.raises(errors.NulByteInPayload):
        json_input.loads(body.encode())


@pytest.mark.parametrize("body", [b"{", b'{"a": 1,}', b"\xff\xfe\xfd", b'{"a": ' + b"9" * 5000 + b"}"])
def test_malformed_bodies_are_malformed(body):
    with pytest.raises(errors.MalformedJSON):
        json_input.loads(body)


def test_good_bodies_pass_unchanged():
    body = '{"ok": [1, -2.5, 9007199254740991, "é ✓ 😀", true, null, {"n": [[[[]]]]}], "brackets": "[[[[{{{{"}'
    assert json_input.loads(body.encode()) == {
        "ok": [1, -2.5, 9007199254740991, "é ✓ 😀", True, None, {"n": [[[[]]]]}], "brackets": "[[[[{{{{",
    }


def test_deep_nesting_is_refused_before_parsing():
    """5,000 levels made Python's parser recurse until it crashed."""
    with pytest.raises(errors.ValidationFailed):
        json_input.loads(b"[" * 5000 + b"]" * 5000)
    # Brackets inside strings are text, not nesting.
    assert json_input.loads(('{"s": "' + "[" * 5000 + '"}').encode()) == {"s": "[" * 5000}
