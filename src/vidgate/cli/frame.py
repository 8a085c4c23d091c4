"""``vidgate frame``: a reference image for a video model, made (or edited) by the relay's image model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vidgate.cli._common import JsonOpt, QuietOpt, reported, set_quiet
from vidgate.cli.assist_common import ApiKeyOpt, BaseUrlOpt, EmulatorOpt, assist_client, chat_models_help, print_frame
from vidgate.errors import RequestError


def frame(
    description: Annotated[str, typer.Argument(help="What the frame shows (or, with --image, how to change it)")],
    for_model: Annotated[str, typer.Option("--for-model", "-m", help="The video model that will take it")] = "sora-2",
    role: Annotated[str, typer.Option(help="first_frame, last_frame or reference")] = "first_frame",
    image: Annotated[str | None, typer.Option("--image", "-i", help="An image to edit (path, URL or data URI)")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", "-a", help='e.g. "16:9"')] = None,
    size: Annotated[str | None, typer.Option(help='"WIDTHxHEIGHT" where the video model needs an exact size')] = None,
    chat_model: Annotated[str | None, typer.Option(help=chat_models_help("image_output"))] = None,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Where to save the image")] = Path("frame.png"),
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists")] = False,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    emulator: EmulatorOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Make a first (or last, or reference) frame fitted to the video model's aspect ratio, size and byte limits.

    Then: `vidgate generate PROMPT -m MODEL --image first_frame=frame.png`.
    """
    set_quiet(quiet)
    with reported(as_json):
        if out_file.is_dir() or (out_file.exists() and not force):
            raise RequestError(f"--out {out_file} exists; pass --force to replace it, or another --out")
        with assist_client(base_url, api_key, emulator) as client:
            made = client.frame(
                description,
                for_model=for_model,
                role=role,
                image=image,
                aspect_ratio=aspect_ratio,
                size=size,
                chat_model=chat_model,
            )
        path = made.save(out_file)
        if as_json:
            body = made.model_dump(mode="json", exclude={"data"}) | {"path": str(path), "bytes": len(made.data)}
            sys.stdout.write(json.dumps({"ok": True, "frame": body}, ensure_ascii=False) + "\n")
            return
        print_frame(made, str(path))
