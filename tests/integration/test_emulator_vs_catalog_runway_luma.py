"""Every value the catalog allows for a Runway or Luma model is accepted by the emulator's own reading of the
reference (providers-2026.md §8-9), and values the catalog refuses are refused by the emulator too: the two were
written independently, so drift shows up here."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.emulator import EmulatorServer
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.types import ImageInput, ImageRole, VideoRequest

CATALOG = load_catalog()
PROVIDERS = ("runway", "luma", "luma-legacy")
KEYS = sorted(k for k, m in CATALOG.models.items() if m.provider in PROVIDERS and m.sunset is None)
OPTIONS: dict[str, list[dict[str, Any]]] = {
    "seed": [{"seed": 4294967295}],
    "audio": [{"audio": True}],
    "negative_prompt": [{"negative_prompt": "blur"}],
    "public_figure_threshold": [{"public_figure_threshold": "low"}],
    "hdr": [{"hdr": True}],
    "loop": [{"loop": True}],
    "concepts": [{"concepts": ["dolly_zoom"]}],
    "source": [],  # with type below
    "type": [
        {"type": "video_edit", "source": "https://e.x/v.mp4"},
        {"type": "video_reframe", "source": "https://e.x/v.mp4"},
    ],
}


def requests_for(key: str) -> list[VideoRequest]:
    spec = CATALOG.models[key]
    base: dict[str, Any] = {"model": key, "prompt": "a kite"}
    if "text" not in spec.modes:
        base["images"] = [ImageInput(source="https://e.x/first.png", role=ImageRole.first_frame)]
    out = [VideoRequest(**base)]
    out += [VideoRequest(**base, duration=d) for d in spec.duration.candidates() if spec.duration.field]
    for attr in ("aspect_ratio", "resolution"):
        out += [VideoRequest(**base, **{attr: v}) for v in getattr(spec, attr).values]
    for role in spec.images.roles:
        if role is not ImageRole.last_frame:
            out.append(VideoRequest(**{**base, "images": [ImageInput(source="https://e.x/a.png", role=role)]}))
    frames = [r for r in spec.images.roles if r is not ImageRole.reference]
    if len(frames) == 2:
        images = [ImageInput(source=f"https://e.x/{r.value}.png", role=r) for r in frames]
        out.append(VideoRequest(**{**base, "images": images}))
    for name in spec.options:
        out += [VideoRequest(**base, options=o) for o in OPTIONS[name]]
    return out


def send(key: str, request: VideoRequest, emulator: EmulatorServer) -> httpx.Response | None:
    """The create the dialect builds, sent to the emulator; None when vidgate refuses it before sending."""
    spec = CATALOG.models[key]
    dialect = get_dialect(spec.dialect)
    report = check(request, spec, options_model=dialect.Options)
    if not report.ok or dialect.preflight(request, spec, report.images):
        return None
    prepared = Prepared(request, spec, report.images, assign_roles(report.images, spec), "k")
    conn = Connection(CATALOG.providers[spec.provider], emulator.url, emulator.api_key)
    with httpx.Client() as http:
        return http.send(next(dialect.submit(prepared, conn)))  # type: ignore[arg-type]


@pytest.mark.parametrize("key", KEYS)
def test_emulator_accepts_everything_the_catalog_allows(key: str, emulator: EmulatorServer) -> None:
    sent = 0
    for request in requests_for(key):
        answer = send(key, request, emulator)
        if answer is None:  # only gen4.5's text-only ratios are refused by vidgate's preflight here
            assert key == "runway/gen4.5" and not request.images and request.aspect_ratio not in (None, "1280:720")
            continue
        assert answer.is_success, (key, request.model_dump(exclude_none=True), answer.text)
        sent += 1
    assert sent >= 3


@pytest.mark.parametrize(
    ("key", "path", "body"),
    [
        (
            "runway/gen4.5",
            "/v1/text_to_video",
            {"model": "gen4.5", "promptText": "x", "ratio": "1584:672", "duration": 5},
        ),
        ("runway/veo3.1", "/v1/text_to_video", {"model": "veo3.1", "promptText": "x", "duration": 5}),
        ("runway/veo3", "/v1/text_to_video", {"model": "veo3", "promptText": "x", "duration": 6}),
        ("runway/gen4_turbo", "/v1/text_to_video", {"model": "gen4_turbo", "promptText": "x"}),
        ("runway/gen3a_turbo", "/v1/image_to_video", {"model": "gen3a_turbo", "promptImage": "https://e.x/a.png"}),
        (
            "runway/seedance2_fast",
            "/v1/text_to_video",
            {"model": "seedance2_fast", "promptText": "x", "ratio": "1920:1080"},
        ),
        (
            "luma/ray-3.2",
            "/v1/generations",
            {"model": "ray-3.2", "type": "video", "prompt": "x", "aspect_ratio": "9:21"},
        ),
        (
            "luma/ray-3.2",
            "/v1/generations",
            {"model": "ray-3.2", "type": "video", "prompt": "x", "video": {"duration": "9s"}},
        ),
        (
            "luma-legacy/ray-2",
            "/dream-machine/v1/generations/video",
            {"model": "ray-2", "prompt": "x", "duration": "10s"},
        ),
    ],
)
def test_emulator_refuses_what_the_catalog_refuses(
    key: str, path: str, body: dict[str, Any], emulator: EmulatorServer
) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}", "X-Runway-Version": "2024-11-06"}
    answer = httpx.post(f"{emulator.url}{path}", json=body, headers=headers)
    assert answer.status_code in (400, 422), answer.text
    spec = CATALOG.models[key]
    fields: dict[str, Any] = {"model": key, "prompt": "x"}
    value = body.get("ratio") or body.get("aspect_ratio")
    duration = body.get("duration") or body.get("video", {}).get("duration")
    if value:
        fields["aspect_ratio"] = value
    if duration:
        fields["duration"] = int(str(duration).removesuffix("s"))
    report = check(VideoRequest(**fields), spec, options_model=get_dialect(spec.dialect).Options)
    refused = not report.ok or bool(get_dialect(spec.dialect).preflight(VideoRequest(**fields), spec, report.images))
    assert refused, (key, fields)
