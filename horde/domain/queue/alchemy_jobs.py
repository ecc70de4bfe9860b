"""What is particular to alchemy forms once queued: one form per job, a 3-minute TTL, the
form's own price as reward, price + 1 (+1 with slow workers) as burn (behaviour §1.16)."""

from __future__ import annotations

from horde.domain.queue import pricing
from horde.domain.workers.matching import WorkerProfile
from horde.models import GenerationRequest, Job

KIND = "interrogation"
THINGS_DIVISOR = 1  # forms
# Users have no alchemy usage or contribution columns: fulfilments and kudos are what count.
USAGE_COLUMN = CONTRIBUTION_COLUMN = None
JOB_TTL = 180
FORM_THINGS = 1.0  # a form is one "thing": a worker's speed is in forms per second


def amount(forms: float) -> float:
    return round(forms, 2)


def batch_size(request: GenerationRequest, profile: WorkerProfile, amount_: int) -> int:
    return 1  # a form is one job; a pop of `amount` forms claims `amount` requests


def job_ttl(request: GenerationRequest, profile: WorkerProfile) -> int:
    return JOB_TTL


def choose_model(request: GenerationRequest, profile: WorkerProfile) -> str:
    return request.models[0]  # the form's name


def batch_seed(request: GenerationRequest) -> int:
    return 0


def payload(request: GenerationRequest) -> dict | None:
    return dict(request.params) if request.params else None


def job_reward(request: GenerationRequest, job: Job) -> float:
    return request.kudos


def burn(request: GenerationRequest, reward: float) -> float:
    return pricing.alchemy_burn(reward, slow_workers=request.slow_workers)


def reward_multiplier(bridge_agent: str) -> float:
    return 1.0  # no bridge multiplier for alchemists


def stat_things(request: GenerationRequest) -> float:
    return FORM_THINGS
