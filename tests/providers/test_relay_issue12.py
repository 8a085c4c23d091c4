"""Issue 12: relay frame order, status words, the seed's storyboard example, inline characters, hd on Veo,
the chat Accept header, HEIC input, Omni 1.2 reference-video length and the /v2 default duration.

Each test quotes the reference line it is written from (shared/reference/).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.media import load_image
from vidgate.providers import Connection, Prepared
from vidgate.providers._relay_status import relay_status
from vidgate.providers.openai_videos import OpenAIVideos
from vidgate.providers.relay_chat import RelayChat
from vidgate.providers.relay_unified import RelayOptions, RelayUnified
from vidgate.providers.zhipu import Zhipu
from vidgate.types import ImageInput, ImageRole, JobStatus, Shot, VideoRequest

CATALOG = load_catalog()
RELAY = RelayUnified()
CONN = Connection(provider=CATALOG.providers["relay"], base_url="https://relay.example", api_key="sk-test")
VIDEO = "https://filesystem.site/cdn/20250901/018eg2SgUpHMT6EEuQbfeRLWeUhE75.mp4"


def prepared(dialect: Any = RELAY, **fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=dialect.Options)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-12")


def sent(**fields: Any) -> dict[str, Any]:
    request = next(RELAY.submit(prepared(**fields), CONN))
    assert isinstance(request, httpx.Request)
    return json.loads(request.content)


# ---------------------------------------------------------------- 1. frame order on *-frames models


@pytest.mark.parametrize("model", ["veo3-fast-frames", "veo3-frames", "veo2-fast-frames"])
def test_frames_models_send_the_first_frame_first_whatever_the_order_given(model: str) -> None:
    """relay-platforms.md §4.1: "`*-frames` = first/last frame, `veo2-fast-frames` ≤2" - images[] is positional."""
    a, b = "https://img.example/a.png", "https://img.example/b.png"
    images = [ImageInput(source=b, role=ImageRole.last_frame), ImageInput(source=a, role=ImageRole.first_frame)]
    assert sent(prompt="land the plane", model=model, images=images)["images"] == [a, b]
    in_order = [ImageInput(source=a, role=ImageRole.first_frame), ImageInput(source=b, role=ImageRole.last_frame)]
    assert sent(prompt="land the plane", model=model, images=in_order)["images"] == [a, b]


def test_sora_keeps_reference_images_in_order_after_a_first_frame() -> None:
    """seed-relay-api.md: "`images` | array of string | image-to-video; each item a URL or base64; several allowed"."""
    r1, r2, first = "https://img.example/r1.png", "https://img.example/r2.png", "https://img.example/f.png"
    images = [
        ImageInput(source=r1, role=ImageRole.reference),
        ImageInput(source=r2, role=ImageRole.reference),
        ImageInput(source=first, role=ImageRole.first_frame),
    ]
    assert sent(prompt="x", model="sora-2", images=images)["images"] == [first, r1, r2]


# ---------------------------------------------------------------- 5. status words outside the table

# relay-platforms.md §9: "map each vocabulary explicitly (NOT_START/SUBMITTED/QUEUED → pending; IN_PROGRESS →
# running; SUCCESS → succeeded; FAILURE → failed; also lowercase queued/pending/processing/completed/done/expired/
# unknown). Unknown ≠ failed: keep polling until a deadline."
WORDS = [
    ("COMPLETED", JobStatus.succeeded),
    ("completed", JobStatus.succeeded),
    ("DONE", JobStatus.succeeded),
    ("done", JobStatus.succeeded),
    ("SUCCESS", JobStatus.succeeded),
    ("success", JobStatus.succeeded),
    ("succeeded", JobStatus.succeeded),
    ("Succeeded", JobStatus.succeeded),
    ("FAILED", JobStatus.failed),
    ("failed", JobStatus.failed),
    ("FAILURE", JobStatus.failed),
    ("failure", JobStatus.failed),
    ("EXPIRED", JobStatus.failed),
    ("expired", JobStatus.failed),
    ("in_progress", JobStatus.running),
    ("IN_PROGRESS", JobStatus.running),
    ("processing", JobStatus.running),
    ("PROCESSING", JobStatus.running),
    ("queued", JobStatus.queued),
    ("QUEUED", JobStatus.queued),
    ("pending", JobStatus.queued),
    ("not_start", JobStatus.queued),
    ("submitted", JobStatus.queued),
    ("unknown", None),
]


def v2_answer(status: str, output: str | None) -> httpx.Response:
    data = {"output": output} if output else None
    body = {"task_id": "veo3:1756693796-YQVHH4A3Lg", "status": status, "fail_reason": "", "progress": "50%",
            "data": data}  # fmt: skip
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(("word", "expected"), WORDS)
def test_v2_reads_every_status_word_in_any_case_and_keeps_the_raw_word(word: str, expected: JobStatus | None) -> None:
    """seed-relay-api.md: "Status enum: `NOT_START` (not started), `IN_PROGRESS`, `SUCCESS`, `FAILURE`"; other
    relays of this family: "`SUBMITTED`, `QUEUED`, `UNKNOWN`" (relay-platforms.md §9 for the lowercase words)."""
    output = VIDEO if expected is JobStatus.succeeded else None
    update = RELAY.parse_status("relay", v2_answer(word, output))
    assert update.status is expected
    assert update.raw_status == word
    if expected is JobStatus.succeeded:
        assert [a.url for a in update.assets] == [VIDEO]
    if expected is JobStatus.failed:
        assert update.error is not None


def test_v2_expired_without_a_reason_says_so() -> None:
    update = RELAY.parse_status("relay", v2_answer("EXPIRED", None))
    assert update.status is JobStatus.failed and update.error is not None
    assert "EXPIRED" in update.error.message and not update.error.retryable


@pytest.mark.parametrize("word", ["RENDERING_ON_MARS", "UNKNOWN", "", "finalizing"])
def test_v2_an_indefinite_word_with_a_video_url_is_success(word: str) -> None:
    """relay-platforms.md §2.1: "read `data.output` or `data.outputs`" - a video there means the job is done."""
    update = RELAY.parse_status("relay", v2_answer(word, VIDEO))
    assert update.status is JobStatus.succeeded and [a.url for a in update.assets] == [VIDEO]
    assert update.raw_status == (word or None)
    without = RELAY.parse_status("relay", v2_answer(word, None))
    assert without.status is None  # nothing definite and no video: keep polling


@pytest.mark.parametrize(("word", "expected"), WORDS)
def test_v1_videos_reads_the_relay_words_too(word: str, expected: JobStatus | None) -> None:
    """seed-relay-api.md: "Query: `GET /v1/videos/{task_id}` — status `queued`, `in_progress`, `completed`,
    `failed`"; relays also answer with their /v2 words."""
    conn = Connection(provider=CATALOG.providers["relay-openai"], base_url="https://relay.example", api_key="sk")
    body: dict[str, Any] = {"id": "sora-2:task_01k7rtjcjjf08b031wzan1kb5r", "object": "video", "model": "sora-2",
                            "status": word, "progress": 50, "seconds": "10", "size": "small"}  # fmt: skip
    if expected is JobStatus.succeeded:
        body |= {"url": VIDEO, "video_url": VIDEO}
    update = OpenAIVideos().parse_video(conn, httpx.Response(200, json=body))
    assert update.status is expected and update.raw_status == word
    if expected is JobStatus.succeeded:
        assert update.assets[0].url == VIDEO


