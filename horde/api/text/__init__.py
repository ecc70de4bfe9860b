"""Text-mode namespaces (the "KoboldAI Horde")."""

from horde.api.common.styles import text_namespace
from horde.api.common.stats import text_ns as stats_ns
from horde.api.text import generate

NAMESPACES: tuple = (generate.ns, stats_ns, text_namespace())
