from datetime import date

import pytest

from vidgate.catalog import load_catalog, sunset_warning
from vidgate.errors import UnknownModelError


def test_every_model_has_sources_and_a_known_dialect() -> None:
    from vidgate.providers import DIALECTS

    catalog = load_catalog()
    assert catalog.models
    for spec in catalog.models.values():
        assert spec.sources, spec.key
        assert all(s.startswith("https://") for s in spec.sources), spec.key
        assert spec.dialect in DIALECTS, spec.key
        assert spec.key == f"{spec.provider}/{spec.model}"


def test_relay_sora_durations_are_strings_and_25_is_pro_only() -> None:
    catalog = load_catalog()
    base, pro = catalog.resolve("relay/sora-2"), catalog.resolve("relay/sora-2-pro")
    # seed-relay-api.md: model enum "sora-2-pro ('supports hd, 15s')", duration "25 only for sora-2-pro":
    # 15 s and 25 s are sora-2-pro features on /v2, sora-2 makes 10 s.
    assert base.duration.candidates() == [10]
    assert pro.duration.candidates() == [10, 15, 25]
    assert base.duration.encode(10) == "10" and pro.duration.encode(25) == "25"
    assert not base.hd.supported and pro.hd.supported
    assert pro.hd.ignored_at_durations == [25]
    assert base.aspect_ratio.values == ["16:9", "9:16"]
    assert set(base.images.transports) == {"url", "base64"}


@pytest.mark.parametrize(
    ("model", "max_images", "aspect"),
    [
        ("veo3", 0, True),
        ("veo3-pro-frames", 1, True),
        ("veo3-fast-frames", 2, True),
        ("veo2-fast-frames", 2, False),
        ("veo2-fast-components", 3, False),
        ("veo3.1-components", 3, True),
        ("veo3.1", 1, True),
        ("veo2", 0, False),
    ],
)
def test_relay_veo_image_limits_and_aspect_ratio_only_for_veo3(model: str, max_images: int, aspect: bool) -> None:
    spec = load_catalog().resolve(f"relay/{model}")
    assert spec.images.max_count == max_images
    assert spec.aspect_ratio.supported is aspect
    assert {"enhance_prompt", "enable_upsample"} <= set(spec.options)
    assert spec.duration.field is None and spec.duration.default == 8


def test_bare_names_resolve_and_typos_get_suggestions() -> None:
    catalog = load_catalog()
    assert catalog.resolve("sora-2").key == "relay/sora-2"
    with pytest.raises(UnknownModelError) as info:
        catalog.resolve("sora2")
    assert "sora-2" in info.value.suggestions
    assert "Did you mean 'sora-2'" in str(info.value)


def test_sunset_warnings_past_and_near() -> None:
    spec = load_catalog().resolve("relay/sora-2")
    assert spec.sunset is not None and spec.sunset.date == date(2026, 9, 24)
    assert sunset_warning(spec, today=date(2026, 1, 1)) is None
    near = sunset_warning(spec, today=date(2026, 9, 10))
    assert near is not None and "14 days" in near
    past = sunset_warning(spec, today=date(2026, 11, 26))
    assert past is not None and "2026-09-24" in past


def test_third_party_facts_are_marked_unconfirmed_and_shown_so() -> None:
    """google-2026.md §2: Omni 1.1's limits are [3P] ("Google confirms only the preview's 3-10 s")."""
    import json

    from typer.testing import CliRunner

    from vidgate.cli import app

    spec = load_catalog().resolve("gemini/gemini-omni-1.1-flash")
    assert spec.is_unconfirmed("duration") and spec.is_unconfirmed("images") and not spec.is_unconfirmed("model")
    runner = CliRunner()
    table = runner.invoke(app, ["models", "-p", "gemini"], env={"COLUMNS": "400"})
    assert table.exit_code == 0 and "(unconfirmed)" in table.stdout
    one = runner.invoke(app, ["models", "-m", "gemini/gemini-omni-1.1-flash"], env={"COLUMNS": "200"})
    assert "Unconfirmed (third-party or unverified sources only)" in one.stdout
    data = json.loads(runner.invoke(app, ["models", "-m", "gemini/gemini-omni-1.1-flash", "--json"]).stdout)
    assert "duration" in data["unconfirmed"]


def test_aggregator_ids_with_slashes_resolve_bare_or_with_their_provider() -> None:
    catalog = load_catalog()
    key = "replicate/kwaivgi/kling-v2.1-master"
    assert catalog.resolve("kwaivgi/kling-v2.1-master").key == key  # a bare owner/name wire id
    assert catalog.resolve("kwaivgi/kling-v2.1-master", provider="replicate").key == key
    assert catalog.resolve(key).key == key
    assert catalog.resolve("fal-ai/veo3.1", provider="fal").key == "fal/fal-ai/veo3.1"
    with pytest.raises(UnknownModelError):
        catalog.resolve("replicate/kwaivgi/no-such-model")