def test_v1_videos_an_unknown_word_with_a_video_url_is_success() -> None:
    conn = Connection(provider=CATALOG.providers["relay-openai"], base_url="https://relay.example", api_key="sk")
    body = {"id": "video_1", "object": "video", "model": "sora-2", "status": "finalizing", "video_url": VIDEO}
    update = OpenAIVideos().parse_video(conn, httpx.Response(200, json=body))
    assert update.status is JobStatus.succeeded and update.assets[0].url == VIDEO


@pytest.mark.parametrize(
    ("word", "expected"),
    [("COMPLETED", JobStatus.succeeded), ("success", JobStatus.succeeded), ("failed", JobStatus.failed),
     ("FAILURE", JobStatus.failed), ("in_progress", JobStatus.running), ("queued", JobStatus.queued),
     ("EXPIRED", JobStatus.failed)],
)  # fmt: skip
def test_zhipu_pass_through_reads_relay_words(word: str, expected: JobStatus) -> None:
    """seed-relay-api.md: "The relay also passes Zhipu through under `/cogvideox/v4/...`" - it may answer in its
    own status words."""
    body: dict[str, Any] = {"model": "cogvideox-3", "task_status": word, "request_id": "r", "id": "t"}
    if expected is JobStatus.succeeded:
        body["video_result"] = [{"url": VIDEO, "cover_image_url": "https://x.example/c.png"}]
    update = Zhipu().parse_status("relay-zhipu", httpx.Response(200, json=body))
    assert update.status is expected and update.raw_status == word


