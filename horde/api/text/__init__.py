"""Text-mode namespaces (the "KoboldAI Horde")."""

NAMESPACES: tuple = ()
