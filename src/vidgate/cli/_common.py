"""What every command shares: exit codes, error reporting, the consoles."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console, ConsoleDimensions

from vidgate.engine.polling import TIME_SCALE_ENV, policy_from_env
from vidgate.errors import (
    JobFailedError,
    MissingCredentialsError,
    ProviderHTTPError,
    RequestError,
    ValidationError,
    VidgateError,
)
from vidgate.problems import CLI
from vidgate.store.errors import JobNotFoundError, MigrationError

T = TypeVar("T")
PIPED_WIDTH = 1000  # stdout into a pipe or a file: tables as wide as their content (up to this), never wrapped


class ResultConsole(Console):
    """stdout. On a terminal (or with COLUMNS set) tables fit its width; into a pipe or a file they are never
    wrapped, so ``vidgate models | grep relay/sora-2`` finds the line and ids stay whole for copying. (Rich would
    use 80 columns there, or the width of whatever terminal stderr happens to be on.)"""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return size
        return ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


# emoji=False: user text (prompts, paths, provider messages) is shown as written: ``nope:x:.png`` stays that,
# never ``nope❌.png``. Anything echoed from the user also goes through ``markup=False`` or ``escape``.
out = ResultConsole(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
# progress, hints and banners: stderr like errors, but silenced by --quiet (errors never are)
info = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

STORE_HELP = (
    "Job store: SQLite path or postgresql:// URL (default: $VIDGATE_HOME/vidgate.db, i.e. ~/.vidgate/vidgate.db; "
    "env var: VIDGATE_DATABASE_URL)"
)
# One name for the store everywhere (--store); the old spelling keeps working, hidden from the help.
StoreOpt = Annotated[str | None, typer.Option("--store", envvar="VIDGATE_DATABASE_URL", show_envvar=False,
                                              help=STORE_HELP)]  # fmt: skip
OldStoreOpt = Annotated[str | None, typer.Option("--database-url", hidden=True, help="Old name of --store")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One machine-readable JSON document on stdout (nothing else)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or hints on stderr; errors only")]


def store_url(store: str | None, old_spelling: str | None) -> str | None:
    """``--store``, or the value given under its old name ``--database-url``."""
    return store if store is not None else old_spelling


def set_quiet(quiet: bool, as_json: bool = False) -> None:
    """``--quiet``: progress and hints stop; errors and the result (stdout) stay. ``--json`` implies it: a
    machine reads stdout's one JSON document, and a failure is in that document too."""
    if quiet or as_json:
        info.quiet = True


EMULATOR_TIME_SCALE = 0.05  # the built-in emulator (--emulator) runs jobs 20x faster than the real provider


def emulator_time_scale() -> float:
    """The time scale of ``--emulator`` runs (the emulator's jobs and the polling alike): 0.05, or
    ``VIDGATE_POLL_TIME_SCALE`` when set (tests and demos that want jobs of a fraction of a second)."""
    scale = policy_from_env(os.environ).time_scale  # (a bad value is a ConfigurationError naming the variable)
    return scale if os.environ.get(TIME_SCALE_ENV, "").strip() else EMULATOR_TIME_SCALE


def _hide_flag_types() -> None:
    """Typer shows ``<bool>`` next to every on/off flag, where there is no value to type: show nothing."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover - another typer layout: its help is left as it is
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


class Exit(IntEnum):
    """Documented exit codes (README: CLI exit codes)."""

    ok = 0
    internal = 1
    invalid_request = 2
    generation_failed = 3
    provider_error = 4


TITLES = {
    Exit.internal: "Internal error (a bug in vidgate)",
    Exit.invalid_request: "Invalid request (nothing was sent)",
    Exit.generation_failed: "Generation failed",
    Exit.provider_error: "Provider, network or store error",
}


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on the asyncio engine: on uvloop where it is installed (Linux, macOS), which
    spends less CPU per request than asyncio's own loop, else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def exit_code_for(exc: BaseException) -> Exit:
    """2: the caller's mistake (a bad value, a missing setting, an unknown job); 3: the generation failed;
    4: a provider, the network or the job store failed; 1: anything else (a bug)."""
    if isinstance(exc, MissingCredentialsError):
        return Exit.provider_error
    if isinstance(exc, RequestError | JobNotFoundError | MigrationError):
        return Exit.invalid_request
    if isinstance(exc, JobFailedError):
        return Exit.generation_failed
    if isinstance(exc, VidgateError):
        return Exit.provider_error
    return Exit.internal


def error_json(exc: BaseException) -> dict[str, Any]:
    body: dict[str, Any] = {"type": exc.__class__.__name__, "message": message(exc)}
    if isinstance(exc, ValidationError):
        body["problems"] = [p.as_dict(CLI) for p in exc.problems]
    if isinstance(exc, ProviderHTTPError):
        body.update(status_code=exc.status_code, code=exc.code, request_id=exc.request_id)
    job = exc.job if isinstance(exc, VidgateError) else None
    if job is not None:  # a failed generation, or a create whose outcome was recorded (unknown, pending)
        body["job"] = job.model_dump(mode="json", exclude={"request"})
    return body


def message(exc: BaseException) -> str:
    """The error's text for a shell user: suggestions name the command's flags (--duration 10, --fit)."""
    return exc.render(CLI) if isinstance(exc, ValidationError) else str(exc)


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    code = exit_code_for(exc)
    if as_json:
        sys.stdout.write(
            json.dumps({"ok": False, "exit_code": int(code), "error": error_json(exc)}, ensure_ascii=False) + "\n"
        )
    else:
        if not isinstance(exc, JobNotFoundError):  # a lookup that found nothing: its one line says it all
            err.print(f"[bold red]{TITLES[code]}[/]")
        err.print(message(exc), markup=False)
    raise typer.Exit(int(code))


def listen_or_exit(host: str, port: int) -> socket.socket:
    """The listening socket of a server command, bound before anything is announced or started: a busy port
    is one clear line and exit 2, never a banner followed by a bind error. ``--port 0`` picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        err.print(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Pick another --port (or stop what "
                  "uses it).", markup=False)  # fmt: skip
        raise typer.Exit(int(Exit.invalid_request)) from None


def internal_error(exc: BaseException, log: Path) -> int:
    """A bug: one line on stderr, the traceback in ``log`` (``vidgate --debug ...`` prints it instead)."""
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be written"
    err.print(f"[bold red]{TITLES[Exit.internal]}[/]")
    err.print(f"{exc.__class__.__name__}: {exc}. Run the command again with `vidgate --debug ...` to see where; "
              f"{where}. Please report it.", markup=False)  # fmt: skip
    return int(Exit.internal)


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn vidgate errors into a clear message and the documented exit code (with ``--json``: one JSON object
    on stdout, and no progress or hints on stderr)."""
    set_quiet(False, as_json)
    try:
        yield
    except typer.Exit:
        raise
    except VidgateError as exc:
        fail(exc, as_json)
