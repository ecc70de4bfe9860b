"""The two modes a horde process can serve, and what each one mounts."""

from __future__ import annotations

import enum


class Mode(str, enum.Enum):
    IMAGE = "image"
    TEXT = "text"

    @classmethod
    def parse(cls, value: str) -> "Mode":
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(f"unknown mode {value!r}: choose 'image' or 'text'") from None

    @property
    def default_name(self) -> str:
        return "Stable Horde" if self is Mode.IMAGE else "KoboldAI Horde"

    @property
    def description(self) -> str:
        return "image generation" if self is Mode.IMAGE else "text generation"

    @property
    def other(self) -> "Mode":
        return Mode.TEXT if self is Mode.IMAGE else Mode.IMAGE


# Path prefixes (under /api/v2) that belong to one mode only. A request for a prefix of the
# mode not served gets a JSON 404 naming the mode this horde serves.
MODE_ONLY_PREFIXES: dict[Mode, tuple[str, ...]] = {
    Mode.IMAGE: (
        "/api/v2/generate/async",
        "/api/v2/generate/check/",
        "/api/v2/generate/status/",
        "/api/v2/generate/pop",
        "/api/v2/generate/submit",
        "/api/v2/generate/rate/",
        "/api/v2/interrogate/",
        "/api/v2/styles/image",
    ),
    Mode.TEXT: (
        "/api/v2/generate/text/",
        "/api/v2/styles/text",
    ),
}


def mode_owning_path(path: str) -> Mode | None:
    """Which mode's routes this path belongs to, or None for common paths."""
    for mode, prefixes in MODE_ONLY_PREFIXES.items():
        if mode is Mode.IMAGE and path.startswith("/api/v2/generate/text/"):
            continue
        if any(path.startswith(p) for p in prefixes):
            return mode
    return None
