"""ASGI middleware: request size limits (413) and the access log (method, path, status, time, key id).

The access log never contains a query string (file links carry signatures there) nor a header.
"""

from __future__ import annotations

import json
import logging
import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("vidgate.access")


async def _reply(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


def too_large(limit: int) -> dict[str, object]:
    return {
        "error": {
            "message": f"The request body is larger than this gateway accepts ({limit} bytes). Send a "
            "smaller upload, or an image URL instead of the file.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        }
    }


class BodyTooLarge(Exception):
    """Raised out of ``receive`` when a body passes the limit; answered with 413 (see ``errors.install_handlers``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body over {limit} bytes")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413: at once by ``Content-Length``, else while the body is read.

    Nothing is read ahead: the body stays in the socket until a handler asks for it, which is after the API key
    was checked, so an unauthenticated request is answered 401 without its body ever being buffered.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope.get("headers") or () if name == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _reply(send, 400, _error("Invalid Content-Length header.", "invalid_header"))
                return
            if declared > self.limit:
                await _reply(send, 413, too_large(self.limit))
                return
        limit, seen = self.limit, 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _error(message: str, code: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 0
        request_id = "req_" + os.urandom(8).hex()
        scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if log.isEnabledFor(logging.INFO):  # the gateway may run at warning: then build nothing
                method, path = scope.get("method"), scope.get("path")
                extra = {
                    "http_method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "key_id": (scope.get("state") or {}).get("key_id"),
                    "request_id": request_id,
                }
                log.info("%s %s %s", method, path, status, extra=extra)
