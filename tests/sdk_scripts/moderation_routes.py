"""horde-sdk 0.33.3 (strict) on the moderator routes, the documents and user deletion."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AIHordeGetPrivacyPolicyRequest,
    AIHordeGetSponsorsRequest,
    AIHordeGetTermsRequest,
    AllIPTimeoutsRequest,
    BlockIPAddressRequest,
    BlockIPAddressResponse,
    BlockWorkerIPAddressRequest,
    BlockWorkerIPAddressResponse,
    DeleteFilterRequest,
    DeleteFilterResponse,
    DeleteIPAddressRequest,
    DeleteIPAddressResponse,
    DeleteUserRequest,
    DeleteUserResponse,
    DeleteWorkerIPAddressRequest,
    DeleteWorkerIPAddressResponse,
    FilterDetails,
    FilterPromptSuspicionRequest,
    FilterPromptSuspicionResponse,
    FilterRegexRequest,
    FilterRegexResponse,
    FiltersListRequest,
    FiltersListResponse,
    HordeDocument,
    IPTimeoutListResponse,
    PatchExistingFilter,
    PutNewFilterRequest,
    SingleFilterRequest,
)

client = AIHordeAPIManualClient()
made = expect(client.submit_request(
    PutNewFilterRequest(apikey=KEY, regex=r"\bzorblat\b", filter_type=20, description="a test", replacement=""), FilterDetails,
), FilterDetails, "put filter")
listed = expect(client.submit_request(FiltersListRequest(apikey=KEY, filter_type=20), FiltersListResponse), FiltersListResponse, "list")
one = expect(client.submit_request(SingleFilterRequest(apikey=KEY, filter_id=made.id_), FilterDetails), FilterDetails, "get filter")
patched = expect(client.submit_request(
    PatchExistingFilter(apikey=KEY, filter_id=made.id_, filter_type=20, description="changed"), FilterDetails,
), FilterDetails, "patch filter")
regexes = expect(client.submit_request(FilterRegexRequest(apikey=KEY), FilterRegexResponse), FilterRegexResponse, "regex")
scored = expect(client.submit_request(
    FilterPromptSuspicionRequest(apikey=KEY, prompt="a zorblat", filter_type=20), FilterPromptSuspicionResponse,
), FilterPromptSuspicionResponse, "score")
deleted = expect(client.submit_request(DeleteFilterRequest(apikey=KEY, filter_id=made.id_), DeleteFilterResponse),
                 DeleteFilterResponse, "delete filter")

blocked = expect(client.submit_request(BlockIPAddressRequest(apikey=KEY, ipaddr="198.51.100.0/24", hours=2), BlockIPAddressResponse),
                 BlockIPAddressResponse, "block ip")
timeouts = expect(client.submit_request(AllIPTimeoutsRequest(apikey=KEY), IPTimeoutListResponse), IPTimeoutListResponse, "timeouts")
lifted = expect(client.submit_request(DeleteIPAddressRequest(apikey=KEY, ipaddr="198.51.100.0/24"), DeleteIPAddressResponse),
                DeleteIPAddressResponse, "lift ip")
worker_blocked = expect(client.submit_request(
    BlockWorkerIPAddressRequest(apikey=KEY, worker_id=PARAMS["worker_id"], days=1), BlockWorkerIPAddressResponse,
), BlockWorkerIPAddressResponse, "block worker ip")
worker_lifted = expect(client.submit_request(
    DeleteWorkerIPAddressRequest(apikey=KEY, worker_id=PARAMS["worker_id"]), DeleteWorkerIPAddressResponse,
), DeleteWorkerIPAddressResponse, "lift worker ip")

documents = {}
for name, request_type in (("terms", AIHordeGetTermsRequest), ("privacy", AIHordeGetPrivacyPolicyRequest),
                           ("sponsors", AIHordeGetSponsorsRequest)):
    # The SDK sends `format` in a GET body it then refuses to send, so only the default (html).
    html = expect(client.submit_request(request_type(), HordeDocument), HordeDocument, name)
    documents[name] = {"html": bool(html.html) and html.markdown is None}

gone = expect(client.submit_request(DeleteUserRequest(apikey=KEY, user_id=str(PARAMS["victim_id"])), DeleteUserResponse),
              DeleteUserResponse, "delete user")
emit({
    "filter": {"made": made.regex, "listed": made.id_ in [f.id_ for f in listed.root], "one_user": one.user,
               "patched": patched.description, "regexes": [r.regex for r in regexes.root],
               "suspicion": scored.suspicion, "matches": scored.matches, "deleted": deleted.message},
    "ip": {"blocked": blocked.message, "listed": [(t.ipaddr, t.seconds > 7000) for t in timeouts.root], "lifted": lifted.message,
           "worker": [worker_blocked.message, worker_lifted.message]},
    "documents": documents,
    "deleted_user": gone.message,
})
