"""Small real images for tests."""

import base64
import io

from PIL import Image

REGEN = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"


def webp_bytes(width: int = 64, height: int = 64, color=(200, 30, 60), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, format="WEBP", quality=90)
    return out.getvalue()


def png_b64(width: int = 64, height: int = 64, mode: str = "RGB") -> str:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 20, 30) if mode == "RGB" else (10, 20, 30, 0)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()
