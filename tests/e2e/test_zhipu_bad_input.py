"""Bad input for Zhipu models and SSRF image URLs are refused before any I/O: zero requests at the emulator.

SSRF cases run against a bytes-only variant of cogvideox-3 (its ImageSpec without the "url" transport), so the
client has to download image URLs itself; the loopback image server is trusted only through an explicit
allow-list, which keeps every test on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import make_image
from tests.unit.test_ssrf import PNG, ImageServer
from vidgate import AsyncClient, Client, ImageInput, ImageRole, JobStatus, ValidationError
from vidgate.catalog import Catalog, load_catalog
from vidgate.cli import app
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy

BYTES_ONLY = "zhipu/cogvideox-3"


def zhipu_requests(emulator: EmulatorServer) -> int:
    return sum(n for k, n in emulator.state.counts.items() if "/api/paas/v4/" in k or "/cogvideox/v4/" in k)


def bytes_only_catalog() -> Catalog:
    """The real catalog with cogvideox-3 pretending to take inline base64 only (like Veo on Vertex)."""
    base = load_catalog()
    models = []
    for m in base.models.values():
        if m.key == BYTES_ONLY:
            m = m.model_copy(update={"images": m.images.model_copy(update={"transports": ["base64"]})})
        models.append(m)
    return Catalog(list(base.providers.values()), models)


@pytest.fixture(scope="module")
def image_server() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture
def guarded(emulator: EmulatorServer, fast_policy: PollPolicy) -> Iterator[Client]:
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                catalog=bytes_only_catalog(), allow_image_hosts=["127.0.0.1"]) as c:  # fmt: skip
        yield c


def big_png(path: Path) -> Path:
    """A real PNG of about 6 MiB (incompressible noise)."""
    import os

    Image.frombytes("RGB", (1450, 1450), os.urandom(1450 * 1450 * 3)).save(path, format="PNG", compress_level=0)
    assert path.stat().st_size > 6 * 1024 * 1024
    return path


def wide_png(path: Path) -> Path:
    return make_image(path, size=(500, 100))


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("600-char prompt", {"model": "zhipu/cogvideox-3", "prompt": "x" * 600}, "512-character limit"),
    ("first+last in quality mode", {"model": "cogvideox-3", "images": ["FIRST", "LAST"],
                                    "options": {"quality": "quality"}}, "speed mode"),
    ("cogvideox-3 duration 6", {"model": "cogvideox-3", "duration": 6}, "5, 10 s"),
    ("cogvideox-3 aspect ratio", {"model": "cogvideox-3", "aspect_ratio": "16:9"}, "no aspect ratio"),
    ("cogvideox-3 size", {"model": "cogvideox-3", "size": "720x480"}, "1280x720"),
    ("cogvideox-2 duration", {"model": "cogvideox-2", "duration": 5}, "no duration parameter"),
    ("vidu2-image duration 5", {"model": "vidu2-image", "duration": 5, "images": ["FIRST"]}, "4 s"),
    ("viduq1-text size", {"model": "viduq1-text", "size": "1280x720"}, "1920x1080"),
    ("vidu2-reference 4 images", {"model": "vidu2-reference", "images": ["FIRST"] * 4}, "at most 3"),
    ("vidu2-reference size", {"model": "zai/vidu2-reference", "size": "1920x1080", "images": ["FIRST"]}, "1280x720"),
    ("vidu image 5:1", {"model": "vidu2-image", "images": ["WIDE"]}, "from 0.25 to 4"),
    ("cogvideox-3 webp", {"model": "cogvideox-3", "images": ["WEBP"]}, "jpeg, png"),
    ("last frame only", {"model": "cogvideox-3", "images": [("LAST", "last_frame")]}, "needs a first frame"),
    ("vidu text with an image", {"model": "viduq1-text", "images": ["FIRST"]}, "takes no images"),
    ("bad option value", {"model": "cogvideox-3", "options": {"fps": 24}}, "options.fps"),
    ("option of another model", {"model": "cogvideox-3", "options": {"style": "anime"}}, "no option 'style'"),
]  # fmt: skip


def _images(spec: Any, tmp: Path) -> Any:
    files = {"FIRST": make_image(tmp / "f.png"), "LAST": make_image(tmp / "l.png"), "WIDE": wide_png(tmp / "w.png"),
             "WEBP": make_image(tmp / "i.webp", fmt="WEBP")}  # fmt: skip
    out = []
    for item in spec:
        name, role = item if isinstance(item, tuple) else (item, None)
        out.append(ImageInput(source=str(files[name]), role=ImageRole(role) if role else None))
    return out


@pytest.mark.parametrize(("case", "fields", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_io(
    client: Client, emulator: EmulatorServer, tmp_path: Path, case: str, fields: dict[str, Any], expected: str
) -> None:
    fields = {"prompt": "a scene", **fields}
    if "images" in fields:
        fields["images"] = _images(fields["images"], tmp_path)
    with pytest.raises(ValidationError) as info:
        client.submit(**fields)
    assert expected in str(info.value), str(info.value)
    assert zhipu_requests(emulator) == 0


def test_six_megabyte_image_for_cogvideox3(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        client.submit("a scene", model="cogvideox-3", images=[str(big_png(tmp_path / "big.png"))])
    assert "over the 5.0 MB limit" in str(info.value)
    assert zhipu_requests(emulator) == 0


def test_vidu_frames_of_different_shapes(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    frames = [str(make_image(tmp_path / "a.png", (300, 100))), str(make_image(tmp_path / "b.png", (100, 300)))]
    with pytest.raises(ValidationError, match=r"0\.8 to 1\.25"):
        client.submit("turn", model="viduq1-start-end", images=frames)
    assert zhipu_requests(emulator) == 0


# ---------------------------------------------------------------- SSRF through the client

SSRF_URLS = ["http://127.0.0.1:9/a.png", "http://localhost/a.png", "http://169.254.169.254/latest/meta-data/",
             "http://10.0.0.8/a.png", "http://[::1]/a.png", "http://[::ffff:127.0.0.1]/a.png"]  # fmt: skip


@pytest.mark.parametrize("url", SSRF_URLS)
def test_ssrf_urls_are_refused_before_any_provider_request(
    emulator: EmulatorServer, fast_policy: PollPolicy, url: str
) -> None:
    with (
        Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
               catalog=bytes_only_catalog()) as c,
        pytest.raises(ValidationError) as info,
    ):  # fmt: skip
        c.submit("a cat", model=BYTES_ONLY, images=[url])
    problem = info.value.problems[0]
    assert problem.field == "images[0]" and "refused" in problem.message
    assert "allow_image_hosts" in problem.suggestion
    assert zhipu_requests(emulator) == 0


def test_redirect_from_the_allowed_server_to_metadata_is_refused(
    guarded: Client, emulator: EmulatorServer, image_server: ImageServer
) -> None:
    image_server.hits.clear()
    url = f"{image_server.url}/redirect?to=http://169.254.169.254/latest/meta-data/"
    with pytest.raises(ValidationError, match=r"redirected to http://169\.254\.169\.254"):
        guarded.prepare("a cat", model=BYTES_ONLY, images=[url])
    assert image_server.hits == ["/redirect?to=http://169.254.169.254/latest/meta-data/"]
    assert zhipu_requests(emulator) == 0


def test_url_over_the_model_limit_is_refused(
    guarded: Client, emulator: EmulatorServer, image_server: ImageServer
) -> None:
    with pytest.raises(ValidationError, match="limit"):
        guarded.submit("a cat", model=BYTES_ONLY, images=[f"{image_server.url}/big.png"])
    assert zhipu_requests(emulator) == 0


def test_allowed_url_is_downloaded_in_prepare_and_sent_as_bytes(
    guarded: Client, emulator: EmulatorServer, image_server: ImageServer
) -> None:
    sub = guarded.prepare("a cat", model=BYTES_ONLY, images=[f"{image_server.url}/img.png"])
    assert sub.prepared.images[0].data == PNG and zhipu_requests(emulator) == 0
    job = guarded.send(sub)
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert base64.b64decode(sent["image_url"]) == PNG


def test_url_models_still_get_the_url(client: Client, emulator: EmulatorServer) -> None:
    job = client.submit("a cat", model="cogvideox-3", images=["http://127.0.0.1:9/a.png"])
    assert emulator.state.jobs[job.provider_task_id or ""].body["image_url"] == "http://127.0.0.1:9/a.png"


def test_async_client_fetches_and_refuses(emulator: EmulatorServer, fast_policy: PollPolicy,
                                          image_server: ImageServer) -> None:  # fmt: skip
    async def main() -> None:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                               catalog=bytes_only_catalog(), allow_image_hosts=["127.0.0.1"]) as c:  # fmt: skip
            for url in ["http://169.254.169.254/", "http://[::1]/a.png",
                        f"{image_server.url}/redirect?to=http://10.1.1.1/a.png"]:  # fmt: skip
                with pytest.raises(ValidationError, match="refused"):
                    await c.submit("a cat", model=BYTES_ONLY, images=[url])
            assert zhipu_requests(emulator) == 0
            job = await c.submit("a cat", model=BYTES_ONLY, images=[f"{image_server.url}/img.png"])
            assert job.status is JobStatus.queued
            sent = emulator.state.jobs[job.provider_task_id or ""].body
            assert base64.b64decode(sent["image_url"]) == PNG

    asyncio.run(main())


# ---------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    "args",
    [["x" * 600, "-m", "zhipu/cogvideox-3"], ["a cat", "-m", "cogvideox-3", "--duration", "6"],
     ["a cat", "-m", "viduq1-text", "--size", "1280x720"]],
)  # fmt: skip
def test_cli_refuses_bad_input_with_exit_2(emulator: EmulatorServer, args: list[str]) -> None:
    env = {"VIDGATE_ZHIPU_BASE_URL": emulator.url, "VIDGATE_ZHIPU_API_KEY": emulator.api_key}
    result = CliRunner().invoke(app, ["generate", *args, "--json"], env=env)
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["error"]["type"] == "ValidationError" and payload["error"]["problems"]
    assert zhipu_requests(emulator) == 0
