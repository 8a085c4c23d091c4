"""@mentions: templates filled with correctly spaced mentions, glued and unknown mentions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgate.catalog import check, load_catalog
from vidgate.characters import CharacterRegistry, apply_to_request
from vidgate.mentions import check_mentions, find_mentions, mentioned_usernames, render
from vidgate.types import Character, Shot, VideoRequest

CAT, DOG = "saparpomd.oddwingduo", "mistpaw.dune"
ALIASES = {"cat": CAT, "dog": DOG}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{cat} dances with {dog}", f"@{CAT} dances with @{DOG}"),
        ("{cat}, and{dog}!", f"@{CAT} , and @{DOG} !"),  # a mention never touches other text
        ("{0}{1}", f"@{CAT} @{DOG}"),  # by position; two adjacent mentions get a space
        (f"{{{CAT}}} on a stage with {{{DOG}}}", f"@{CAT} on a stage with @{DOG}"),  # by username
        ("{cat} 在一个舞台上和 {dog} 牵手跳舞", f"@{CAT} 在一个舞台上和 @{DOG} 牵手跳舞"),
        ("a stage {{not a placeholder}} {cat} {dog}", f"a stage {{not a placeholder}} @{CAT} @{DOG}"),
    ],
)
def test_templates_are_filled_with_spaced_mentions(template: str, expected: str) -> None:
    text, problems = render(template, [CAT, DOG], ALIASES)
    assert (text, problems) == (expected, [])
    assert check_mentions(text, [CAT, DOG]) == []


def test_unmentioned_characters_are_appended_and_literal_mentions_count() -> None:
    assert render("{cat} on a stage", [CAT, DOG], ALIASES)[0] == f"@{CAT} on a stage @{DOG}"
    assert render(f"@{DOG} and {{cat}}", [CAT, DOG], ALIASES)[0] == f"@{DOG} and @{CAT}"
    assert render("", [CAT], ALIASES)[0] == f"@{CAT}"
    assert render("two friends", [CAT, DOG], ALIASES, append=False)[0] == "two friends"


def test_a_placeholder_naming_no_character_is_a_problem_with_the_allowed_keys() -> None:
    text, problems = render("{cta} dances", [CAT], ALIASES)
    assert text == "{cta} dances @" + CAT
    (p,) = problems
    assert (p.field, p.value) == ("prompt", "{cta}")
    assert "{cat}" in p.allowed and "{0}" in p.allowed and "{{" in p.suggestion


@pytest.mark.parametrize(
    ("prompt", "value", "fix"),
    [
        ("hi@cat dances", "hi@cat", "hi @cat"),
        ("@cat, dances", "@cat,", "@cat ,"),
        ("dances with @cat.", "@cat.", "@cat ."),
        ("@cat的舞蹈", "@cat的舞蹈", "@cat 的舞蹈"),
        ("mail me at a@b.com", "a@b.com", "a @b.com"),
        ("@cat\u3000dances", "@cat\u3000dances", "@cat \u3000dances"),  # a full-width space does not separate
    ],
)
def test_a_glued_mention_is_refused_with_the_fix(prompt: str, value: str, fix: str) -> None:
    (p,) = check_mentions(prompt, ["cat"])
    assert p.field == "prompt" and p.value == value
    assert "glued" in p.message and "spaces" in p.message
    assert f"write {fix!r}" in p.suggestion.lower()


def test_an_unknown_character_is_refused_with_the_known_ones() -> None:
    (p,) = check_mentions("@dog dances", ["cat"])
    assert (p.field, p.value) == ("prompt", "@dog")
    assert "no character 'dog' is known" in p.message and p.allowed == "@cat"
    assert "vidgate characters create" in p.suggestion
    (empty,) = check_mentions("@ alone", [])
    assert "followed directly" in empty.message


def test_well_formed_mentions_pass_and_are_found() -> None:
    text = f"@{CAT} dances\twith @{DOG}\n@{CAT} again"
    assert check_mentions(text, [CAT, DOG]) == []
    assert mentioned_usernames(text) == [CAT, DOG]
    assert [m.spaced_before for m in find_mentions("x@y @z")] == [False, True]


def test_catalog_check_refuses_glued_and_unknown_mentions_only_on_character_models() -> None:
    catalog = load_catalog()
    sora = catalog.resolve("relay/sora-2")
    problems = check(VideoRequest(prompt="hi@cat with @dog", model="sora-2", characters=["cat"]), sora).problems
    assert [(p.field, p.value) for p in problems] == [("prompt", "hi@cat"), ("prompt", "@dog")]
    shots = [Shot(duration=5, scene="@cat jumps"), Shot(duration=5, scene="@cat,lands")]
    problems = check(VideoRequest(prompt="", model="sora-2", shots=shots, characters=["cat"]), sora).problems
    assert [p.field for p in problems] == ["shots[1].scene"]
    veo = catalog.resolve("relay/veo3")
    assert check(VideoRequest(prompt="email a@b.com", model="veo3"), veo).problems == []


def registry_with(tmp_path: Path, *chars: tuple[str, str]) -> CharacterRegistry:
    registry = CharacterRegistry(tmp_path / "characters.json")
    for name, username in chars:
        registry.add(Character(id=f"ch_{name}", username=username, provider="relay", name=name))
    return registry


def test_apply_resolves_local_names_fills_the_template_and_adds_registry_mentions(tmp_path: Path) -> None:
    registry = registry_with(tmp_path, ("cat", CAT), ("dog", DOG))
    req = VideoRequest(prompt="{cat} dances", model="sora-2", characters=["cat"])
    out, problems = apply_to_request(req, registry)
    assert (out.prompt, out.characters, problems) == (f"@{CAT} dances", [CAT], [])
    literal = VideoRequest(prompt=f"@{DOG} sleeps", model="sora-2")
    out, _ = apply_to_request(literal, registry)
    assert out.characters == [DOG] and out.prompt == literal.prompt
    obj = Character(id="ch_x", username="x.y", provider="relay")
    out, _ = apply_to_request(VideoRequest(prompt="{0} runs", model="sora-2", characters=[obj]), registry)
    assert (out.prompt, out.characters) == ("@x.y runs", ["x.y"])
    again, _ = apply_to_request(out, registry)
    assert again.prompt == out.prompt  # applying twice changes nothing


def test_apply_fills_storyboard_scenes_and_puts_unmentioned_characters_in_the_first(tmp_path: Path) -> None:
    registry = registry_with(tmp_path, ("cat", CAT), ("dog", DOG))
    shots = [Shot(duration=7.5, scene="the plane takes off"), Shot(duration=7.5, scene="{cat} waves")]
    req = VideoRequest(prompt="", model="sora-2", shots=shots, characters=["cat", "dog"])
    out, problems = apply_to_request(req, registry)
    assert problems == [] and out.prompt == ""
    assert [s.scene for s in out.shots] == [f"the plane takes off @{DOG}", f"@{CAT} waves"]
