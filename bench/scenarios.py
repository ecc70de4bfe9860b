"""What the simulated clients and workers do. Each function runs inside one load process."""

from __future__ import annotations

import asyncio
import base64
import io
import random
import time

from PIL import Image

from bench.load import Client

REGEN = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"
IMAGE_MODELS = [
    "stable_diffusion", "Deliberate", "Dreamshaper", "Realistic Vision", "Anything Diffusion", "AbsoluteReality",
    "Hentai Diffusion", "Epic Diffusion", "Counterfeit", "Openjourney Diffusion", "Lyriel", "majicMIX realistic",
    "Juggernaut XL", "SDXL 1.0", "AlbedoBase XL (SDXL)", "Pony Diffusion XL", "DreamShaper XL", "AMPonyXL",
    "WAI-NSFW-illustrious-SDXL", "Nova Anime XL", "ZavyChromaXL", "Deliberate 3.0",
    "ICBINP - I Can't Believe It's Not Photography", "stable_diffusion_2.1",
]
TEXT_MODELS = [
    "koboldcpp/LLaMA2-13B-Psyfighter2", "koboldcpp/Fimbulvetr-11B-v2", "koboldcpp/mistral-7b-instruct-v0.2",
    "meta-llama/Meta-Llama-3-8B-Instruct", "Qwen2.5-7B-Instruct", "Qwen2.5-14B-Instruct", "gemma-2-9b-it",
    "TheBloke/MythoMax-L2-13B", "Sao10K/L3-8B-Stheno-v3.2", "TheDrummer/Rocinante-12B-v1.1",
]
_out = io.BytesIO()
Image.new("RGB", (64, 64), (120, 40, 200)).save(_out, format="WEBP")
RESULT_WEBP = _out.getvalue()
_png = io.BytesIO()
Image.new("RGB", (640, 480), (20, 80, 140)).save(_png, format="PNG")
SOURCE_PNG_B64 = base64.b64encode(_png.getvalue()).decode()
ALCHEMY_FORMS = [
    "caption", "nsfw", "interrogation", "describe", "aesthetic", "palette", "vectorize", "GFPGAN",
    "RealESRGAN_x4plus", "strip_background",
]
POST_PROCESSORS = ("GFPGAN", "RealESRGAN_x4plus", "strip_background")


def image_request(rng: random.Random) -> dict:
    side = rng.choice([512, 512, 576, 640, 768])
    return {
        "prompt": f"a painting of a lighthouse number {rng.randrange(10**6)}",
        "models": [rng.choice(IMAGE_MODELS)],
        "params": {"width": side, "height": 512, "steps": rng.choice([20, 25, 30]), "n": 1},
    }


def text_request(rng: random.Random) -> dict:
    return {
        "prompt": f"Once upon a time, number {rng.randrange(10**6)},",
        "models": [rng.choice(TEXT_MODELS)],
        "params": {"max_length": rng.choice([80, 120, 200]), "max_context_length": rng.choice([1024, 2048])},
    }


def alchemy_request(rng: random.Random) -> dict:
    """One form per request, so the queue's depth counts forms."""
    return {"forms": [{"name": rng.choice(ALCHEMY_FORMS)}], "source_image": SOURCE_PNG_B64}


REQUEST_MAKERS = {"image": image_request, "text": text_request, "alchemy": alchemy_request}


def kind_paths(kind: str) -> dict[str, str]:
    if kind == "alchemy":
        return {"async": "/api/v2/interrogate/async", "pop": "/api/v2/interrogate/pop",
                "submit": "/api/v2/interrogate/submit", "check": "/api/v2/interrogate/status/"}
    if kind == "text":
        return {"async": "/api/v2/generate/text/async", "pop": "/api/v2/generate/text/pop",
                "submit": "/api/v2/generate/text/submit", "check": "/api/v2/generate/text/status/"}
    return {"async": "/api/v2/generate/async", "pop": "/api/v2/generate/pop",
            "submit": "/api/v2/generate/submit", "check": "/api/v2/generate/check/"}


