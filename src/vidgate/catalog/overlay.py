"""User catalog overlays written from a provider's model list (``vidgate catalog sync <provider>``).

``video_models_overlay`` turns the entries of a models endpoint that publishes capabilities (OpenRouter's
``GET /api/v1/videos/models``: ``supported_durations``, ``supported_resolutions``, ``supported_aspect_ratios``,
``supported_sizes``, ``supported_frame_images``, ``generate_audio``, ``seed``,
``allowed_passthrough_parameters``, ``pricing_skus``) into a catalog document with the same schema as the
packaged data; ``dumps_toml`` writes it; ``write_overlay`` puts it in ``$VIDGATE_HOME/catalog/`` where
``load_catalog`` picks it up. Pure apart from ``write_overlay``; nothing here talks to the network.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from vidgate.catalog.loader import Catalog, _apply_overlay, _packaged_docs, overlay_dir

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
PRICE_PER_SECOND_SKU = "per-video-second"
PRICE_PER_VIDEO_SKU = "per-video"


def _modes(frames: Sequence[str]) -> list[str]:
    modes = ["text"]
    if "first_frame" in frames:
        modes.append("image")
        if "last_frame" in frames:
            modes.append("first_last")
    return modes


def video_model_entry(
    provider: str, dialect: str, remote: Mapping[str, Any], *, source: str, synced: date, template: str | None
) -> dict[str, Any]:
    """One ``[[models]]`` entry from one ``VideoModel``. Fields the list leaves null stay unset (so a
    template's values, or "not supported", apply)."""
    model_id = str(remote["id"])
    entry: dict[str, Any] = {}
    if template:
        entry["extends"] = template
    entry.update({"key": f"{provider}/{model_id}", "provider": provider, "dialect": dialect, "model": model_id})
    name = remote.get("name") or model_id
    entry["summary"] = f"{name} (discovered {synced.isoformat()} from the provider's model list)"
    frames = [f for f in remote.get("supported_frame_images") or [] if f in ("first_frame", "last_frame")]
    entry["modes"] = _modes(frames)
    durations = [int(d) for d in remote.get("supported_durations") or []]
    if durations:
        entry["duration"] = {"field": "duration", "wire_type": "int", "values": durations, "default": durations[0]}
    for key, field in (("supported_resolutions", "resolution"), ("supported_aspect_ratios", "aspect_ratio")):
        values = [str(v) for v in remote.get(key) or []]
        entry[field] = {"field": field, "values": values} if values else {"values": []}  # empty: not supported
    sizes = [str(v) for v in remote.get("supported_sizes") or []]
    entry["size"] = {"field": "size", "values": sizes} if sizes else {"values": []}
    entry["images"] = {
        "field": "frame_images",
        "max_count": len(frames),
        "transports": ["url", "data_uri"],
        "base64_form": "data_uri",
        "roles": frames,
        "default_role": "first_frame",
    }
    if remote.get("generate_audio") is not None:
        entry["audio"] = bool(remote["generate_audio"])
    options = []
    if remote.get("generate_audio"):
        options.append("generate_audio")
    if remote.get("seed"):
        options.append("seed")
    options += ["provider_options", "callback_url"]
    entry["options"] = options
    pricing = remote.get("pricing_skus") or {}
    entry.update(prices_from_skus(pricing))
    entry["sources"] = [source]
    notes = [f"Discovered from GET {source} on {synced.isoformat()} (vidgate catalog sync)."]
    passthrough = remote.get("allowed_passthrough_parameters") or []
    if passthrough:
        notes.append(f"allowed_passthrough_parameters (provider_options): {', '.join(map(str, passthrough))}")
    if pricing:
        notes.append("pricing_skus: " + json.dumps(pricing, sort_keys=True))
    entry["notes"] = notes
    return entry


def video_models_overlay(
    provider: str,
    dialect: str,
    remote: Sequence[Mapping[str, Any]],
    *,
    source: str,
    synced: date,
    template: str | None = None,
) -> dict[str, Any]:
    """The overlay document: ``[overlay]`` (source, date) and one ``[[models]]`` per remote model."""
    models = [
        video_model_entry(provider, dialect, m, source=source, synced=synced, template=template)
        for m in sorted(remote, key=lambda m: str(m["id"]))
    ]
    return {"overlay": {"provider": provider, "source": source, "synced_at": synced.isoformat()}, "models": models}


def check_overlay(doc: dict[str, Any], base: Catalog, name: str) -> None:
    """Raise ``CatalogOverlayError`` naming the field if ``doc`` would not load on top of ``base``."""
    _apply_overlay(name, doc, dict(base.providers), packaged_templates(), dict(base.models))


def packaged_templates() -> dict[str, dict[str, Any]]:
    """The templates of the packaged catalog (overlays may ``extends`` them)."""
    templates: dict[str, dict[str, Any]] = {}
    for d in _packaged_docs():
        templates.update(d.get("templates", {}))
    return templates


# ---------------------------------------------------------------- a small TOML writer for these documents


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        raise ValueError("TOML has no null: leave the key out")
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps_toml(doc: Mapping[str, Any], header: str = "") -> str:
    """TOML for a catalog document: top-level tables and arrays of tables; nested tables inline."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, value in doc.items():
        if isinstance(value, list) and all(isinstance(x, dict) for x in value):
            for item in value:
                lines += ["", f"[[{_key(name)}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items() if v is not None]
        elif isinstance(value, dict):
            lines += ["", f"[{_key(name)}]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        else:
            lines.append(f"{_key(name)} = {_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def write_overlay(name: str, text: str, directory: Path | None = None) -> Path:
    """Write ``<directory>/<name>.toml`` atomically (default directory: ``$VIDGATE_HOME/catalog``)."""
    directory = directory or overlay_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def prices_from_skus(skus: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog's price fields from OpenRouter's ``pricing_skus`` (strings of USD): ``per-video-second``,
    ``per-video-second-<resolution>`` and ``per-video``. SKUs in other units (tokens, images) are kept in the
    entry's notes only: a budget cannot be estimated from them before the job runs."""
    out: dict[str, Any] = {}
    by_resolution: dict[str, float] = {}
    for name, text in skus.items():
        try:
            price = float(text)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(price) or price < 0:
            continue
        if name == PRICE_PER_SECOND_SKU:
            out["price_per_second_usd"] = price
        elif name == PRICE_PER_VIDEO_SKU:
            out["price_per_video_usd"] = price
        elif name.startswith(PRICE_PER_SECOND_SKU + "-"):
            by_resolution[name.removeprefix(PRICE_PER_SECOND_SKU + "-")] = price
    if by_resolution:
        out["price_per_second_by_resolution_usd"] = by_resolution
    return out
