"""Characters end to end: create, remember, mention through templates, refuse bad input before any I/O;
model discovery through the client and the CLI. Client, AsyncClient and the CLI against the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vidgate.cli import app
from vidgate.client import AsyncClient, Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ConfigurationError, ProviderHTTPError, ValidationError
from vidgate.types import Character, JobStatus

runner = CliRunner()
CREATE = "POST /sora/v1/characters"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cclient(emulator: EmulatorServer, fast_policy: PollPolicy, home: Path) -> Iterator[Client]:
    env = {"VIDGATE_HOME": str(home)}
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env=env) as c:
        yield c


def test_create_from_a_url_and_from_a_finished_job_then_mention_them(
    cclient: Client, emulator: EmulatorServer, home: Path, tmp_path: Path
) -> None:
    cat = cclient.create_character(url="https://cdn.example/cat.mp4", timestamps="1,3", name="cat")
    assert isinstance(cat, Character) and cat.id.startswith("ch_") and cat.name == "cat" and cat.provider == "relay"
    source = cclient.generate("a dog runs", model="sora_video2", out=tmp_path / "dog.mp4")
    dog = cclient.create_character(from_task=source, timestamps="0,2", name="dog")  # a vidgate Job
    assert emulator.state.counts[CREATE] == 2
    assert [c.username for c in cclient.characters()] == [cat.username, dog.username]
    assert json.loads((home / "characters.json").read_text())["characters"][0]["name"] == "cat"
    job = cclient.generate("{cat} dances with {dog} on a stage", model="sora-2", characters=["cat", "dog"],
                           out=tmp_path / "both.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.request is not None
    assert job.request.prompt == f"@{cat.username} dances with @{dog.username} on a stage"
    assert job.request.characters == [cat.username, dog.username]
    v2 = [j for j in emulator.state.jobs.values() if j.dialect == "relay-unified"]
    assert v2[0].body["prompt"] == job.request.prompt and "model" in v2[0].body
    literal = cclient.prepare(f"@{dog.username} sleeps", model="sora-2")  # registry characters need no list
    assert literal.prepared.request.characters == [dog.username]


def test_bad_character_input_never_reaches_the_emulator(cclient: Client, emulator: EmulatorServer) -> None:
    cclient.create_character(url="https://cdn.example/cat.mp4", timestamps="1,3", name="cat")
    emulator.state.reset()
    creations: list[dict[str, Any]] = [
        {"url": "https://cdn.example/v.mp4", "timestamps": "1,1.5"},  # 0.5 s
        {"url": "https://cdn.example/v.mp4", "timestamps": "1,5"},  # 4 s
        {"url": "https://cdn.example/v.mp4", "from_task": "task_1", "timestamps": "1,3"},  # both
        {"timestamps": "1,3"},  # neither
        {"url": "https://cdn.example/v.mp4", "timestamps": "1,3", "model": "veo3"},  # no character feature
    ]
    for kwargs in creations:
        with pytest.raises(ValidationError) as info:
            cclient.create_character(**kwargs)
        assert all(p.allowed for p in info.value.problems), info.value
    prompts: list[tuple[str, dict[str, Any], str]] = [
        ("hi@cat dances", {}, "glued"),
        (" @cat, dances", {"characters": ["cat"]}, "glued"),
        ("@nobody dances", {}, "no character 'nobody'"),
        ("{dog} dances", {"characters": ["cat"]}, "placeholder"),
    ]
    for prompt, fields, words in prompts:
        with pytest.raises(ValidationError, match=words):
            cclient.submit(prompt, model="sora-2", **fields)
    with pytest.raises(ValidationError, match="character_timestamps"):  # the inline form is checked as well
        inline = {"character_url": "https://cdn.example/c.mp4", "character_timestamps": "0,4"}
        cclient.submit("a cat", model="sora-2", options=inline)
    assert sum(emulator.state.counts.values()) == 0


def test_the_emulator_refuses_an_unknown_task_with_a_typed_error(cclient: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderHTTPError) as info:
        cclient.create_character(from_task="task_never_made", timestamps="1,3")
    assert info.value.status_code == 404 and info.value.code == "task_not_found"
    assert cclient.characters() == []  # nothing remembered


def test_inline_character_on_the_v2_create(cclient: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    options = {"character_url": "https://cdn.example/cat.mp4", "character_timestamps": "1,3"}
    job = cclient.generate("a cat waves", model="sora-2", options=options, out=tmp_path / "w.mp4")
    assert job.status is JobStatus.succeeded
    (emu_job,) = emulator.state.jobs.values()
    assert {k: emu_job.body[k] for k in options} == options


def test_async_client_creates_and_lists(emulator: EmulatorServer, fast_policy: PollPolicy, home: Path) -> None:
    async def go() -> tuple[Character, list[Character]]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={"VIDGATE_HOME": str(home)}) as c:  # fmt: skip
            made = await c.create_character(url="https://cdn.example/a.mp4", timestamps="0,1", name="a")
            with pytest.raises(ValidationError):
                await c.create_character(url="https://cdn.example/a.mp4", timestamps="0,9")
            return made, c.characters()

    made, listed = asyncio.run(go())
    assert listed == [made] and emulator.state.counts[CREATE] == 1


@pytest.fixture
def remote(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    emulator.config.models_hidden = {"sora-2-pro", "sora_video2-portrait-hd-15s"}  # a name the seed relay lists
    emulator.config.models_extra = ["wan2.5-video", "kling-v2-master"]
    yield emulator
    emulator.config.models_hidden, emulator.config.models_extra = set(), []


def test_remote_models_through_client_and_async_client(remote: EmulatorServer, cclient: Client) -> None:
    found = cclient.remote_models()
    by_key = {m.key: m for m in found.models}
    assert found.provider == "relay" and {"relay", "relay-chat"} <= set(found.compared)
    assert by_key["relay/sora-2"].available and not by_key["relay/sora-2-pro"].available
    assert by_key["relay-chat/sora_video2"].available and not by_key["relay-chat/sora_video2"].complete
    unknown = {u.id: u for u in found.unknown}
    assert unknown["wan2.5-video"].likely_video and not unknown["gpt-4o-mini"].likely_video

    async def go() -> int:
        async with AsyncClient(base_url=remote.url, api_key=remote.api_key, env={}) as c:
            return (await c.remote_models("relay-chat")).remote_count

    assert asyncio.run(go()) == found.remote_count
    assert remote.state.counts["GET /v1/models"] == 2
    with pytest.raises(ConfigurationError, match="publishes no model list"):
        cclient.remote_models("zhipu")


def cli_env(emulator: EmulatorServer, home: Path) -> dict[str, str]:
    return {"VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key,
            "VIDGATE_HOME": str(home)}  # fmt: skip


def test_cli_characters_create_list_show_and_generate(emulator: EmulatorServer, home: Path, tmp_path: Path) -> None:
    env = cli_env(emulator, home)
    made = runner.invoke(app, ["characters", "create", "--url", "https://cdn.example/cat.mp4", "-t", "1,3",
                               "--name", "cat", "--json"], env=env)  # fmt: skip
    assert made.exit_code == 0, made.output
    character = json.loads(made.stdout)["character"]
    listed = runner.invoke(app, ["characters", "list", "--json"], env=env)
    assert [c["username"] for c in json.loads(listed.stdout)] == [character["username"]]
    shown = runner.invoke(app, ["characters", "show", "cat"], env=env)
    assert shown.exit_code == 0 and f"@{character['username']}" in shown.stdout
    assert runner.invoke(app, ["characters", "show", "dog"], env=env).exit_code == 2
    out = tmp_path / "v.mp4"
    result = runner.invoke(app, ["generate", "{cat} dances", "--character", "cat", "-m", "sora-2", "--out", str(out),
                                 "--json"], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["job"]["status"] == "succeeded"
    assert emulator.state.counts[CREATE] == 1


def test_cli_refuses_bad_character_input_with_exit_2(emulator: EmulatorServer, home: Path) -> None:
    env = cli_env(emulator, home)
    for args in (
        ["characters", "create", "--url", "https://cdn.example/c.mp4", "-t", "0,0.5"],
        ["characters", "create", "--url", "https://cdn.example/c.mp4", "--from-task", "t", "-t", "0,1"],
        ["characters", "create", "-t", "0,1"],
        ["generate", "hi@cat", "-m", "sora-2"],
        ["generate", "@ghost dances", "-m", "sora-2"],
    ):
        result = runner.invoke(app, [*args, "--json"], env=env)
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.stdout)["error"]["problems"][0]["suggestion"]
    assert sum(emulator.state.counts.values()) == 0


def test_cli_models_remote(remote: EmulatorServer, home: Path) -> None:
    env = cli_env(remote, home)
    table = runner.invoke(app, ["models", "--remote"], env=env)
    assert table.exit_code == 0, table.output
    assert "relay/sora-2-pro" in table.stdout and "wan2.5-video" in table.stdout and "gpt-4o-mini" not in table.stdout
    everything = runner.invoke(app, ["models", "--remote", "--all"], env=env)
    assert "gpt-4o-mini" in everything.stdout
    data = json.loads(runner.invoke(app, ["models", "--remote", "--json"], env=env).stdout)
    models = {m["key"]: m for m in data["models"]}
    assert models["relay/sora-2-pro"]["available"] is False
    assert models["relay-chat/sora_video2"]["wire_models"]["sora_video2-portrait-hd-15s"] is False
    # the catalog knows the Kling family (fal, Replicate, OpenRouter entries), so the relay's Kling id looks like video
    assert {"id": "kling-v2-master", "owned_by": "openai", "likely_video": True, "known_as": []} in data["unknown"]
    no_key = runner.invoke(app, ["models", "--remote"], env={**env, "VIDGATE_RELAY_API_KEY": ""})
    assert no_key.exit_code == 4 and "VIDGATE_RELAY_API_KEY" in no_key.output


def test_an_unreadable_registry_fails_before_paying_for_a_character(
    cclient: Client, emulator: EmulatorServer, home: Path
) -> None:
    home.mkdir(parents=True)
    (home / "characters.json").write_text("{broken")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        cclient.create_character(url="https://cdn.example/cat.mp4", timestamps="1,3")
    assert sum(emulator.state.counts.values()) == 0
