"""Prompt screening (spec/behaviour.md §7.2): normalise a prompt, score it against the
moderators' filters, and rewrite or refuse it. No database here: the filters arrive
compiled (`FilterSet`, built once per change by `live_rules`), and what follows a refusal
(suspicion, IP timeout) is the caller's.

Filters are RE2 regexes (google-re2): matching is linear in the prompt whatever the
filters are, so a thousand of them cost a few microseconds, and no moderator's regex can
make a request hang on backtracking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import re2
from anyascii import anyascii

from horde.domain import errors
from horde.domain import model_reference as ref

YOUTH, YOUTH_EXTRA, SEXUAL = 10, 11, 20  # the filter types that score
FILTER_TYPES = range(10, 30)
MAX_REPLACED_PROMPT = 7000
YOUTH_NEGATIVE = "child, infant, underage, immature, teenager, tween"
# Child, baby and family emoji count as a type 10 match (they vanish in transliteration).
YOUTH_EMOJI = frozenset("\U0001F476\U0001F467\U0001F466\U0001F9D2\U0001F47C\U0001F37C\U0001F6B8\U0001F6BC\U0001F46A")
ANIME_ONLY_MODEL = "Hentai Diffusion"

_WEIGHT = re.compile(r"\(([^():]*):\s*-?[0-9.]+\s*\)")  # (word:1.2) -> word
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACED_LETTERS = re.compile(r"(?<!\S)(?:\w ){2,}\w(?!\S)")  # "l o l i" -> "loli"
_SPACES = re.compile(r"\s+")


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a moderator's typo is a 400, not a line on stderr
    return options


OPTIONS = _options()


def compile_regex(regex: str):
    """One filter's regex, compiled; `InvalidFilterRegex` if RE2 cannot take it."""
    try:
        return re2.compile(regex, OPTIONS)
    except re2.error:
        raise errors.InvalidFilterRegex() from None


# Youth terms and what they become for NSFW models and flagged users.
_YOUTH_TERMS = {
    r"girls?|ni[nñ]as?": "adult woman",
    r"boys?|sons?": "adult man",
    r"students?|young|little|litle|lil|small|tiny": "adult",
}
_ANIME_TERMS = {r"lolis?|lolicon|shota|shotacon|petite|chibi|flat[ -]?chest(?:ed)?": "adult"}


def _terms_regex(terms: dict[str, str]):
    return re2.compile("|".join(rf"\b(?:{t})\b" for t in terms), OPTIONS)


YOUTH_WORDS = _terms_regex(_YOUTH_TERMS)
YOUTH_WORDS_ANIME = _terms_regex({**_YOUTH_TERMS, **_ANIME_TERMS})
_SUBSTITUTIONS = [(re2.compile(rf"\b(?:{t})\b", OPTIONS), adult) for t, adult in {**_YOUTH_TERMS, **_ANIME_TERMS}.items()]


@dataclass(frozen=True)
class Normalised:
    text: str  # the positive prompt, as filters see it
    youth_emoji: bool
    negative: str | None  # the original negative prompt (after ###), if any


def split_prompt(prompt: str) -> tuple[str, str | None]:
    positive, sep, negative = prompt.partition("###")
    return positive, (negative if sep else None)


def normalise(prompt: str) -> Normalised:
    """Weights stripped, punctuation and underscores to spaces, spaced-out letters joined,
    whitespace collapsed, transliterated to ASCII; the negative prompt is not screened."""
    positive, negative = split_prompt(prompt)
    emoji = any(ch in YOUTH_EMOJI for ch in positive)
    text = anyascii(positive)
    previous = None
    while previous != text:  # nested weights: ((girl:1.2):1.1)
        previous, text = text, _WEIGHT.sub(r"\1", text)
    text = _PUNCTUATION.sub(" ", text)
    # Letters one space apart are one word; two spaces still separate words.
    text = _SPACED_LETTERS.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _SPACES.sub(" ", text).strip()
    return Normalised(text=text, youth_emoji=emoji, negative=negative)


@dataclass(frozen=True)
class FilterRule:
    id: int
    regex: str
    filter_type: int
    replacement: str


