"""The operator's documents: terms of service, privacy policy, sponsors.

Each is a Markdown file (HTML inside it is allowed, so a plain HTML file works too): the
bundled one, or the operator's (HORDE_TERMS_FILE, HORDE_PRIVACY_FILE, HORDE_SPONSORS_FILE).
The web pages and `GET /api/v2/documents/*` serve the same file; its HTML is rendered
once per change of the file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import markdown

from horde.settings import Settings

BUNDLED = Path(__file__).resolve().parent / "web" / "documents"
TITLES = {"terms": "Terms of service", "privacy": "Privacy policy", "sponsors": "Sponsors"}

_rendered: dict[tuple[str, int], str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Document:
    name: str
    title: str
    markdown: str
    html: str


def path_of(settings: Settings, name: str) -> Path:
    override = {"terms": settings.terms_file, "privacy": settings.privacy_file, "sponsors": settings.sponsors_file}[name]
    return Path(override) if override else BUNDLED / f"{name}.md"


def load(settings: Settings, name: str) -> Document:
    """`name` is one of TITLES; the operator's file is trusted content, like the bundled one."""
    path = path_of(settings, name)
    source = path.read_text(encoding="utf-8")
    key = (str(path), hash(source))
    with _lock:
        html = _rendered.get(key)
    if html is None:
        html = markdown.markdown(source, extensions=["extra"], output_format="html")
        with _lock:
            _rendered[key] = html
    return Document(name=name, title=TITLES[name], markdown=source, html=html)
