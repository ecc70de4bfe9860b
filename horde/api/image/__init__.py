"""Image-mode namespaces (the "Stable Horde")."""

from horde.api.common.styles import image_namespace
from horde.api.image import generate, interrogate, results

NAMESPACES: tuple = (generate.ns, interrogate.ns, results.ns, image_namespace())
