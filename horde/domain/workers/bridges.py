"""Worker bridge software (`bridge_agent` = "name:version:url") and what each version can do.

Capabilities decide which requests a worker may receive (behaviour §4.6). A capability is
available when listed at any version up to the bridge's own. Unknown bridges have none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

REGEN = "AI Horde Worker reGen"
LEGACY = "AI Horde Worker"
_REGEN_V1 = (
    "img2img inpainting karras post-processing GFPGAN RealESRGAN_x4plus RealESRGAN_x2plus "
    "RealESRGAN_x4plus_anime_6B NMKD_Siax 4x_AnimeSharp CodeFormers strip_background r2 r2_source "
    "clip_skip controlnet image_is_control return_control_map hires_fix tiling"
)
_CAPABILITIES: dict[str, dict[int, str]] = {
    REGEN: {
        1: _REGEN_V1,
        2: "textual_inversion lora",
        3: "lora_versions",
        5: "extra_source_images",
        6: "stable_cascade_2pass",
        7: "qr_code extra_texts workflow",
        8: "layer_diffuse",
        9: "flux",
        13: "4xNomos8kSC 4xLSDIRplus 4xNomosWebPhoto_RealPLKSR 4xNomos2_realplksr_dysample 4xNomos2_hq_dat2 "
        "2xModernSpanimationV1 GFPGANv1.3 RestoreFormer",
    },
    LEGACY: {
        3: "img2img", 4: "inpainting", 6: "karras", 7: "post-processing GFPGAN RealESRGAN_x4plus", 8: "r2",
        9: "CodeFormers", 13: "hires_fix clip_skip", 14: "r2_source", 15: "controlnet",
        18: "strip_background return_control_map RealESRGAN_x4plus_anime_6B", 19: "NMKD_Siax 4x_AnimeSharp",
        21: "RealESRGAN_x2plus", 22: "lora", 23: "image_is_control", 24: "textual_inversion",
    },
    "SD-WebUI Stable Horde Worker Bridge": {1: "inpainting karras r2 CodeFormers", 2: "tiling", 3: "r2_source", 4: "clip_skip"},
    "HordeAutoWebBridge": {1: "inpainting img2img karras", 2: "tiling"},
}
_K_SAMPLERS = "k_lms k_heun k_euler k_euler_a k_dpm_2 k_dpm_2_a k_dpm_fast k_dpm_adaptive k_dpmpp_2s_a k_dpmpp_2m"
# (karras-compatible, additionally without karras) samplers per bridge and version.
_SAMPLERS: dict[str, dict[int, tuple[str, str]]] = {
    REGEN: {2: (f"{_K_SAMPLERS} k_dpmpp_sde dpmsolver DDIM", ""), 3: ("lcm", "")},
    LEGACY: {11: (f"{_K_SAMPLERS} dpmsolver", ""), 12: ("k_dpmpp_sde", ""), 17: ("", "DDIM")},
    "SD-WebUI Stable Horde Worker Bridge": {1: (f"{_K_SAMPLERS} k_dpmpp_sde", "DDIM plms")},
    "HordeAutoWebBridge": {
        1: ("k_lms k_dpm_2 k_dpm_2_a k_dpmpp_2s_a k_dpmpp_2m dpmsolver", "k_heun k_euler k_euler_a k_dpm_fast k_dpm_adaptive")
    },
}
# Text backends whose output is trusted for validated_backends requests and full rewards.
VALIDATED_TEXT_BACKENDS = frozenset(
    {"AI Horde Worker", "AI Horde Worker~aphrodite~oai", "AI Horde Worker~aphrodite~kai", "KoboldCppEmbedWorker", "TabbyAPI"}
)
_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class Bridge:
    name: str
    version: tuple[int, int, int]
    capabilities: frozenset[str]
    karras_samplers: frozenset[str]
    other_samplers: frozenset[str]

    def supports_sampler(self, sampler: str, karras: bool) -> bool:
        return sampler in self.karras_samplers or (not karras and sampler in self.other_samplers)

    @property
    def is_official(self) -> bool:
        return self.name in (REGEN, LEGACY)

    @property
    def reward_multiplier(self) -> float:
        """Latest official bridge 1.0, older official 0.9, anything else 0.75."""
        if not self.is_official:
            return 0.75
        latest = max(_CAPABILITIES[self.name])
        return 1.0 if self.version[0] >= latest else 0.9


def _version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


@lru_cache(maxsize=1024)
def parse(bridge_agent: str) -> Bridge:
    parts = (bridge_agent or "").split(":")
    name = parts[0].strip()
    version = _version(parts[1]) if len(parts) > 1 else None
    if version is None or name not in _CAPABILITIES:
        # Unknown software: no capabilities; samplers as the legacy worker 23 had them.
        legacy = parse(f"{LEGACY}:23.0.0") if name != LEGACY or version is None else None
        samplers = (legacy.karras_samplers, legacy.other_samplers) if legacy else (frozenset(), frozenset())
        return Bridge(name or "unknown", version or (0, 0, 0), frozenset(), *samplers)
    caps: set[str] = set()
    for since, names in _CAPABILITIES[name].items():
        if version[0] >= since:
            caps.update(names.split())
    karras: set[str] = set()
    other: set[str] = set()
    for since, (with_karras, without) in _SAMPLERS.get(name, {}).items():
        if version[0] >= since:
            karras.update(with_karras.split())
            other.update(without.split())
    return Bridge(name, version, frozenset(caps), frozenset(karras), frozenset(other))


def is_validated_text_backend(bridge_agent: str) -> bool:
    return (bridge_agent or "").split(":")[0].strip() in VALIDATED_TEXT_BACKENDS


# Every capability a request can need, each with a fixed bit. Requests store the bits they
# need (`needs_mask`); a worker may take a request when no needed bit is missing from its
# bridge. Append new names at the end: stored masks depend on these positions.
CAPABILITY_BITS: tuple[str, ...] = (
    "img2img", "inpainting", "post-processing", "r2", "r2_source", "clip_skip", "controlnet",
    "image_is_control", "return_control_map", "hires_fix", "tiling", "textual_inversion", "lora",
    "lora_versions", "extra_source_images", "stable_cascade_2pass", "qr_code", "extra_texts", "workflow",
    "layer_diffuse", "flux", "GFPGAN", "RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B",
    "NMKD_Siax", "4x_AnimeSharp", "CodeFormers", "strip_background", "4xNomos8kSC", "4xLSDIRplus",
    "4xNomosWebPhoto_RealPLKSR", "4xNomos2_realplksr_dysample", "4xNomos2_hq_dat2", "2xModernSpanimationV1",
    "GFPGANv1.3", "RestoreFormer",
)
_BIT = {name: 1 << index for index, name in enumerate(CAPABILITY_BITS)}
ALL_CAPABILITIES_MASK = (1 << len(CAPABILITY_BITS)) - 1


def capability_mask(names) -> int:
    mask = 0
    for name in names:
        mask |= _BIT.get(name, 0)
    return mask


def missing_mask(bridge: Bridge) -> int:
    """Bits of the capabilities this bridge lacks."""
    return ALL_CAPABILITIES_MASK & ~capability_mask(bridge.capabilities)
