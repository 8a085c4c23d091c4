"""Every value the catalog allows for a fal app is accepted by the emulator's own reading of the reference
(and every app in the catalog exists there): the two were written independently, so drift shows up here."""

from __future__ import annotations

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.emulator import EmulatorServer
from vidgate.providers import Connection, Prepared
from vidgate.providers.fal import Fal, FalOptions
from vidgate.types import ImageInput, ImageRole, VideoRequest

CATALOG = load_catalog()
FAL = sorted(k for k, m in CATALOG.models.items() if m.provider == "fal")


def requests_for(key: str) -> list[VideoRequest]:
    spec = CATALOG.models[key]
    roles = spec.images.roles[: max(spec.images.min_count, 1)] if spec.images.max_count else []
    images = [ImageInput(source=f"https://e.x/{r.value}.png", role=r) for r in roles]
    out = [VideoRequest(model=key, prompt="a kite", images=images)]
    for d in spec.duration.values:
        out.append(VideoRequest(model=key, prompt="a kite", images=images, duration=d))
    for attr in ("aspect_ratio", "resolution"):
        for v in getattr(spec, attr).values:
            out.append(VideoRequest(model=key, prompt="a kite", images=images, **{attr: v}))
    if spec.images.max_count > 1:
        every = [ImageInput(source=f"https://e.x/{r.value}.png", role=r) for r in spec.images.roles]
        out.append(VideoRequest(model=key, prompt="a kite", images=every))
    return out


@pytest.mark.parametrize("key", FAL)
def test_emulator_accepts_everything_the_catalog_allows(key: str, emulator: EmulatorServer) -> None:
    spec = CATALOG.models[key]
    conn = Connection(provider=CATALOG.providers["fal"], base_url=emulator.url, api_key=emulator.api_key)
    for request in requests_for(key):
        report = check(request, spec, options_model=FalOptions)
        assert report.ok, [p.explain() for p in report.problems]
        prepared = Prepared(request, spec, report.images, assign_roles(report.images, spec), "k")
        sent = next(Fal().submit(prepared, conn))
        with httpx.Client() as http:
            answer = http.send(sent)
        assert answer.status_code == 200, (key, sent.content, answer.text)


def test_roles_cover_first_frame() -> None:
    for key in FAL:
        spec = CATALOG.models[key]
        assert not spec.images.max_count or ImageRole.first_frame in spec.images.roles, key
