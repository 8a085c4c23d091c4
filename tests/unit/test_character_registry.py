"""The local character registry ($VIDGATE_HOME/characters.json) and the character request checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidgate.characters import (
    CharacterRegistry,
    CharacterRequest,
    character_problems,
    vidgate_home,
)
from vidgate.errors import ConfigurationError
from vidgate.providers.relay_characters import problems as relay_problems
from vidgate.types import Character


def test_home_comes_from_vidgate_home_else_the_user_directory(tmp_path: Path) -> None:
    assert vidgate_home({"VIDGATE_HOME": str(tmp_path)}) == tmp_path
    assert vidgate_home({}) == Path.home() / ".vidgate"
    assert CharacterRegistry.at_home({"VIDGATE_HOME": str(tmp_path)}).path == tmp_path / "characters.json"


def test_add_find_and_names(tmp_path: Path) -> None:
    registry = CharacterRegistry(tmp_path / "sub" / "characters.json")
    assert registry.all() == []
    cat = registry.add(Character(id="ch_1", username="cat.one", provider="relay", name="cat"))
    registry.add(Character(id="ch_2", username="dog.two", provider="relay"))
    assert [c.id for c in registry.all()] == ["ch_1", "ch_2"]
    assert registry.find("cat") == cat and registry.find("@cat.one") == cat and registry.find("ch_1") == cat
    assert registry.find("nobody") is None
    assert registry.aliases() == {"cat": "cat.one"} and registry.usernames() == {"cat.one", "dog.two"}
    # the same character again replaces it; a name moves to its newest owner
    registry.add(Character(id="ch_3", username="cat.three", provider="relay", name="cat"))
    assert registry.aliases() == {"cat": "cat.three"}
    assert registry.find("cat.one") is not None and registry.find("cat.one").name is None  # type: ignore[union-attr]
    data = json.loads(registry.path.read_text())
    assert data["version"] == 1 and len(data["characters"]) == 3
    assert not list(registry.path.parent.glob(".characters-*"))  # no temporary file left behind


def test_a_corrupt_registry_is_a_clear_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "characters.json"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"characters\.json cannot be read"):
        CharacterRegistry(path).all()


def fields(problems: list) -> list[tuple[str, object]]:  # type: ignore[type-arg]
    return [(p.field, p.value) for p in problems]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"url": "https://x.example/v.mp4", "timestamps": "1,3"}, []),
        ({"from_task": "video_637efe22", "timestamps": "0,1"}, []),
        ({"url": "https://x.example/v.mp4", "timestamps": "1,1.5"}, [("timestamps", "1,1.5")]),  # 0.5 s
        ({"url": "https://x.example/v.mp4", "timestamps": "1,5"}, [("timestamps", "1,5")]),  # 4 s
        ({"url": "https://x.example/v.mp4", "timestamps": "3,1"}, [("timestamps", "3,1")]),
        ({"url": "https://x.example/v.mp4", "timestamps": "-1,1"}, [("timestamps", "-1,1")]),
        ({"url": "https://x.example/v.mp4", "timestamps": "1-3"}, [("timestamps", "1-3")]),
        ({"url": "https://x.example/v.mp4", "from_task": "t1", "timestamps": "1,3"}, [("url/from_task", "both")]),
        ({"timestamps": "1,3"}, [("url/from_task", "neither")]),
        ({"url": "ftp://x/v.mp4", "timestamps": "1,3"}, [("url", "ftp://x/v.mp4")]),
        ({"url": "https://x.example/v.mp4", "timestamps": "1,3", "name": "1cat"}, [("name", "1cat")]),
    ],
)
def test_relay_character_request_problems(kwargs: dict[str, str], expected: list[tuple[str, object]]) -> None:
    assert fields(relay_problems(CharacterRequest(**kwargs))) == expected


def test_every_problem_at_once_with_allowed_and_suggestion() -> None:
    found = character_problems(CharacterRequest(timestamps="2,6"), min_span_s=1, max_span_s=3)
    assert [p.field for p in found] == ["url/from_task", "timestamps"]
    span = found[1]
    assert "4 s long" in span.message and "1 to 3 s" in span.allowed and '"2,3"' in span.suggestion
