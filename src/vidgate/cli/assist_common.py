"""What ``vidgate plan``, ``frame`` and ``review`` share: where the chat models are, and how results read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape

from vidgate.assists import Frame, Plan
from vidgate.catalog.chat_models import load_chat_catalog
from vidgate.cli._common import info, out
from vidgate.client import Client
from vidgate.store import open_store
from vidgate.types import Verdict


def chat_models_help(*capabilities: str) -> str:
    names = [m.key for m in load_chat_catalog().models.values() if all(getattr(m, c) for c in capabilities)]
    return "Chat model (catalog key or wire id); default: the first that can do it: " + ", ".join(names)


BaseUrlOpt = Annotated[str | None, typer.Option(help="Provider base URL (default from env)")]
ApiKeyOpt = Annotated[str | None, typer.Option(help="API key (default from env)")]
EmulatorOpt = Annotated[bool, typer.Option(help="Run against the built-in emulator (offline, no key)")]


@contextmanager
def assist_client(
    base_url: str | None, api_key: str | None, emulator: bool, store: str | None = None
) -> Iterator[Client]:
    """A blocking client for one assist: the built-in emulator with ``--emulator``, else the configuration."""
    if emulator:
        from vidgate.emulator import EmulatorServer

        with EmulatorServer() as emu:
            info.print(f"Using the built-in emulator at {emu.url} (offline, no key)")
            with Client(base_url=emu.url, api_key=emu.api_key, store=open_store(store)) as client:
                yield client
        return
    with Client(base_url=base_url, api_key=api_key, store=open_store(store)) as client:
        yield client


def print_plan(plan: Plan) -> None:
    kind = "storyboard" if plan.storyboard else "one prompt"
    out.print(f"[bold]Plan[/] for {escape(plan.model)}: {plan.duration:g} s, {len(plan.shots)} shot(s), {kind}")
    for i, shot in enumerate(plan.shots, 1):
        out.print(f"  Shot {i}  {shot.seconds:>5g} s  {shot.scene}", markup=False)
    for repair in plan.repairs:
        info.print(f"[yellow]repaired[/] {escape(repair)}")
    for warning in plan.warnings:
        info.print(f"[yellow]warning[/] {escape(warning)}")
    info.print(f"planned by {plan.chat_model}", markup=False)


def print_frame(frame: Frame, path: str) -> None:
    out.print(f"[bold green]Saved[/] {escape(path)}")
    out.print(
        f"  {frame.width}x{frame.height} {frame.format}, {len(frame.data)} bytes, {frame.role.value} for "
        f"{frame.for_model} (the image model answered with {'a link' if frame.answered_as == 'url' else 'base64'})",
        markup=False,
    )
    for change in frame.changes:
        info.print(f"  fitted: {change}", markup=False)
    info.print(f"Use it: vidgate generate ... -m {frame.for_model} --image {frame.role.value}={path}", markup=False)


def verdict_lines(verdict: Verdict) -> list[str]:
    """The verdict as plain lines (``vidgate review``, ``jobs show``)."""
    lines = [f"{'matches' if verdict.matches else 'does NOT match'} the prompt ({verdict.chat_model})"]
    if verdict.summary:
        lines.append(verdict.summary)
    for issue in verdict.issues:
        at = ""
        if issue.start_s is not None:
            end = f"-{issue.end_s:g}" if issue.end_s is not None and issue.end_s != issue.start_s else ""
            at = f"at {issue.start_s:g}{end} s: "
        lines.append(f"- {at}{issue.what}")
    return lines


def print_verdict(verdict: Verdict) -> None:
    out.print("[bold]Review[/]")
    for line in verdict_lines(verdict):
        out.print(f"  {line}", markup=False)
