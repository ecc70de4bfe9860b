"""Shared by the horde-sdk client scripts (run with the SDK's own Python 3.12)."""

import json
import os
import sys

KEY = os.environ["HORDE_SDK_TEST_KEY"]
PARAMS = json.loads(os.environ.get("HORDE_SDK_TEST_PARAMS", "{}"))


def expect(response, expected_type, label):
    """Fail loudly unless the SDK parsed the answer as the expected model (strict mode)."""
    from horde_sdk.generic_api.apimodels import RequestErrorResponse

    if isinstance(response, RequestErrorResponse) or not isinstance(response, expected_type):
        print(f"{label}: expected {expected_type.__name__}, got {response!r}", file=sys.stderr)
        sys.exit(3)
    return response


def emit(result: dict) -> None:
    print(json.dumps(result, default=str))
