"""The ``vidgate`` command line. One module per command group."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vidgate.cli._common import TITLES, err, exit_code_for, internal_error
from vidgate.cli.catalog import catalog_app
from vidgate.cli.characters import characters_app
from vidgate.cli.docs import docs
from vidgate.cli.emulate import emulate
from vidgate.cli.generate import generate
from vidgate.cli.jobs import jobs_app
from vidgate.cli.keys import keys_app
from vidgate.cli.models import models
from vidgate.cli.serve import serve
from vidgate.cli.worker import worker
from vidgate.errors import VidgateError
from vidgate.store import default_sqlite_path

STATE = {"debug": False}

app = typer.Typer(
    name="vidgate",
    help="Generate AI videos through many providers, offline against the built-in emulator or for real.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(generate)
app.command()(models)
app.command()(emulate)
app.command()(docs)
app.add_typer(characters_app, name="characters")
app.add_typer(jobs_app, name="jobs")
app.command()(worker)
app.command()(serve)
app.add_typer(keys_app, name="keys")
app.add_typer(catalog_app, name="catalog")


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an unexpected error")] = False,
) -> None:
    """Generate AI videos through many providers, offline against the built-in emulator or for real."""
    STATE["debug"] = debug


def main() -> None:
    """The ``vidgate`` command: every error becomes a message and its exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)  # a command's exit code, or its return value (None)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as usage:  # bad options: the command line parser's own message, exit 2
        show = getattr(usage, "show", None)
        if show is None:
            raise
        show()
        sys.exit(int(getattr(usage, "exit_code", 2)))
    except VidgateError as exc:
        code = exit_code_for(exc)
        err.print(f"[bold red]{TITLES[code]}[/]")
        err.print(str(exc), markup=False)
        sys.exit(int(code))
    except Exception as exc:
        if STATE["debug"]:
            raise
        sys.exit(internal_error(exc, default_sqlite_path().parent / "last-error.log"))
    if code == 130:
        err.print("Interrupted.")
    sys.exit(code if isinstance(code, int) else 0)
