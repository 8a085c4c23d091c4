"""``vidgate catalog chat-models``: the chat models the assists (plan, frame, review) can use, as catalog data."""

from __future__ import annotations

import json
import sys

from rich.table import Table

from vidgate.catalog.chat_models import load_chat_catalog
from vidgate.cli._common import JsonOpt, out


def chat_models(as_json: JsonOpt = False) -> None:
    """List the chat models with what each can take and give (image and video input, JSON answers, images).

    A fact marked * rests on a source the relay's own docs do not spell out (see the entry's notes).
    """
    models = list(load_chat_catalog().models.values())
    if as_json:
        sys.stdout.write(json.dumps([m.model_dump(mode="json") for m in models], ensure_ascii=False) + "\n")
        return
    table = Table(show_lines=False)
    table.add_column("chat model", no_wrap=True)
    for column in ("protocol", "images in", "video in", "JSON answers", "images out", "used for"):
        table.add_column(column)
    for m in models:

        def mark(fact: str, value: str, spec: object = m) -> str:
            return value + ("*" if fact in getattr(spec, "unconfirmed", []) else "")

        video = "yes (" + ", ".join(m.video_transports) + ")" if m.video_input else "no"
        uses = [u for u, ok in (("plan", m.structured_output), ("frame", m.image_output),
                                ("review", m.video_input and m.structured_output)) if ok]  # fmt: skip
        table.add_row(
            m.key,
            m.protocol,
            "yes" if m.vision else "no",
            mark("video_transports", video),
            mark("structured_output", "yes" if m.structured_output else "no"),
            "yes" if m.image_output else "no",
            ", ".join(uses) or "-",
        )
    out.print(table)
    out.print("* unconfirmed: see the notes in `vidgate catalog chat-models --json`", markup=False)
