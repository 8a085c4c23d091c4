"""``vidgate models --remote``: what the configured account can really use (``GET /v1/models``)."""

from __future__ import annotations

import json
import sys

from rich.table import Table

from vidgate.cli._common import out, reported, run_async
from vidgate.client import AsyncClient
from vidgate.providers.remote_models import Discovery


def remote_models(
    provider: str | None, *, as_json: bool, show_all: bool, base_url: str | None, api_key: str | None
) -> None:
    async def ask() -> Discovery:
        async with AsyncClient(base_url=base_url, api_key=api_key) as client:
            return await client.remote_models(provider)

    with reported(as_json):
        found = run_async(ask())
    if as_json:
        sys.stdout.write(json.dumps(found.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    print_discovery(found, show_all)


def print_discovery(found: Discovery, show_all: bool) -> None:
    usable = sum(m.available for m in found.models)
    out.print(
        f"[bold]{found.provider}[/] at {found.base_url}: the account lists {found.remote_count} models; "
        f"{usable} of {len(found.models)} catalog models ({', '.join(found.compared)}) are available.",
    )
    if found.models:  # (a heading over no rows reads as if something failed to print)
        table = Table(title="catalog models on this account")
        for col in ("model", "available", "not listed"):
            table.add_column(col, overflow="fold")
        for m in found.models:
            state = "yes" if m.complete else ("partly" if m.available else "no")
            missing = [w for w, ok in m.wire.items() if not ok]
            table.add_row(m.key, state, ", ".join(missing) if len(m.wire) > 1 or not m.available else "")
        out.print(table)
    unknown = [u for u in found.unknown if show_all or u.likely_video]
    hidden = len(found.unknown) - len(unknown)
    if unknown:
        table = Table(title="remote models vidgate does not know yet" + ("" if show_all else " (video-like)"))
        for col in ("id", "owned by", "video?", "known elsewhere as"):
            table.add_column(col, overflow="fold")
        for u in unknown:
            table.add_row(u.id, u.owned_by or "-", "likely" if u.likely_video else "-", ", ".join(u.known_as) or "-")
        out.print(table)
    else:
        out.print("No video-like remote model is unknown to vidgate.")
    if hidden:
        out.print(f"{hidden} other remote models (chat, image, ...) are not shown: --all lists them.")
    print_capabilities(found)


def print_capabilities(found: Discovery) -> None:
    """The capabilities a model list publishes (e.g. supported_durations), when it does."""
    names = ("supported_durations", "supported_resolutions", "supported_aspect_ratios", "supported_frame_images",
             "generate_audio", "seed")  # fmt: skip
    rows = [
        (model_id, *(_cell(c.get(name)) for name in names))
        for model_id, c in sorted(found.capabilities().items())
        if any(c.get(name) is not None for name in names)  # (only prices, say: nothing for these columns)
    ]
    if not rows:  # no heading over an empty table
        return
    table = Table(title="capabilities the provider publishes (vidgate catalog sync writes them to the catalog)")
    for col in ("id", "durations", "resolutions", "aspect ratios", "frames", "audio", "seed"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
