"""``vidgate models``: the capability catalog as a table or JSON."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from vidgate.catalog import ModelSpec, load_catalog, sunset_warning
from vidgate.catalog.explain import answers_json, model_sections, provider_lines
from vidgate.cli._common import err, out, reported
from vidgate.providers import DIALECTS
from vidgate.providers.wire_facts import parameter_lines


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
        "unconfirmed": spec.unconfirmed,
        "answers": answers_json(spec, _options(spec), parameter_lines(spec)),
    }


def _flag(spec: ModelSpec, fact: str, cell: str) -> str:
    """The cell, marked when the catalog says the fact rests only on third-party or unverified sources."""
    return f"{cell} (unconfirmed)" if spec.is_unconfirmed(fact) else cell


def _options(spec: ModelSpec) -> Any:
    dialect = DIALECTS.get(spec.dialect)
    return dialect.Options if dialect else None


def _print_model(spec: ModelSpec) -> None:
    provider = load_catalog().provider_of(spec)
    out.print(f"[bold]{spec.key}[/]  (wire id {spec.model}, dialect {spec.dialect}, provider {provider.name})")
    if spec.summary:
        out.print(spec.summary, markup=False)
    for line in provider_lines(provider):
        out.print(f"  {line}", markup=False)
    for section in model_sections(spec, _options(spec), parameter_lines(spec)):
        out.print(f"\n[bold]{section.title}[/]")
        for line in section.lines:
            out.print(f"  - {line}", markup=False)


def models(
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Only this provider")] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="One model (name or provider/model): the five questions answered"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote", help="Ask the configured account (GET /v1/models) which models it can use and which are new"
        ),
    ] = False,
    show_all: Annotated[bool, typer.Option("--all", help="With --remote: also list non-video unknown models")] = False,
    base_url: Annotated[str | None, typer.Option(help="With --remote: provider base URL (default from env)")] = None,
    api_key: Annotated[str | None, typer.Option(help="With --remote: API key (default from env)")] = None,
) -> None:
    """List the models vidgate knows, or answer the five questions for one (--model), or ask the account (--remote)."""
    if remote:
        from vidgate.cli.models_remote import remote_models

        remote_models(provider, as_json=as_json, show_all=show_all, base_url=base_url, api_key=api_key)
        return
    catalog = load_catalog()
    if provider is not None and provider not in catalog.providers:
        err.print(f"Unknown provider {provider!r}. Known: {', '.join(catalog.providers)}.", markup=False)
        raise typer.Exit(2)
    if model is not None:
        with reported(as_json):
            spec = catalog.resolve(model, provider)
        if as_json:
            sys.stdout.write(json.dumps(model_summary(spec), ensure_ascii=False, indent=2) + "\n")
        else:
            _print_model(spec)
        return
    specs = [m for m in catalog.models.values() if provider is None or m.provider == provider]
    if provider is not None and not as_json:
        p = catalog.providers[provider]
        out.print(f"[bold]{p.name}[/]: {p.title}")
        for line in provider_lines(p):
            out.print(f"  {line}", markup=False)
    if as_json:
        sys.stdout.write(json.dumps([model_summary(s) for s in specs], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(specs)} models", show_lines=False)
    for col in ("model", "duration", "aspect ratio", "hd", "images", "options", "sunset", "unconfirmed"):
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
        aspect = ", ".join(s.aspect_ratio.values) if s.aspect_ratio.supported else "-"
        table.add_row(
            s.key,
            _flag(s, "duration", dur),
            _flag(s, "aspect_ratio", aspect),
            "yes" if s.hd.supported else "-",
            _flag(s, "images", images),
            ", ".join(s.options) or "-",
            _flag(s, "sunset", sunset),
            ", ".join(s.unconfirmed) or "-",
        )
    out.print(table)
