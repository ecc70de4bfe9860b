"""Style rules without a database: prompt templates, name references, shared key settings."""

from __future__ import annotations

import pytest

from horde.domain import errors
from horde.domain.accounts import sharedkeys
from horde.domain.community.styles import render_prompt, split_name


@pytest.mark.parametrize(
    "template,prompt,kind,expected",
    [
        ("{p}{np}", "a cat", "image", "a cat"),
        ("{p}{np}", "a cat###dogs", "image", "a cat###dogs"),  # no ### in the template: the request's is kept
        ("{p}, oil###{np}, blurry", "a cat###dogs", "image", "a cat, oil###dogs, blurry"),
        ("{p}, oil###{np}", "a cat", "image", "a cat, oil"),  # nothing negative: no dangling ###
        ("Write about {p}.", "the sea###not the sky", "text", "Write about the sea###not the sky."),
    ],
)
def test_render_prompt(template, prompt, kind, expected):
    assert render_prompt(template, prompt, kind) == expected


@pytest.mark.parametrize(
    "reference,expected",
    [
        ("noir", (None, "noir")),
        ("style::noir", (None, "noir")),
        ("db0#1::style::noir", (1, "noir")),
        ("db0#1::noir", (1, "noir")),
        ("db0#x::noir", (None, "db0#x::noir")),  # not an alias: the whole text is the name
        ("db0#1::style::a::b", (1, "a::b")),
    ],
)
def test_split_name(reference, expected):
    assert split_name(reference) == expected


def test_shared_key_ids_are_canonical_uuids():
    assert sharedkeys.is_shared_key_id("6f1c1f6e-3c1d-4c55-8a0e-0a3c3f0e1b2d")
    assert not sharedkeys.is_shared_key_id("0000000000")
    assert not sharedkeys.is_shared_key_id("a" * 22)
    assert not sharedkeys.is_shared_key_id("6f1c1f6e3c1d4c558a0e0a3c3f0e1b2d----")
    assert not sharedkeys.is_shared_key_id(None)


def test_shared_key_settings():
    assert sharedkeys.parse_settings({}, creating=True) == {
        "kudos": 5000, "expiry": -1, "max_image_pixels": -1, "max_image_steps": -1, "max_text_tokens": -1,
    }
    assert sharedkeys.parse_settings({}, creating=False) == {}
    assert sharedkeys.parse_settings({"name": "  bot  ", "kudos": -1}, creating=False) == {"name": "bot", "kudos": -1}
    with pytest.raises(errors.ValidationFailed) as refused:
        sharedkeys.parse_settings({"kudos": 1.5, "max_image_steps": 501, "name": "ab"}, creating=False)
    assert set(refused.value.errors) == {"kudos", "max_image_steps", "name"}