async def submit_requests(client: Client, index: int, params: dict) -> None:
    """Clients posting requests as fast as the server answers, until a count or a deadline."""
    rng = random.Random(index)
    paths = kind_paths(params["kind"])
    make = REQUEST_MAKERS[params["kind"]]
    headers = {"apikey": params["requester"], "Client-Agent": "horde-bench:1:bench"}
    remaining = params.get("per_process")
    ids: list[str] = []

    async def one_client() -> None:
        nonlocal remaining
        while time.time() < params["deadline"]:
            if remaining is not None:
                if remaining <= 0:
                    return
                remaining -= 1
            status, body = await client.call("async", "POST", paths["async"], json=make(rng), headers=headers)
            if status == 202:
                ids.append(body["id"])
                client.samples.count("queued")

    await asyncio.gather(*(one_client() for _ in range(params["concurrency"])))
    client.samples.extra["ids"] = ids


def worker_profile(rng: random.Random, kind: str, name: str) -> dict:
    if kind == "alchemy":  # 3 of 10 forms, so about 30% of the queue
        return {"name": name, "forms": rng.sample(ALCHEMY_FORMS, 3), "bridge_agent": REGEN, "amount": 1,
                "max_tiles": rng.choice([4, 16, 80]), "threads": 1}
    if kind == "text":
        return {
            "name": name, "models": rng.sample(TEXT_MODELS, 2), "max_length": rng.choice([256, 512]),
            "max_context_length": rng.choice([2048, 4096]), "bridge_agent": "KoboldCppEmbedWorker:1:bench",
            "nsfw": rng.random() < 0.8, "threads": 1,
        }
    return {
        "name": name, "models": rng.sample(IMAGE_MODELS, 3), "bridge_agent": REGEN, "nsfw": rng.random() < 0.8,
        "max_pixels": rng.choice([512 * 512, 768 * 768, 1024 * 1024]), "threads": 1, "amount": 1,
        "allow_lora": rng.random() < 0.5, "allow_img2img": True, "allow_painting": rng.random() < 0.7,
        "allow_post_processing": True, "require_upfront_kudos": False, "extra_slow_worker": False,
        "limit_max_steps": False, "blacklist": [],
    }


def has_job(job) -> bool:
    return bool(job and (job.get("id") or job.get("forms")))


async def _deliver_forms(client: Client, params: dict, job: dict, paths: dict, key: str) -> None:
    for form in job["forms"]:
        if form.get("r2_upload"):
            await client.call(measured(params, "upload"), "PUT", form["r2_upload"], data=RESULT_WEBP)
            result = {form["form"]: "R2"}
        else:
            result = {form["form"]: "a bench result"}
        body = {"id": form["id"], "result": result}
        status, _ = await client.call(measured(params, "submit"), "POST", paths["submit"], json=body, headers={"apikey": key})
        if status == 200:
            client.samples.count("delivered")


async def _deliver(client: Client, params: dict, job: dict, paths: dict, key: str) -> None:
    if params["kind"] == "alchemy":
        return await _deliver_forms(client, params, job, paths, key)
    if params["kind"] == "image":
        await client.call(measured(params, "upload"), "PUT", job["r2_uploads"][0], data=RESULT_WEBP)
        body = {"id": job["id"], "generation": "R2", "seed": int(job["payload"]["seed"]), "state": "ok"}
    else:
        body = {"id": job["id"], "generation": "It was a dark and stormy night. " * 4, "state": "ok"}
    status, _ = await client.call(measured(params, "submit"), "POST", paths["submit"], json=body, headers={"apikey": key})
    if status == 200:
        client.samples.count("delivered")
        if params.get("measure_from_wall", 0) <= time.time() < params["deadline"]:
            client.samples.count("delivered_in_window")


def measured(params: dict, op: str) -> str:
    """The operation's name, or `warmup_<op>` before the measured window starts (the first
    seconds of the pop scenario register 100 workers at once: a start-up burst, not the
    steady state; it is reported separately)."""
    return op if time.time() >= params.get("measure_from_wall", 0) else f"warmup_{op}"