@dataclass
class FilterSet:
    """The filters of one version, compiled: one combined regex per type."""

    version: int
    rules: tuple[FilterRule, ...] = ()
    combined: dict[int, object] = field(default_factory=dict)
    _replacements: list | None = None

    @classmethod
    def build(cls, version: int, rules: list[FilterRule]) -> "FilterSet":
        by_type: dict[int, list[str]] = {}
        for rule in rules:
            by_type.setdefault(rule.filter_type, []).append(rule.regex)
        combined = {kind: re2.compile(combined_pattern(regexes), OPTIONS) for kind, regexes in by_type.items()}
        return cls(version=version, rules=tuple(rules), combined=combined)

    def matches(self, filter_type: int, text: str) -> list[str]:
        regex = self.combined.get(filter_type)
        return [m.group(0) for m in regex.finditer(text)] if regex is not None else []

    def matched(self, filter_type: int, text: str) -> bool:
        regex = self.combined.get(filter_type)
        return regex is not None and regex.search(text) is not None

    def score(self, normalised: Normalised) -> tuple[int, list[str]]:
        """Suspicion 0-2: youth (types 10 and 11, or a child emoji), plus sexual content (20)."""
        youth = self.matches(YOUTH, normalised.text) + self.matches(YOUTH_EXTRA, normalised.text)
        sexual = self.matches(SEXUAL, normalised.text)
        return int(bool(youth) or normalised.youth_emoji) + int(bool(sexual)), youth + sexual

    def replace_youth(self, text: str) -> str:
        """Every type 10 filter's replacement applied, in the order the filters were added."""
        if self._replacements is None:  # compiled on first need, once per version
            self._replacements = [(compile_regex(r.regex), r.replacement) for r in self.rules if r.filter_type == YOUTH]
        for regex, replacement in self._replacements:
            text = regex.sub(lambda _m, r=replacement: r, text)
        return _SPACES.sub(" ", text).strip()


def combined_pattern(regexes: list[str]) -> str:
    return "|".join(f"(?:{r})" for r in regexes)


# --- the decision ----------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    prompt: str  # what workers get
    refused: bool = False
    punish: bool = False  # refused for the filters: suspicion and IP timeout follow (not for moderators)
    suspicion: int = 0


def _sanitised(filters: FilterSet, normalised: Normalised) -> str | None:
    """The replacement filter: youth replaced in the positive prompt, youth in the negative.
    None when nothing of the prompt is left."""
    positive = filters.replace_youth(normalised.text)
    if not positive:
        return None
    negative = YOUTH_NEGATIVE + (f", {normalised.negative}" if normalised.negative else "")
    return f"{positive}###{negative}"


def _adult(prompt: str) -> str:
    positive, negative = split_prompt(prompt)
    for regex, adult in _SUBSTITUTIONS:
        positive = regex.sub(lambda _m, a=adult: a, positive)
    positive = _SPACES.sub(" ", positive).strip()
    return positive if negative is None or not positive else f"{positive}###{negative}"


def screen(
    filters: FilterSet,
    prompt: str,
    *,
    models: list[str],
    replacement_filter: bool,
    flagged: bool,
    education: bool,
    moderator: bool,
    score_filters: bool = True,
) -> Verdict:
    """What to do with a prompt (image requests score it; text requests only get the
    NSFW-model and flagged-user rewriting: `score_filters=False`)."""
    normalised = normalise(prompt)
    suspicion = filters.score(normalised)[0] if score_filters else 0
    rewritten: str | None = None
    if suspicion >= 2:
        if replacement_filter or education:
            if len(split_prompt(prompt)[0]) > MAX_REPLACED_PROMPT:
                raise errors.BadRequest(
                    f"Prompts the replacement filter has to rewrite may be at most {MAX_REPLACED_PROMPT} characters."
                )
            rewritten = _sanitised(filters, normalised)
        if rewritten is None:
            return Verdict(prompt=prompt, refused=True, punish=not moderator, suspicion=suspicion)
    youth_words = YOUTH_WORDS_ANIME if models == [ANIME_ONLY_MODEL] else YOUTH_WORDS
    nsfw_model = any(ref.image_model_flag(m, "nsfw") for m in models)
    if flagged or (nsfw_model and (youth_words.search(normalised.text) or filters.matched(YOUTH, normalised.text))):
        adult = _adult(rewritten or _sanitised(filters, normalised) or "")
        if not adult:
            return Verdict(prompt=prompt, refused=True, punish=False, suspicion=suspicion)
        rewritten = adult
    return Verdict(prompt=rewritten or prompt, suspicion=suspicion)
