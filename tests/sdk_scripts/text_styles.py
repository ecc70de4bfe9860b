"""horde-sdk 0.33.3 (strict) against text styles, and a text request through a shared key and a style."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AllStylesTextRequest,
    AllStylesTextResponse,
    CreateStyleTextRequest,
    DeleteStyleTextRequest,
    DeleteStyleTextResponse,
    ExpiryStrSharedKeyDetailsResponse,
    ModelStyleInputParamsKobold,
    ModifyStyleTextRequest,
    ModifyStyleTextResponse,
    SharedKeyCreateRequest,
    SingleStyleTextByIDRequest,
    SingleStyleTextByNameRequest,
    StyleKobold,
    TextGenerateAsyncRequest,
    TextGenerateAsyncResponse,
)

client = AIHordeAPIManualClient()


def call(request, response_type, label):
    return expect(client.submit_request(request, response_type), response_type, label)


style = call(
    CreateStyleTextRequest(
        apikey=KEY, name="sdk bard", info="verse from the sdk", prompt="Write a poem about {p}.",
        params=ModelStyleInputParamsKobold(temperature=0.9), models=[PARAMS["model"]], tags=["verse"],
    ),
    ModifyStyleTextResponse, "create text style",
)
by_id = call(SingleStyleTextByIDRequest(style_id=style.id_), StyleKobold, "text style by id")
by_name = call(SingleStyleTextByNameRequest(style_name="sdk bard"), StyleKobold, "text style by name")
listed = call(AllStylesTextRequest(), AllStylesTextResponse, "text styles")
call(
    ModifyStyleTextRequest(apikey=KEY, style_id=style.id_, name="sdk bard", prompt="A sonnet on {p}.",
                           params=ModelStyleInputParamsKobold(temperature=0.7)),
    ModifyStyleTextResponse, "modify text style",
)
key = call(
    SharedKeyCreateRequest(apikey=KEY, kudos=300, name="text key", max_image_pixels=-1, max_image_steps=-1, max_text_tokens=200),
    ExpiryStrSharedKeyDetailsResponse, "create key",
)
queued = call(
    TextGenerateAsyncRequest(apikey=str(key.sharedkey_id), prompt="the sea", style="sdk bard", models=[]),
    TextGenerateAsyncResponse, "styled text request through the key",
)
after = call(SingleStyleTextByIDRequest(style_id=style.id_), StyleKobold, "text style after use")
call(DeleteStyleTextRequest(apikey=KEY, style_id=style.id_), DeleteStyleTextResponse, "delete text style")

emit({
    "style": {"name": by_id.name, "prompt": by_id.prompt, "params": by_id.params.model_dump(exclude_unset=True) if by_id.params else None,
              "models": by_id.models, "creator": by_id.creator},
    "by_name": by_name.id_, "listed": [s.name for s in listed.root],
    "queued_id": str(queued.id_), "after": {"prompt": after.prompt, "use_count": after.use_count},
})
