"""Named SQL queries: one ``sql/<dialect>.sql`` file per database, split on ``-- name: <name>`` lines.

    -- name: get_job
    -- Optional comment lines describing the query.
    SELECT ... FROM jobs WHERE id = :id

Text before the first ``-- name:`` line is a file header and ignored. Names are unique per file; a
trailing semicolon is dropped so each query is exactly one statement.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


class Queries:
    """Query text by name; ``q.claim_due`` or ``q["claim_due"]``."""

    def __init__(self, queries: dict[str, str], source: str = "<sql>") -> None:
        self._queries = dict(queries)
        self.source = source

    def __getitem__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise KeyError(
                f"No query named {name!r} in {self.source}; it has: {', '.join(sorted(self._queries))}"
            ) from None

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def names(self) -> set[str]:
        return set(self._queries)


def parse(text: str, source: str = "<sql>") -> Queries:
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if name is None:
            return
        body = "\n".join(lines).strip().rstrip(";").strip()
        if not any(ln.strip() and not ln.strip().startswith("--") for ln in body.splitlines()):
            raise ValueError(f"{source}: query {name!r} has no SQL")
        queries[name] = body

    for lineno, line in enumerate(text.splitlines(), 1):
        m = _NAME.match(line.strip())
        if m:
            flush()
            name, lines = m.group(1), []
            if name in queries:
                raise ValueError(f"{source}:{lineno}: query {name!r} is defined twice")
        elif name is not None:
            lines.append(line)
    flush()
    return Queries(queries, source)


@cache
def load(dialect: str) -> Queries:
    """The named queries shipped for ``dialect`` (``sqlite`` or ``postgres``)."""
    path = resources.files("vidgate.store") / "sql" / f"{dialect}.sql"
    return parse(path.read_text(encoding="utf-8"), f"vidgate/store/sql/{dialect}.sql")
