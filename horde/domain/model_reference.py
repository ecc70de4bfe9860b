"""What the horde knows about models: image baselines and text model sizes.

A small bundled table (horde/data), extendable with files named by
HORDE_IMAGE_MODEL_REFERENCE / HORDE_TEXT_MODEL_REFERENCE (JSON objects of the same shape;
the public AI Horde model reference files have that shape too).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib import resources

SD1, SD2_768, SD2_512 = "stable_diffusion_1", "stable_diffusion_2_768", "stable_diffusion_2_512"
SDXL, CASCADE, FLUX, QWEN, ZIMAGE = "stable_diffusion_xl", "stable_cascade", "flux_1", "qwen_image", "z_image_turbo"

POST_PROCESSORS = (
    "GFPGAN", "RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B", "NMKD_Siax",
    "4x_AnimeSharp", "CodeFormers", "strip_background", "4xNomos8kSC", "4xLSDIRplus",
    "4xNomosWebPhoto_RealPLKSR", "4xNomos2_realplksr_dysample", "4xNomos2_hq_dat2",
    "2xModernSpanimationV1", "GFPGANv1.3", "RestoreFormer",
)
FACE_FIXERS = ("GFPGAN", "CodeFormers", "GFPGANv1.3", "RestoreFormer")
UPSCALERS = tuple(p for p in POST_PROCESSORS if p not in FACE_FIXERS and p != "strip_background")
HEAVY_POST_PROCESSORS = (
    "RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B", "NMKD_Siax", "4x_AnimeSharp", "CodeFormers",
    "4xNomos8kSC", "4xLSDIRplus", "4xNomos2_hq_dat2", "RestoreFormer",
)


def _load(bundled: str, env_var: str) -> dict[str, dict]:
    table = json.loads(resources.files("horde.data").joinpath(bundled).read_text())
    extra = os.environ.get(env_var)
    if extra:
        with open(extra, encoding="utf-8") as handle:
            table.update(json.load(handle))
    return {k: v for k, v in table.items() if not k.startswith("_") and isinstance(v, dict)}


@lru_cache(maxsize=1)
def image_models() -> dict[str, dict]:
    return _load("image_models.json", "HORDE_IMAGE_MODEL_REFERENCE")


@lru_cache(maxsize=1)
def text_models() -> dict[str, dict]:
    return _load("text_models.json", "HORDE_TEXT_MODEL_REFERENCE")


def image_baseline(name: str) -> str:
    entry = image_models().get(name)
    if entry and entry.get("baseline"):
        return entry["baseline"]
    lowered = name.lower()
    for marker, baseline in (("[sdxl]", SDXL), ("[flux]", FLUX), ("[qwen]", QWEN), ("[zmodel]", ZIMAGE), ("[zimage]", ZIMAGE)):
        if marker in lowered:
            return baseline
    return SD1


def is_known_image_model(name: str) -> bool:
    return name in image_models()


def image_model_steps(name: str) -> tuple[int, int]:
    """(min_steps, max_steps) of a model's reference requirements, with the defaults."""
    entry = image_models().get(name) or {}
    requirements = entry.get("requirements") or {}
    return int(requirements.get("min_steps", 20)), int(requirements.get("max_steps", 40))


def image_model_flag(name: str, flag: str) -> bool:
    return bool((image_models().get(name) or {}).get(flag))


_QUANT_SUFFIX = re.compile(r"[-_.](q\d[\w]*|gguf|awq|gptq|exl2[\w.]*|fp16|fp8)$", re.IGNORECASE)


def text_model_parameters(name: str) -> float | None:
    """Parameter count in billions, or None when the model is unknown."""
    base = name.split("::", 1)[0]
    table = text_models()
    for candidate in (base, base.split("/", 1)[-1], _QUANT_SUFFIX.sub("", base), _QUANT_SUFFIX.sub("", base.split("/", 1)[-1])):
        entry = table.get(candidate)
        if entry and entry.get("parameters"):
            # the public reference counts parameters, ours counts billions
            return float(entry["parameters"]) / (1e9 if float(entry["parameters"]) > 1e6 else 1)
    return None
