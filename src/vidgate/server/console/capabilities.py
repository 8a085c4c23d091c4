"""What the console's generate form may offer for each model, read from the catalog (pure data, no I/O).

The page embeds ``form_capabilities()`` as JSON; ``console.js`` builds the form from it and enables only the
combinations the model takes (durations, aspect ratios, sizes, resolutions, image counts and roles,
characters, typed options, the catalog's ``constraints``). The same data drives the capability table.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel

from vidgate.catalog import Catalog, ModelSpec, is_retired, sunset_warning
from vidgate.catalog.explain import answers_json, human_bytes
from vidgate.catalog.schema import ChoiceSpec
from vidgate.providers import DIALECTS
from vidgate.providers.wire_facts import parameter_lines

_MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "heic": "image/heic",
    "heif": "image/heif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
}
# Constraint fields the form can drive (the rest are options, by name).
FORM_FIELDS = ("duration", "aspect_ratio", "resolution", "size", "hd", "image_count", "has_images",
               "has_reference_images", "has_last_frame")  # fmt: skip


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _choice(choice: ChoiceSpec) -> dict[str, Any] | None:
    if not choice.supported:
        return None
    return {"field": choice.field, "values": list(choice.values), "default": choice.default, "note": choice.note}


def _duration(spec: ModelSpec) -> dict[str, Any]:
    d = spec.duration
    values = [_num(v) for v in d.candidates()]
    return {
        "field": d.field,
        "values": values,
        "default": _num(d.default) if d.default is not None else None,
        "fixed": d.field is None,
        "describe": d.describe(),
        "note": d.note,
    }


def _images(spec: ModelSpec) -> dict[str, Any] | None:
    i = spec.images
    if not i.supported:
        return None
    return {
        "min": i.min_count,
        "max": i.max_count,
        "roles": [r.value for r in i.roles] or [i.default_role.value],
        "default_role": i.default_role.value,
        "formats": list(i.formats),
        "accept": ",".join(_MIME[f] for f in i.formats if f in _MIME),
        "max_bytes": i.max_bytes,
        "max_bytes_text": human_bytes(i.max_bytes) if i.max_bytes else None,
        "note": i.note,
    }


def option_fields(spec: ModelSpec, options_model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """One form field per option the model takes: bool, enum, integer, number or string (others: API only)."""
    if options_model is None:
        return []
    props = options_model.model_json_schema().get("properties", {})
    out: list[dict[str, Any]] = []
    for name in spec.options:
        schema = props.get(name)
        if schema is None:
            continue
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        if len(branches) != 1:
            continue
        b = branches[0]
        field: dict[str, Any] = {"name": name, "description": schema.get("description", "")}
        if "enum" in b:
            field.update(type="enum", choices=list(b["enum"]))
        elif b.get("type") == "boolean":
            field.update(type="bool")
        elif b.get("type") in ("integer", "number"):
            field.update(type=b["type"], min=b.get("minimum"), max=b.get("maximum"))
        elif b.get("type") == "string":
            field.update(type="string", min_length=b.get("minLength"), max_length=b.get("maxLength"))
        else:
            continue  # lists and objects (input videos, metadata) are for the API, not a form
        default = schema.get("default")
        if default is not None:
            field["default"] = default
        out.append(field)
    return out


def model_capabilities(spec: ModelSpec, catalog: Catalog, today: date | None = None) -> dict[str, Any]:
    dialect = DIALECTS.get(spec.dialect)
    options_model = dialect.Options if dialect else None
    return {
        "id": spec.key,
        "model": spec.model,
        "provider": spec.provider,
        "provider_title": catalog.providers[spec.provider].title,
        "family": spec.family,
        "summary": spec.summary,
        "modes": list(spec.modes),
        "duration": _duration(spec),
        "aspect_ratio": _choice(spec.aspect_ratio),
        "resolution": _choice(spec.resolution),
        "size": _choice(spec.size),
        "hd": (
            {"ignored_at": [_num(d) for d in spec.hd.ignored_at_durations], "note": spec.hd.note}
            if spec.hd.supported
            else None
        ),
        "images": _images(spec),
        "characters": spec.characters.supported,
        "storyboard": spec.storyboard,
        "prompt": {
            "max_chars": spec.prompt.max_chars,
            "max_tokens": spec.prompt.max_tokens,
            "required": spec.prompt.required,
            "rules": list(spec.prompt.rules),
        },
        "options": option_fields(spec, options_model),
        "constraints": [c.model_dump(mode="json") for c in spec.constraints],
        "audio": spec.audio,
        "price_per_second_usd": spec.price_per_second_usd,
        "typical_latency_s": _num(spec.typical_latency_s),
        "warning": sunset_warning(spec, today),
        "retired": is_retired(spec, today),
    }


def form_capabilities(catalog: Catalog, models: list[str] | None = None, today: date | None = None) -> dict[str, Any]:
    """Every model the form offers (retired ones left out), in catalog order; ``models`` narrows the list."""
    specs = [catalog.resolve(m) for m in models] if models is not None else list(catalog.models.values())
    return {
        "models": [model_capabilities(s, catalog, today) for s in specs if not is_retired(s, today)],
    }


def table_rows(catalog: Catalog, models: list[str] | None = None, today: date | None = None) -> list[dict[str, Any]]:
    """The capability table: one row per model, with the five answers (``catalog/explain.py``) for details."""
    specs = [catalog.resolve(m) for m in models] if models is not None else list(catalog.models.values())
    rows = []
    for s in specs:
        dialect = DIALECTS.get(s.dialect)
        caps = model_capabilities(s, catalog, today)
        answers = answers_json(
            s, dialect.Options if dialect else None, parameter_lines(s, catalog.providers.get(s.provider))
        )
        rows.append({"caps": caps, "answers": answers})
    return rows


def script_json(data: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
