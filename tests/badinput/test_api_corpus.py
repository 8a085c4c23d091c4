"""The Python API's bad-input corpus: mistaken arguments raise vidgate's typed errors that name the field and
what to do — never a raw pydantic or Python error from deep inside — and nothing reaches the provider."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.badinput.helpers import provider_requests
from tests.conftest import make_image
from vidgate import (
    AsyncClient,
    BadValueError,
    Client,
    ConfigurationError,
    DownloadError,
    EndpointMismatchError,
    ImageInput,
    MissingCredentialsError,
    RequestError,
    UnknownModelError,
    ValidationError,
    VideoRequest,
)
from vidgate.emulator import EmulatorServer
from vidgate.store import JobNotFoundError, MemoryStore
from vidgate.types import Job, JobStatus

Call = Callable[[Client, Path], Any]


@dataclass(frozen=True)
class Case:
    call: Call
    error: type[Exception]
    says: tuple[str, ...]


def case(call: Call, error: type[Exception], *says: str) -> Case:
    return Case(call, error, says)


def stored(c: Client, status: JobStatus = JobStatus.queued, model: str = "sora-2", **fields: Any) -> Job:
    """A job in the client's store, bound to its endpoint, that no provider ever heard of."""
    job = c.enqueue("a stored job", model=model)
    return c.store.save(c.job(job.id).model_copy(update={"status": status, "next_poll_at": None, **fields}))


