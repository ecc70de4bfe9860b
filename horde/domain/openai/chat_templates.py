"""Chat templates: OpenAI chat messages turned into the one prompt a text worker continues.

A horde text worker continues a prompt; it does not know about messages. So the server
writes the conversation in the format the model was trained on and ends it where the
assistant's answer begins. The format comes from the request's `chat_template` extension
field when given, else from the model's name (`template_for`), else ChatML, the most common
format of instruction-tuned models. Each template also gives the stop sequences that end an
answer, so a worker does not write the user's next turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from horde.domain import errors

ROLES = ("system", "developer", "user", "assistant")


@dataclass(frozen=True)
class Message:
    role: str  # "system" (OpenAI's "developer" is one), "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    render: Callable[[list[Message]], str]
    stop: tuple[str, ...]
    description: str


def _turns(messages: list[Message], begin: Callable[[str], str], end: str, assistant: str) -> str:
    return "".join(f"{begin(m.role)}{m.content}{end}" for m in messages) + assistant


def _chatml(messages: list[Message]) -> str:
    return _turns(messages, lambda role: f"<|im_start|>{role}\n", "<|im_end|>\n", "<|im_start|>assistant\n")


def _llama3(messages: list[Message]) -> str:
    return "<|begin_of_text|>" + _turns(
        messages, lambda role: f"<|start_header_id|>{role}<|end_header_id|>\n\n", "<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    )


def _system_first(messages: list[Message]) -> tuple[str, list[Message]]:
    """The system text (joined) and the other messages, for formats with no system turn."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    return system, [m for m in messages if m.role != "system"]


def _mistral(messages: list[Message]) -> str:
    # Mistral's instruct format has no system turn: the system text opens the first user turn.
    system, rest = _system_first(messages)
    out, pending = "<s>", system
    for m in rest:
        if m.role == "user":
            text = f"{pending}\n\n{m.content}" if pending else m.content
            pending = ""
            out += f"[INST] {text} [/INST]"
        else:
            out += f" {m.content}</s>"
    if pending:  # a system message alone
        out += f"[INST] {pending} [/INST]"
    return out


def _llama2(messages: list[Message]) -> str:
    system, rest = _system_first(messages)
    out, pending = "", f"<<SYS>>\n{system}\n<</SYS>>\n\n" if system else ""
    for m in rest:
        if m.role == "user":
            out += f"<s>[INST] {pending}{m.content} [/INST]"
            pending = ""
        else:
            out += f" {m.content} </s>"
    if pending:
        out += f"<s>[INST] {pending.rstrip()} [/INST]"
    return out


def _labelled(messages: list[Message], user: tuple[str, str], assistant: tuple[str, str], answer: str) -> str:
    """Formats of labelled turns after the system text (Alpaca, Vicuna): (label, end) per role."""
    system, rest = _system_first(messages)
    out = f"{system}\n\n" if system else ""
    for m in rest:
        label, end = user if m.role == "user" else assistant
        out += f"{label}{m.content}{end}"
    return out + answer


def _alpaca(messages: list[Message]) -> str:
    return _labelled(messages, ("### Instruction:\n", "\n\n"), ("### Response:\n", "\n\n"), "### Response:\n")


def _vicuna(messages: list[Message]) -> str:
    return _labelled(messages, ("USER: ", "\n"), ("ASSISTANT: ", "</s>\n"), "ASSISTANT:")


def _gemma(messages: list[Message]) -> str:
    system, rest = _system_first(messages)
    out = "<bos>"
    for index, m in enumerate(rest):
        role = "user" if m.role == "user" else "model"
        text = f"{system}\n\n{m.content}" if system and index == 0 and role == "user" else m.content
        out += f"<start_of_turn>{role}\n{text}<end_of_turn>\n"
    return out + "<start_of_turn>model\n"


def _phi3(messages: list[Message]) -> str:
    return _turns(messages, lambda role: f"<|{role}|>\n", "<|end|>\n", "<|assistant|>\n")