def test_the_word_table_is_case_insensitive() -> None:
    assert relay_status("Completed") is relay_status("COMPLETED") is JobStatus.succeeded
    assert relay_status("In_Progress") is JobStatus.running
    assert relay_status("unknown", has_video=False) is None


# ---------------------------------------------------------------- 6. the seed's storyboard example

SEED_STORYBOARD = "Shot 1:\nduration: 7.5sec\nScene: 飞机起飞\n\nShot 2:\nduration: 7.5sec\nScene: 飞机降落"


def test_the_seeds_storyboard_example_is_accepted_as_shots() -> None:
    """seed-relay-api.md, Storyboard: "Shot 1:\\nduration: 7.5sec\\nScene: 飞机起飞\\n\\nShot 2:\\nduration:
    7.5sec\\nScene: 飞机降落"
    "(example sent with `"model": "sora-2", "aspect_ratio": "16:9", "hd": false, "duration": "10"`)"."""
    shots = [Shot(duration=7.5, scene="飞机起飞"), Shot(duration=7.5, scene="飞机降落")]
    fields = {"prompt": "", "model": "sora-2", "shots": shots, "aspect_ratio": "16:9", "hd": False, "duration": 10}
    report = check(VideoRequest(**fields), CATALOG.resolve("sora-2"), options_model=RelayOptions)
    assert report.ok, [p.explain() for p in report.problems]
    assert any("add up to 15 s but duration is 10 s" in w for w in report.warnings)
    assert sent(**fields) == {"prompt": SEED_STORYBOARD, "model": "sora-2", "aspect_ratio": "16:9", "hd": False,
                              "duration": "10"}  # fmt: skip


def test_the_seeds_storyboard_example_is_accepted_as_a_raw_prompt() -> None:
    """The same example, exactly the seed's body: {"prompt": <storyboard>, "model": "sora-2", "aspect_ratio":
    "16:9", "hd": false, "duration": "10"}."""
    fields = {"prompt": SEED_STORYBOARD, "model": "sora-2", "aspect_ratio": "16:9", "hd": False, "duration": 10}
    assert sent(**fields) == {"prompt": SEED_STORYBOARD, "model": "sora-2", "aspect_ratio": "16:9", "hd": False,
                              "duration": "10"}  # fmt: skip


# ---------------------------------------------------------------- 10a. inline characters


def preflight(options: dict[str, Any], dialect: Any = RELAY, model: str = "sora-2") -> list[Any]:
    request = VideoRequest(prompt="a cat", model=model, options=options)
    spec = CATALOG.resolve(model)
    report = check(request, spec, options_model=dialect.Options)
    return report.problems + dialect.preflight(request, spec, report.images)


def test_character_url_must_be_an_http_url() -> None:
    """seed-relay-api.md: "`character_url` | string | video URL to create a character from, inline"."""
    found = preflight({"character_url": "file:///etc/passwd", "character_timestamps": "1,3"})
    assert [p.field for p in found] == ["options.character_url"]
    assert "http(s) URL" in found[0].message


def test_character_url_and_timestamps_come_together() -> None:
    """seed-relay-api.md: "`character_timestamps` | string | `"{start},{end}"` seconds where the character appears";
    relay-platforms.md §2.2: "Character cameo in the same call: `character_url` (...) + `character_timestamps`"."""
    found = preflight({"character_url": "https://cdn.example/cat.mp4"})
    assert [p.field for p in found] == ["options.character_timestamps"]
    assert "character_url needs character_timestamps" in found[0].message
    found = preflight({"character_timestamps": "1,3"})
    assert [p.field for p in found] == ["options.character_url"]
    assert "character_timestamps needs character_url" in found[0].message
    assert preflight({"character_url": "https://cdn.example/cat.mp4", "character_timestamps": "1,3"}) == []


def test_the_v1_videos_route_checks_the_pair_too() -> None:
    found = preflight({"character_url": "https://cdn.example/cat.mp4"}, OpenAIVideos(), "relay-openai/sora-2")
    assert "options.character_timestamps" in [p.field for p in found]


# ---------------------------------------------------------------- 10b. hd on Veo


