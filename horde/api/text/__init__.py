"""Text-mode namespaces (the "KoboldAI Horde")."""

from horde.api.common.styles import text_namespace
from horde.api.text import generate

NAMESPACES: tuple = (generate.ns, text_namespace())
