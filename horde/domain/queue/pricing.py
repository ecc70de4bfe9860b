"""Kudos prices and rewards (spec/behaviour.md §2.2, §2.3, §2.5).

Image jobs are priced with the resolution/steps formula (no neural network); see
docs/compatibility.md for how that compares with the public horde's cost model.
"""

from __future__ import annotations

import math

from horde.domain import model_reference as ref

BASE_AREA = 64 * 64
REFERENCE_AREA = 1024 * 1024
IMAGE_REQUEST_TAX = 1.0
TEXT_REQUEST_TAX = 1.0  # behaviour §1.6: every activation pays 1 (text too)
EXTRA_SOURCE_IMAGE_TAX = 5.0
STYLE_TAX = 2.0  # behaviour §2.11: using another user's style; its owner earns as much


def image_base_price(
    width: int,
    height: int,
    steps: int,
    *,
    post_processors: list[str],
    controlnet: bool,
    return_control_map: bool,
    loras: int,
    has_tis: bool,
) -> float:
    """Kudos of one image before the model family multiplier."""
    ratio = ((width * height - BASE_AREA) ** 1.75) / ((REFERENCE_AREA - BASE_AREA) ** 1.75)
    price = round(0.1232 * steps + ratio * 0.1232 * steps * 8.75, 2)
    for _ in post_processors:
        price = round(price * 1.2, 2)
    if controlnet and not return_control_map:
        price = round(price * 3, 2)
    return round(price + 3 * loras + (1 if has_tis else 0), 2)


def post_processor_burn(post_processors: list[str]) -> float:
    factor = 1.0
    for name in post_processors:
        if name in ref.UPSCALERS:
            factor *= 1.05
    return factor


def _unrounded_burn(
    job_reward: float, *, has_source_image: bool, post_processors: list[str], slow_workers: bool, worker_blacklist: bool
) -> float:
    cost = job_reward * (1.3 if has_source_image else 1.0)
    cost *= post_processor_burn(post_processors)
    cost += 1  # horde tax per job
    if not slow_workers:
        cost *= 1.2
    if worker_blacklist:
        cost *= 1.1
    return cost


def image_burn(job_reward: float, **burn) -> float:
    """What the requester pays for a delivered job whose worker earned `job_reward`."""
    return round(_unrounded_burn(job_reward, **burn), 2)


def image_request_tax(extra_source_images: int) -> float:
    return IMAGE_REQUEST_TAX + EXTRA_SOURCE_IMAGE_TAX * extra_source_images


def family_multiplier(baseline: str, *, qr_code: bool = False, hires_fix: bool = False) -> float:
    """Worker reward multiplier by the baseline of the model that did the job (§2.2)."""
    if baseline == ref.SDXL:
        return 4.0 if qr_code else 2.0
    if baseline == ref.CASCADE:
        return 7.0 if hires_fix else 4.0
    if baseline in (ref.FLUX, ref.ZIMAGE):
        return 8.0
    if baseline == ref.QWEN:
        return 12.0
    return 1.0


def image_job_reward(base_price: float, model: str, *, qr_code: bool, hires_fix: bool) -> float:
    """What a worker earns for one image (before its bridge multiplier)."""
    return round(base_price * family_multiplier(ref.image_baseline(model), qr_code=qr_code, hires_fix=hires_fix), 2)


def first_model_family(models: list[str]) -> float:
    return family_multiplier(ref.image_baseline(models[0] if models else "SDXL 1.0"))


def image_dry_run(base_price: float, n: int, models: list[str], **burn) -> float:
    """burn(price) x n x the first model's family + 1 (§2.2), rounded once at the end."""
    return round(_unrounded_burn(base_price, **burn) * n * first_model_family(models) + 1, 2)


# --- text ---------------------------------------------------------------------------
def token_estimate(text: str, max_length: int) -> int:
    return min(max(math.ceil(len(text) / 4), 20), max_length)


def context_multiplier(context_length: int) -> float:
    value = 1.2 + 2.2 ** math.log2(max(context_length, 1) / 1024)
    return min(max(value, 0.1), 30.0)


def text_job_reward(
    generated_tokens: int, prompt_tokens: int, parameters: float | None, *, validated: bool, owner_trusted: bool
) -> float:
    cm = context_multiplier(prompt_tokens)
    if parameters is None:
        return round(generated_tokens * cm * 0.027, 2) if owner_trusted else round(cm, 2)
    bonus = (max(parameters, 13) / 13) ** 0.2
    reward = generated_tokens * bonus * parameters / 125
    if not validated:
        reward *= 0.3
    return round(reward * cm, 2)


def text_upfront(max_length: int, parameters: list[float | None], n: int) -> float:
    """Kudos a text request needs in hand when it needs them up front (behaviour §1.5):
    20 a job without models, else max_length x the largest model's size / 21 (unknown: 1)."""
    if not parameters:
        return 20.0 * n
    largest = max(p if p is not None else 1.0 for p in parameters)
    return round(max_length * largest / 21, 2) * n


def text_dry_run(max_length: int, max_context_length: int, n: int, parameters: float | None) -> float:
    cm = context_multiplier(max_context_length)
    if parameters is None:
        per_job = round(max_length * 13 * cm / 100, 2)
    else:
        bonus = (max(parameters, 13) / 13) ** 0.2
        per_job = round(max_length * bonus * parameters * cm / 100, 2)
    return round((per_job + 1) * n + 1, 2)


# --- alchemy (behaviour §1.16, §2.4) ---------------------------------------------------
ALCHEMY_FORM_PRICE = 1.0
INTERROGATION_FORM_PRICE = 3.0
POST_PROCESSOR_PRICE_PER_TILE = 3.0


def alchemy_form_price(form: str, tiles: int) -> float:
    """What a worker earns for one form: 1; `interrogation` 3; post-processors 3 per tile."""
    if form in ref.POST_PROCESSORS:
        return POST_PROCESSOR_PRICE_PER_TILE * tiles
    return INTERROGATION_FORM_PRICE if form == "interrogation" else ALCHEMY_FORM_PRICE


def alchemy_burn(reward: float, *, slow_workers: bool) -> float:
    """What the requester pays for a delivered form: its price + 1, + 1 more with slow workers."""
    return round(reward + 1 + (1 if slow_workers else 0), 2)
