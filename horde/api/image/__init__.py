"""Image-mode namespaces (the "Stable Horde")."""

from horde.api.common.stats import image_ns as stats_ns
from horde.api.image import generate, interrogate, results

NAMESPACES: tuple = (generate.ns, interrogate.ns, results.ns, stats_ns)
