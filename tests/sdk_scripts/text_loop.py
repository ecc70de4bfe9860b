"""horde-sdk 0.33.3 (strict) as client and as a text worker: the whole text loop."""

import os
import threading
import time

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient, AIHordeAPISimpleClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    DeleteTextGenerateRequest,
    ModelGenerationInputKobold,
    TextGenerateAsyncDryRunResponse,
    TextGenerateAsyncRequest,
    TextGenerateAsyncResponse,
    TextGenerateJobPopRequest,
    TextGenerateJobPopResponse,
    TextGenerateStatusRequest,
    TextGenerateStatusResponse,
    TextGenerationJobSubmitRequest,
    TextStatsModelResponse,
    TextStatsModelsRequest,
    TextStatsModelsTotalRequest,
    TextStatsModelsTotalResponse,
)
from horde_sdk.ai_horde_api.apimodels.generate.submit import JobSubmitResponse  # noqa: E402

MODEL = "koboldcpp/LLaMA2-13B-Psyfighter2"
client = AIHordeAPIManualClient()


def pop(max_context_length=4096):
    request = TextGenerateJobPopRequest(
        apikey=KEY, name=PARAMS["worker_name"], models=[MODEL], max_length=512, max_context_length=max_context_length,
        bridge_agent="KoboldCppEmbedWorker:1.0:https://github.com/LostRuins/koboldcpp", amount=2, threads=1, nsfw=True,
    )
    return expect(client.submit_request(request, TextGenerateJobPopResponse), TextGenerateJobPopResponse, "pop")


def submit(job_id, text):
    request = TextGenerationJobSubmitRequest(apikey=KEY, id=job_id, generation=text, state="ok")
    return expect(client.submit_request(request, JobSubmitResponse), JobSubmitResponse, "submit")


def new_request(n=1, dry_run=False, max_context_length=1024):
    request = TextGenerateAsyncRequest(
        apikey="0000000000", prompt="Once upon a time", models=[MODEL], dry_run=dry_run,
        params=ModelGenerationInputKobold(max_length=100, max_context_length=max_context_length, n=n),
    )
    expected = TextGenerateAsyncDryRunResponse if dry_run else TextGenerateAsyncResponse
    return expect(client.submit_request(request, expected), expected, "async")


def status(request_id):
    return expect(client.submit_request(TextGenerateStatusRequest(id=request_id), TextGenerateStatusResponse), TextGenerateStatusResponse, "status")


result = {"idle_ids": pop().ids}

queued = new_request()
job = pop()
reward = submit(job.ids[0], "there lived a keeper of lighthouses.").reward
done = status(queued.id_)
result["single"] = {
    "kudos": queued.kudos, "model": job.model, "payload_prompt": job.payload.prompt, "reward": reward,
    "done": done.done, "text": done.generations[0].text, "state": str(done.generations[0].state),
}

pair = new_request(n=2)
both = pop()
for job_id in both.ids:
    submit(job_id, "and the sea was calm.")
result["n2"] = {"ids": len(both.ids), "generations": len(status(pair.id_).generations)}

cancel_request = new_request(n=2)
in_flight = pop()  # amount 2 takes both; cancel then returns them as processing
cancelled = expect(
    client.submit_request(DeleteTextGenerateRequest(id=cancel_request.id_), TextGenerateStatusResponse),
    TextGenerateStatusResponse, "cancel",
)
for job_id in in_flight.ids:
    submit(job_id, "late but delivered.")
result["cancel"] = {"processing_before": cancelled.processing, "done_after": status(cancel_request.id_).done}

result["dry_run"] = new_request(n=2, dry_run=True).kudos

impossible = new_request(max_context_length=65536)
result["impossible"] = {"message": impossible.message, "is_possible": status(impossible.id_).is_possible}


def background_worker():
    deadline = time.time() + 60
    while time.time() < deadline:
        job = pop()
        if job.ids:
            submit(job.ids[0], "the end.")
            return
        time.sleep(0.5)


thread = threading.Thread(target=background_worker)
thread.start()
simple = AIHordeAPISimpleClient()
final, _ = simple.text_generate_request(
    TextGenerateAsyncRequest(apikey="0000000000", prompt="Tell me a story", models=[MODEL],
                             params=ModelGenerationInputKobold(max_length=50, max_context_length=1024)),
    timeout=90,
)
thread.join()
result["simple_client"] = [g.text for g in final.generations]
text_totals = expect(client.submit_request(TextStatsModelsTotalRequest(), TextStatsModelsTotalResponse), TextStatsModelsTotalResponse, "text totals")
text_models = expect(client.submit_request(TextStatsModelsRequest(), TextStatsModelResponse), TextStatsModelResponse, "text models")
result["stats"] = {"has_total": "total" in text_totals.model_dump(), "models": text_models.total}
emit(result)
