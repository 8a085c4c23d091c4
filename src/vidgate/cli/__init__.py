"""The ``vidgate`` command line. One module per command group."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vidgate.cli._common import TITLES, err, exit_code_for, info, internal_error, message, out
from vidgate.cli.catalog import catalog_app
from vidgate.cli.characters import characters_app
from vidgate.cli.chat_models import chat_models
from vidgate.cli.docs import docs
from vidgate.cli.emulate import emulate
from vidgate.cli.frame import frame
from vidgate.cli.generate import generate
from vidgate.cli.jobs import jobs_app
from vidgate.cli.keys import keys_app
from vidgate.cli.models import models
from vidgate.cli.plan import plan
from vidgate.cli.review import review
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
app.command()(plan)  # assists around a generation: plan, frame, review (chat models)
app.command()(frame)
app.command()(review)
app.command()(models)
app.command()(emulate)
app.command()(docs)
app.add_typer(characters_app, name="characters")
app.add_typer(jobs_app, name="jobs")
app.command()(worker)
app.command()(serve)
app.add_typer(keys_app, name="keys")
app.add_typer(catalog_app, name="catalog")
catalog_app.command("chat-models")(chat_models)  # the assists' chat models (issue 15)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            out.print(f"vidgate {version('vidgate')}", markup=False)
        except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
            out.print("vidgate (not installed: no version recorded)", markup=False)
        raise typer.Exit(0)


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an unexpected error")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or hints on stderr; errors only")] = False,
    show_version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_show_version, help="Print the version and exit")
    ] = False,
) -> None:
    """Generate AI videos through many providers, offline against the built-in emulator or for real.

    Output: results on stdout (with --json: one JSON document and nothing else), progress and hints on stderr
    (--quiet: errors only). Exit codes: 0 ok, 2 invalid request (nothing sent), 3 generation failed, 4 provider,
    network or store error.
    """
    STATE["debug"] = debug
    info.quiet = quiet  # per invocation: `-q` on one command does not silence the next (tests run many)


def main() -> None:
    """The ``vidgate`` command: every error becomes a message and its exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)  # a command's exit code, or its return value (None)
    except (typer.Abort, KeyboardInterrupt):  # (a command that explains its own Ctrl-C exits 130 itself)
        err.print("Interrupted.")
        sys.exit(130)
    except typer.TyperException as usage:  # bad options: the command line parser's own message, exit 2
        show = getattr(usage, "show", None)
        if show is None:
            raise
        show()
        sys.exit(int(getattr(usage, "exit_code", 2)))
    except VidgateError as exc:
        code = exit_code_for(exc)
        err.print(f"[bold red]{TITLES[code]}[/]")
        err.print(message(exc), markup=False)
        sys.exit(int(code))
    except Exception as exc:
        if STATE["debug"]:
            raise
        sys.exit(internal_error(exc, default_sqlite_path().parent / "last-error.log"))
    sys.exit(code if isinstance(code, int) else 0)
