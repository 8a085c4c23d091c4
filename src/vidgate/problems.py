"""``Problem``: one thing wrong with a request — the field, the value given, what is allowed, what to do.

At the bottom of the package (errors, the catalog, characters and the dialects all report problems).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError


@dataclass(frozen=True)
class Problem:
    field: str
    value: Any
    message: str
    allowed: str = ""
    suggestion: str = ""

    def explain(self) -> str:
        parts = [f"{self.field}: {show_value(self.value)} — {self.message}."]
        if self.allowed:
            parts.append(f"Allowed: {self.allowed}.")
        if self.suggestion:
            parts.append(f"{self.suggestion[0].upper()}{self.suggestion[1:]}.")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": show_value(self.value),
            "message": self.message,
            "allowed": self.allowed,
            "suggestion": self.suggestion,
        }


def show_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


# pydantic puts the union member tried into an error's location ("seconds.str", "seconds.function-after[...]")
_MEMBER = re.compile(r"^(str|int|float|bool|bytes|none|[A-Za-z_-]+\[.*\])$")


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the caller's field path: ``images.0`` -> ``images[0]``, union members gone."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _MEMBER.match(part):
            path += ("." if path else "") + part
    return path or "request"


def problems_of(exc: PydanticValidationError) -> list[Problem]:
    """pydantic's errors as Problems: one per field (a union's failed members merged: "should be a valid string,
    a valid integer, or a valid number"), the value given and what was wrong."""
    merged: dict[str, tuple[Any, list[str]]] = {}
    for e in exc.errors(include_url=False):
        field = field_path(tuple(e["loc"]))
        message = e["msg"].rstrip(".").replace("Input should be", "should be").replace("Value error, ", "")
        value, messages = merged.setdefault(field, (e.get("input"), []))
        if message not in messages:
            messages.append(message)
    out = []
    for field, (value, messages) in merged.items():
        if len(messages) > 1 and all(m.startswith("should be ") for m in messages):
            options = [m.removeprefix("should be ") for m in messages]
            messages = ["should be " + ", ".join(options[:-1]) + ", or " + options[-1]]
        out.append(Problem(field, value, "; ".join(messages)))
    return out
