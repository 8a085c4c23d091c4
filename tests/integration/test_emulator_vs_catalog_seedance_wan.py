"""Seedance (Ark, BytePlus) and Wan (DashScope): every value the catalog allows is accepted by the emulator's own
reading of the reference, and the first value past each catalog limit is refused by it. The two were written
independently (the emulator imports nothing of the catalog), so drift in either shows up here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import ModelSpec, check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.emulator import EmulatorServer
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.types import ImageInput, ImageRole, VideoRequest

CATALOG = load_catalog()
KEYS = sorted(k for k, m in CATALOG.models.items() if m.provider in ("ark", "byteplus", "dashscope"))


def _images(spec: ModelSpec, roles: list[ImageRole]) -> list[ImageInput]:
    return [ImageInput(source=f"https://e.x/{i}-{r.value}.png", role=r) for i, r in enumerate(roles)]


def requests_for(spec: ModelSpec) -> list[dict[str, Any]]:
    base_roles = [ImageRole.first_frame] * max(spec.images.min_count, 0)
    if spec.modes == ["first_last"]:
        base_roles = [ImageRole.first_frame, ImageRole.last_frame]
    base: dict[str, Any] = {"model": spec.key, "prompt": "a kite", "images": _images(spec, base_roles)}
    out = [base]
    d = spec.duration
    for value in sorted({v for v in (*d.values, d.min, d.max) if v is not None}):
        out.append({**base, "duration": value})
    for attr in ("aspect_ratio", "resolution", "size"):
        out += [{**base, attr: v} for v in getattr(spec, attr).values]
    roles = spec.images.roles
    if ImageRole.last_frame in roles:
        out.append({**base, "images": _images(spec, [ImageRole.first_frame, ImageRole.last_frame])})
    if ImageRole.reference in roles:
        refs = _images(spec, [ImageRole.reference] * spec.images.max_count)
        options = {}
        if spec.video_inputs.max_count:
            options["reference_videos"] = [f"https://e.x/{i}.mp4" for i in range(spec.video_inputs.max_count)]
        if spec.audio_inputs.max_count:
            options["reference_audios"] = [f"https://e.x/{i}.wav" for i in range(spec.audio_inputs.max_count)]
        out.append({**base, "images": refs, "options": options})
    return out


def send(spec: ModelSpec, emulator: EmulatorServer, fields: dict[str, Any]) -> httpx.Response:
    dialect = get_dialect(spec.dialect)
    request = VideoRequest(**fields)
    report = check(request, spec, options_model=dialect.Options)
    assert report.ok, [p.explain() for p in report.problems]
    assert not dialect.preflight(request, spec, report.images)
    prepared = Prepared(request, spec, report.images, assign_roles(report.images, spec), "k")
    conn = Connection(provider=CATALOG.providers[spec.provider], base_url=emulator.url, api_key=emulator.api_key)
    sent = next(dialect.submit(prepared, conn))
    assert isinstance(sent, httpx.Request)
    with httpx.Client(timeout=30) as http:
        return http.send(sent)


@pytest.mark.parametrize("key", KEYS)
def test_emulator_accepts_everything_the_catalog_allows(key: str, emulator: EmulatorServer) -> None:
    spec = CATALOG.models[key]
    for fields in requests_for(spec):
        answer = send(spec, emulator, fields)
        assert answer.status_code == 200, (key, fields, answer.text)


@pytest.mark.parametrize("key", KEYS)
def test_emulator_refuses_one_step_past_the_catalog(key: str, emulator: EmulatorServer) -> None:
    spec = CATALOG.models[key]
    d = spec.duration
    if d.field is None:
        pytest.skip("a fixed length: no duration field to step past")
    top = int(max(d.values) if d.values else d.max or 0)
    low = int(min(d.values) if d.values else d.min or 1)
    sent = send(spec, emulator, requests_for(spec)[0])
    body = json.loads(sent.request.content)
    target = body.get("parameters", body)
    leaf = d.field.rsplit(".", 1)[-1]
    for value in (top + 1, low - 1):
        target[leaf] = value
        answer = httpx.post(str(sent.request.url), json=body, headers=_headers(sent.request), timeout=30)
        if value == -1 and spec.model == "wan3.0-video":  # -1 = smart duration: documented, not offered by vidgate
            assert answer.status_code == 200
            continue
        assert answer.status_code == 400, (key, value, answer.text)


def _headers(request: httpx.Request) -> dict[str, str]:
    """The sent request's headers without its body framing (the body is sent again, changed)."""
    return {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")}
