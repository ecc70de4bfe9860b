"""horde-sdk 0.33.3 (strict) as alchemy client and as an alchemist: the whole alchemy loop.

PARAMS: phase ("loop", "stale-take", "stale-retake"), worker_name, client_key (the
requester's key; KEY is the alchemist owner's), and for "stale-retake" the old form id.
"""

import base64
import io
import os
import threading
import time

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

import requests  # noqa: E402
from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient, AIHordeAPISimpleClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AlchemyAsyncRequest,
    AlchemyAsyncRequestFormItem,
    AlchemyAsyncResponse,
    AlchemyDeleteRequest,
    AlchemyJobPopResponse,
    AlchemyJobSubmitRequest,
    AlchemyJobSubmitResponse,
    AlchemyPopRequest,
    AlchemyStatusRequest,
    AlchemyStatusResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse  # noqa: E402
from PIL import Image  # noqa: E402

ALCHEMIST = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"
client = AIHordeAPIManualClient()
WORKER = PARAMS["worker_name"]
CLIENT_KEY = PARAMS.get("client_key", "0000000000")
BASE = os.environ["AI_HORDE_URL"].rsplit("/api/", 1)[0]


def image_b64(width=600, height=500, color=(20, 120, 220)) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def webp(color, size=(128, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="WEBP")
    return out.getvalue()


def kudos(key) -> float:
    return requests.get(f"{BASE}/api/v2/find_user", headers={"apikey": key}, timeout=10).json()["kudos"]


def pop(forms=("caption", "nsfw", "RealESRGAN_x4plus"), amount=3):
    request = AlchemyPopRequest(
        apikey=KEY, name=WORKER, forms=list(forms), amount=amount, priority_usernames=[], bridge_agent=ALCHEMIST,
        threads=1, max_tiles=16,
    )
    return expect(client.submit_request(request, AlchemyJobPopResponse), AlchemyJobPopResponse, "pop")


def submit(form_id, result, state="ok"):
    request = AlchemyJobSubmitRequest(apikey=KEY, id=form_id, result=result, state=state)
    return client.submit_request(request, AlchemyJobSubmitResponse)


def ask(forms, key=None, source=None):
    request = AlchemyAsyncRequest(
        apikey=key or CLIENT_KEY, forms=[AlchemyAsyncRequestFormItem(name=f) for f in forms], source_image=source or image_b64(),
    )
    return expect(client.submit_request(request, AlchemyAsyncResponse), AlchemyAsyncResponse, "async")


def status(request_id):
    return expect(client.submit_request(AlchemyStatusRequest(id=request_id), AlchemyStatusResponse), AlchemyStatusResponse, "status")


def work(form):
    """What an alchemist does with one form."""
    name = str(form.form)
    if name == "caption":
        return submit(form.id_, {"caption": "a blue rectangle"})
    if name == "nsfw":
        return submit(form.id_, {"nsfw": False})
    source = requests.get(form.source_image, timeout=10)
    assert source.status_code == 200, source.status_code
    with Image.open(io.BytesIO(source.content)) as image:
        width, height = image.size
    upscaled = webp((30, 60, 90), (width * 4 // 8, height * 4 // 8))  # small: the content is not the point
    assert requests.put(form.r2_upload, data=upscaled, timeout=10).status_code == 200
    return submit(form.id_, {name: "R2"})


def error_rc(response):
    return response.rc if isinstance(response, RequestErrorResponse) else f"not an error: {response!r}"


def loop_phase() -> dict:
    result = {}
    idle = pop()
    result["idle"] = {"forms": idle.forms, "skipped": idle.skipped.model_dump(exclude_none=True) if idle.skipped else None}

    # 1. caption, nsfw and a 4x upscale of a 600x500 image (2 x 1 tiles = 2)
    before = {"client": kudos(CLIENT_KEY), "worker": kudos(KEY)}
    queued = ask(["caption", "nsfw", "RealESRGAN_x4plus"])
    waiting = status(queued.id_)
    popped = pop()
    forms = {str(f.form): f for f in popped.forms}
    rewards = {}
    for name, form in forms.items():
        answer = expect(work(form), AlchemyJobSubmitResponse, f"submit {name}")
        rewards[name] = answer.reward
    final = status(queued.id_)
    upscale = final.all_upscale_results[0]
    downloaded = requests.get(upscale.url, timeout=10)
    with Image.open(io.BytesIO(downloaded.content)) as image:
        downloaded_size = list(image.size)
    result["loop"] = {
        "waiting_state": str(waiting.state), "popped": sorted(forms), "r2_only_for": sorted(n for n, f in forms.items() if f.r2_upload),
        "source_is_url": all(f.source_image.startswith("http") for f in forms.values()), "rewards": rewards,
        "state": str(final.state), "captions": [c.caption for c in final.all_caption_results],
        "nsfw": [n.nsfw for n in final.all_nsfw_results], "upscaler": str(upscale.upscaler_used),
        "download_status": downloaded.status_code, "download_size": downloaded_size,
        "kudos_before": before, "kudos_after": {"client": kudos(CLIENT_KEY), "worker": kudos(KEY)},
        "duplicate_rc": error_rc(submit(forms["caption"].id_, {"caption": "again"})),
    }

    # 2. the simple client waits for a caption while a background alchemist works
    def background():
        deadline = time.time() + 60
        while time.time() < deadline:
            job = pop(forms=("caption",), amount=1)
            if job.forms:
                work(job.forms[0])
                return
            time.sleep(0.5)

    thread = threading.Thread(target=background)
    thread.start()
    simple, _ = AIHordeAPISimpleClient().alchemy_request(
        AlchemyAsyncRequest(apikey=CLIENT_KEY, forms=[AlchemyAsyncRequestFormItem(name="caption")], source_image=image_b64()),
        timeout=90,
    )
    thread.join()
    result["simple_client"] = {"state": str(simple.state), "captions": [c.caption for c in simple.all_caption_results]}

    # 3. cancel with one form at the alchemist and one waiting
    before = {"client": kudos(CLIENT_KEY), "worker": kudos(KEY)}
    doomed = ask(["caption", "nsfw"])
    at_worker = pop(forms=("caption",), amount=1).forms[0]
    cancelled = expect(client.submit_request(AlchemyDeleteRequest(id=doomed.id_), AlchemyStatusResponse), AlchemyStatusResponse, "cancel")
    result["cancel"] = {
        "state": str(cancelled.state), "forms": {str(f.form): str(f.state) for f in cancelled.forms},
        "late_rc": error_rc(submit(at_worker.id_, {"caption": "too late"})),
        "nothing_left": pop().forms is None,
        "kudos_before": before, "kudos_after": {"client": kudos(CLIENT_KEY), "worker": kudos(KEY)},
    }
    result["errors"] = errors_phase()
    return result


def stale_take() -> dict:
    queued = ask(["caption"])
    form = pop(forms=("caption",), amount=1).forms[0]
    return {"request_id": str(queued.id_), "form_id": str(form.id_)}


def stale_retake() -> dict:
    again = pop(forms=("caption",), amount=1)
    late = error_rc(submit(PARAMS["old_form_id"], {"caption": "late"}))
    fresh = expect(work(again.forms[0]), AlchemyJobSubmitResponse, "retake submit")
    return {"new_form_id": str(again.forms[0].id_), "late_rc": late, "reward": fresh.reward,
            "state": str(status(PARAMS["request_id"]).state)}


def errors_phase() -> dict:
    found = {}
    for label, forms, source in (
        ("unreadable", ["caption"], base64.b64encode(b"certainly not an image").decode()),
        ("too_many_tiles", ["caption"], image_b64(8192, 8193)),
    ):
        request = AlchemyAsyncRequest(apikey=CLIENT_KEY, forms=[AlchemyAsyncRequestFormItem(name=f) for f in forms], source_image=source)
        found[label] = error_rc(client.submit_request(request, AlchemyAsyncResponse))
    request = AlchemyAsyncRequest(apikey="a" * 22, forms=[AlchemyAsyncRequestFormItem(name="caption")], source_image=image_b64())
    found["bad_key"] = error_rc(client.submit_request(request, AlchemyAsyncResponse))
    request = AlchemyAsyncRequest(apikey=CLIENT_KEY, forms=[AlchemyAsyncRequestFormItem(name="caption")], source_image=image_b64(),
                                  webhook="http://example.com/hook")
    found["http_webhook"] = error_rc(client.submit_request(request, AlchemyAsyncResponse))
    found["unknown_status"] = error_rc(client.submit_request(AlchemyStatusRequest(id="00000000-0000-0000-0000-000000000000"), AlchemyStatusResponse))
    return found


emit({"loop": loop_phase, "stale-take": stale_take, "stale-retake": stale_retake}[PARAMS["phase"]]())
