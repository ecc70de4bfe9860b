"""Image-mode namespaces (the "Stable Horde")."""

from horde.api.image import generate, results

NAMESPACES: tuple = (generate.ns, results.ns)
