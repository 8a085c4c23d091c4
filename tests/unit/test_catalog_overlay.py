"""User catalog overlays: every *.toml in $VIDGATE_HOME/catalog/ loads after the packaged data, same schema;
a bad file is named with its field; ``catalog sync``'s document writer round-trips through tomllib."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.loader import CatalogOverlayError, overlay_dir
from vidgate.catalog.overlay import dumps_toml, prices_from_skus, video_models_overlay
from vidgate.errors import ConfigurationError
from vidgate.server.submit import Pricing
from vidgate.types import VideoRequest

RELAY = """
[providers.my-relay]
title = "My relay (OpenAI-format videos)"
base_url = "https://relay.example"
base_url_env = "MY_RELAY_BASE_URL"
api_key_env = "MY_RELAY_API_KEY"

[[models]]
key = "my-relay/sora-2"
provider = "my-relay"
dialect = "openai-videos"
model = "sora-2"
modes = ["text"]
sources = ["https://relay.example/docs"]
duration = { field = "seconds", wire_type = "string", values = [4, 8, 12], default = 4 }
size = { field = "size", values = ["1280x720", "720x1280"] }
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIDGATE_HOME", str(tmp_path))
    (tmp_path / "catalog").mkdir()
    return tmp_path / "catalog"


def test_overlay_dir_follows_vidgate_home(tmp_path: Path) -> None:
    assert overlay_dir({"VIDGATE_HOME": str(tmp_path)}) == tmp_path / "catalog"
    assert overlay_dir({}) == Path.home() / ".vidgate" / "catalog"


def test_dropping_a_file_adds_a_relay_and_a_model(home: Path) -> None:
    before = len(load_catalog().models)
    (home / "my-relay.toml").write_text(RELAY)
    catalog = load_catalog()  # re-read because the directory changed
    assert len(catalog.models) == before + 1 and "my-relay" in catalog.providers
    spec = catalog.resolve("my-relay/sora-2")
    assert check(VideoRequest(prompt="x", model=spec.key, duration=8), spec).ok
    assert not check(VideoRequest(prompt="x", model=spec.key, duration=5), spec).ok
    (home / "my-relay.toml").unlink()
    assert "my-relay" not in load_catalog().providers


def test_an_overlay_model_replaces_the_packaged_one(home: Path) -> None:
    (home / "veo.toml").write_text(
        '[[models]]\nextends = "openrouter-veo"\nkey = "openrouter/google/veo-3.1"\nmodel = "google/veo-3.1"\n'
        "duration = { values = [8] }\n"
    )
    spec = load_catalog().resolve("openrouter/google/veo-3.1")
    assert spec.duration.values == [8] and spec.dialect == "openrouter"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[[models]]\nkey = 'a/b'\nprovider = 'openrouter'\ndialect = 'openrouter'\nmodel = 'b'\n", "field sources"),
        ('[[models]]\nextends = "openrouter-common"\nkey = "openrouter/x"\nmodel = "x"\nduration = { values = "5" }\n',
         "field duration.values"),
        ('[[models]]\nextends = "openrouter-common"\nkey = "nope/x"\nmodel = "x"\nprovider = "nope"\n',
         "field provider"),
        ("[providers.bad]\ntitle = 'x'\n", "providers.bad"),
        ('[[models]]\nextends = "openrouter-common"\nkey = "openrouter/y"\nmodel = "y"\ndialect = "openai_videos"\n',
         "field dialect: 'openai_videos' is not a wire protocol"),
        ("[[models]\n", "not valid TOML"),
        ("[junk]\na = 1\n", "unknown top-level table"),
    ],
)  # fmt: skip
def test_a_bad_overlay_names_the_file_and_the_field(home: Path, text: str, named: str) -> None:
    (home / "broken.toml").write_text(text)
    with pytest.raises(CatalogOverlayError) as info:
        load_catalog()
    assert "broken.toml" in str(info.value) and named in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_synced_document_round_trips_and_loads(home: Path) -> None:
    remote = [{
        "id": "acme/new-video", "name": "Acme: New Video", "supported_durations": [3, 6],
        "supported_resolutions": ["720p"], "supported_aspect_ratios": ["16:9", "1:1"], "supported_sizes": None,
        "supported_frame_images": ["first_frame"], "generate_audio": None, "seed": True,
        "allowed_passthrough_parameters": ["style"], "pricing_skus": {"per-video-second": "0.07"},
    }]  # fmt: skip
    doc = video_models_overlay("openrouter", "openrouter", remote, source="https://openrouter.ai/api/v1/videos/models",
                               synced=date(2026, 12, 4), template="openrouter-common")  # fmt: skip
    text = dumps_toml(doc, "header line")
    assert tomllib.loads(text) == doc
    (home / "openrouter.toml").write_text(text)
    spec = load_catalog().resolve("openrouter/acme/new-video")
    assert spec.duration.values == [3, 6] and spec.resolution.values == ["720p"] and not spec.size.supported
    assert spec.modes == ["text", "image"] and spec.options == ["seed", "provider_options", "callback_url"]
    assert spec.price_per_second_usd == 0.07 and spec.sources == ["https://openrouter.ai/api/v1/videos/models"]
    assert any("2026-12-04" in n for n in spec.notes) and spec.results.download_auth  # template kept


