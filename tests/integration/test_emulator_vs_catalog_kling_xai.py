"""Every value the catalog allows for a Kling (official and relay pass-through) or xAI model is accepted by the
emulator's own reading of the reference, and what the catalog refuses the emulator refuses too: the two were
written independently, so drift shows up here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.kling import SECRET_KEY
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.types import ImageInput, Shot, VideoRequest

CATALOG = load_catalog()
KEYS = sorted(k for k, m in CATALOG.models.items() if m.provider in ("kling", "relay-kling", "xai"))


def requests_for(key: str) -> list[VideoRequest]:
    spec = CATALOG.models[key]
    base: dict[str, Any] = {"model": key, "prompt": "a kite"}
    if "text" not in spec.modes:
        base["images"] = [ImageInput(source="https://e.x/first.png", role=spec.images.default_role)]
    out = [VideoRequest(**base)]
    out += [VideoRequest(**base, duration=d) for d in spec.duration.candidates()]
    for attr in ("aspect_ratio", "resolution"):
        out += [VideoRequest(**base, **{attr: v}) for v in getattr(spec, attr).values]
    alone = [r for r in spec.images.roles if r.value != "last_frame"] if spec.images.max_count else []
    for role in alone:  # each role alone (xAI: a first frame and reference images exclude each other)
        out.append(VideoRequest(model=key, prompt="a kite", images=[ImageInput(source="https://e.x/a.png", role=role)]))
    if spec.images.max_count > 1 and "reference" not in spec.images.roles:  # first + last frame together
        images = [ImageInput(source=f"https://e.x/{r.value}.png", role=r) for r in spec.images.roles]
        out.append(VideoRequest(model=key, prompt="a kite", images=images))
    for name, value in (("mode", "pro"), ("sound", "on"), ("cfg_scale", 0.5), ("watermark", True), ("seed", 7)):
        if name in spec.options:
            out.append(VideoRequest(**base, options={name: value}))
    if spec.storyboard:
        out.append(
            VideoRequest(model=key, prompt="", shots=[Shot(duration=4, scene="a"), Shot(duration=11, scene="b")])
        )
    return out


def connection(key: str, emulator: EmulatorServer) -> Connection:
    provider = CATALOG.providers[CATALOG.models[key].provider]
    return Connection(provider, emulator.url, emulator.api_key, {"secret_key": SECRET_KEY})


@pytest.mark.parametrize("key", KEYS)
def test_emulator_accepts_everything_the_catalog_allows(key: str, emulator: EmulatorServer) -> None:
    spec = CATALOG.models[key]
    dialect = get_dialect(spec.dialect)
    for i, request in enumerate(requests_for(key)):
        report = check(request, spec, options_model=dialect.Options)
        assert report.ok and not dialect.preflight(request, spec, report.images), [p.explain() for p in report.problems]
        prepared = Prepared(request, spec, report.images, assign_roles(report.images, spec), f"k-{key}-{i}")
        sent = next(dialect.submit(prepared, connection(key, emulator)))  # type: ignore[arg-type]
        with httpx.Client() as http:
            answer = http.send(sent)
        assert answer.status_code == 200, (key, sent.content, answer.text)


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [
        ("kling/kling-v2-6", "duration", "7"),
        ("kling/kling-v3", "duration", "16"),
        ("kling/kling-v2-6", "sound", "maybe"),
        ("kling/kling-v2-5-turbo", "cfg_scale", 0.5),
        ("kling/kling-v2-6", "aspect_ratio", "4:3"),
    ],
)
def test_emulator_refuses_what_the_catalog_refuses(key: str, field: str, value: Any, emulator: EmulatorServer) -> None:
    spec = CATALOG.models[key]
    request = VideoRequest(model=key, prompt="a kite")
    prepared = Prepared(request, spec, [], [], f"bad-{key}-{field}")
    sent = next(get_dialect("kling").submit(prepared, connection(key, emulator)))  # type: ignore[arg-type]
    body = {**json.loads(sent.content), field: value}
    answer = httpx.post(str(sent.url), json=body, headers={"Authorization": sent.headers["authorization"]})
    assert answer.status_code == 400 and answer.json()["code"] == 1201, answer.text