async def workers(client: Client, index: int, params: dict) -> None:
    """Simulated GPU workers: pop about once a second while idle; work, upload, submit."""
    rng = random.Random(1000 + index)
    paths = kind_paths(params["kind"])
    make = REQUEST_MAKERS[params["kind"]]
    requester = {"apikey": params["requester"], "Client-Agent": "horde-bench:1:bench"}

    async def one_worker(number: int) -> None:
        key = params["owner_keys"][number % len(params["owner_keys"])]
        profile = worker_profile(rng, params["kind"], f"bench-{params['kind']}-{index}-{number}")
        # Start at a random point of a whole work cycle: workers that all start within the
        # same second stay in step (every pop of a busy horde then arrives in one burst).
        await asyncio.sleep(rng.random() * (params["idle_interval"] + params["work_seconds"]))
        while time.time() < params["deadline"]:
            status, job = await client.call(measured(params, "pop"), "POST", paths["pop"], json=profile, headers={"apikey": key})
            if status != 200 or not has_job(job):
                client.samples.count("empty_pops")
                await asyncio.sleep(params["idle_interval"])
                continue
            client.samples.count("jobs")
            if params.get("refill"):  # keep the queue at its depth: one new request per job taken
                await client.call(measured(params, "refill"), "POST", paths["async"], json=make(rng), headers=requester)
            await asyncio.sleep(params["work_seconds"])
            if params.get("deliver", True):
                await _deliver(client, params, job, paths, key)

    await asyncio.gather(*(one_worker(n) for n in range(params["workers_per_process"])))


async def clients_until_done(client: Client, index: int, params: dict) -> None:
    """Clients that each queue a request, poll until it is done, and start again."""
    rng = random.Random(2000 + index)
    paths = kind_paths(params["kind"])
    make = REQUEST_MAKERS[params["kind"]]
    headers = {"apikey": params["requester"], "Client-Agent": "horde-bench:1:bench"}

    async def one_client() -> None:
        while time.time() < params["deadline"]:
            started = time.perf_counter()
            body = make(rng)
            if params["kind"] == "image":
                body["models"] = ["stable_diffusion"]
            else:
                body["models"] = [TEXT_MODELS[0]]
            status, queued = await client.call("async", "POST", paths["async"], json=body, headers=headers)
            if status != 202:
                await asyncio.sleep(0.1)
                continue
            while time.time() < params["deadline"] + 5:
                await asyncio.sleep(params["poll_interval"])
                _, check = await client.call("check", "GET", paths["check"] + queued["id"])
                if check and check.get("done"):
                    client.samples.record("end_to_end", time.perf_counter() - started)
                    if started >= params["measure_from"]:
                        client.samples.count("completed_in_window")
                    break

    await asyncio.gather(*(one_client() for _ in range(params["concurrency"])))


async def fast_workers(client: Client, index: int, params: dict) -> None:
    """Workers that deliver immediately (the full-loop scenario measures the server, not GPUs)."""
    paths = kind_paths(params["kind"])

    async def one_worker(number: int) -> None:
        key = params["owner_keys"][number % len(params["owner_keys"])]
        if params["kind"] == "image":
            profile = {"name": f"loop-{index}-{number}", "models": ["stable_diffusion"], "bridge_agent": REGEN,
                       "max_pixels": 1048576, "nsfw": True, "threads": 1}
        else:
            profile = {"name": f"loop-{index}-{number}", "models": [TEXT_MODELS[0]], "bridge_agent": "KoboldCppEmbedWorker:1:bench",
                       "max_length": 512, "max_context_length": 4096, "nsfw": True}
        while time.time() < params["deadline"]:
            status, job = await client.call(measured(params, "pop"), "POST", paths["pop"], json=profile, headers={"apikey": key})
            if status != 200 or not job or not job.get("id"):
                await asyncio.sleep(0.05)
                continue
            await _deliver(client, params, job, paths, key)

    await asyncio.gather(*(one_worker(n) for n in range(params["workers_per_process"])))
