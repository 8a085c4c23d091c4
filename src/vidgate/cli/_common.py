"""What every command shares: exit codes, error reporting, the consoles."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vidgate.errors import (
    DownloadError,
    JobFailedError,
    MissingCredentialsError,
    ProtocolError,
    ProviderHTTPError,
    RequestError,
    TransportError,
    ValidationError,
    VidgateError,
)

T = TypeVar("T")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Exit(IntEnum):
    """Documented exit codes (README: CLI exit codes)."""

    ok = 0
    invalid_request = 2
    generation_failed = 3
    provider_error = 4


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on the asyncio engine: on uvloop where it is installed (Linux, macOS), which
    spends less CPU per request than asyncio's own loop, else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def exit_code_for(exc: BaseException) -> Exit:
    if isinstance(exc, MissingCredentialsError):
        return Exit.provider_error
    if isinstance(exc, RequestError):
        return Exit.invalid_request
    if isinstance(exc, JobFailedError):
        return Exit.generation_failed
    if isinstance(exc, ProviderHTTPError | TransportError | ProtocolError | DownloadError | VidgateError):
        return Exit.provider_error
    return Exit.provider_error


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
        title = {
            Exit.invalid_request: "Invalid request (nothing was sent)",
            Exit.generation_failed: "Generation failed",
            Exit.provider_error: "Provider or network error",
        }[code]
        err.print(f"[bold red]{title}[/]")
        err.print(str(exc), markup=False)
    raise typer.Exit(int(code))


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn vidgate errors into a clear message and the documented exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except VidgateError as exc:
        fail(exc, as_json)
