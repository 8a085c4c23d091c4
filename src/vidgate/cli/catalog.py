"""``vidgate catalog``: the user catalog overlay (``$VIDGATE_HOME/catalog/*.toml``).

``vidgate catalog sync <provider>`` reads a provider's model list that publishes capabilities (OpenRouter's
``GET /api/v1/videos/models``) and writes them as ``$VIDGATE_HOME/catalog/<provider>.toml``: the same schema
as the packaged catalog, with the source URL and the date, so validation, ``fit``, the console form and the
docs cover models nobody typed in. ``vidgate catalog path`` shows where overlays are read from.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer

from vidgate.catalog import load_catalog
from vidgate.catalog.loader import overlay_dir
from vidgate.catalog.overlay import (
    check_overlay,
    dumps_toml,
    packaged_templates,
    video_models_overlay,
    write_overlay,
)
from vidgate.cli._common import out, reported, run_async
from vidgate.client import AsyncClient
from vidgate.errors import ConfigurationError
from vidgate.providers.remote_models import Discovery

catalog_app = typer.Typer(help="The user catalog overlay: sync models from a provider, show where it lives.",
                          no_args_is_help=True)  # fmt: skip


@catalog_app.command("sync")
def sync(
    provider: Annotated[str, typer.Argument(help="Provider whose model list to read, e.g. openrouter")],
    base_url: Annotated[str | None, typer.Option(help="Provider base URL (default from env)")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (default from env)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the TOML instead of writing it")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout")] = False,
) -> None:
    """Write the provider's models and their capabilities to $VIDGATE_HOME/catalog/<provider>.toml."""

    async def ask() -> Discovery:
        async with AsyncClient(base_url=base_url, api_key=api_key) as client:
            return await client.remote_models(provider)

    with reported(as_json):
        catalog = load_catalog()
        spec = catalog.providers.get(provider)
        if spec is None or not spec.models_path:
            raise ConfigurationError(
                f"Provider {provider!r} publishes no model list vidgate can sync; providers with one: "
                + ", ".join(sorted(p.name for p in catalog.providers.values() if p.models_path))
            )
        found = run_async(ask())
        caps = found.capabilities()
        remote = [{"id": m.id, **(m.model_extra or {})} for m in found.remote if m.id in caps]
        if not remote:
            raise ConfigurationError(
                f"{provider}'s model list at {found.base_url} carries no capability fields (supported_durations, "
                "...): nothing to sync. `vidgate models --remote` compares it with the catalog instead."
            )
        own = catalog.by_provider(provider)
        dialect = own[0].dialect if own else provider
        template = f"{provider}-common" if f"{provider}-common" in packaged_templates() else None
        source = f"{found.base_url.rstrip('/')}/{spec.models_path.lstrip('/')}"
        doc = video_models_overlay(provider, dialect, remote, source=source, synced=date.today(), template=template)
        check_overlay(doc, catalog, f"{provider}.toml")
        header = (
            f"vidgate catalog overlay: {provider} models discovered from {source} on {date.today().isoformat()}.\n"
            "Written by `vidgate catalog sync`; re-run it to refresh. Same schema as the packaged catalog."
        )
        text = dumps_toml(doc, header)
        if dry_run:
            sys.stdout.write(text)
            return
        path = write_overlay(provider, text)
    known = {m.model for m in own}
    new = sorted(m["id"] for m in remote if m["id"] not in known)
    if as_json:
        summary = {"path": str(path), "source": source, "models": len(remote), "new": new}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    out.print(
        f"Wrote {len(remote)} {provider} models to {path} ({len(new)} new to the packaged catalog).", markup=False
    )
    for model_id in new:
        out.print(f"  new: {provider}/{model_id}", markup=False)


@catalog_app.command("path")
def path() -> None:
    """Print the directory user catalog overlays are read from ($VIDGATE_HOME/catalog)."""
    out.print(str(overlay_dir()))
