"""``vidgate models``: the capability catalog as a table or JSON."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from vidgate.catalog import ModelSpec, load_catalog, sunset_warning
from vidgate.cli._common import out


def model_summary(spec: ModelSpec) -> dict[str, Any]:
    d = spec.duration
    return {
        "key": spec.key,
        "provider": spec.provider,
        "model": spec.model,
        "dialect": spec.dialect,
        "duration": {
            "field": d.field,
            "wire_type": d.wire_type,
            "allowed": d.describe(),
            "values": d.candidates(),
            "default": d.default,
        },
        "aspect_ratio": {"field": spec.aspect_ratio.field, "values": spec.aspect_ratio.values},
        "resolution": {"field": spec.resolution.field, "values": spec.resolution.values},
        "size": {"field": spec.size.field, "values": spec.size.values},
        "hd": spec.hd.supported,
        "images": {
            "max_count": spec.images.max_count,
            "min_count": spec.images.min_count,
            "transports": spec.images.transports,
            "roles": [r.value for r in spec.images.roles],
            "formats": spec.images.formats,
            "max_bytes": spec.images.max_bytes,
        },
        "prompt": spec.prompt.model_dump(),
        "storyboard": spec.storyboard,
        "characters": spec.characters.model_dump(),
        "options": spec.options,
        "typical_latency_s": spec.typical_latency_s,
        "sunset": spec.sunset.model_dump(mode="json") if spec.sunset else None,
        "sunset_warning": sunset_warning(spec),
        "summary": spec.summary,
        "sources": spec.sources,
        "notes": spec.notes,
    }


def models(
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Only this provider")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List the models vidgate knows, with how each takes duration, aspect ratio and images."""
    catalog = load_catalog()
    specs = [m for m in catalog.models.values() if provider is None or m.provider == provider]
    if as_json:
        sys.stdout.write(json.dumps([model_summary(s) for s in specs], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(specs)} models", show_lines=False)
    for col in ("model", "duration", "aspect ratio", "hd", "images", "options", "sunset"):
        table.add_column(col, overflow="fold")
    for s in specs:
        d = s.duration
        dur = f"{d.describe()} ({d.field}: {d.wire_type})" if d.field else d.describe()
        images = "none"
        if s.images.supported:
            roles = "/".join(r.value for r in s.images.roles)
            images = f"<= {s.images.max_count} ({roles}; {', '.join(s.images.transports)})"
        sunset = ""
        if s.sunset:
            sunset = f"{s.sunset.kind} {s.sunset.date.isoformat()}"
        table.add_row(
            s.key,
            dur,
            ", ".join(s.aspect_ratio.values) if s.aspect_ratio.supported else "-",
            "yes" if s.hd.supported else "-",
            images,
            ", ".join(s.options) or "-",
            sunset,
        )
    out.print(table)
