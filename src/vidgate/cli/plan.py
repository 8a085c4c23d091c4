"""``vidgate plan``: an idea -> shots the video model can take (a chat model proposes, the catalog decides)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vidgate.assists import Plan
from vidgate.cli._common import JsonOpt, QuietOpt, StoreOpt, info, reported, set_quiet
from vidgate.cli.assist_common import ApiKeyOpt, BaseUrlOpt, EmulatorOpt, assist_client, chat_models_help, print_plan
from vidgate.errors import RequestError
from vidgate.types import AssistRecord


def plan(
    idea: Annotated[str, typer.Argument(help="What the video should show; @username mentions are kept")],
    model: Annotated[str, typer.Option("--model", "-m", help="The video model the plan is for")] = "sora-2",
    duration: Annotated[float | None, typer.Option("--duration", "-d", help="Total seconds (default: model's)")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", "-a", help='e.g. "16:9"')] = None,
    chat_model: Annotated[str | None, typer.Option(help=chat_models_help("structured_output"))] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the plan here (for generate --plan)")
    ] = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    emulator: EmulatorOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Plan shots for an idea with a chat model; vidgate checks them against the catalog before showing them.

    A plan the chat model gets wrong is repaired (each change printed) or refused with the catalog's reasons
    (exit 2). Send it with `vidgate generate --plan PLAN.json`.
    """
    set_quiet(quiet)
    with reported(as_json):
        if out_file is not None and out_file.is_dir():
            raise RequestError(f"--out {out_file} is a directory; give a file name such as plan.json")
        with assist_client(base_url, api_key, emulator, store) as client:
            made = client.plan(idea, model=model, duration=duration, aspect_ratio=aspect_ratio, chat_model=chat_model)
        if out_file is not None:
            made.save(out_file)
        if as_json:
            sys.stdout.write(json.dumps({"ok": True, "plan": made.model_dump(mode="json")}, ensure_ascii=False) + "\n")
            return
        print_plan(made)
        if out_file is not None:
            info.print(f"Saved to {out_file}; send it with: vidgate generate --plan {out_file}", markup=False)


def plan_fields(path: Path, fields: dict[str, Any]) -> tuple[dict[str, Any], list[AssistRecord], str]:
    """``generate --plan``: the plan's request fields (the command line's images and options added), the plan's
    cost record for the job, and its idea (what --review checks against)."""
    loaded = Plan.load(path)
    conflicting = [k for k in ("shots", "characters") if fields.get(k)]
    if conflicting:
        raise RequestError(f"--plan {path} already sets the shots and characters; drop --shot / --character")
    for name in ("duration", "aspect_ratio"):
        given, planned = fields.get(name), getattr(loaded, name)
        if given is not None and given != planned:
            raise RequestError(f"--plan {path} is for {name} {planned}, not {given}: drop the option or plan again")
    extra = {k: v for k, v in fields.items() if k in ("images", "options", "webhook_url", "hd", "resolution", "size")}
    request = loaded.request(**{k: v for k, v in extra.items() if v not in (None, [], {})})
    wanted = request.model_dump(exclude_defaults=True)
    if fields.get("model") not in (None, "sora-2", loaded.model, loaded.model.split("/", 1)[-1]):
        raise RequestError(f"--plan {path} was made for {loaded.model}, not {fields['model']}: plan again for it")
    return wanted, [loaded.record] if loaded.record else [], loaded.idea
