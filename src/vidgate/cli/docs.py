"""``vidgate docs``: regenerate (or check) docs/providers.md from the catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vidgate.cli._common import err
from vidgate.docs_gen import DOC_PATH, REGENERATE, is_current, render, write


def docs(
    write_file: Annotated[bool, typer.Option("--write", help="Write the file (default: print to stdout)")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the file is out of date")] = False,
    path: Annotated[Path, typer.Option("--path", help="The file (run from the repository root)")] = DOC_PATH,
) -> None:
    """The providers and models reference (the five questions for every model), generated from the catalog."""
    if check:
        if not is_current(path):
            err.print(f"{path} is out of date with the catalog: run `{REGENERATE}` from the repository root.")
            raise typer.Exit(1)
        err.print(f"{path} is up to date.")
        return
    if write_file:
        changed = write(path)
        err.print(f"{'Wrote' if changed else 'Unchanged:'} {path}")
        return
    sys.stdout.write(render())