def _plain(messages: list[Message]) -> str:
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    return "".join(f"{names[m.role]}: {m.content}\n" for m in messages) + "Assistant:"


TEMPLATES: dict[str, ChatTemplate] = {
    t.name: t
    for t in (
        ChatTemplate("chatml", _chatml, ("<|im_end|>", "<|im_start|>"), "<|im_start|>role ... <|im_end|> (Qwen, Hermes, Dolphin, Yi; the default)"),
        ChatTemplate("llama3", _llama3, ("<|eot_id|>", "<|start_header_id|>"), "Llama 3 headers and <|eot_id|>"),
        ChatTemplate("mistral", _mistral, ("</s>", "[INST]"), "[INST] ... [/INST] (Mistral, Mixtral; system text opens the first turn)"),
        ChatTemplate("llama2", _llama2, ("</s>", "[INST]"), "Llama 2 chat: [INST] <<SYS>> ... <</SYS>> ... [/INST]"),
        ChatTemplate("alpaca", _alpaca, ("### Instruction:",), "### Instruction: / ### Response:"),
        ChatTemplate("vicuna", _vicuna, ("USER:", "</s>"), "USER: / ASSISTANT:"),
        ChatTemplate("gemma", _gemma, ("<end_of_turn>", "<start_of_turn>"), "<start_of_turn>user / model (system text opens the first turn)"),
        ChatTemplate("phi3", _phi3, ("<|end|>", "<|user|>"), "<|user|> ... <|end|> (Phi-3)"),
        ChatTemplate("plain", _plain, ("\nUser:",), "User: / Assistant: lines, for base models"),
    )
}
DEFAULT = "chatml"

# Markers in a model's name (lowercased, in this order) and the template they mean.
NAME_MARKERS: tuple[tuple[str, str], ...] = (
    ("llama-3", "llama3"), ("llama3", "llama3"), ("l3-", "llama3"), ("l3.1", "llama3"), ("l3.3", "llama3"),
    ("llama-2", "llama2"), ("llama2", "llama2"),
    ("mistral", "mistral"), ("mixtral", "mistral"), ("ministral", "mistral"), ("codestral", "mistral"),
    ("gemma", "gemma"), ("phi-3", "phi3"), ("phi3", "phi3"),
    ("alpaca", "alpaca"), ("vicuna", "vicuna"), ("wizardlm", "vicuna"),
    ("qwen", "chatml"), ("hermes", "chatml"), ("dolphin", "chatml"), ("chatml", "chatml"), ("yi-", "chatml"),
)


def template_for(model: str) -> ChatTemplate:
    """The template a model's name suggests (ChatML when it suggests none)."""
    lowered = model.lower()
    for marker, name in NAME_MARKERS:
        if marker in lowered:
            return TEMPLATES[name]
    return TEMPLATES[DEFAULT]


def choose(model: str, explicit: str | None) -> ChatTemplate:
    if explicit is None:
        return template_for(model)
    found = TEMPLATES.get(str(explicit).lower())
    if found is None:
        raise errors.ValidationFailed(
            errors={"chat_template": f"unknown template {str(explicit)[:40]!r}; one of: {', '.join(TEMPLATES)}"}
        )
    return found


def _content(value, index: int) -> str:
    """A message's text: a string, or a list of text parts (no images: text workers read text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise errors.ValidationFailed(errors={f"messages.{index}.content": "only text parts are supported"})
            texts.append(part["text"])
        return "".join(texts)
    if value is None:
        return ""
    raise errors.ValidationFailed(errors={f"messages.{index}.content": "must be a string or a list of text parts"})


def read_messages(raw) -> list[Message]:
    """OpenAI's `messages`, checked: a non-empty list of {role, content}."""
    if not isinstance(raw, list) or not raw:
        raise errors.ValidationFailed(errors={"messages": "a non-empty list of messages is required"})
    messages = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise errors.ValidationFailed(errors={f"messages.{index}.role": f"one of {', '.join(ROLES)}"})
        role = "system" if item["role"] == "developer" else item["role"]
        messages.append(Message(role, _content(item.get("content"), index)))
    return messages
