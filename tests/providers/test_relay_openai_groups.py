"""The relay's two channel groups on its OpenAI-format ``/v1/videos`` (issue 12 item 8).

seed-relay-api.md, "OpenAI-official format on the relay": "`seconds` | string; default 4; official group: 4 s and
up, billed per second; reverse group: only `10`, `15`, `25` (25 sora-2-pro)". The group is the key's, so vidgate
takes it as the option ``group`` (never sent) and checks the lengths against it before any I/O.
"""

from __future__ import annotations

import pytest

from tests.providers.test_openai_videos import create_request, problems_of, texts


@pytest.mark.parametrize("seconds", [4, 8, 12])
@pytest.mark.parametrize("model", ["relay-openai/sora-2", "relay-openai/sora-2-pro"])
def test_official_group_lengths_are_sent_as_strings(model: str, seconds: int) -> None:
    """seed: "official group: 4 s and up, billed per second" and "`seconds` | string"."""
    req = create_request(prompt="a cat", model=model, duration=seconds, options={"group": "official"})
    assert texts(req) == {"model": model.split("/")[1], "prompt": "a cat", "seconds": str(seconds)}  # group not sent


@pytest.mark.parametrize(
    ("model", "seconds"),
    [("relay-openai/sora-2", 10), ("relay-openai/sora-2", 15), ("relay-openai/sora-2-pro", 25)],
)
@pytest.mark.parametrize("group", [None, "reverse"])
def test_reverse_group_lengths_still_work(model: str, seconds: int, group: str | None) -> None:
    """seed: "reverse group: only `10`, `15`, `25` (25 sora-2-pro)"."""
    options = {"group": group} if group else {}
    req = create_request(prompt="a cat", model=model, duration=seconds, options=options)
    assert texts(req)["seconds"] == str(seconds) and "group" not in texts(req)


def test_official_lengths_without_the_group_are_refused_saying_what_to_do() -> None:
    """seed: the reverse group makes "only `10`, `15`, `25`": 8 s on the default group is refused before sending."""
    (problem,) = problems_of(prompt="a cat", model="relay-openai/sora-2", duration=8)
    assert "official channel group" in problem and "group=official" in problem and "10 or 15 s" in problem


@pytest.mark.parametrize(("model", "seconds"), [("relay-openai/sora-2", 10), ("relay-openai/sora-2-pro", 25)])
def test_reverse_lengths_on_the_official_group_are_refused_with_the_allowed_values(model: str, seconds: int) -> None:
    """seed: "official group: 4 s and up, billed per second" — vidgate allows OpenAI's 4/8/12 there."""
    (problem,) = problems_of(prompt="a cat", model=model, duration=seconds, options={"group": "official"})
    assert "official group" in problem and "4, 8, 12" in problem and "drop group=official" in problem


def test_unknown_group_and_25s_on_sora_2_are_refused() -> None:
    assert any("group" in p for p in problems_of(prompt="a", model="relay-openai/sora-2", options={"group": "vip"}))
    assert problems_of(prompt="a", model="relay-openai/sora-2", duration=25)  # 25 s is sora-2-pro only
