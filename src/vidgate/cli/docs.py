"""``vidgate docs``: regenerate (or check) docs/providers.md from the catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

import vidgate
from vidgate.cli._common import err, info
from vidgate.docs_gen import DOC_PATH, REGENERATE, is_current, render, write


def checkout_doc() -> Path | None:
    """docs/providers.md of the source checkout vidgate runs from (an editable install), from any directory;
    None for an installed package, which has no docs/ to keep up to date."""
    root = Path(vidgate.__file__).resolve().parents[2]  # <root>/src/vidgate/__init__.py
    if (root / "pyproject.toml").is_file() and (root / "docs").is_dir():
        return root / DOC_PATH
    return None


def docs(
    write_file: Annotated[bool, typer.Option("--write", help="Write the file (default: print to stdout)")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the file is out of date")] = False,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="The file (default: docs/providers.md of the source checkout vidgate runs from)"),
    ] = None,
) -> None:
    """The providers and models reference (the five questions for every model), generated from the catalog."""
    if not (check or write_file):
        sys.stdout.write(render())
        return
    target = path if path is not None else checkout_doc()
    if target is None:
        err.print(
            f"`vidgate docs --{'check' if check else 'write'}` keeps docs/providers.md of a vidgate source checkout "
            "up to date, and this vidgate is an installed package, not a checkout. Run it in a clone (after "
            "`pip install -e .`), pass --path FILE, or run `vidgate docs > providers.md` to just read it.",
            markup=False,
        )
        raise typer.Exit(2)
    if not target.parent.is_dir():
        err.print(f"{target.parent} does not exist: pass --path with a file in an existing directory.", markup=False)
        raise typer.Exit(2)
    if check:
        if not target.exists():
            err.print(f"{target} does not exist yet: `{REGENERATE} --path {target}` writes it.", markup=False)
            raise typer.Exit(1)
        if not is_current(target):
            err.print(f"{target} is out of date with the catalog: run `{REGENERATE}`"
                      + (f" --path {target}" if path is not None else "") + ".", markup=False)  # fmt: skip
            raise typer.Exit(1)
        info.print(f"{target} is up to date.", markup=False)
        return
    changed = write(target)
    info.print(f"{'Wrote' if changed else 'Unchanged:'} {target}", markup=False)
