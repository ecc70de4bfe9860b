"""What is particular to image jobs once queued: batching, TTL, payload, reward, burn."""

from __future__ import annotations

import random

from horde.domain import model_reference as ref
from horde.domain.queue import image_requests, pricing
from horde.domain.workers import bridges
from horde.domain.workers.matching import WorkerProfile
from horde.models import GenerationRequest, Job

KIND = "image"
THINGS_DIVISOR = 1_000_000  # pixelsteps -> megapixelsteps
USAGE_COLUMN, CONTRIBUTION_COLUMN = "usage_megapixelsteps", "contributed_megapixelsteps"


def amount(megapixelsteps: float) -> float:
    """Usage and contribution records keep megapixelsteps to two decimals."""
    return round(megapixelsteps, 2)
BATCH_MULTIPLIER = {ref.FLUX: 5, ref.QWEN: 10, ref.ZIMAGE: 8}

# The payload of a pop that found nothing still carries the model defaults (spec §3.4).
IDLE_PAYLOAD = {
    "ddim_steps": 30, "n_iter": 1, "sampler_name": "k_euler_a", "cfg_scale": 7.5, "height": 512, "width": 512,
    "karras": False, "tiling": False, "hires_fix": False, "transparent": False, "image_is_control": False,
    "return_control_map": False,
}


def batch_size(request: GenerationRequest, profile: WorkerProfile, amount: int) -> int:
    if request.disable_batching:
        return 1
    post_processing = request.extra.get("post_processing") or []
    per_image = 1 + 0.4 * len(post_processing)
    if any(p in ref.HEAVY_POST_PROCESSORS for p in post_processing) or request.params.get("transparent"):
        per_image *= 1.8
    multiplier = max([BATCH_MULTIPLIER.get(ref.image_baseline(m), 1) for m in request.models] or [1])
    safe = round((profile.max_pixels / 3.5) * amount / (request.pixels * per_image * multiplier))
    return max(1, min(safe, amount, request.n))


def job_ttl(request: GenerationRequest, profile: WorkerProfile) -> int:
    return image_requests.job_ttl(
        request.steps, request.width, request.height, controlnet=request.has_controlnet,
        slow_model=bool(request.extra.get("slow_model")), extra_slow_worker=profile.extra_slow,
    )


def choose_model(request: GenerationRequest, profile: WorkerProfile) -> str:
    served = [m for m in request.models if m in profile.models]
    return random.choice(served or list(profile.models) or [""])


def batch_seed(request: GenerationRequest) -> int:
    """One seed per pop: fixed (+ variation per image already handed out) or random."""
    base = request.extra.get("seed")
    if base is None:
        return image_requests.random_seed()
    variation = request.extra.get("seed_variation") or 0
    seed = base + variation * (request.jobs - request.n)
    while seed >= image_requests.UINT32:
        seed >>= 32
    return seed


def payload(request: GenerationRequest, seed: int, batch: int) -> dict:
    body = dict(request.params)
    body["seed"] = str(seed)
    body["n_iter"] = batch
    return body


def job_reward(request: GenerationRequest, job: Job) -> float:
    """Kudos the job is worth before the bridge multiplier (the `reward` of submit)."""
    return pricing.image_job_reward(
        request.kudos, job.model, qr_code=bool(request.extra.get("qr_code")), hires_fix=bool(request.extra.get("hires_fix"))
    )


def burn(request: GenerationRequest, reward: float) -> float:
    return pricing.image_burn(
        reward, has_source_image=request.has_source_image, post_processors=request.extra.get("post_processing") or [],
        slow_workers=request.slow_workers, worker_blacklist=request.worker_blacklist,
    )


def reward_multiplier(bridge_agent: str) -> float:
    return bridges.parse(bridge_agent).reward_multiplier


def stat_things(request: GenerationRequest) -> float:
    """Pixelsteps as the statistics count them: width x height x the steps asked for."""
    return float(request.pixels * int(request.params.get("ddim_steps", request.steps)))
