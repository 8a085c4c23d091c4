"""The gateway's JSON responses, encoded by pydantic-core (Rust) rather than ``json.dumps``.

The same compact UTF-8 bytes as Starlette's ``JSONResponse`` for what the API sends (objects, lists,
strings, numbers; only tiny floats' exponents may be spelled shorter, ``1e-7``), in a fraction of the time:
every video object goes through here. A NaN or an infinity becomes ``null`` (Starlette refused it).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from starlette.responses import JSONResponse as _StarletteJSON


class JSONResponse(_StarletteJSON):
    def render(self, content: Any) -> bytes:
        return to_json(content, inf_nan_mode="null")