@pytest.mark.parametrize("model", ["veo3", "veo3-fast-frames", "veo2"])
def test_no_hd_is_sent_to_veo_routes(model: str) -> None:
    """seed-relay-api.md: "`hd` | boolean | default false; slower; **sora-2-pro only**" - Veo's /v2 pages have no
    hd (relay-platforms.md §4.1: "Body: `prompt`*, `model`*, `aspect_ratio`, `enhance_prompt`, `enable_upsample`")."""
    images = ["https://img.example/a.png"] if "frames" in model else []
    assert "hd" not in sent(prompt="a fox", model=model, images=images, hd=False)
    assert "hd" not in sent(prompt="a fox", model=model, images=images)


def test_hd_goes_to_sora_as_given_and_never_as_a_default() -> None:
    """seed-relay-api.md example: {"prompt": "make animate", "model": "sora-2", ..., "hd": false, "duration": "10"}."""
    assert sent(prompt="make animate", model="sora-2", hd=False)["hd"] is False
    assert "hd" not in sent(prompt="make animate", model="sora-2")
    assert "hd" not in sent(prompt="make animate", model="sora-2-pro")
    assert sent(prompt="make animate", model="sora-2-pro", hd=True)["hd"] is True


# ---------------------------------------------------------------- 10c. chat Accept header


@pytest.mark.parametrize("stream", [True, False])
def test_chat_requests_accept_application_json(stream: bool) -> None:
    """The seed marks `Accept: application/json` required on POST /v1/chat/completions; streaming is asked for by
    the body's "stream" (relay-platforms.md §2.4: "Streaming variants emit progress text")."""
    dialect = RelayChat()
    p = prepared(dialect, prompt="竖屏 动起来", model="sora_video2", options={"stream": stream})
    chat_conn = Connection(provider=CATALOG.providers[p.spec.provider], base_url="https://relay.example", api_key="k")
    request = dialect.chat_request(p, chat_conn)
    assert request.headers["accept"] == "application/json"
    assert json.loads(request.content)["stream"] is stream


# ---------------------------------------------------------------- 10d. HEIC input


def heic_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", size, (30, 140, 220))).save(buf, quality=80)
    return buf.getvalue()


def test_a_local_heic_file_is_read(tmp_path: Path) -> None:
    """google-2026.md: "Model card: ≤10 images per prompt (png/jpeg/webp/heic/heif)"."""
    path = tmp_path / "photo.heic"
    path.write_bytes(heic_bytes())
    image = load_image(ImageInput(source=str(path)), 0)
    assert (image.format, image.width, image.height, image.mime_type) == ("heic", 64, 48, "image/heic")
    spec = CATALOG.resolve("gemini-omni-1.2-flash")
    report = check(VideoRequest(prompt="make it move", model=spec.key, images=[str(path)]), spec)
    assert report.ok, [p.explain() for p in report.problems]
    refused = check(VideoRequest(prompt="x", model="sora-2", images=[str(path)]), CATALOG.resolve("sora-2"))
    assert any(p.field == "images[0]" for p in refused.problems)  # sora takes jpeg/png/webp only


# ---------------------------------------------------------------- 10e. Omni 1.2 reference-video length


def test_omni_12_reference_videos_follow_the_model_card() -> None:
    """google-2026.md: "Model card: ... ≤3 videos per prompt, input videos ≤10 s ... (VTX-OMNIP)"; 1.2 publishes
    no limit of its own, and "≤3 reference videos of ≤3 s each" is the 1.1 (3P) figure."""
    new, old = CATALOG.resolve("gemini-omni-1.2-flash"), CATALOG.resolve("gemini-omni-1.1-flash")
    assert (new.video_inputs.max_count, new.video_inputs.max_seconds) == (3, 10)
    assert (old.video_inputs.max_count, old.video_inputs.max_seconds) == (3, 3)
    text = " ".join(new.notes) + new.video_inputs.note
    assert "3 s each" not in text.replace("'<= 3 s each' is a 1.1 figure", "")
    assert "VTX-OMNIP" in new.video_inputs.note and "10 s" in new.video_inputs.note


# ---------------------------------------------------------------- 10f. the /v2 default duration


def test_v2_default_duration_is_marked_as_vidgates_own_and_never_sent() -> None:
    """seed-relay-api.md: "`duration` | enum **string** | `"10"`, `"15"`, `"25"`" - no default is documented."""
    for model in ("sora-2", "sora-2-pro"):
        spec = CATALOG.resolve(model)
        assert "vidgate's own assumption" in spec.duration.note and "not the relay's" in spec.duration.note
        assert "duration" not in sent(prompt="make animate", model=model)
