"""horde-sdk 0.33.3 (strict) on the worker routes reGen uses at start-up, and the list."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AllTeamDetailsRequest,
    AllTeamDetailsResponse,
    AllWorkersDetailsRequest,
    CreateTeamRequest,
    DeleteTeamRequest,
    DeleteTeamResponse,
    ModifyTeam,
    ModifyTeamRequest,
    SingleTeamDetailsRequest,
    TeamDetails,
    AllWorkersDetailsResponse,
    ImageGenerateJobPopRequest,
    ImageGenerateJobPopResponse,
    ModifyWorkerRequest,
    ModifyWorkerResponse,
    SingleWorkerDetailsRequest,
    SingleWorkerDetailsResponse,
    SingleWorkerNameDetailsRequest,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse  # noqa: E402

REGEN = "AI Horde Worker reGen:9.0.2:https://github.com/Haidra-Org/horde-worker-reGen"
client = AIHordeAPIManualClient()
name = PARAMS["worker_name"]
expect(
    client.submit_request(
        ImageGenerateJobPopRequest(apikey=KEY, name=name, models=["stable_diffusion"], max_pixels=262144, bridge_agent=REGEN),
        ImageGenerateJobPopResponse,
    ),
    ImageGenerateJobPopResponse, "pop",
)
by_name = expect(
    client.submit_request(SingleWorkerNameDetailsRequest(worker_name=name, apikey=KEY), SingleWorkerDetailsResponse),
    SingleWorkerDetailsResponse, "worker by name",
)
modified = expect(
    client.submit_request(ModifyWorkerRequest(worker_id=by_name.id_, apikey=KEY, maintenance=False, info="an SDK worker"), ModifyWorkerResponse),
    ModifyWorkerResponse, "modify",
)
by_id = expect(
    client.submit_request(SingleWorkerDetailsRequest(worker_id=by_name.id_), SingleWorkerDetailsResponse),
    SingleWorkerDetailsResponse, "worker by id",
)
listing = {}
for kind in ("", "image", "text"):
    response = client.submit_request(AllWorkersDetailsRequest(type=kind) if kind else AllWorkersDetailsRequest(), AllWorkersDetailsResponse)
    listing[kind or "all"] = [w.name for w in expect(response, AllWorkersDetailsResponse, f"workers {kind}").root]
missing = client.submit_request(SingleWorkerNameDetailsRequest(worker_name="no-such-worker"), SingleWorkerDetailsResponse)
assert isinstance(missing, RequestErrorResponse)
import requests  # noqa: E402

base = os.environ["AI_HORDE_URL"].rstrip("/")
sent = requests.post(f"{base}/v2/workers/messages", json={"worker_id": str(by_name.id_), "message": "hello worker"},
                     headers={"apikey": KEY}, timeout=10).json()
with_message = expect(
    client.submit_request(
        ImageGenerateJobPopRequest(apikey=KEY, name=name, models=["stable_diffusion"], max_pixels=262144, bridge_agent=REGEN),
        ImageGenerateJobPopResponse,
    ),
    ImageGenerateJobPopResponse, "pop with a message",
)
team = expect(client.submit_request(CreateTeamRequest(apikey=KEY, name="SDK Team", info="made by the SDK"), ModifyTeam), ModifyTeam, "create team")
changed = expect(client.submit_request(ModifyTeamRequest(apikey=KEY, team_id=team.id_, name="SDK Team", info="changed"), ModifyTeam), ModifyTeam, "modify team")
teams = expect(client.submit_request(AllTeamDetailsRequest(), AllTeamDetailsResponse), AllTeamDetailsResponse, "teams")
one = expect(client.submit_request(SingleTeamDetailsRequest(team_id=team.id_), TeamDetails), TeamDetails, "team")
gone = expect(client.submit_request(DeleteTeamRequest(apikey=KEY, team_id=team.id_), DeleteTeamResponse), DeleteTeamResponse, "delete team")
emit({
    "pop_messages": [m.message for m in with_message.messages or []],
    "teams": {"created": team.name, "changed_info": changed.info, "listed": [t.name for t in teams.root],
              "one_creator": one.creator, "deleted": gone.deleted_name},
    "by_name": {"id": str(by_name.id_), "type": str(by_name.type_), "models": by_name.models, "performance": by_name.performance},
    "modified": {"maintenance": modified.maintenance, "info": modified.info},
    "by_id_info": by_id.info, "listing": listing, "missing_rc": missing.rc,
})
