"""``vidgate review``: does a video match its prompt? A video-capable chat model answers a verdict."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from vidgate.cli._common import JsonOpt, QuietOpt, StoreOpt, reported, set_quiet
from vidgate.cli.assist_common import ApiKeyOpt, BaseUrlOpt, EmulatorOpt, assist_client, chat_models_help, print_verdict
from vidgate.errors import RequestError


def review(
    video: Annotated[str, typer.Argument(help="A job id (its video and prompt), a video file or an http(s) URL")],
    prompt: Annotated[str | None, typer.Option(help="What the video should show (default: the job's prompt)")] = None,
    chat_model: Annotated[str | None, typer.Option(help=chat_models_help("video_input"))] = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 when the verdict says it does not match")] = False,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    emulator: EmulatorOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Review a video against its prompt. The verdict (matches or not, what is off, at which seconds) is stored
    on the job when VIDEO is one (`vidgate jobs show`). The video goes as its URL or its bytes, never a path."""
    set_quiet(quiet)
    with reported(as_json):
        if not video.strip():
            raise RequestError("VIDEO is empty: give a job id, a video file or an http(s) URL")
        with assist_client(base_url, api_key, emulator, store) as client:
            verdict = client.review(video, prompt=prompt, chat_model=chat_model)
        if as_json:
            sys.stdout.write(
                json.dumps({"ok": True, "review": verdict.model_dump(mode="json")}, ensure_ascii=False) + "\n"
            )
        else:
            print_verdict(verdict)
        if strict and not verdict.matches:
            raise typer.Exit(3)
