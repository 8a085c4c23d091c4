"""The gateway benchmark's baseline: a bare Starlette app answering one JSON body, on the same uvicorn.

``python -m bench.bare_server PORT BODY_JSON_FILE`` serves ``GET /v1/videos/{id}`` (the body, as read)
and ``GET /healthz``, with uvicorn's access log off as in the gateway.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def main(port: int, body_file: str) -> None:
    with open(body_file) as fh:
        body = json.load(fh)

    async def video(request: Request) -> JSONResponse:
        return JSONResponse(body)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/v1/videos/{video_id}", video), Route("/healthz", health)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
