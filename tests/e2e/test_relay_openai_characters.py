"""Characters on ``relay-openai`` (the relay's OpenAI-format ``/v1/videos`` door): created through the relay's
character endpoint on the same host and key, then mentioned as ``@username`` in a ``/v1/videos`` create.
Client against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vidgate.client import Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ValidationError
from vidgate.providers import get_dialect
from vidgate.types import JobStatus

CREATE = "POST /sora/v1/characters"


@pytest.fixture
def cclient(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> Iterator[Client]:
    env = {"VIDGATE_HOME": str(tmp_path / "home")}
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env=env) as c:
        yield c


def test_relay_openai_creates_a_character_and_mentions_it_on_v1_videos(
    cclient: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """seed-relay-api.md, Character cameo: "`POST /sora/v1/characters` (JSON) creates a reusable character"
    with "`timestamps` | string, required" and "Exactly one of `url` / `from_task` must be set", and
    "`username` is what goes after `@` in prompts"; the relay-openai catalog entry advertises characters."""
    cat = cclient.create_character(
        url="https://cdn.example/cat.mp4", timestamps="1,3", name="cat", model="relay-openai/sora-2"
    )
    assert cat.id.startswith("ch_") and cat.provider == "relay-openai" and cat.name == "cat"
    assert emulator.state.counts[CREATE] == 1
    job = cclient.generate(
        "{cat} dances on a stage",
        model="relay-openai/sora-2",
        duration=10,
        characters=["cat"],
        out=tmp_path / "cat.mp4",
    )
    assert job.status is JobStatus.succeeded and job.provider == "relay-openai"
    assert job.request is not None and job.request.prompt == f"@{cat.username} dances on a stage"
    (emu_job,) = [j for j in emulator.state.jobs.values() if j.body.get("flavour") == "relay"]
    assert emu_job.body["prompt"] == f"@{cat.username} dances on a stage"
    # and a character taken from that finished /v1/videos task (from_task = the relay's task id)
    dog = cclient.create_character(from_task=job, timestamps="0,2", name="dog", model="relay-openai/sora-2")
    assert dog.provider == "relay-openai" and emulator.state.counts[CREATE] == 2


def test_relay_openai_character_input_is_checked_before_any_io(cclient: Client, emulator: EmulatorServer) -> None:
    """seed-relay-api.md: "`timestamps` ... span at most 3 s and at least 1 s"."""
    with pytest.raises(ValidationError, match="timestamps"):
        cclient.create_character(url="https://cdn.example/v.mp4", timestamps="1,5", model="relay-openai/sora-2")
    assert emulator.state.counts.get(CREATE, 0) == 0


def test_openai_itself_still_refuses_characters(cclient: Client, emulator: EmulatorServer) -> None:
    """The dialect is shared with OpenAI, whose entry keeps characters.supported = false: refused before I/O."""
    assert "characters" in get_dialect("openai-videos").operations
    with pytest.raises(ValidationError, match="no character feature"):
        cclient.create_character(url="https://cdn.example/v.mp4", timestamps="1,3", model="openai/sora-2")
    assert emulator.state.counts.get(CREATE, 0) == 0
