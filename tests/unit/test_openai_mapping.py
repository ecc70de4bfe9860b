"""OpenAI bodies as native requests, and chat templates (horde/domain/openai)."""

from __future__ import annotations

import pytest

from horde.domain import errors
from horde.domain.openai import chat_templates, mapping
from horde.domain.openai.chat_templates import Message

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": [{"type": "text", "text": "How "}, {"type": "text", "text": "are you?"}]},
]


@pytest.mark.parametrize("model, template", [
    ("koboldcpp/Meta-Llama-3.1-8B-Instruct", "llama3"),
    ("aphrodite/NousResearch/Hermes-3-Llama-3.1-8B", "llama3"),  # the base family decides before the fine-tune
    ("koboldcpp/Mistral-7B-Instruct-v0.3", "mistral"),
    ("koboldcpp/Mixtral-8x7B", "mistral"),
    ("google/gemma-2-9b-it", "gemma"),
    ("microsoft/Phi-3-mini", "phi3"),
    ("Qwen/Qwen2.5-7B-Instruct", "chatml"),
    ("TheBloke/vicuna-13b", "vicuna"),
    ("something/unheard-of", "chatml"),
])
def test_the_template_follows_the_model_name(model, template):
    assert chat_templates.template_for(model).name == template


def test_an_explicit_template_wins_and_an_unknown_one_is_a_400():
    assert chat_templates.choose("koboldcpp/Meta-Llama-3-8B", "Alpaca").name == "alpaca"
    with pytest.raises(errors.ValidationFailed) as raised:
        chat_templates.choose("x", "nope")
    assert "chat_template" in raised.value.errors


def test_each_template_holds_every_message_and_ends_at_the_answer():
    messages = chat_templates.read_messages(CONVERSATION)
    assert messages[-1] == Message("user", "How are you?")
    endings = {"chatml": "<|im_start|>assistant\n", "llama3": "<|start_header_id|>assistant<|end_header_id|>\n\n",
               "mistral": "[/INST]", "llama2": "[/INST]", "alpaca": "### Response:\n", "vicuna": "ASSISTANT:",
               "gemma": "<start_of_turn>model\n", "phi3": "<|assistant|>\n", "plain": "Assistant:"}
    assert set(endings) == set(chat_templates.TEMPLATES)
    for name, template in chat_templates.TEMPLATES.items():
        prompt = template.render(messages)
        assert all(text in prompt for text in ("Be brief.", "Hi", "Hello!", "How are you?")), name
        assert prompt.endswith(endings[name]), name
        assert prompt.index("Be brief.") < prompt.index("Hi") < prompt.index("Hello!") < prompt.index("How are you?"), name


def test_chatml_exactly():
    prompt = chat_templates.TEMPLATES["chatml"].render([Message("system", "S"), Message("user", "U")])
    assert prompt == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize("messages", [None, [], [{"role": "wizard", "content": "x"}], [{"content": "x"}],
                                      [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
                                      [{"role": "user", "content": 5}], ["text"]])
def test_bad_messages_are_refused(messages):
    with pytest.raises(errors.ValidationFailed):
        chat_templates.read_messages(messages)


def test_a_chat_becomes_the_native_text_request():
    call = mapping.text_call({"model": "koboldcpp/Llama-3-8B", "messages": CONVERSATION, "max_tokens": 120, "temperature": 0.4,
                              "top_p": 0.9, "stop": "END", "n": 2, "seed": 7, "user": "someone"}, chat=True)
    assert call.template == "llama3" and call.max_tokens == 120
    assert call.native["models"] == ["koboldcpp/Llama-3-8B"]
    assert call.native["prompt"] == chat_templates.TEMPLATES["llama3"].render(chat_templates.read_messages(CONVERSATION))
    params = call.native["params"]
    assert params == {"max_length": 120, "n": 2, "temperature": 0.4, "top_p": 0.9,
                      "stop_sequence": ["END", "<|eot_id|>", "<|start_header_id|>"]}


def test_a_completion_keeps_its_prompt_and_the_native_defaults():
    call = mapping.text_call({"model": "m", "prompt": ["Once upon"], "stream": True, "stream_options": {"include_usage": True}}, chat=False)
    assert call.native == {"prompt": "Once upon", "params": {"n": 1}, "models": ["m"]}
    assert call.max_tokens == mapping.NATIVE_MAX_LENGTH and call.stream and call.include_usage
    assert mapping.text_call({"model": "m", "messages": [{"role": "user", "content": "x"}],
                              "max_completion_tokens": 9}, chat=True).native["params"]["max_length"] == 9


@pytest.mark.parametrize("body", [
    {"prompt": "x"}, {"model": "", "prompt": "x"}, {"model": "m", "prompt": ["a", "b"]}, {"model": "m", "prompt": ""},
    {"model": "m", "prompt": "x", "temperature": 3}, {"model": "m", "prompt": "x", "top_p": "high"},
    {"model": "m", "prompt": "x", "n": 0}, {"model": "m", "prompt": "x", "max_tokens": True},
    {"model": "m", "prompt": "x", "stop": [""]}, {"model": "m", "prompt": "x", "stop": ["s"] * 17},
    {"model": "m", "prompt": "x", "stream": "yes"}, {"model": "m", "prompt": "x", "seed": 1.5},
])
def test_bad_text_bodies_are_refused(body):
    with pytest.raises(errors.ValidationFailed):
        mapping.text_call(body, chat=False)


def test_an_image_request_maps_size_quality_style_and_format():
    call = mapping.image_call({"prompt": "a cat", "model": "dall-e-3", "size": "768x512", "quality": "hd", "style": "natural",
                               "response_format": "b64_json", "n": 3})
    assert call.model is None and call.response_format == "b64_json"
    assert call.native == {"prompt": "a cat", "r2": False,
                           "params": {"width": 768, "height": 512, "n": 3, "steps": 50, "cfg_scale": 5.0}}
    named = mapping.image_call({"prompt": "a cat", "model": "Deliberate"})
    assert named.native["models"] == ["Deliberate"] and named.native["r2"] is True
    assert named.native["params"] == {"width": 512, "height": 512, "n": 1}


@pytest.mark.parametrize("body", [
    {}, {"prompt": " "}, {"prompt": "x", "size": "1000x1000"}, {"prompt": "x", "size": "big"}, {"prompt": "x", "size": "4096x4096"},
    {"prompt": "x", "quality": "ultra"}, {"prompt": "x", "style": "weird"}, {"prompt": "x", "response_format": "png"},
    {"prompt": "x", "n": 11}, {"prompt": "x", "model": 5},
])
def test_bad_image_bodies_are_refused(body):
    with pytest.raises(errors.ValidationFailed):
        mapping.image_call(body)


@pytest.mark.parametrize("text", ["A simulated answer.", "  lead and trail  ", "one", "", "line\n\nbreaks\tand tabs "])
def test_stream_pieces_join_to_the_text(text):
    assert "".join(mapping.split_for_stream(text)) == text


def test_token_estimates():
    assert mapping.count_tokens("") == 0
    assert mapping.count_tokens("Hello, world!") == 4
    assert mapping.count_tokens("internationalization") == 4  # long words are several tokens
    assert mapping.finish_reason("a b c", 3) == "length" and mapping.finish_reason("a b", 3) == "stop"