def test_pricing_skus_become_per_resolution_and_per_video_prices(home: Path) -> None:
    """OpenRouter's SKUs in USD: per second (flat or by resolution) and per video; other units are left out."""
    assert prices_from_skus(
        {
            "per-video-second": "0.5",
            "per-video-second-1080p": "0.75",
            "per-video": "0.28",
            "per-1k-tokens": "0.01",
            "per-video-second-4k": "n/a",
        }
    ) == {
        "price_per_second_usd": 0.5,
        "price_per_video_usd": 0.28,
        "price_per_second_by_resolution_usd": {"1080p": 0.75},
    }
    remote = [{"id": "acme/tiered", "supported_durations": [4, 8], "supported_resolutions": ["720p", "1080p"],
               "pricing_skus": {"per-video-second-720p": "0.10", "per-video-second-1080p": "0.30"}},
              {"id": "acme/flat", "supported_durations": [5], "pricing_skus": {"per-video": "0.28"}}]  # fmt: skip
    doc = video_models_overlay("openrouter", "openrouter", remote, source="https://openrouter.ai/api/v1/videos/models",
                               synced=date(2026, 12, 4), template="openrouter-common")  # fmt: skip
    (home / "openrouter.toml").write_text(dumps_toml(doc, "header line"))
    catalog = load_catalog()
    tiered, flat = catalog.resolve("openrouter/acme/tiered"), catalog.resolve("openrouter/acme/flat")
    pricing = Pricing({})
    ask = VideoRequest(model="openrouter/acme/tiered", prompt="x", duration=8)
    assert pricing.estimate(ask.model_copy(update={"resolution": "1080p"}), tiered) == pytest.approx(2.4)
    assert pricing.estimate(ask.model_copy(update={"resolution": "720p"}), tiered) == pytest.approx(0.8)
    assert pricing.estimate(ask, tiered) == pytest.approx(2.4)  # unnamed resolution: the dearest, never less
    assert pricing.estimate(VideoRequest(model="openrouter/acme/flat", prompt="x"), flat) == pytest.approx(0.28)
    assert Pricing({"openrouter/acme/flat": 0.1}).estimate(VideoRequest(model="x", prompt="x", duration=5), flat) == (
        pytest.approx(0.5)  # the operator's [prices] entry wins
    )


def test_packaged_per_resolution_prices_are_used_for_budgets() -> None:
    """xAI bills $0.05/s at 480p and $0.07/s at 720p: an 8 s 720p request reserves $0.56, not the 480p $0.40."""
    spec = load_catalog().resolve("xai/grok-imagine-video")
    ask = VideoRequest(model="xai/grok-imagine-video", prompt="x", duration=8)
    assert Pricing({}).estimate(ask.model_copy(update={"resolution": "720p"}), spec) == pytest.approx(0.56)
    assert Pricing({}).estimate(ask.model_copy(update={"resolution": "480p"}), spec) == pytest.approx(0.40)
