"""horde-sdk 0.33.3 (strict) against shared keys, image styles (with examples) and collections."""

import os

assert os.environ.get("TESTS_ONGOING") == "1", "strict mode expected"

from _common import KEY, PARAMS, emit, expect  # noqa: E402
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient  # noqa: E402
from horde_sdk.ai_horde_api.apimodels import (  # noqa: E402
    AllCollectionsRequest,
    AllCollectionsResponse,
    AllStylesImageRequest,
    AllStylesImageResponse,
    CollectionByIDRequest,
    CreateCollectionRequest,
    CreateCollectionResponse,
    CreateStyleImageRequest,
    DeleteCollectionRequest,
    DeleteCollectionResponse,
    DeleteStyleImageRequest,
    DeleteStyleImageResponse,
    ExpiryStrSharedKeyDetailsResponse,
    FindUserRequest,
    ImageGenerateAsyncRequest,
    ImageGenerateAsyncResponse,
    ImageGenerationInputPayload,
    ModelStyleInputParamsStable,
    ModifyStyleImageRequest,
    ModifyStyleImageResponse,
    ResponseModelCollection,
    SharedKeyCreateRequest,
    SharedKeyDeleteRequest,
    SharedKeyDeleteResponse,
    SharedKeyDetailsRequest,
    SharedKeyModifyRequest,
    SingleStyleImageByIDRequest,
    SingleStyleImageByNameRequest,
    StyleImageExampleAddRequest,
    StyleImageExampleModifyResponse,
    StyleStable,
    UpdateCollectionRequest,
    UpdateCollectionResponse,
    UserDetailsResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse  # noqa: E402

client = AIHordeAPIManualClient()
Details = ExpiryStrSharedKeyDetailsResponse


def call(request, response_type, label):
    return expect(client.submit_request(request, response_type), response_type, label)


limits = {"max_image_pixels": -1, "max_image_steps": 50, "max_text_tokens": -1}
created = call(SharedKeyCreateRequest(apikey=KEY, kudos=1000, name="sdk key", expiry=30, **limits), Details, "create key")
shared_key = str(created.sharedkey_id)
shown = call(SharedKeyDetailsRequest(id=created.sharedkey_id), Details, "key details")
changed = call(
    SharedKeyModifyRequest(apikey=KEY, id=created.sharedkey_id, kudos=800, name="sdk key 2", **limits),
    Details, "modify key",
)
owner_via_key = call(FindUserRequest(apikey=shared_key), UserDetailsResponse, "find_user by shared key")
queued = call(
    ImageGenerateAsyncRequest(apikey=shared_key, prompt="a lighthouse", models=["stable_diffusion"], params=ImageGenerationInputPayload(steps=10)),
    ImageGenerateAsyncResponse, "generate through the key",
)
too_many_steps = client.submit_request(
    ImageGenerateAsyncRequest(apikey=shared_key, prompt="a lighthouse", models=["stable_diffusion"], params=ImageGenerationInputPayload(steps=60)),
    ImageGenerateAsyncResponse,
)
assert isinstance(too_many_steps, RequestErrorResponse), too_many_steps

style_key = call(SharedKeyCreateRequest(apikey=KEY, kudos=500, name="style key", **limits), Details, "create style key")
style = call(
    CreateStyleImageRequest(
        apikey=KEY, name="sdk noir", info="made by horde-sdk", prompt="{p}, noir###{np}",
        params=ModelStyleInputParamsStable(steps=12, cfg_scale=6.0, width=768, height=512),
        models=["stable_diffusion"], tags=["sdk"], sharedkey=str(style_key.sharedkey_id),
    ),
    ModifyStyleImageResponse, "create style",
)
mine = call(SingleStyleImageByIDRequest(style_id=style.id_, apikey=KEY), StyleStable, "style by id (owner)")
by_name = call(SingleStyleImageByNameRequest(style_name="sdk noir"), StyleStable, "style by name")
listed = call(AllStylesImageRequest(), AllStylesImageResponse, "styles")
modified = call(
    ModifyStyleImageRequest(
        apikey=KEY, style_id=style.id_, name="sdk noir", prompt="{p}, film noir###{np}",
        params=ModelStyleInputParamsStable(steps=14), sharedkey=str(style_key.sharedkey_id),
    ),
    ModifyStyleImageResponse, "modify style",
)
example = call(
    StyleImageExampleAddRequest(apikey=KEY, style_id=style.id_, url="https://example.com/noir.webp", primary=True),
    StyleImageExampleModifyResponse, "add example",
)
with_example = call(SingleStyleImageByIDRequest(style_id=style.id_), StyleStable, "style with example")
# horde-sdk 0.33.3 cannot send the example PATCH and DELETE (its URL template lacks
# example_id: KeyError before any request); tests/api/image/test_styles.py covers them.

collection = call(
    CreateCollectionRequest(apikey=KEY, name="sdk set", info="styles from the sdk", public=True, styles=[style.id_]),
    CreateCollectionResponse, "create collection",
)
collection_view = call(CollectionByIDRequest(collection_id=collection.id_), ResponseModelCollection, "collection by id")
# CollectionByNameRequest cannot be sent by horde-sdk 0.33.3 ("GET requests cannot have a body"):
# tests/api/image/test_collections.py covers the route.
collections = call(AllCollectionsRequest(), AllCollectionsResponse, "collections")
call(
    UpdateCollectionRequest(apikey=KEY, collection_id=collection.id_, name="sdk set", info="renamed info", public=True, styles=[style.id_]),
    UpdateCollectionResponse, "modify collection",
)
call(DeleteCollectionRequest(apikey=KEY, collection_id=collection.id_), DeleteCollectionResponse, "delete collection")
call(DeleteStyleImageRequest(apikey=KEY, style_id=style.id_), DeleteStyleImageResponse, "delete style")
call(SharedKeyDeleteRequest(apikey=KEY, id=created.sharedkey_id), SharedKeyDeleteResponse, "delete key")
gone = client.submit_request(SharedKeyDetailsRequest(id=created.sharedkey_id), Details)
assert isinstance(gone, RequestErrorResponse), gone

emit({
    "created": {"id": created.sharedkey_id, "kudos": created.kudos, "name": created.name, "expiry": created.expiry,
                "username": created.username, "max_image_steps": created.max_image_steps},
    "shown_utilized": shown.utilized,
    "changed": {"kudos": changed.kudos, "name": changed.name},
    "find_user": owner_via_key.username,
    "queued_id": str(queued.id_),
    "too_many_steps_rc": too_many_steps.rc,
    "style": {"id": style.id_, "name": mine.name, "params": mine.params.model_dump(exclude_unset=True) if mine.params else None,
              "shared_key_kudos": mine.shared_key.kudos if mine.shared_key else None, "sharedkey": mine.sharedkey},
    "by_name_has_key": by_name.shared_key is not None,
    "listed": [s.name for s in listed.root],
    "modified_id": modified.id_,
    "examples": [(e.url, e.primary) for e in with_example.examples or []], "example_id": example.id_,
    "collection": {"type": collection_view.type, "styles": [s.id_ for s in collection_view.styles], "listed": len(collections.root)},
    "gone_rc": gone.rc,
})
