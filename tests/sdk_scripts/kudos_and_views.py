"""horde-sdk 0.33.3 (strict): kudos transfer and award, and a worker's moderator view."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    KudosAwardRequest,
    KudosAwardResponse,
    KudosTransferRequest,
    KudosTransferResponse,
    SingleWorkerDetailsRequest,
    SingleWorkerDetailsResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse  # noqa: E402

client = AIHordeAPIManualClient()
sent = expect(
    client.submit_request(KudosTransferRequest(apikey=KEY, username=PARAMS["recipient"], amount=25), KudosTransferResponse),
    KudosTransferResponse, "transfer",
)
too_much = client.submit_request(KudosTransferRequest(apikey=KEY, username=PARAMS["recipient"], amount=100000), KudosTransferResponse)
assert isinstance(too_much, RequestErrorResponse)
awarded = expect(
    client.submit_request(KudosAwardRequest(apikey=PARAMS["mod_key"], username=PARAMS["recipient"], amount=7), KudosAwardResponse),
    KudosAwardResponse, "award",
)
moderator_view = expect(
    client.submit_request(SingleWorkerDetailsRequest(worker_id=PARAMS["worker_id"], apikey=PARAMS["mod_key"]), SingleWorkerDetailsResponse),
    SingleWorkerDetailsResponse, "worker, moderator view",
)
emit({
    "transferred": sent.transferred, "too_much_rc": too_much.rc, "awarded": awarded.awarded,
    "moderator_view": {"owner": moderator_view.owner, "paused": moderator_view.paused, "has_ip": moderator_view.ipaddr is not None},
})
