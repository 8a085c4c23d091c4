"""``Problem``: one thing wrong with a request — the field, the value given, what is allowed, what to do.

At the bottom of the package (errors, the catalog, characters and the dialects all report problems).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError


@dataclass(frozen=True)
class Fix:
    """A change that makes the request valid: ``field`` (vidgate's name) set to ``value``; ``fit`` when the
    caller's fit option would make that change for them. Worded per surface by ``Surface.hint``."""

    field: str
    value: Any
    fit: bool = False


@dataclass(frozen=True)
class Surface:
    """How the caller names things: CLI flags, Python keyword arguments, or an HTTP API's JSON fields.

    A suggestion must speak the caller's language: "use --duration 10" to a shell, "duration=10" to Python,
    ``"seconds": "10"`` to an OpenAI-format HTTP client (which has no --fit).
    """

    kind: str  # "cli", "python" or "http"
    names: tuple[tuple[str, str], ...] = ()  # vidgate field -> the surface's name, where they differ (http)
    string_fields: frozenset[str] = frozenset()  # (http) fields the API takes as strings, e.g. OpenAI's seconds

    def name(self, field: str) -> str:
        return dict(self.names).get(field, field)

    def hint(self, fix: Fix) -> str:
        if self.kind == "cli":
            use = f"use --{fix.field.replace('_', '-')} {_shell(fix.value)}"
            return use + (", or pass --fit to snap to the nearest allowed value" if fix.fit else "")
        if self.kind == "python":
            use = f"use {fix.field}={_python(fix.value)}"
            return use + (", or pass fit=True to snap to the nearest allowed value" if fix.fit else "")
        wire = self.name(fix.field)
        value = show_value(fix.value)
        if wire in self.string_fields or isinstance(fix.value, str):
            value = f'"{value.strip(chr(39))}"'
        if wire != fix.field and fix.field != "duration":
            return f"use {value} (in {wire})"
        return f'send "{wire}": {value}'


CLI = Surface("cli")
PYTHON = Surface("python")
HTTP = Surface("http")


def _shell(value: Any) -> str:
    text = show_value(value).strip("'")
    return text if text.replace(".", "").replace(":", "").replace("x", "").isalnum() else repr(text)


def _python(value: Any) -> str:
    return repr(value) if isinstance(value, str) else show_value(value)


@dataclass(frozen=True)
class Problem:
    field: str
    value: Any
    message: str
    allowed: str = ""
    suggestion: str = ""
    fix: Fix | None = None  # when set, the suggestion is worded for the surface asking (see Surface)

    def __post_init__(self) -> None:
        # A caller reading ``suggestion`` (Python) gets the Python wording; other surfaces ask ``hint(surface)``.
        if self.fix is not None and not self.suggestion:
            object.__setattr__(self, "suggestion", PYTHON.hint(self.fix))

    def hint(self, surface: Surface = PYTHON) -> str:
        return surface.hint(self.fix) if self.fix is not None else self.suggestion

    def explain(self, surface: Surface = PYTHON) -> str:
        parts = [f"{surface.name(self.field) if surface.kind == 'http' else self.field}: "
                 f"{show_value(self.value)} — {self.message}."]  # fmt: skip
        if self.allowed:
            parts.append(f"Allowed: {self.allowed}.")
        hint = self.hint(surface)
        if hint:
            parts.append(f"{hint[0].upper()}{hint[1:]}.")
        return " ".join(parts)

    def as_dict(self, surface: Surface = PYTHON) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": show_value(self.value),
            "message": self.message,
            "allowed": self.allowed,
            "suggestion": self.hint(surface),
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
