"""The ``vidgate`` command line. One module per command group."""

from __future__ import annotations

import typer

from vidgate.cli.characters import characters_app
from vidgate.cli.docs import docs
from vidgate.cli.emulate import emulate
from vidgate.cli.generate import generate
from vidgate.cli.jobs import jobs_app
from vidgate.cli.keys import keys_app
from vidgate.cli.models import models
from vidgate.cli.serve import serve
from vidgate.cli.worker import worker

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


def main() -> None:
    app()
