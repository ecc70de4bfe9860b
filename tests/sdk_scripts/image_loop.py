"""horde-sdk 0.33.3 (strict) as client and as a reGen-style worker: the whole image loop."""

import io
import os
import threading
import time

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

import requests  # noqa: E402
from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient, AIHordeAPISimpleClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    DeleteImageGenerateRequest,
    ImageGenerateAsyncDryRunResponse,
    ImageGenerateAsyncRequest,
    ImageGenerateAsyncResponse,
    ImageGenerateCheckRequest,
    ImageGenerateCheckResponse,
    ImageGenerateJobPopRequest,
    ImageGenerateJobPopResponse,
    ImageGenerateStatusRequest,
    ImageGenerateStatusResponse,
    ImageGenerationInputPayload,
    ImageGenerationJobSubmitRequest,
    ImageStatsModelsRequest,
    ImageStatsModelsResponse,
    ImageStatsModelsTotalRequest,
    ImageStatsModelsTotalResponse,
    JobSubmitResponse,
)
from PIL import Image  # noqa: E402

REGEN = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"
client = AIHordeAPIManualClient()
WORKER = PARAMS["worker_name"]


def webp(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, format="WEBP")
    return out.getvalue()


def pop(amount=1, max_pixels=262144):
    request = ImageGenerateJobPopRequest(
        apikey=KEY, name=WORKER, models=["stable_diffusion"], max_pixels=max_pixels, bridge_agent=REGEN,
        amount=amount, nsfw=True, threads=1, require_upfront_kudos=False, allow_img2img=True, allow_painting=True,
        allow_unsafe_ipaddr=True, allow_post_processing=True, allow_controlnet=False, allow_sdxl_controlnet=False,
        allow_lora=False, extra_slow_worker=False, limit_max_steps=False, blacklist=[],
    )
    return expect(client.submit_request(request, ImageGenerateJobPopResponse), ImageGenerateJobPopResponse, "pop")


def submit(job_id, seed, state="ok"):
    request = ImageGenerationJobSubmitRequest(apikey=KEY, id=job_id, generation="R2", seed=seed, state=state)
    return expect(client.submit_request(request, JobSubmitResponse), JobSubmitResponse, "submit")


def new_request(n=1, dry_run=False, key="0000000000"):
    request = ImageGenerateAsyncRequest(
        apikey=key, prompt="a lighthouse at dusk", models=["stable_diffusion"],
        params=ImageGenerationInputPayload(steps=5, n=n), dry_run=dry_run,
    )
    expected = ImageGenerateAsyncDryRunResponse if dry_run else ImageGenerateAsyncResponse
    return expect(client.submit_request(request, expected), expected, "async")


def check(request_id):
    return expect(client.submit_request(ImageGenerateCheckRequest(id=request_id), ImageGenerateCheckResponse), ImageGenerateCheckResponse, "check")


def status(request_id):
    return expect(client.submit_request(ImageGenerateStatusRequest(id=request_id), ImageGenerateStatusResponse), ImageGenerateStatusResponse, "status")


result = {}

# 1. idle pop: nothing to do, strictly parsed
idle = pop()
result["idle"] = {"ids": idle.ids, "skipped": idle.skipped.model_dump(by_alias=True)}

# 2. anonymous request -> pop -> PUT upload -> submit R2 -> check done -> status URL downloads the image
queued = new_request()
job = pop()
image = webp((10, 200, 30))
put = requests.put(job.r2_uploads[0], data=image, timeout=10)
reward = submit(job.ids[0], 1312).reward
done = check(queued.id_)
final = status(queued.id_)
generation = final.generations[0]
downloaded = requests.get(generation.img, timeout=10)
result["single"] = {
    "request_id": str(queued.id_), "kudos": queued.kudos, "job_ids": [str(i) for i in job.ids],
    "payload_seed": job.payload.seed, "model": job.model, "r2_upload": job.r2_upload, "put_status": put.status_code,
    "reward": reward, "done": done.done, "finished": done.finished, "seed": generation.seed,
    "censored": generation.censored, "download_matches": downloaded.content == image,
    "download_type": downloaded.headers.get("Content-Type"),
}

# 3. a batch of four popped with amount=4
batch_request = new_request(n=4)
batch = pop(amount=4, max_pixels=4194304)
for index, (job_id, url) in enumerate(zip(batch.ids, batch.r2_uploads)):
    requests.put(url, data=webp((index * 50, 0, 0)), timeout=10)
    submit(job_id, 500 + index)
batch_status = status(batch_request.id_)
result["batch"] = {
    "ids": len(batch.ids), "n_iter": batch.payload.n_iter, "finished": batch_status.finished,
    "seeds": sorted(g.seed for g in batch_status.generations),
}

# 4. cancel mid-way: one job at the worker, two waiting
cancel_request = new_request(n=3)
in_flight = pop()
cancelled = expect(
    client.submit_request(DeleteImageGenerateRequest(id=cancel_request.id_), ImageGenerateStatusResponse),
    ImageGenerateStatusResponse, "cancel",
)
after = check(cancel_request.id_)
requests.put(in_flight.r2_uploads[0], data=webp((1, 1, 1)), timeout=10)
late_reward = submit(in_flight.ids[0], 7).reward
result["cancel"] = {
    "waiting_before": cancelled.waiting, "processing_before": cancelled.processing, "done_after": after.done,
    "late_reward": late_reward, "finished": status(cancel_request.id_).finished,
}

# 5. dry run
result["dry_run"] = {"kudos": new_request(n=2, dry_run=True).kudos}

# 6. the high-level client: submit, poll check every few seconds, fetch status, download the image
def background_worker():
    deadline = time.time() + 60
    while time.time() < deadline:
        job = pop()
        if job.ids:
            requests.put(job.r2_uploads[0], data=webp((99, 99, 99)), timeout=10)
            submit(job.ids[0], 4242)
            return
        time.sleep(0.5)

thread = threading.Thread(target=background_worker)
thread.start()
simple = AIHordeAPISimpleClient()
simple_status, _ = simple.image_generate_request(
    ImageGenerateAsyncRequest(apikey="0000000000", prompt="a fox", models=["stable_diffusion"], params=ImageGenerationInputPayload(steps=5)),
    timeout=90,
)
thread.join()
pil_image = simple.download_image_from_generation(simple_status.generations[0])
totals = expect(client.submit_request(ImageStatsModelsTotalRequest(), ImageStatsModelsTotalResponse), ImageStatsModelsTotalResponse, "stats totals")
per_model = expect(client.submit_request(ImageStatsModelsRequest(), ImageStatsModelsResponse), ImageStatsModelsResponse, "stats models")
result["stats"] = {"total_images": totals.total.images, "models_total": per_model.total}
result["simple_client"] = {"generations": len(simple_status.generations), "seed": simple_status.generations[0].seed, "size": list(pil_image.size)}
emit(result)
