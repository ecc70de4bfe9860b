"""Image-mode namespaces (the "Stable Horde")."""

from horde.api.common.styles import image_namespace
from horde.api.common.stats import image_ns as stats_ns
from horde.api.image import generate, results

NAMESPACES: tuple = (generate.ns, results.ns, stats_ns, image_namespace())
