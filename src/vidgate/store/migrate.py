"""Numbered, append-only schema migrations: ``migrations/<dialect>/NNNN_description.sql``.

Each store applies the files whose number is not yet in its ``schema_migrations`` table, in order, inside
one transaction that also serialises concurrent startups (PostgreSQL advisory lock, SQLite immediate
transaction). A file that changed after it was applied, or a database newer than this vidgate, stops
the store from opening: migrations are never edited, only added.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from vidgate.store.errors import MigrationError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(dialect: str) -> list[Migration]:
    folder = resources.files("vidgate.store") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        m = _FILE.match(entry.name)
        if not m:
            raise MigrationError(
                f"Migration file {dialect}/{entry.name} is misnamed: "
                f"use NNNN_lowercase_words.sql (e.g. 0002_add_x.sql)."
            )
        found.append(Migration(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda x: x.version)
    expected = list(range(1, len(found) + 1))
    if [x.version for x in found] != expected:
        raise MigrationError(
            f"Migrations for {dialect} must be numbered 1..N without gaps or repeats; found {[x.name for x in found]}."
        )
    return found


def pending(dialect: str, applied: dict[int, str]) -> list[Migration]:
    """The migrations still to apply, given ``{version: checksum}`` already recorded in the database."""
    known = discover(dialect)
    newest = known[-1].version if known else 0
    if applied and max(applied) > newest:
        raise MigrationError(
            f"The database schema is at version {max(applied)} but this vidgate only knows migrations up to "
            f"{newest}. Upgrade vidgate (or point it at another database)."
        )
    for mig in known:
        recorded = applied.get(mig.version)
        if recorded is not None and recorded != mig.checksum:
            raise MigrationError(
                f"Migration {dialect}/{mig.name} changed after it was applied to this database (checksum "
                f"{recorded[:12]}... recorded, {mig.checksum[:12]}... now). Migrations are append-only: restore "
                f"the original file and add a new numbered migration instead."
            )
    return [m for m in known if m.version not in applied]


def split_sqlite(script: str) -> list[str]:
    """Split a SQLite script into complete statements (``sqlite3.complete_statement`` knows triggers)."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip().rstrip(";").strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise MigrationError(f"Incomplete SQL statement at the end of a migration: {buf.strip()[:80]!r}")
    return statements
