"""Image requests: the checks of spec/behaviour.md §1.3, normalisation (§1.4), price inputs.

Input is the JSON body after schema validation (types and ranges are already right);
what is left are the rules that answer with a specific rc. The result is a `NewRequest`,
which the shared queue engine (`horde.domain.queue`) stores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from horde.domain import aliases, errors
from horde.domain import model_reference as ref
from horde.domain.queue import pricing
from horde.domain.workers import bridges

MAX_PROMPT_WORDS = 7500
MAX_PROMPT_BYTES = 100_000  # a word can be any length: the size is bounded too (UTF-8)
SECOND_ORDER_SAMPLERS = ("k_heun", "k_dpm_2", "k_dpm_2_a", "k_dpmpp_2s_a", "k_dpmpp_sde")
NO_HIRES_BASELINES = (ref.FLUX, ref.QWEN, ref.ZIMAGE)
NO_CONTROLNET_BASELINES = (ref.SDXL, ref.CASCADE, ref.FLUX, ref.QWEN, ref.ZIMAGE)
SLOW_MODEL_BASELINES = (ref.FLUX, ref.QWEN, ref.ZIMAGE)
# Keys of `params` that workers receive in the payload (besides the derived ones).
PAYLOAD_PARAMS = (
    "scheduler", "control_strength", "post_processing_order", "flow_shift", "sampler_eta", "sampler_s_noise",
    "sampler_s_churn", "sampler_s_tmin", "sampler_s_tmax", "sampler_solver_type", "sampler_name", "cfg_scale", "denoising_strength", "hires_fix_denoising_strength", "height", "width",
    "post_processing", "karras", "tiling", "hires_fix", "clip_skip", "control_type", "image_is_control",
    "return_control_map", "facefixer_strength", "loras", "tis", "special", "extra_texts", "workflow",
    "transparent",
)
UINT32 = 2**32


@dataclass
class NewRequest:
    """A validated request, ready to be queued (image or text)."""

    kind: str
    prompt: str
    n: int
    models: list[str]
    params: dict[str, Any]  # the worker payload template
    columns: dict[str, Any]  # matching columns of GenerationRequest
    price: float  # per-job base price
    dry_run_cost: float
    tax: float
    needs_upfront: bool = False
    warnings: list[dict] = field(default_factory=list)
    source_images: dict[str, str] = field(default_factory=dict)  # name -> base64 or URL
    extra_source_images: list[dict] = field(default_factory=list)
    ages: bool = True  # priority aging (alchemy forms keep their kudos snapshot)

    def __post_init__(self):
        # A model named twice is one queue entry (request_models is keyed by request and model).
        self.models = list(dict.fromkeys(self.models))


def prompt_size(prompt: str, limit: int) -> None:
    size = len(prompt.encode("utf-8"))
    if size > limit:
        raise errors.InvalidPromptSize(f"Prompts are limited to {limit:,} bytes (UTF-8); this one has {size:,}.")


def accurate_steps(steps: int, sampler: str) -> int:
    if sampler == "k_dpm_adaptive":
        return 40
    return steps * 2 if sampler in SECOND_ORDER_SAMPLERS else steps


def seed_to_int(seed: str) -> int:
    """A seed string as the 32-bit number workers use (digits as a number, text hashed)."""
    value = int(seed) if aliases.ascii_digits(seed) else int.from_bytes(seed.encode(), "little")
    value = abs(value)
    while value >= UINT32:
        value >>= 32
    return value


def random_seed() -> int:
    return random.randrange(0, UINT32)


def job_ttl(steps: int, width: int, height: int, *, controlnet: bool, slow_model: bool, extra_slow_worker: bool) -> int:
    """Seconds a worker has to deliver one image job (behaviour §1.12)."""
    ttl = 30 + steps * 2 * (width * height / 262144)
    if controlnet:
        ttl *= 2
    if slow_model:
        ttl *= 3
    ttl = max(ttl, 150)
    if extra_slow_worker:
        ttl *= 3
    return int(ttl)


def _reject_bad_models(models: list[str], has_source_image: bool) -> list[str]:
    baselines = [ref.image_baseline(m) for m in models]
    for model in models:
        if model in ref.POST_PROCESSORS:
            raise errors.UnexpectedModelName(f"'{model}' is a post-processor, not a model.")
        if ref.image_model_flag(model, "requires_source_image") and not has_source_image:
            raise errors.SourceImageRequiredForModel(f"Model '{model}' needs a source image.")
    return baselines


def _check_loras_and_tis(params: dict) -> tuple[list, list]:
    loras = params.get("loras") or []
    tis = params.get("tis") or []
    if len(loras) > 5:
        raise errors.TooManyLoras()
    for lora in loras:
        if lora.get("is_version") and not aliases.ascii_digits(str(lora.get("name", ""))):
            raise errors.BadLoraVersion()
    if len(tis) > 20:
        raise errors.TooManyTIs()
    return loras, tis


def _check_cfg(params: dict) -> float:
    cfg = params.get("cfg_scale", 5.0)
    if round(float(cfg), 2) != float(cfg):
        raise errors.BadCFGDecimals()
    return float(cfg)


def build(body: dict, *, user_trusted: bool, user_special: bool, user_education: bool) -> NewRequest:
    """Validate an image request body and normalise it (no database access)."""
    prompt = body.get("prompt", "")
    if not prompt or not prompt.strip():
        raise errors.MissingPrompt()
    if len(prompt.split()) > MAX_PROMPT_WORDS:
        raise errors.InvalidPromptSize(f"Prompts are limited to {MAX_PROMPT_WORDS} words.")
    prompt_size(prompt, MAX_PROMPT_BYTES)
    params = dict(body.get("params") or {})
    n = int(params.pop("n", 1))
    models = list(body["models"]) if "models" in body else ["stable_diffusion"]
    source_image = body.get("source_image")
    source_mask = body.get("source_mask")
    source_processing = body.get("source_processing", "img2img")
    if source_processing == "txt2img":  # horde-sdk's name for "no source processing"
        source_processing = "img2img"
    extra_images = body.get("extra_source_images") or []
    baselines = _reject_bad_models(models, bool(source_image))

    if params.get("special") is not None and not user_special:
        raise errors.BadRequest("Only special users can send a 'special' payload.")
    if source_mask and not source_image:
        raise errors.SourceMaskUnnecessary()
    if source_processing == "remix" and not (baselines and all(b == ref.CASCADE for b in baselines)):
        raise errors.InvalidRemix()
    if len(extra_images) > 5:
        raise errors.TooManyExtraSourceImages()
    if len(extra_images) > 1 and not user_trusted:
        raise errors.MoreThanMinExtraSourceImage()
    if extra_images and source_processing != "remix":
        raise errors.InvalidExtraSourceImages()
    loras, tis = _check_loras_and_tis(params)
    cfg_scale = _check_cfg(params)
    post_processing = list(params.get("post_processing") or [])
    if sum(1 for p in post_processing if p in ref.UPSCALERS) > 1:
        raise errors.TooManyUpscalers()
    hires_fix = bool(params.get("hires_fix", False))
    if hires_fix and any(b in NO_HIRES_BASELINES for b in baselines):
        raise errors.HiResMismatch()

    control_type = params.get("control_type")
    workflow = params.get("workflow")
    extra_texts = params.get("extra_texts")
    if extra_texts and not workflow:
        raise errors.InvalidExtraTexts()
    if workflow == "qr_code":
        if not any(t.get("reference") == "qr_code" for t in extra_texts or []):
            raise errors.MissingExtraTexts()
        if any(b not in (ref.SD1, ref.SDXL) for b in baselines):
            raise errors.ControlNetMismatchDotted()
    if control_type:
        if not source_image:
            raise errors.ControlNetSourceMissing()
        if source_processing in ("inpainting", "outpainting"):
            raise errors.ControlNetInpaintingMismatch()
        if any(b in NO_CONTROLNET_BASELINES for b in baselines):
            raise errors.ControlNetMismatch()
        if control_type in ("normal", "hough") and any(b in (ref.SD2_768, ref.SD2_512) for b in baselines):
            raise errors.ControlNetUnsupported()
        if "pix2pix" in models:
            raise errors.ControlNetUnsupported()
    if params.get("image_is_control") and params.get("return_control_map"):
        raise errors.ControlNetInvalidPayload()
    if params.get("transparent"):
        if any(b not in (ref.SD1, ref.SDXL) for b in baselines) or not models:
            raise errors.InvalidTransparencyModel()
        if extra_images:
            raise errors.InvalidTransparencyImg2Img()
        if control_type:
            raise errors.InvalidTransparencyCN()
    disable_batching = bool(body.get("disable_batching", False)) or workflow == "qr_code"
    if body.get("disable_batching") and n > 1 and not user_trusted:
        raise errors.RequiresTrust("Only trusted users can disable batching.")

    width, height = int(params.get("width", 512)), int(params.get("height", 512))
    sampler = params.get("sampler_name", "k_euler_a")
    karras = bool(params.get("karras", True))
    steps = int(params.get("steps", 20 if control_type else 30))
    if control_type:
        steps = min(steps, 40)
    true_steps = accurate_steps(steps, sampler)
    clip_skip = int(params.get("clip_skip", 1))
    tiling = bool(params.get("tiling", False))

    template: dict[str, Any] = {k: params[k] for k in PAYLOAD_PARAMS if params.get(k) is not None}
    template.update(
        sampler_name=sampler, cfg_scale=cfg_scale, karras=karras, width=width, height=height,
        ddim_steps=steps, prompt=prompt,
    )
    seed = params.get("seed")
    seed_base = seed_to_int(seed) if seed else None
    variation = params.get("seed_variation")
    if variation and seed_base is None:
        seed_base = random_seed()

    nsfw = bool(body.get("nsfw", True))
    censor_nsfw = bool(body.get("censor_nsfw", True))
    trusted_workers = bool(body.get("trusted_workers", False))
    if user_education:
        nsfw, censor_nsfw, trusted_workers = False, True, True
    if not nsfw and censor_nsfw:
        template["use_nsfw_censor"] = True

    painting = bool(source_image) and source_processing in ("inpainting", "outpainting")
    needs = set()
    if source_image:
        needs.add("img2img")
    if painting:
        needs.add("inpainting")
    if post_processing:
        needs.add("post-processing")
        needs.update(post_processing)
    if loras:
        needs.add("lora")
        if any(lora.get("is_version") for lora in loras):
            needs.add("lora_versions")
    if tis:
        needs.add("textual_inversion")
    if control_type:
        needs.add("controlnet")
    if params.get("image_is_control"):
        needs.add("image_is_control")
    if params.get("return_control_map"):
        needs.add("return_control_map")
    if hires_fix:
        needs.add("hires_fix")
        if any(b == ref.CASCADE for b in baselines):
            needs.add("stable_cascade_2pass")
    if tiling:
        needs.add("tiling")
    if clip_skip > 1:
        needs.add("clip_skip")
    if body.get("r2", True):
        needs.add("r2")
    if extra_images:
        needs.add("extra_source_images")
    if workflow == "qr_code":
        needs.update(("qr_code", "controlnet", "workflow"))
    if extra_texts:
        needs.add("extra_texts")
    if params.get("transparent"):
        needs.add("layer_diffuse")

    step_caps = [sum(ref.image_model_steps(m)) // 2 for m in models] or [30]
    price_inputs = dict(
        post_processors=post_processing, controlnet=bool(control_type),
        return_control_map=bool(params.get("return_control_map")), loras=len(loras), has_tis=bool(tis),
    )
    price = pricing.image_base_price(width, height, steps, **price_inputs)
    burn = dict(
        has_source_image=bool(source_image), post_processors=post_processing,
        slow_workers=bool(body.get("slow_workers", True)), worker_blacklist=bool(body.get("worker_blacklist", False)),
    )
    columns = dict(
        width=width, height=height, pixels=width * height, steps=true_steps, things=float(width * height * true_steps),
        nsfw=nsfw, censor_nsfw=censor_nsfw, trusted_workers=trusted_workers,
        slow_workers=burn["slow_workers"], extra_slow_workers=bool(body.get("extra_slow_workers", False)),
        r2=bool(body.get("r2", True)), shared=bool(body.get("shared", False)), disable_batching=disable_batching,
        needs_mask=bridges.capability_mask(needs), step_cap=min(step_caps), karras=karras,
        has_source_image=bool(source_image), painting=painting, has_post_processing=bool(post_processing),
        has_loras=bool(loras), has_controlnet=bool(control_type) or workflow == "qr_code",
        sdxl_controlnet=workflow == "qr_code" and ref.SDXL in baselines,
        extra_source_images=len(extra_images), sampler_name=sampler,
        source_processing=source_processing if source_image else None,
    )
    extra = {
        "seed": seed_base, "seed_variation": variation,
        "slow_model": any(b in SLOW_MODEL_BASELINES for b in baselines),
        "qr_code": workflow == "qr_code", "hires_fix": hires_fix,
        "post_processing": post_processing, "replacement_filter": bool(body.get("replacement_filter", True)),
        "allow_downgrade": bool(body.get("allow_downgrade", False)), "validated_backends": bool(body.get("validated_backends", False)),
        "price_inputs": price_inputs, "extra_source_strengths": [float(e.get("strength", 1.0)) for e in extra_images],
    }
    columns["extra"] = extra
    return NewRequest(
        kind="image", prompt=prompt, n=n, models=models, params=template, columns=columns, price=price,
        dry_run_cost=pricing.image_dry_run(price, n, models, **burn),
        tax=pricing.image_request_tax(len(extra_images)),
        source_images={k: v for k, v in (("source_image", source_image), ("source_mask", source_mask)) if v},
        extra_source_images=extra_images,
    )


def reprice(new: NewRequest) -> None:
    """Price again after a downgrade changed size or steps."""
    cols = new.columns
    new.price = pricing.image_base_price(cols["width"], cols["height"], new.params["ddim_steps"], **cols["extra"]["price_inputs"])
    new.dry_run_cost = pricing.image_dry_run(
        new.price, new.n, new.models, has_source_image=cols["has_source_image"],
        post_processors=cols["extra"]["post_processing"], slow_workers=cols["slow_workers"], worker_blacklist=False,
    )


def upfront_cost(new: NewRequest) -> float:
    """An image request needing kudos up front needs its dry-run cost (behaviour §1.5)."""
    return new.dry_run_cost


def upfront_threshold(models: list[str], active_threads: int, queued_jobs: int) -> int:
    """The largest side (px) a request may have before kudos are needed up front."""
    max_res = 1024 + 10 * active_threads - round(0.9 * queued_jobs)
    max_res = max(max_res, 576)
    baselines = {ref.image_baseline(m) for m in models}
    if baselines & {ref.SD2_768, ref.SD2_512}:
        max_res = max(max_res, 768)
    if baselines & {ref.SDXL, ref.CASCADE, ref.FLUX}:
        max_res = max(max_res, 1024)
    return min(max_res, 1024)


def needs_upfront(new: NewRequest, max_res: int) -> bool:
    cols = new.columns
    if not cols["slow_workers"]:
        return True
    if cols["pixels"] > max_res * max_res:
        return True
    if any(ref.image_model_steps(m)[1] < cols["steps"] for m in new.models):
        return True
    if cols["sampler_name"] == "lcm" and cols["steps"] > 10:
        return True
    return bool(cols["has_controlnet"]) and cols["steps"] > 20


def downgrade(new: NewRequest, max_res: int) -> None:
    """Shrink resolution and steps so no kudos are needed up front (allow_downgrade)."""
    cols, params = new.columns, new.params
    cols["slow_workers"] = True
    width, height = cols["width"], cols["height"]
    if width * height > max_res * max_res:
        scale = (max_res * max_res / (width * height)) ** 0.5
        width, height = int(width * scale) // 64 * 64, int(height * scale) // 64 * 64
        while width * height > max_res * max_res:
            if width >= height:
                width -= 64
            else:
                height -= 64
        if width * height < 512 * 512:
            width, height = 512, 512
    step_cap = min([ref.image_model_steps(m)[1] for m in new.models] or [30])
    if cols["has_controlnet"]:
        step_cap = 20
    if cols["sampler_name"] == "lcm":
        step_cap = 10
    steps = params["ddim_steps"]
    while accurate_steps(steps, cols["sampler_name"]) > step_cap and steps > 5:
        steps -= 1
    true_steps = accurate_steps(steps, cols["sampler_name"])
    params.update(width=width, height=height, ddim_steps=steps)
    cols.update(width=width, height=height, pixels=width * height, steps=true_steps, things=float(width * height * true_steps))
    reprice(new)
