"""Text-mode namespaces (the "KoboldAI Horde")."""

from horde.api.text import generate

NAMESPACES: tuple = (generate.ns,)
