"""``vidgate characters create | list | show``: reusable characters (cameos) and the local registry."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vidgate.characters import CharacterRegistry
from vidgate.cli._common import Exit, err, out, reported, run_async
from vidgate.client import AsyncClient
from vidgate.errors import RequestError
from vidgate.types import Character

characters_app = typer.Typer(
    name="characters",
    help="Characters (cameos): create one from a video or a finished task, then mention it as @username.",
    no_args_is_help=True,
)


def character_json(c: Character) -> dict[str, Any]:
    return c.model_dump(mode="json", exclude={"raw"})


@characters_app.command("create")
def create(
    timestamps: Annotated[
        str, typer.Option("--timestamps", "-t", help='"start,end" seconds where the character appears (1 to 3 s)')
    ],
    url: Annotated[str | None, typer.Option(help="A video (with sound) showing the character")] = None,
    from_task: Annotated[
        str | None, typer.Option("--from-task", help="The provider's task id of a video you generated")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Local name for prompt templates, e.g. cat for {cat}")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="A model with characters (default: first)")] = None,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Provider to create it on")] = None,
    base_url: Annotated[str | None, typer.Option(help="Provider base URL (default from env)")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (default from env)")] = None,
    emulator: Annotated[bool, typer.Option(help="Create it on the built-in emulator (offline, no key)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout")] = False,
) -> None:
    """Create a character from --url or --from-task (exactly one) and remember it locally."""
    with reported(as_json), ExitStack() as stack:
        if emulator and from_task:
            raise RequestError(
                "--from-task with --emulator cannot work: --emulator starts a fresh emulator for this one command, "
                f"which has never seen task {from_task!r}. Run `vidgate emulate` in another terminal, set the "
                "variables it prints, generate the video against it, then run this without --emulator; or use "
                "--url with --emulator."
            )
        if emulator:
            from vidgate.emulator import EmulatorServer

            emu = stack.enter_context(EmulatorServer())
            base_url, api_key = emu.url, emu.api_key

        async def make() -> Character:
            async with AsyncClient(base_url=base_url, api_key=api_key) as client:
                return await client.create_character(
                    timestamps=timestamps, url=url, from_task=from_task, name=name, model=model, provider=provider
                )

        character = run_async(make())
    if as_json:
        sys.stdout.write(json.dumps({"ok": True, "character": character_json(character)}, ensure_ascii=False) + "\n")
        return
    out.print(f"[bold green]Created[/] {escape(f'@{character.username}  ({character.id} on {character.provider})')}")
    if character.permalink:
        out.print(f"  {character.permalink}", markup=False)
    hint = f' or "{{{character.name}}}" with --character {character.name}' if character.name else ""
    out.print(f"  Mention it in a prompt as @{character.username} with spaces around it{hint}.", markup=False)


@characters_app.command("list")
def list_characters(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout")] = False,
) -> None:
    """The characters created on this machine ($VIDGATE_HOME/characters.json)."""
    registry = CharacterRegistry.at_home()
    with reported(as_json):
        found = registry.all()
    if as_json:
        sys.stdout.write(json.dumps([character_json(c) for c in found], ensure_ascii=False, indent=2) + "\n")
        return
    if not found:
        out.print(f"No characters yet ({registry.path}). Create one with `vidgate characters create`.", markup=False)
        return
    table = Table(title=f"{len(found)} characters ({registry.path})")
    for col in ("name", "mention", "id", "provider", "created"):
        table.add_column(col, overflow="fold")
    for c in found:
        cells = (c.name or "-", f"@{c.username}", c.id, c.provider, c.created_at.strftime("%Y-%m-%d %H:%M"))
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)


@characters_app.command("show")
def show(
    key: Annotated[str, typer.Argument(help="Local name, username (with or without @) or id")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout")] = False,
) -> None:
    """One character of the local registry."""
    registry = CharacterRegistry.at_home()
    with reported(as_json):
        character = registry.find(key)
        known = [c.name or c.username for c in registry.all()]
    if character is None:
        message = f"No character {key!r} in {registry.path}. Known: {', '.join(known) or 'none'}."
        if as_json:
            body = {"ok": False, "exit_code": int(Exit.invalid_request), "error": {"message": message}}
            sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        else:
            err.print(message, markup=False)
        raise typer.Exit(int(Exit.invalid_request))
    if as_json:
        sys.stdout.write(json.dumps(character_json(character), ensure_ascii=False, indent=2) + "\n")
        return
    named = f"  (name {character.name})" if character.name else ""
    out.print(f"[bold]{escape('@' + character.username)}[/]{escape(named)}")
    for label, value in (
        ("id", character.id),
        ("provider", character.provider),
        ("permalink", character.permalink),
        ("picture", character.profile_picture_url),
        ("created", character.created_at.isoformat()),
    ):
        if value:
            out.print(f"  {label}: {value}", markup=False)
