"""horde-sdk against the common routes: heartbeat, find_user, user details, an error."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AIHordeHeartbeatRequest,
    AIHordeHeartbeatResponse,
    FindUserRequest,
    HordePerformanceRequest,
    HordePerformanceResponse,
    ListUsersDetailsRequest,
    ListUsersDetailsResponse,
    NewsRequest,
    NewsResponse,
    SingleUserDetailsRequest,
    UserDetailsResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse  # noqa: E402

client = AIHordeAPIManualClient()

heartbeat = expect(client.submit_request(AIHordeHeartbeatRequest(), AIHordeHeartbeatResponse), AIHordeHeartbeatResponse, "heartbeat")
me = expect(client.submit_request(FindUserRequest(apikey=KEY), UserDetailsResponse), UserDetailsResponse, "find_user")
details = expect(
    client.submit_request(SingleUserDetailsRequest(user_id=str(me.id_)), UserDetailsResponse), UserDetailsResponse, "user details"
)
listing = expect(client.submit_request(ListUsersDetailsRequest(page=1), ListUsersDetailsResponse), ListUsersDetailsResponse, "users")
news = expect(client.submit_request(NewsRequest(), NewsResponse), NewsResponse, "news")
performance = expect(client.submit_request(HordePerformanceRequest(), HordePerformanceResponse), HordePerformanceResponse, "performance")
missing = client.submit_request(SingleUserDetailsRequest(user_id=str(PARAMS["missing_user_id"])), UserDetailsResponse)
assert isinstance(missing, RequestErrorResponse), f"an unknown user must be an error, got {missing!r}"

emit(
    {
        "heartbeat_version": heartbeat.version,
        "heartbeat_message": heartbeat.message,
        "find_user": {"username": me.username, "id": me.id_, "kudos": me.kudos},
        "details": {"username": details.username, "kudos": details.kudos, "worker_ids": details.worker_ids},
        "find_user_private": {"sharedkey_ids": me.sharedkey_ids, "worker_ids": me.worker_ids},
        "users_listed": [u.username for u in listing.root],
        "news_titles": [n.title for n in news.root],
        "error": {"rc": missing.rc, "message": missing.message},
        "performance_workers": performance.worker_count,
    }
)
