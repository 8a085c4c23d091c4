"""``Problem``: one thing wrong with a request — the field, the value given, what is allowed, what to do.

At the bottom of the package (errors, the catalog, characters and the dialects all report problems).
"""

from __future__ import annotations

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
    return str(value)


def problems_of(exc: PydanticValidationError) -> list[Problem]:
    """pydantic's errors as Problems: the field's path, the value given, what was wrong."""
    out = []
    for e in exc.errors(include_url=False):
        field = ".".join(str(part) for part in e["loc"]) or "request"
        out.append(Problem(field, e.get("input"), e["msg"].rstrip(".").replace("Input should be", "should be")))
    return out
