"""The filter pipeline of spec/behaviour.md §7.2 on a table of prompts: normalisation, the
three scoring types, scores 0/1/2, the replacement filter on and off, NSFW models, flagged
and education users, moderators."""

from __future__ import annotations

import pytest

from horde.domain import errors
from horde.domain.moderation import prompt_check
from horde.domain.moderation.prompt_check import YOUTH_NEGATIVE, FilterRule, FilterSet, normalise, screen

FILTERS = FilterSet.build(
    7,
    [
        FilterRule(1, r"\b(?:child|kid)s?\b", 10, "person"),
        FilterRule(2, r"\bloli\b", 10, ""),
        FilterRule(3, r"\bteen\w*", 11, ""),
        FilterRule(4, r"\b(?:nude|naked)\b", 20, ""),
        FilterRule(5, r"\bexplicit\b", 20, ""),
    ],
)
SAFE_MODEL, NSFW_MODEL, ANIME_MODEL = ["stable_diffusion"], ["Deliberate"], ["Hentai Diffusion"]


@pytest.mark.parametrize(
    "prompt, normalised",
    [
        ("(child:1.3) in a (garden:0.8)", "child in a garden"),
        ("((kid:1.2):1.1) playing", "kid playing"),
        ("c h i l d at school", "child at school"),
        ("l.o.l.i drawing", "loli drawing"),
        ("kid_nude, photo!!", "kid nude photo"),
        ("Çhïld   nüde", "Child nude"),
        ("ｆｕｌｌ　ｗｉｄｔｈ kid", "full width kid"),
        ("a cat###child nude", "a cat"),
    ],
)
def test_normalisation(prompt, normalised):
    assert normalise(prompt).text == normalised


@pytest.mark.parametrize(
    "prompt, score",
    [
        ("a cat on a sofa", 0),
        ("a child playing", 1),  # type 10
        ("a teenager reading", 1),  # type 11
        ("a nude statue", 1),  # type 20
        ("(child:1.3) nude", 2),  # weights
        ("c h i l d  n u d e", 2),  # letters spaced out
        ("child_nude", 2),  # underscore
        ("child.naked", 2),  # punctuation
        ("Çhïld nüde", 2),  # transliteration
        ("\U0001F476 nude", 2),  # a baby emoji counts as type 10
        ("teen explicit", 2),  # type 11 and type 20
        ("a cat###child nude", 0),  # the negative prompt is not screened
    ],
)
def test_scores(prompt, score):
    assert FILTERS.score(normalise(prompt))[0] == score


def _screen(prompt, models=SAFE_MODEL, replacement_filter=True, flagged=False, education=False, moderator=False, **kw):
    return screen(
        FILTERS, prompt, models=models, replacement_filter=replacement_filter, flagged=flagged, education=education,
        moderator=moderator, **kw,
    )


def test_score_below_two_leaves_the_prompt_as_sent():
    for prompt in ("a cat on a sofa", "a child playing", "a (nude:1.2) statue"):
        verdict = _screen(prompt)
        assert verdict.prompt == prompt and not verdict.refused


def test_replacement_filter_rewrites_a_score_of_two():
    verdict = _screen("(child:1.3) nude on a beach###blurry")
    assert not verdict.refused
    assert verdict.prompt == f"person nude on a beach###{YOUTH_NEGATIVE}, blurry"


def test_replacement_without_a_negative_prompt():
    assert _screen("kids naked").prompt == f"person naked###{YOUTH_NEGATIVE}"


def test_replacement_off_refuses_and_punishes():
    verdict = _screen("child nude", replacement_filter=False)
    assert verdict.refused and verdict.punish and verdict.suspicion == 2


def test_moderators_are_refused_without_consequences():
    verdict = _screen("child nude", replacement_filter=False, moderator=True)
    assert verdict.refused and not verdict.punish


def test_education_accounts_always_get_the_replacement_filter():
    verdict = _screen("child nude", replacement_filter=False, education=True)
    assert not verdict.refused and verdict.prompt.startswith("person nude###")


def test_nothing_left_after_replacement_is_refused():
    verdict = _screen("loli loli nude", replacement_filter=True)
    assert not verdict.refused  # "nude" is left
    refused = screen(
        FilterSet.build(1, [FilterRule(1, r"\bloli\b", 10, ""), FilterRule(2, r"\bloli\b", 20, "")]),
        "loli", models=SAFE_MODEL, replacement_filter=True, flagged=False, education=False, moderator=False,
    )
    assert refused.refused and refused.punish


def test_replacement_refuses_over_long_prompts():
    with pytest.raises(errors.BadRequest):
        _screen("child nude " + "word " * 1500)


def test_nsfw_model_with_youth_terms_gets_adults():
    verdict = _screen("a young girl on the beach", models=NSFW_MODEL)
    assert verdict.prompt.split("###")[0] == "a adult adult woman on the beach"
    assert verdict.prompt.split("###")[1] == YOUTH_NEGATIVE


def test_nsfw_model_with_a_type_ten_match_gets_replacement_and_adults():
    verdict = _screen("a kid with his son", models=NSFW_MODEL)
    assert verdict.prompt.split("###")[0] == "a person with his adult man"


def test_nsfw_model_without_youth_terms_is_untouched():
    assert _screen("a woman on the beach", models=NSFW_MODEL).prompt == "a woman on the beach"


def test_safe_model_keeps_youth_terms():
    assert _screen("a young girl on the beach").prompt == "a young girl on the beach"


def test_anime_variant_only_for_the_anime_model():
    assert _screen("a chibi character", models=NSFW_MODEL).prompt == "a chibi character"
    assert _screen("a chibi character", models=ANIME_MODEL).prompt.split("###")[0] == "a adult character"


def test_flagged_users_always_get_replacement_and_adults():
    verdict = _screen("a little cat", flagged=True)
    assert verdict.prompt == f"a adult cat###{YOUTH_NEGATIVE}"


def test_flagged_user_with_nothing_left_is_refused_without_punishment():
    verdict = _screen("kids", flagged=True)
    assert verdict.prompt != "kids" or verdict.refused
    empty = _screen("loli", flagged=True)
    assert empty.refused and not empty.punish


def test_text_requests_are_not_scored_but_flagged_users_are_rewritten():
    assert _screen("child nude", score_filters=False).prompt == "child nude"
    assert _screen("a young man", score_filters=False, flagged=True).prompt.startswith("a adult man###")


def test_invalid_regexes_are_refused():
    for regex in ("a(?=b)", "(unclosed", r"(a)\1"):
        with pytest.raises(errors.InvalidFilterRegex):
            prompt_check.compile_regex(regex)


def test_combined_regex_matches_every_filter():
    assert FILTERS.matches(20, "nude and explicit") == ["nude", "explicit"]
    assert FILTERS.matches(12, "anything") == []
