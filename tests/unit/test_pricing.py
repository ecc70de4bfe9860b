"""Every term of the image and text prices, rewards and burns, against spec/behaviour.md §2.

The expected kudos are computed here from the spec's own formulas (`Spec` below), written
independently of horde/domain/queue/pricing.py; the production code is reached the way the
API reaches it (a request body through `build`, a job through the kind module).
Where Horde deliberately differs, docs/compatibility.md says so and the spec model below
follows that line: the image price is §2.2's formula (point 3, which the public server
uses when its network fails), and the image activation tax has no +2 style adjustment.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from horde.domain.queue import image_jobs, image_requests, text_jobs, text_requests
from tests.imaging import png_b64

SD15, SD21, SDXL, CASCADE = "stable_diffusion", "stable_diffusion_2.1", "SDXL 1.0", "Stable Cascade 1.0"
FLUX, QWEN, ZIMAGE = "Flux.1-Schnell fp8 (Compact)", "Qwen-Image_fp8", "Z-Image-Turbo"
SOURCE = png_b64()


class Spec:
    """spec/behaviour.md §2.2 - §2.5, as plain arithmetic."""

    # §2.2 "Per-job reward ... chosen by the baseline": SD1/SD2/unknown 1, SDXL 2, cascade 4, flux and z-image 8, qwen 12
    FAMILY = {SD15: 1, SD21: 1, SDXL: 2, CASCADE: 4, FLUX: 8, QWEN: 12, ZIMAGE: 8}
    # Appendix B: upscalers burn x1.05, face fixers and strip_background x1
    UPSCALERS = {
        "RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B", "NMKD_Siax", "4x_AnimeSharp", "4xNomos8kSC",
        "4xLSDIRplus", "4xNomosWebPhoto_RealPLKSR", "4xNomos2_realplksr_dysample", "4xNomos2_hq_dat2", "2xModernSpanimationV1",
    }

    @staticmethod
    def image_price(width=512, height=512, steps=30, post_processors=(), controlnet=False, control_map=False, loras=0, tis=0):
        """§2.2 point 3 (raw steps; each post-processor x1.2; ControlNet without its map x3) and point 4."""
        ratio = ((width * height - 4096) ** 1.75) / ((1_048_576 - 4096) ** 1.75)
        price = round(0.1232 * steps + ratio * 0.1232 * steps * 8.75, 2)
        for _ in post_processors:
            price = round(price * 1.2, 2)
        if controlnet and not control_map:
            price = round(price * 3, 2)
        return price + 3 * loras + (1 if tis else 0)

    @classmethod
    def burn(cls, reward, source=False, post_processors=(), slow_workers=True, blacklist=False):
        """§2.2 "Burn": x1.3 with a source image, x the post-processor factors, +1, x1.2 fast, x1.1 blacklist."""
        cost = reward * (1.3 if source else 1.0)
        for name in post_processors:
            cost *= 1.05 if name in cls.UPSCALERS else 1.0
        cost += 1
        if not slow_workers:
            cost *= 1.2
        if blacklist:
            cost *= 1.1
        return cost

    @classmethod
    def image_dry_run(cls, price, n, first_model, **burn):
        return cls.burn(price, **burn) * n * cls.FAMILY[first_model] + 1

    @staticmethod
    def tokens(text, cap):
        """§2.3 t(s) = max(ceil(len/4), 20), capped."""
        return min(max(math.ceil(len(text) / 4), 20), cap)

    @staticmethod
    def context(c):
        return min(max(1.2 + 2.2 ** math.log2(c / 1024), 0.1), 30)

    @classmethod
    def text_reward(cls, generation, prompt, max_length, max_context, parameters, validated=True, trusted=True):
        generated = cls.tokens(generation, max_length)
        cm = cls.context(cls.tokens(prompt, max_context))  # docs/compatibility.md: the prompt is capped at the context
        if parameters is None:
            return generated * cm * 0.027 if trusted else cm
        bonus = (max(parameters, 13) / 13) ** 0.2
        reward = generated * bonus * parameters / 125
        if not validated:
            reward *= 0.3
        return reward * cm

    @classmethod
    def text_dry_run(cls, max_length, max_context, n, parameters):
        cm = cls.context(max_context)
        if parameters is None:
            per_job = round(max_length * 13 * cm / 100, 2)
        else:
            per_job = round(max_length * (max(parameters, 13) / 13) ** 0.2 * parameters * cm / 100, 2)
        return (per_job + 1) * n + 1


def build_image(body: dict, trusted: bool = False):
    body = {"prompt": "a lighthouse", **body}
    return image_requests.build(body, user_trusted=trusted, user_special=False, user_education=False)


def as_queued(new, body: dict) -> SimpleNamespace:
    """The request row the engine stores (engine.enqueue) as the kind module reads it."""
    return SimpleNamespace(
        kudos=new.price, extra=new.columns["extra"], has_source_image=new.columns["has_source_image"],
        slow_workers=new.columns["slow_workers"], worker_blacklist=bool(body.get("worker_blacklist", False)),
    )


def close(value: float):
    return pytest.approx(value, abs=1e-6)


# body, expected price inputs, burn inputs; default model stable_diffusion, n 1
IMAGE_CASES = {
    "defaults (512x512, 30 steps)": ({}, {}, {}),
    "64x64 (no area term)": ({"params": {"width": 64, "height": 64}}, {"width": 64, "height": 64}, {}),
    "512x768": ({"params": {"width": 512, "height": 768}}, {"width": 512, "height": 768}, {}),
    "768x768": ({"params": {"width": 768, "height": 768}}, {"width": 768, "height": 768}, {}),
    "1024x1024": ({"params": {"width": 1024, "height": 1024}}, {"width": 1024, "height": 1024}, {}),
    "2048x2048": ({"params": {"width": 2048, "height": 2048}}, {"width": 2048, "height": 2048}, {}),
    "10 steps": ({"params": {"steps": 10}}, {"steps": 10}, {}),
    "50 steps": ({"params": {"steps": 50}}, {"steps": 50}, {}),
    "a second-order sampler (raw steps priced)": ({"params": {"sampler_name": "k_heun"}}, {}, {}),
    "hires fix": ({"params": {"hires_fix": True}}, {}, {}),
    "a face fixer": ({"params": {"post_processing": ["GFPGAN"]}}, {"post_processors": ["GFPGAN"]}, {"post_processors": ["GFPGAN"]}),
    "an upscaler": (
        {"params": {"post_processing": ["RealESRGAN_x4plus"]}}, {"post_processors": ["RealESRGAN_x4plus"]},
        {"post_processors": ["RealESRGAN_x4plus"]},
    ),
    "three post-processors": (
        {"params": {"post_processing": ["CodeFormers", "4xNomos8kSC", "strip_background"]}},
        {"post_processors": ["CodeFormers", "4xNomos8kSC", "strip_background"]},
        {"post_processors": ["CodeFormers", "4xNomos8kSC", "strip_background"]},
    ),
    "one LoRA": ({"params": {"loras": [{"name": "123"}]}}, {"loras": 1}, {}),
    "five LoRAs": ({"params": {"loras": [{"name": str(i)} for i in range(5)]}}, {"loras": 5}, {}),
    "one TI": ({"params": {"tis": [{"name": "7"}]}}, {"tis": 1}, {}),
    "three TIs (+1 once)": ({"params": {"tis": [{"name": str(i)} for i in range(3)]}}, {"tis": 3}, {}),
    "LoRAs, TIs and an upscaler at 768": (
        {"params": {"width": 768, "height": 768, "loras": [{"name": "1"}, {"name": "2"}], "tis": [{"name": "3"}], "post_processing": ["NMKD_Siax"]}},
        {"width": 768, "height": 768, "loras": 2, "tis": 1, "post_processors": ["NMKD_Siax"]}, {"post_processors": ["NMKD_Siax"]},
    ),
    "ControlNet (20 steps by default, x3)": (
        {"source_image": SOURCE, "params": {"control_type": "canny"}}, {"steps": 20, "controlnet": True}, {"source": True},
    ),
    "ControlNet returning its map (no x3)": (
        {"source_image": SOURCE, "params": {"control_type": "canny", "return_control_map": True}},
        {"steps": 20, "controlnet": True, "control_map": True}, {"source": True},
    ),
    "ControlNet steps clamped to 40": (
        {"source_image": SOURCE, "params": {"control_type": "depth", "steps": 50}}, {"steps": 40, "controlnet": True}, {"source": True},
    ),
    # Each rounding step of §2.2 point 3 shows at these sizes (rounding once at the end would not)
    "ControlNet at 64x512, 10 steps": (
        {"source_image": SOURCE, "params": {"control_type": "canny", "width": 64, "height": 512, "steps": 10}},
        {"width": 64, "height": 512, "steps": 10, "controlnet": True}, {"source": True},
    ),
    "ControlNet and a face fixer at 64x512, 25 steps": (
        {"source_image": SOURCE, "params": {"control_type": "canny", "width": 64, "height": 512, "steps": 25, "post_processing": ["GFPGAN"]}},
        {"width": 64, "height": 512, "steps": 25, "controlnet": True, "post_processors": ["GFPGAN"]},
        {"source": True, "post_processors": ["GFPGAN"]},
    ),
    "a source image (burn x1.3)": ({"source_image": SOURCE}, {}, {"source": True}),
    "inpainting with a mask": (
        {"source_image": SOURCE, "source_mask": SOURCE, "source_processing": "inpainting"}, {}, {"source": True},
    ),
    "fast workers (burn x1.2)": ({"slow_workers": False}, {}, {"slow_workers": False}),
    "a worker blacklist (burn x1.1)": ({"worker_blacklist": True}, {}, {"blacklist": True}),
    "everything on the burn": (
        {"source_image": SOURCE, "slow_workers": False, "worker_blacklist": True, "params": {"post_processing": ["RealESRGAN_x2plus"]}},
        {"post_processors": ["RealESRGAN_x2plus"]},
        {"source": True, "slow_workers": False, "blacklist": True, "post_processors": ["RealESRGAN_x2plus"]},
    ),
}


@pytest.mark.parametrize("body,price_terms,burn_terms", IMAGE_CASES.values(), ids=IMAGE_CASES.keys())
@pytest.mark.parametrize("n", [1, 3])
def test_image_price_reward_burn_and_dry_run(body, price_terms, burn_terms, n):
    body = {**body, "params": {**body.get("params", {}), "n": n}}
    new = build_image(body)
    price = Spec.image_price(**price_terms)
    assert new.price == close(price)
    assert new.tax == close(1)  # §2.5 (no style: no +2)
    assert new.dry_run_cost == close(round(Spec.image_dry_run(price, n, SD15, **burn_terms), 2))
    queued = as_queued(new, body)
    reward = image_jobs.job_reward(queued, SimpleNamespace(model=SD15))
    assert reward == close(price)  # SD 1.5: family x1
    assert image_jobs.burn(queued, reward) == close(round(Spec.burn(price, **burn_terms), 2))
    assert image_jobs.burn(queued, 0.0) == close(round(Spec.burn(0.0, **burn_terms), 2))  # a censored job


@pytest.mark.parametrize("model", [SD15, SD21, SDXL, CASCADE, FLUX, QWEN, ZIMAGE])
@pytest.mark.parametrize("n", [1, 2])
def test_baselines_multiply_the_reward_and_the_dry_run(model, n):
    body = {"models": [model], "params": {"width": 1024, "height": 1024, "n": n}}
    new = build_image(body)
    price = Spec.image_price(1024, 1024)
    assert new.price == close(price)
    assert new.dry_run_cost == close(round(Spec.image_dry_run(price, n, model), 2))
    queued = as_queued(new, body)
    reward = image_jobs.job_reward(queued, SimpleNamespace(model=model))
    assert reward == close(round(price * Spec.FAMILY[model], 2))
    assert image_jobs.burn(queued, reward) == close(round(Spec.burn(price * Spec.FAMILY[model]), 2))


def test_the_worked_example_of_appendix_a():
    """SDXL, 1024x1024, 30 steps, n=2: K = 2 x price, the requester pays K + 1 a job."""
    body = {"models": [SDXL], "params": {"width": 1024, "height": 1024, "n": 2}}
    new = build_image(body)
    reward = image_jobs.job_reward(as_queued(new, body), SimpleNamespace(model=SDXL))
    assert reward == close(2 * new.price) and image_jobs.burn(as_queued(new, body), reward) == close(reward + 1)
    assert new.dry_run_cost == close(round((new.price + 1) * 2 * 2 + 1, 2))


def test_the_assigned_model_sets_the_reward_and_the_first_model_the_dry_run():
    body = {"models": [SD15, SDXL]}
    new = build_image(body)
    price = Spec.image_price()
    assert new.dry_run_cost == close(round(Spec.image_dry_run(price, 1, SD15), 2))
    queued = as_queued(new, body)
    assert image_jobs.job_reward(queued, SimpleNamespace(model=SDXL)) == close(2 * price)
    assert image_jobs.job_reward(queued, SimpleNamespace(model=SD15)) == close(price)


def test_an_empty_model_list_is_priced_as_sdxl_for_the_dry_run():
    new = build_image({"models": []})
    assert new.dry_run_cost == close(round(Spec.image_dry_run(Spec.image_price(), 1, SDXL), 2))


def test_qr_code_and_cascade_hires_fix_variants():
    qr = {"models": [SDXL], "params": {"workflow": "qr_code", "extra_texts": [{"text": "https://x", "reference": "qr_code"}]}}
    new = build_image(qr)
    assert image_jobs.job_reward(as_queued(new, qr), SimpleNamespace(model=SDXL)) == close(round(4 * Spec.image_price(), 2))
    assert new.dry_run_cost == close(round(Spec.image_dry_run(Spec.image_price(), 1, SDXL), 2))  # no variant in the dry run
    hires = {"models": [CASCADE], "params": {"hires_fix": True}}
    new = build_image(hires)
    assert image_jobs.job_reward(as_queued(new, hires), SimpleNamespace(model=CASCADE)) == close(round(7 * Spec.image_price(), 2))
    plain = {"models": [CASCADE]}
    assert image_jobs.job_reward(as_queued(build_image(plain), plain), SimpleNamespace(model=CASCADE)) == close(round(4 * Spec.image_price(), 2))


@pytest.mark.parametrize("extra_images", [1, 2, 5])
def test_extra_source_images_add_five_each_to_the_tax(extra_images):
    body = {
        "models": [CASCADE], "source_image": SOURCE, "source_processing": "remix",
        "extra_source_images": [{"image": SOURCE}] * extra_images,
    }
    new = build_image(body, trusted=True)
    assert new.tax == close(1 + 5 * extra_images)
    assert new.price == close(Spec.image_price())


# --- text ---------------------------------------------------------------------------
PSYFIGHTER, MISTRAL, LLAMA70 = "koboldcpp/LLaMA2-13B-Psyfighter2", "koboldcpp/mistral-7b-instruct-v0.2", "Llama-3.3-70B-Instruct"
SIZES = {PSYFIGHTER: 13, MISTRAL: 7, LLAMA70: 70}
VALIDATED = "KoboldCppEmbedWorker:1.0:x"
NOT_VALIDATED = "SomeOtherBackend:1.0:x"

TEXT_DRY_RUNS = {
    "defaults, 13B": ({}, PSYFIGHTER),
    "7B (bonus floor at 13)": ({}, MISTRAL),
    "70B": ({}, LLAMA70),
    "no model": ({}, None),
    "long context": ({"max_context_length": 8192, "max_length": 200}, PSYFIGHTER),
    "short context": ({"max_context_length": 512, "max_length": 100}, PSYFIGHTER),
    "n = 3": ({"n": 3}, MISTRAL),
    "no model, n = 3": ({"n": 3}, None),
    "a huge context (multiplier capped at 30)": ({"max_context_length": 65536}, PSYFIGHTER),
    # 374 tokens at 4096 of context: the per-job price has more than two decimals (293.6648)
    "per-job price rounded to cents": ({"max_context_length": 4096, "max_length": 374}, PSYFIGHTER),
    "per-job price rounded to cents, no model": ({"max_context_length": 4096, "max_length": 374}, None),
}


@pytest.mark.parametrize("params,model", TEXT_DRY_RUNS.values(), ids=TEXT_DRY_RUNS.keys())
def test_text_dry_run_tax_and_upfront(params, model):
    body = {"prompt": "Once upon a time", "params": params, "models": [model] if model else []}
    new = text_requests.build(body, user_trusted=False)
    max_length, max_context, n = params.get("max_length", 80), params.get("max_context_length", 2048), params.get("n", 1)
    size = SIZES.get(model)
    assert new.dry_run_cost == close(round(Spec.text_dry_run(max_length, max_context, n, size), 2))
    assert new.tax == close(1)  # §1.6: every activation pays 1
    # §1.5: 20 a job without models, else max_length x P / 21 a job
    assert text_requests.upfront_cost(new) == close(20 * n if model is None else round(max_length * size / 21, 2) * n)


def test_an_unknown_model_needs_its_upfront_kudos_as_a_one_billion_model():
    new = text_requests.build({"prompt": "x", "models": ["mystery-model"], "params": {"max_length": 210}}, user_trusted=False)
    assert text_requests.upfront_cost(new) == close(10)


GENERATION_SHORT = "yes."  # 20 tokens (the floor)
GENERATION_LONG = "word " * 200  # 250 tokens
TEXT_REWARDS = {
    "13B validated": dict(model=PSYFIGHTER, bridge=VALIDATED),
    "13B not validated (x0.3)": dict(model=PSYFIGHTER, bridge=NOT_VALIDATED),
    "7B": dict(model=MISTRAL, bridge=VALIDATED),
    "70B": dict(model=LLAMA70, bridge=VALIDATED),
    "long prompt (context x2.2)": dict(model=PSYFIGHTER, bridge=VALIDATED, prompt="p" * 4096),
    "very long prompt": dict(model=PSYFIGHTER, bridge=VALIDATED, prompt="p" * 16000, max_context=8192),
    "a prompt past the context cap (x30)": dict(model=PSYFIGHTER, bridge=VALIDATED, prompt="p" * 120000, max_context=65536),
    "short generation (20-token floor)": dict(model=PSYFIGHTER, bridge=VALIDATED, generation=GENERATION_SHORT),
    "generation capped at max_length": dict(model=PSYFIGHTER, bridge=VALIDATED, max_length=120),
    "unknown model, trusted owner": dict(model="mystery-model", bridge=VALIDATED, trusted=True),
    "unknown model, untrusted owner": dict(model="mystery-model", bridge=VALIDATED, trusted=False),
    "unknown model, trusted, long prompt": dict(model="mystery-model", bridge=VALIDATED, trusted=True, prompt="p" * 4096),
    "worker deleted (not validated)": dict(model=PSYFIGHTER, bridge=None),
}


@pytest.mark.parametrize("case", TEXT_REWARDS.values(), ids=TEXT_REWARDS.keys())
def test_text_reward_and_burn(case):
    prompt = case.get("prompt", "Once upon a time there was")
    generation = case.get("generation", GENERATION_LONG)
    max_length, max_context = case.get("max_length", 512), case.get("max_context", 4096)
    request = SimpleNamespace(prompt=prompt, max_length=max_length, max_context_length=max_context)
    job = SimpleNamespace(model=case["model"])
    trusted = case.get("trusted", True)
    reward = text_jobs.reward_for(request, job, case["bridge"], trusted, generation)
    expected = Spec.text_reward(
        generation, prompt, max_length, max_context, SIZES.get(case["model"]), validated=case["bridge"] == VALIDATED, trusted=trusted,
    )
    assert reward == close(round(expected, 2))
    assert text_jobs.burn(request, reward) == close(reward + 1)  # §2.3: reward + 1
    assert text_jobs.burn(request, 0.0) == close(1)  # censored: 0 + 1


def test_a_text_job_whose_request_expired_earns_nothing():
    assert text_jobs.reward_for(None, SimpleNamespace(model=PSYFIGHTER), VALIDATED, True, GENERATION_LONG) == 0.0


# --- alchemy (behaviour §1.16, §2.4): reached through the kind module, as settlement reaches it
@pytest.mark.parametrize(
    "form,tiles,reward",
    [
        ("caption", 1, 1.0), ("nsfw", 255, 1.0), ("aesthetic", 9, 1.0), ("interrogation", 1, 3.0), ("interrogation", 40, 3.0),
        ("GFPGAN", 1, 3.0), ("RealESRGAN_x4plus", 4, 12.0), ("strip_background", 255, 765.0), ("4x_AnimeSharp", 2, 6.0),
    ],
)
@pytest.mark.parametrize("slow", [True, False])
def test_alchemy_reward_and_burn(form, tiles, reward, slow):
    from horde.domain.queue import alchemy, alchemy_jobs

    new = alchemy._form_request(form, None, SimpleNamespace(id="i", tiles=tiles, trusted_workers=False, slow_workers=slow), None)
    request = SimpleNamespace(kudos=new.price, slow_workers=slow)
    assert alchemy_jobs.job_reward(request, None) == reward
    assert alchemy_jobs.burn(request, reward) == reward + 1 + (1 if slow else 0)
    assert alchemy_jobs.reward_multiplier("anything") == 1.0


@pytest.mark.parametrize("size,tiles", [((1, 1), 1), ((512, 512), 1), ((513, 512), 2), ((1024, 1000), 4), ((7680, 8704), 255)])
def test_alchemy_tiles(size, tiles):
    from horde.domain.queue import alchemy

    assert alchemy.tiles(*size) == tiles
