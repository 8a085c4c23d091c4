"""What every command shares: exit codes, error reporting, the consoles."""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vidgate.errors import (
    JobFailedError,
    MissingCredentialsError,
    ProviderHTTPError,
    RequestError,
    ValidationError,
    VidgateError,
)
from vidgate.store.errors import JobNotFoundError, MigrationError

T = TypeVar("T")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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
    body: dict[str, Any] = {"type": exc.__class__.__name__, "message": str(exc)}
    if isinstance(exc, ValidationError):
        body["problems"] = [p.as_dict() for p in exc.problems]
    if isinstance(exc, ProviderHTTPError):
        body.update(status_code=exc.status_code, code=exc.code, request_id=exc.request_id)
    job = exc.job if isinstance(exc, VidgateError) else None
    if job is not None:  # a failed generation, or a create whose outcome was recorded (unknown, pending)
        body["job"] = job.model_dump(mode="json", exclude={"request"})
    return body


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    code = exit_code_for(exc)
    if as_json:
        sys.stdout.write(
            json.dumps({"ok": False, "exit_code": int(code), "error": error_json(exc)}, ensure_ascii=False) + "\n"
        )
    else:
        err.print(f"[bold red]{TITLES[code]}[/]")
        err.print(str(exc), markup=False)
    raise typer.Exit(int(code))


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
    """Turn vidgate errors into a clear message and the documented exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except VidgateError as exc:
        fail(exc, as_json)
