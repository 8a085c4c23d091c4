"""A throwaway PostgreSQL for tests: started once per session from the machine's binaries.

``initdb`` + ``pg_ctl`` in a temp dir, unix socket only, no TCP port. ``initdb`` refuses to run as root, so
under root the server runs as the ``postgres`` system user (``runuser``). If the binaries exist but the
server cannot start, every PostgreSQL test *errors* (``make test`` fails); only a machine without any
PostgreSQL binaries skips them. Set ``VIDGATE_TEST_DATABASE_URL`` to use an existing server instead.
The ``pg_server`` fixture is registered in ``tests/conftest.py`` so every test directory can use it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest


def find_pg_bin() -> Path | None:
    """The first directory holding both ``initdb`` and ``pg_ctl`` (newest versioned install first)."""
    candidates = [os.environ.get("VIDGATE_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"]
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for d in filter(None, candidates):
        if all(os.access(Path(d) / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return Path(d)
    return None


@dataclass
class TempPostgres:
    """A private PostgreSQL cluster in a temp dir, reachable only through its unix socket."""

    bindir: Path
    base: Path
    run_as: list[str]
    port: int = 5432  # only names the socket file; the socket dir is private, so no clash is possible

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, dbname: str = "postgres", search_path: str | None = None) -> str:
        url = f"postgresql://postgres@/{dbname}?host={quote(str(self.socket_dir))}&port={self.port}"
        if search_path:
            url += "&options=" + quote(f"-csearch_path={search_path}")
        return url

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [*self.run_as, *args]
        proc = subprocess.run(cmd, cwd=self.base, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no server log)"
            raise RuntimeError(
                f"`{' '.join(cmd)}` exited {proc.returncode}\nstdout: {proc.stdout[-2000:]}\n"
                f"stderr: {proc.stderr[-2000:]}\nserver log:\n{log}"
            )

    @classmethod
    def start(cls, bindir: Path) -> TempPostgres:
        base = Path(tempfile.mkdtemp(prefix="vidgate-pg-"))
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "Running as root and there is no 'postgres' system user to run the test server as; "
                    "create one (useradd -r postgres) or run the tests as a normal user."
                ) from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("Running as root but `runuser` is missing; cannot start PostgreSQL as 'postgres'.")
            run_as = [runuser, "-u", "postgres", "--"]
            os.chown(base, pw.pw_uid, pw.pw_gid)
        server = cls(bindir, base, run_as)
        server.socket_dir.mkdir()
        if run_as:
            os.chown(server.socket_dir, pw.pw_uid, pw.pw_gid)
        data = str(base / "data")
        opts = (
            f"-c listen_addresses='' -k {server.socket_dir} -p {server.port} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            server._run(
                str(bindir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "-N"
            )
            server._run(
                str(bindir / "pg_ctl"), "-D", data, "-l", str(server.log), "-o", opts, "-w", "-t", "60", "start"
            )
        except BaseException:
            with contextlib.suppress(Exception):  # pg_ctl may have left a half-started server
                server._run(str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop", timeout=30)
            shutil.rmtree(base, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class PgServer:
    admin_url: str
    make_url: Callable[[str | None], str]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get("VIDGATE_TEST_DATABASE_URL")
    if external:
        yield PgServer(external, lambda sp: _with_search_path(external, sp))
        return
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine; PostgreSQL store tests skipped")
    t0 = time.monotonic()
    try:
        server = TempPostgres.start(bindir)
    except Exception as exc:  # binaries exist, so a failure to start must fail the run, loudly
        pytest.fail(f"PostgreSQL binaries found in {bindir} but the test server did not start:\n{exc}", pytrace=False)
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE vidgate_test")
    print(f"\n[store tests] PostgreSQL from {bindir} started in {time.monotonic() - t0:.2f} s at {server.base}")
    try:
        yield PgServer(server.url("vidgate_test"), lambda sp: server.url("vidgate_test", sp))
    finally:
        server.stop()


def _with_search_path(url: str, search_path: str | None) -> str:
    if not search_path:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={search_path}')}"


def fresh_pg_url(server: PgServer) -> str:
    """A URL whose tables live in a new, empty schema (a clean database for one test)."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return server.make_url(schema)