CASES: dict[str, Case] = {
    "prompt not a string": case(lambda c, d: c.submit(123, model="sora-2"), ValidationError, "prompt"),
    "duration a word": case(lambda c, d: c.submit("x", model="sora-2", duration="ten"), ValidationError, "duration"),
    "duration nan": case(lambda c, d: c.submit("x", model="sora-2", duration=math.nan), ValidationError, "duration"),
    "duration inf": case(lambda c, d: c.submit("x", model="sora-2", duration=math.inf), ValidationError, "duration"),
    "duration negative": case(lambda c, d: c.submit("x", model="sora-2", duration=-5), ValidationError, "duration"),
    "duration negative fit": case(lambda c, d: c.submit("x", model="sora-2", duration=-5, fit=True), ValidationError,
                                  "duration"),
    "duration not allowed": case(lambda c, d: c.submit("x", model="sora-2", duration=7), ValidationError, "duration",
                                 "allowed"),
    "aspect ratio a number": case(lambda c, d: c.submit("x", model="sora-2", aspect_ratio=16), ValidationError,
                                  "aspect_ratio"),
    "aspect ratio unknown": case(lambda c, d: c.submit("x", model="sora-2", aspect_ratio="7:3"), ValidationError,
                                 "aspect_ratio"),
    "hd a word": case(lambda c, d: c.submit("x", model="sora-2", hd="very"), ValidationError, "hd"),
    "images a number": case(lambda c, d: c.submit("x", model="veo3-fast-frames", images=[123]), ValidationError,
                            "images"),
    "image missing file": case(lambda c, d: c.submit("x", model="veo3-fast-frames", images=[str(d / "no.png")]),
                               ValidationError, "images"),
    "image role unknown": case(lambda c, d: c.submit("x", model="veo3-fast-frames",
                                                     images=[{"source": str(d / "f.png"), "role": "middle"}]),
                               ValidationError, "role"),
    "image bytes not an image": case(lambda c, d: c.submit("x", model="veo3-fast-frames",
                                                           images=[ImageInput(source=b"not a png")]),
                                     ValidationError, "images"),
    "image metadata url": case(lambda c, d: c.submit("x", model="relay-openai/sora-2",
                                                     images=["http://169.254.169.254/a.png"]),
                               ValidationError, "metadata"),
    "shots a string": case(lambda c, d: c.submit("", model="sora-2", shots="two shots"), ValidationError, "shots"),
    "shot without scene": case(lambda c, d: c.submit("", model="sora-2", shots=[{"duration": 5}]), ValidationError,
                               "scene"),
    "options a list": case(lambda c, d: c.submit("x", model="sora-2", options=["a"]), ValidationError, "options"),
    "option unknown": case(lambda c, d: c.submit("x", model="sora-2", options={"bogus": 1}), ValidationError, "bogus"),
    "character unknown": case(lambda c, d: c.submit("x", model="sora-2", characters=["ghost"]), ValidationError,
                              "ghost"),
    "model unknown": case(lambda c, d: c.submit("x", model="sora-9"), UnknownModelError, "sora-9"),
    "model missing": case(lambda c, d: c.submit("x"), ValidationError, "model"),
    "retired model": case(lambda c, d: c.submit("x", model="openai/sora-2"), ValidationError, "retired"),
    "unknown field": case(lambda c, d: c.submit("x", model="sora-2", speed=3), TypeError, "speed"),
    "request object with a wrong field": case(
        lambda c, d: c.submit(request=VideoRequest(prompt="x", model="sora-2"), duration="long"), ValidationError,
        "duration"),
    "timeout negative on wait": case(lambda c, d: c.wait(stored(c), timeout=-5), ValidationError, "timeout"),
    "timeout nan on generate": case(lambda c, d: c.generate("x", model="sora-2", timeout=math.nan), ValidationError,
                                    "timeout"),
    "timeout a word": case(lambda c, d: c.generate("x", model="sora-2", timeout="soon"), ValidationError, "timeout"),
    "out is a directory": case(lambda c, d: c.generate("x", model="sora-2", out=d), ValidationError, "out",
                               "directory"),
    "out in /proc": case(lambda c, d: c.generate("x", model="sora-2", out="/proc/x.mp4"), ValidationError, "out"),
    "download before it finished": case(lambda c, d: c.download(stored(c)), DownloadError, "finished"),
    "download a variant it has not": case(
        lambda c, d: c.download(stored(c, JobStatus.succeeded), variant="spritesheet"), DownloadError, "spritesheet"),
    "remix an unfinished job": case(lambda c, d: c.remix(stored(c, model="relay-openai/sora-2"), "again"),
                                    RequestError, "remix"),
    "remix on a model without it": case(lambda c, d: c.remix(stored(c, JobStatus.succeeded), "again"),
                                        ValidationError, "remix"),
    "delete on a dialect without it": case(lambda c, d: c.delete(stored(c, provider_task_id="t1")), ValidationError,
                                           "delete"),
    "list on a provider without it": case(lambda c, d: c.list_videos("relay"), ValidationError, "list"),
    "job not in the store": case(lambda c, d: c.advance("job_nope"), JobNotFoundError, "job_nope"),
    "retry a running job": case(lambda c, d: c.retry(stored(c)), RequestError, "retried"),
    "character window reversed": case(lambda c, d: c.create_character(timestamps="5,1", url="https://x.example/v"),
                                      ValidationError, "timestamps"),
    "character without a source": case(lambda c, d: c.create_character(timestamps="1,2"), ValidationError, "url"),
    "character on a model without them": case(
        lambda c, d: c.create_character(timestamps="1,2", url="https://x.example/v", model="veo3-fast"),
        ValidationError, "character"),
    "models of an unknown provider": case(lambda c, d: c.remote_models("nope"), ConfigurationError, "nope"),
    "base url ftp": case(lambda c, d: Client(base_url="ftp://x", api_key="k", env={}).submit("x", model="sora-2"),
                         ConfigurationError, "base URL"),
    "no key": case(lambda c, d: Client(env={}).submit("x", model="sora-2"), MissingCredentialsError,
                   "VIDGATE_RELAY_API_KEY"),
    "route unknown": case(lambda c, d: c.submit("x", model="sora-2", route="backup"), ConfigurationError, "backup"),
    "store a directory": case(lambda c, d: Client(store=d, env={}), ConfigurationError, "directory"),
    "store url unknown": case(lambda c, d: Client(store="ftp://db", env={}), ConfigurationError, "postgresql"),
    "another host's job": case(lambda c, d: Client(base_url="https://other.example", api_key="k", env={},
                                                   store=c.store).advance(c.enqueue("x", model="sora-2")),
                               EndpointMismatchError, "Nothing was sent"),
    "worker concurrency zero": case(lambda c, d: _worker(c, concurrency=0), BadValueError, "concurrency"),
    "store limit zero": case(lambda c, d: c.store.list_jobs(limit=0), BadValueError, "limit"),
    "store status unknown": case(lambda c, d: c.store.list_jobs(status="bogus"), BadValueError, "bogus"),
}  # fmt: skip


def _worker(c: Client, **kwargs: Any) -> Any:
    from vidgate.engine.worker import Worker

    async def make() -> Any:
        async with AsyncClient(store=c.store, env={}) as a:
            return Worker(a.engine, **kwargs)

    return asyncio.run(make())


@pytest.mark.parametrize("name", list(CASES))
def test_refused_with_a_typed_error_and_nothing_sent(name: str, emulator: EmulatorServer, tmp_path: Path) -> None:
    c = CASES[name]
    make_image(tmp_path / "f.png", (1280, 720))
    with Client(base_url=emulator.url, api_key=emulator.api_key, env={}, store=MemoryStore()) as client:
        before = provider_requests(emulator)
        with pytest.raises(c.error) as info:
            c.call(client, tmp_path)
        assert provider_requests(emulator) == before, f"{name}: a request reached the provider"
    text = str(info.value)
    for words in c.says:
        assert words.lower() in text.lower(), f"{name}: {words!r} not in {text!r}"
    if isinstance(info.value, ValidationError):
        assert info.value.problems and all(p.field for p in info.value.problems)
