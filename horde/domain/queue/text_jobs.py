"""What is particular to text jobs once queued: batching, TTL, payload, reward, burn."""

from __future__ import annotations

from horde.domain import model_reference as ref
from horde.domain.queue import pricing
from horde.domain.queue.image_jobs import choose_model  # the same rule for both kinds
from horde.domain.workers import bridges
from horde.domain.workers.matching import WorkerProfile
from horde.models import GenerationRequest, Job

KIND = "text"
THINGS_DIVISOR = 1  # tokens
USAGE_COLUMN, CONTRIBUTION_COLUMN = "usage_tokens", "contributed_tokens"
JOB_TTL = 150
IDLE_PAYLOAD = {
    "max_context_length": 2048, "max_length": 80, "min_p": 0.0, "smoothing_factor": 0.0, "dynatemp_range": 0.0,
    "dynatemp_exponent": 1.0, "n": 1,
}

__all__ = ["choose_model"]


def amount(tokens: float) -> int:
    return int(tokens)


def batch_size(request: GenerationRequest, profile: WorkerProfile, amount_: int) -> int:
    return 1 if request.disable_batching else max(1, min(amount_, request.n))


def job_ttl(request: GenerationRequest, profile: WorkerProfile) -> int:
    return JOB_TTL * (3 if profile.extra_slow else 1)


def batch_seed(request: GenerationRequest) -> int:
    return 0  # text workers choose their own seed and report it


def payload(request: GenerationRequest, seed: int, batch: int) -> dict:
    return dict(request.params)


def reward_for(request: GenerationRequest | None, job: Job, bridge_agent: str | None, owner_trusted: bool, generation: str) -> float:
    """Kudos for delivered text: tokens, model size, context, and the backend (§2.3).
    `bridge_agent` is None when the worker no longer exists."""
    if request is None:
        return 0.0
    generated = pricing.token_estimate(generation or "", request.max_length)
    prompt_tokens = pricing.token_estimate(request.prompt, request.max_context_length)
    return pricing.text_job_reward(
        generated, prompt_tokens, ref.text_model_parameters(job.model) if job.model else None,
        validated=bridge_agent is not None and bridges.is_validated_text_backend(bridge_agent),
        owner_trusted=owner_trusted,
    )


def job_reward(request: GenerationRequest, job: Job) -> float:
    return 0.0  # text rewards depend on what was delivered: see reward_for


def burn(request: GenerationRequest, reward: float) -> float:
    return round(reward + 1, 2)


def reward_multiplier(bridge_agent: str) -> float:
    return 1.0  # the validated-backend factor is part of the reward itself


def stat_things(request: GenerationRequest) -> float:
    """Tokens as the statistics count them: the max_length asked for."""
    return float(request.max_length)
