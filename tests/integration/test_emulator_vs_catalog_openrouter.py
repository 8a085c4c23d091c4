"""OpenRouter: the emulator's model list (its own reading, served at GET /api/v1/videos/models) against the
packaged catalog, fact by fact, for every model both know. The packaged values are marked unconfirmed; a
disagreement here means one of the two readings changed."""

from __future__ import annotations

import pytest

from vidgate.catalog import ModelSpec, load_catalog
from vidgate.emulator.dialects.openrouter import MODELS

PACKAGED = [s for s in load_catalog().by_provider("openrouter") if s.model in MODELS]


def test_every_packaged_model_is_emulated() -> None:
    assert len(PACKAGED) == len(load_catalog().by_provider("openrouter"))


@pytest.mark.parametrize("spec", PACKAGED, ids=lambda s: s.key)
def test_facts_agree(spec: ModelSpec) -> None:
    emu = MODELS[spec.model]
    assert [int(d) for d in spec.duration.candidates()] == list(emu.durations)
    assert spec.resolution.values == list(emu.resolutions)
    assert spec.aspect_ratio.values == list(emu.aspect_ratios)
    assert [r.value for r in spec.images.roles] == list(emu.frames)
    assert spec.audio is emu.audio
    assert "duration" in spec.unconfirmed  # not from a per-model official source
