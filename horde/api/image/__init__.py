"""Image-mode namespaces (the "Stable Horde")."""

NAMESPACES: tuple = ()
